/**
 * The Deployment profile. The testee is `deployment`; the reference Autoscaler dials it
 * and it dials the suite's reference ReplicaSet (with a reference Scheduler and two
 * Kubelets in memory). Functions `fn` and `g`.
 */
import type { ConformanceCase } from './case.js';
import { downstreamSessionCases } from './common.js';
import { everyDownstreamSynced, upstreamLink, upstreamSynced } from './helpers.js';

const roles = ['deployment'] as const;

/** How long the suite holds the ReplicaSet link and watches for an early `scale.applied`. */
const appliedHoldMs = 1_000;

function synced(ctx: Parameters<ConformanceCase['run']>[0]): Promise<boolean> {
  return ctx.waitFor(['REQ-SESS-011', 'REQ-REC-002'], 'every link of the Deployment synced', () => everyDownstreamSynced(ctx) && upstreamSynced(ctx), 10_000);
}

function cleanAt(ctx: Parameters<ConformanceCase['run']>[0], fn: string, desired: number): boolean {
  const s = ctx.chain.state('autoscaler');
  return s.role === 'autoscaler' && s.scales[fn]?.lifecycle === 'applied' && s.scales[fn]?.desired === desired;
}

export const deploymentCases: readonly ConformanceCase[] = [
  {
    id: 'deployment.forwards-desired-counts',
    roles,
    requirements: ['REQ-SCALE-004', 'REQ-SCALE-003', 'REQ-SCALE-005', 'REQ-TOPO-001', 'REQ-TOPO-007'],
    title: 'Forwards every desired count and confirms it once in force below',
    description: 'Scale fn to 3 then 1 and g to 2 at the Autoscaler: the ReplicaSet must receive each count, the pods must follow, and the Autoscaler\'s entries must become clean (scale.applied echoed with the exact values).',
    async run(ctx) {
      if (!(await synced(ctx))) return;
      ctx.step('scale fn to 3 and g to 2');
      ctx.chain.scale('fn', 3);
      ctx.chain.scale('g', 2);
      if (!(await ctx.waitFor(['REQ-SCALE-004'], 'five sandboxes running', () => ctx.chain.runningSandboxes().length === 5, 10_000))) return;
      await ctx.waitFor(['REQ-SCALE-004', 'REQ-SCALE-003'], 'the Autoscaler clean at fn=3, g=2', () => cleanAt(ctx, 'fn', 3) && cleanAt(ctx, 'g', 2));
      ctx.step('scale fn to 1');
      ctx.chain.scale('fn', 1);
      await ctx.waitFor(['REQ-SCALE-004'], 'three sandboxes running and the Autoscaler clean at fn=1', () => ctx.chain.runningSandboxes().length === 3 && cleanAt(ctx, 'fn', 1), 10_000);
    },
  },
  {
    id: 'deployment.link-cut-resends',
    roles,
    requirements: ['REQ-FAIL-004', 'REQ-SESS-002', 'REQ-CACHE-011', 'REQ-SESS-010', 'REQ-SESS-015', 'REQ-SESS-016', 'REQ-CACHE-001'],
    title: 'After a cut of its downstream link it opens a newer session and resends every count',
    description: 'With fn=2, the link to the ReplicaSet is cut. The testee must reconnect with a greater epoch and send scale.set{fn,2} in round 2 even though the snapshot already shows 2.',
    async run(ctx) {
      if (!(await synced(ctx))) return;
      ctx.chain.scale('fn', 2);
      if (!(await ctx.waitFor(['REQ-SCALE-004'], 'fn clean at 2', () => cleanAt(ctx, 'fn', 2), 10_000))) return;
      const link = [...ctx.chain.fromTestee.values()][0];
      if (link === undefined) return;
      const e1 = link.current?.epoch ?? 0;
      ctx.step('cut the link to the ReplicaSet');
      link.cut();
      await ctx.waitFor(['REQ-FAIL-004', 'REQ-SESS-017'], 'a new synced session with a greater epoch', () => everyDownstreamSynced(ctx) && (link.current?.epoch ?? 0) > e1, 10_000);
      await ctx.waitFor(['REQ-CACHE-011', 'REQ-SESS-010'], 'scale.set{fn,2} in the new session', () => (link.current?.received ?? []).some((f) => JSON.stringify((f as { scale_set?: unknown }).scale_set ?? null).includes('"desired":2')));
    },
  },
  {
    id: 'deployment.restart-adopts-counts',
    roles,
    requirements: ['REQ-SESS-001', 'REQ-REC-004', 'REQ-CACHE-011', 'REQ-FAIL-001'],
    title: 'A restarted Deployment resyncs from both sides without changing the pods',
    description: 'fn=3 runs; the testee is killed and restarted. Its hellos must carry newer epochs, it must answer the Autoscaler once warm, and the count must stay 3 (no pod killed or created).',
    restartsTestee: true,
    timeoutMs: 30_000,
    async run(ctx) {
      if (!(await synced(ctx))) return;
      ctx.chain.scale('fn', 3);
      if (!(await ctx.waitFor(['REQ-SCALE-004'], 'three sandboxes running', () => ctx.chain.runningSandboxes().length === 3, 10_000))) return;
      const before = ctx.chain.runningSandboxes();
      const e1 = upstreamLink(ctx).epoch;
      ctx.step('SIGKILL and restart the testee');
      await ctx.restartTestee();
      if (!(await ctx.waitFor(['REQ-REC-002'], 'synced again', () => everyDownstreamSynced(ctx) && upstreamSynced(ctx) && upstreamLink(ctx).epoch > e1, 10_000))) return;
      await ctx.waitFor(['REQ-CACHE-011'], 'the Autoscaler clean at fn=3', () => cleanAt(ctx, 'fn', 3));
      ctx.check(['REQ-REC-004', 'REQ-CACHE-011'], ctx.chain.runningSandboxes().join() === before.join(), `the same pods must run: before ${before.join(', ')}, after ${ctx.chain.runningSandboxes().join(', ')}`);
    },
  },
  {
    id: 'deployment.applied-only-once-in-force-below',
    roles,
    requirements: ['REQ-SCALE-004', 'REQ-SCALE-003'],
    title: 'Confirms a desired count upward only once the ReplicaSet has it',
    description: `The suite holds every frame the testee sends to the ReplicaSet. fn is scaled to 2 at the Autoscaler; once the held link shows the testee forwarded scale.set{fn,2}, the Autoscaler's entry must stay unconfirmed for ${appliedHoldMs} ms (no scale.applied may pass up while the count is not in force below); released, the entry must become clean at 2.`,
    async run(ctx) {
      if (!(await synced(ctx))) return;
      const link = [...ctx.chain.fromTestee.values()][0];
      if (link === undefined) return;
      ctx.step('hold the link to the ReplicaSet; scale fn to 2');
      link.hold(true);
      ctx.chain.scale('fn', 2);
      const forwarded = (): boolean => (link.current?.held ?? []).some((f) => JSON.stringify(f.scale_set ?? null).includes('"desired":2'));
      if (!(await ctx.waitFor(['REQ-SCALE-004'], 'scale.set{fn,2} forwarded to the ReplicaSet (held)', forwarded, 10_000))) return link.hold(false);
      await ctx.holdsFor(['REQ-SCALE-004'], 'the Autoscaler must not be told fn=2 is applied while the ReplicaSet has not received it', () => !cleanAt(ctx, 'fn', 2), appliedHoldMs);
      ctx.step('release the link');
      link.hold(false);
      await ctx.waitFor(['REQ-SCALE-004', 'REQ-SCALE-003'], 'the Autoscaler clean at fn=2', () => cleanAt(ctx, 'fn', 2), 10_000);
    },
  },
  ...downstreamSessionCases('deployment', [
    {
      what: 'a scale_set for a function that is not configured',
      frame: (e) => ({ epoch: e, scale_set: { scales: [{ function: 'nope', desired: 1 }] } }),
      reason: 'UNKNOWN_FUNCTION',
      requirements: ['REQ-WIRE-004', 'REQ-WIRE-006'],
    },
    {
      what: 'an empty scale_set batch',
      frame: (e) => ({ epoch: e, scale_set: { scales: [] } }),
      reason: 'MALFORMED',
      requirements: ['REQ-WIRE-004', 'REQ-WIRE-002'],
    },
  ]),
];
