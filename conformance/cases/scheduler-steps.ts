/**
 * What the Scheduler profile's cases (scheduler.ts, scheduler-holes.ts,
 * scheduler-upstream-view.ts) share: waiting for every link, and what the testee did at
 * the Kubelet peers (sandboxes, tombstones sent down) and told the ReplicaSet (preemptions).
 */
import type { CaseContext } from '../harness/context.js';
import type { LogEntry } from '../harness/run-log.js';
import { everyDownstreamSynced, framesFromTestee, upstreamSynced } from './helpers.js';

export const schedulerRole = ['scheduler'] as const;

/** Waits (10 s) until every link of the testee is synced at the peers (a violation of REQ-SESS-011 and REQ-REC-002 if not). */
export function everyLinkSynced(ctx: CaseContext): Promise<boolean> {
  return ctx.waitFor(['REQ-SESS-011', 'REQ-REC-002'], 'every link of the testee synced', () => everyDownstreamSynced(ctx) && upstreamSynced(ctx), 10_000);
}

/** The node each pod's sandbox is on at the Kubelet peers (starting, running or being killed). */
export function nodeOfPods(ctx: CaseContext): Map<string, string> {
  const nodes = new Map<string, string>();
  for (const [node, n] of ctx.chain.nodes) for (const name of n.sandboxes.keys()) nodes.set(name, node);
  return nodes;
}

/** Sandboxes at the Kubelet peers, in any state. */
export function sandboxCount(ctx: CaseContext): number {
  return [...ctx.chain.nodes.values()].reduce((n, x) => n + x.sandboxes.size, 0);
}

/** The tombstones the testee sent to the Kubelet peers, in order, with their origin and the peer. */
export function tombstonesSentDown(ctx: CaseContext): Array<{ name: string; origin: string; peer: string }> {
  const sent: Array<{ name: string; origin: string; peer: string }> = [];
  for (const link of ctx.chain.fromTestee.values())
    for (const stream of link.streams)
      for (const f of stream.received as Array<{ tombstone?: { tombstones?: Array<{ name: string; origin: string }> } }>) sent.push(...(f.tombstone?.tombstones ?? []).map((t) => ({ name: t.name, origin: t.origin, peer: link.peer })));
  return sent;
}

export function namesOfPreempted(entry: LogEntry): string[] {
  return (entry.frame as { preempted: { names?: string[] } }).preempted.names ?? [];
}

/** Names of the pods the testee reported preempted (pod.preempted up), in order. */
export function preemptedNames(ctx: CaseContext): string[] {
  return framesFromTestee(ctx, 'preempted').flatMap(namesOfPreempted);
}
