/**
 * What the Kubelet profile's cases (kubelet.ts, kubelet-settled.ts, kubelet-holes.ts)
 * share: the role, its Scheduler peer, names of pods no reference peer uses, and the steps
 * they all take (wait for the session, scale and wait for running pods, read the snapshot
 * of a restarted testee, write records into a raw session).
 */
import type { CaseContext } from '../harness/context.js';
import { podRecord, podsIn, snapshotIn, upstreamLink, upstreamSynced, type RawSession, type ReceivedSnapshot } from './helpers.js';

export const kubeletRole = ['kubelet'] as const;
/** The reference peer that dials the testee Kubelet. */
export const schedulerPeer = 'scheduler';
/** The testee's node (`kubelet:n1`). */
export const testeeNode = 'n1';

/**
 * Names of pods of an imaginary ReplicaSet incarnation, never used by the reference peers:
 * `fn-INCARNATION-n`. Each file of cases has its own incarnation, so that a trace tells
 * which case wrote a name.
 */
export function foreignPodNames(incarnation: number): (n: number) => string {
  return (n) => `fn-${incarnation}-${n}`;
}

/** Waits for the reference Scheduler's session with the testee to sync (a violation of REQ-SESS-011 if it does not). */
export function sessionSynced(ctx: CaseContext): Promise<boolean> {
  return ctx.waitFor(['REQ-SESS-011'], 'the session synced', () => upstreamSynced(ctx));
}

/** The pods the reference Scheduler holds running on the testee's node. */
export function runningOnTestee(ctx: CaseContext): string[] {
  return podsIn(ctx, schedulerPeer, 'running', testeeNode);
}

/** Scales fn to `count` and waits until the reference Scheduler holds that many pods running on the testee's node; returns them, or null (with a violation of REQ-POD-006). */
export async function scaleToRunning(ctx: CaseContext, count: number): Promise<string[] | null> {
  ctx.chain.scale('fn', count);
  const what = `${count} pod${count === 1 ? '' : 's'} running on ${testeeNode} at the reference Scheduler`;
  if (!(await ctx.waitFor(['REQ-POD-006'], what, () => runningOnTestee(ctx).length === count))) return null;
  return runningOnTestee(ctx);
}

/** The last complete snapshot on the current stream of the link to the testee. */
export function currentSnapshot(ctx: CaseContext): ReceivedSnapshot | null {
  const current = upstreamLink(ctx).current;
  return current === null ? null : snapshotIn(current);
}

/**
 * After a restart of the testee: waits (10 s) until the reference Scheduler's session with it
 * has synced, and returns the snapshot the restarted testee sent; null, with a violation of
 * `requirements`, when none comes.
 */
export async function snapshotAfterRestart(ctx: CaseContext, requirements: readonly string[]): Promise<ReceivedSnapshot | null> {
  const synced = (): boolean => upstreamSynced(ctx) && currentSnapshot(ctx) !== null;
  if (!(await ctx.waitFor(requirements, 'a synced session with the restarted testee', synced, 10_000))) return null;
  return currentSnapshot(ctx);
}

/** A raw session provisions `names` (of fn, on the testee's node) in one batch. */
export function provisionIn(raw: RawSession, names: readonly string[], priority = 0): void {
  raw.write({ epoch: raw.epoch, provision: { pods: names.map((n) => podRecord(n, testeeNode, 'fn', priority)) } });
}

/** A raw session tombstones `names` (origin replicaset: a scale-down) in one batch. */
export function tombstoneIn(raw: RawSession, names: readonly string[]): void {
  raw.write({ epoch: raw.epoch, tombstone: { tombstones: names.map((name) => ({ name, origin: 'replicaset' })) } });
}
