/**
 * INV-FENCING's notion of "current" (spec/07-properties.md): whether a message received
 * at one end of a link belongs to that end's current session. One rule for every checker
 * of it: the simulator's history checks (simulator/ghost.ts) read it from a stage state,
 * `kd validate` (runtime/observe/validate.ts) from the sessions recorded in traces. It is
 * the property, written apart from the fencing code it checks (session-sides.ts).
 */
import type { Epoch } from '../core/epoch.js';
import type { DownstreamSessionState } from '../session/downstream-session.machine.js';
import type { UpstreamSessionState } from '../session/upstream-session.machine.js';

/** One end's session as a checker sees it: its state name and epoch. */
export interface SessionAtEnd {
  readonly session: string;
  readonly epoch: Epoch;
}

const awaitingSnapshot: UpstreamSessionState = 'awaitingSnapshot';
const disconnected: UpstreamSessionState = 'disconnected';
const awaitingSync: DownstreamSessionState = 'awaitingSync';
const synced: DownstreamSessionState = 'synced';

/** Whether a message of `type` and `epoch`, received at `end` of a link whose session there is `side`, is of the current session. */
export function messageIsCurrent(end: 'upstream' | 'downstream', side: SessionAtEnd, type: string, epoch: Epoch): boolean {
  if (end === 'upstream') {
    if (type === 'session.snapshot') return epoch === side.epoch && side.session === awaitingSnapshot;
    return epoch === side.epoch && side.session !== disconnected;
  }
  if (type === 'session.hello') return epoch > side.epoch;
  if (type === 'session.sync') return epoch === side.epoch && side.session === awaitingSync;
  return epoch === side.epoch && side.session === synced;
}
