/** Epochs: totally ordered, unique per session (spec/02-sessions-and-epochs.md). */
import { assert } from './assert.js';
import { incarnationMax, sessionsPerIncarnationMax } from './limits.js';

export type Epoch = number;

/** The epoch of the `session`-th session (1-based) that incarnation `incarnation` opens on a link. */
export function epochOf(incarnation: number, session: number): Epoch {
  assert(Number.isInteger(incarnation) && incarnation >= 1 && incarnation <= incarnationMax, `incarnation out of range: ${incarnation}`);
  assert(Number.isInteger(session) && session >= 1 && session < sessionsPerIncarnationMax, `session out of range: ${session}`);
  return incarnation * sessionsPerIncarnationMax + session;
}

export function describeEpoch(epoch: Epoch): string {
  return `${Math.floor(epoch / sessionsPerIncarnationMax)}.${epoch % sessionsPerIncarnationMax}`;
}
