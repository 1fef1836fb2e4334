/**
 * The ReplicaSet profile. The testee is `replicaset`; the reference Deployment dials it
 * and it dials the suite's reference Scheduler, which has two reference Kubelets
 * (in memory). Functions `fn` and `g`; nodes n1, n2 of capacity 4.
 */
import { creationWindowPodsMax } from '../../spec/limits.js';
import type { ConformanceCase } from './case.js';
import { downstreamSessionCases, podForwarderCases } from './common.js';
import { downstreamLink, everyDownstreamSynced, upstreamSynced } from './helpers.js';

const roles = ['replicaset'] as const;

function synced(ctx: Parameters<ConformanceCase['run']>[0]): Promise<boolean> {
  return ctx.waitFor(['REQ-SESS-011', 'REQ-REC-002'], 'every link of the ReplicaSet synced', () => everyDownstreamSynced(ctx) && upstreamSynced(ctx), 10_000);
}

const podName = /^fn-(\d+)-(\d+)$/;

export const replicaSetCases: readonly ConformanceCase[] = [
  {
    id: 'replicaset.creation-window',
    roles,
    requirements: ['REQ-RS-007', 'REQ-RS-002'],
    title: 'Creates no more than the creation window of pods not yet confirmed running',
    description: `The nodes hold 8 pods. Scale fn to 8 + ${creationWindowPodsMax} + 200: the testee must provision the 8 that run and then fill the window of ${creationWindowPodsMax} pods that wait at the Scheduler, and provision no more while none of them is confirmed running.`,
    timeoutMs: 60_000,
    async run(ctx) {
      if (!(await synced(ctx))) return;
      const link = downstreamLink(ctx, 'scheduler');
      const capacity = 8;
      const held = capacity + creationWindowPodsMax;
      ctx.chain.scale('fn', held + 200);
      if (!(await ctx.waitFor(['REQ-RS-002', 'REQ-RS-007'], `${capacity} sandboxes running and ${held} pods provisioned`, () => ctx.chain.runningSandboxes().length === capacity && link.provisionCount >= held, 30_000))) return;
      ctx.step('wait: every node is full, so no pod is confirmed running and the window stays full');
      await ctx.sleep(700);
      ctx.check(['REQ-RS-007'], link.provisionCount === held, `with ${capacity} pods running and a full window of ${creationWindowPodsMax} waiting, the testee must provision no more; it provisioned ${link.provisionCount} of ${held}`);
    },
  },
  {
    id: 'replicaset.scale-up-and-down',
    roles,
    requirements: ['REQ-RS-002', 'REQ-RS-003', 'REQ-RS-005', 'REQ-POD-002', 'REQ-POD-007', 'REQ-TOPO-001', 'REQ-TOPO-007'],
    title: 'Creates and terminates exactly the pods the desired count asks for',
    description:
      'Scale fn to 3: exactly three pods named fn-<incarnation>-<n> are provisioned (no node), and scale.applied{fn,3} goes up. Scale to 1: exactly two are terminated, one keeps running.',
    async run(ctx) {
      if (!(await synced(ctx))) return;
      const link = downstreamLink(ctx, 'scheduler');
      ctx.step('scale fn to 3');
      ctx.chain.scale('fn', 3);
      if (!(await ctx.waitFor(['REQ-RS-002'], 'three sandboxes running', () => ctx.chain.runningSandboxes().length === 3, 6_000))) return;
      await ctx.sleep(200);
      ctx.check(['REQ-RS-002'], link.provisionCount === 3, `desired 3 from 0 must create exactly 3 pods, created ${link.provisionCount}`);
      const names = [...link.provisioned];
      ctx.check(['REQ-POD-002'], names.every((n) => podName.test(n)) && new Set(names.map((n) => podName.exec(n)?.[1])).size === 1, `pod names must be fn-<incarnation>-<n> with one incarnation: ${names.join(', ')}`);
      await ctx.waitFor(['REQ-RS-005'], 'the Deployment\'s desired count of fn clean at 3', () => {
        const s = ctx.chain.state('deployment');
        return s.role === 'deployment' && s.scales['fn']?.lifecycle === 'applied' && s.scales['fn']?.desired === 3;
      });
      ctx.step('scale fn to 1');
      ctx.chain.scale('fn', 1);
      await ctx.waitFor(['REQ-RS-003'], 'one sandbox left', () => ctx.chain.runningSandboxes().length === 1 && [...ctx.chain.nodes.values()].every((n) => [...n.sandboxes.values()].every((s) => s.state === 'running')), 10_000);
      await ctx.sleep(200);
      ctx.check(['REQ-RS-003'], link.provisionCount === 3 && ctx.chain.runningSandboxes().length === 1, `scale-down must only terminate; provisions ${link.provisionCount}, running ${ctx.chain.runningSandboxes().length}`);
    },
  },
  {
    id: 'replicaset.names-never-reused',
    roles,
    requirements: ['REQ-POD-001', 'REQ-POD-002', 'REQ-POD-003', 'REQ-SESS-001'],
    title: 'Never names two pods alike, also after a scale-down and a restart',
    description: 'Scale fn 2, 0, 2, restart the testee, scale 3: every provisioned name must be new (the suite checks every provision of the run), with the incarnation of the process that created it.',
    restartsTestee: true,
    timeoutMs: 40_000,
    async run(ctx) {
      if (!(await synced(ctx))) return;
      const link = downstreamLink(ctx, 'scheduler');
      for (const d of [2, 0, 2]) {
        ctx.step(`scale fn to ${d}`);
        ctx.chain.scale('fn', d);
        if (!(await ctx.waitFor(['REQ-RS-002', 'REQ-RS-003'], `${d} sandboxes and nothing else`, () => ctx.chain.runningSandboxes().length === d && [...ctx.chain.nodes.values()].every((n) => n.sandboxes.size === [...n.sandboxes.values()].filter((s) => s.state === 'running').length), 10_000))) return;
      }
      const first = new Set([...link.provisioned].map((n) => podName.exec(n)?.[1]));
      ctx.step('SIGKILL and restart the testee; scale fn to 3');
      await ctx.restartTestee();
      if (!(await synced(ctx))) return;
      ctx.chain.scale('fn', 3);
      if (!(await ctx.waitFor(['REQ-RS-002'], 'three sandboxes running', () => ctx.chain.runningSandboxes().length === 3, 10_000))) return;
      const later = [...link.provisioned].filter((n) => !first.has(podName.exec(n)?.[1]));
      ctx.check(['REQ-POD-002', 'REQ-SESS-001'], later.length >= 1, `pods created after the restart must carry a new incarnation; names: ${[...link.provisioned].join(', ')}`);
    },
  },
  {
    id: 'replicaset.terminating-counts',
    roles,
    requirements: ['REQ-RS-004', 'REQ-TOMB-001', 'REQ-TOMB-003', 'REQ-RS-002'],
    title: 'Pods being terminated count against creation until confirmed',
    description:
      'Two pods run; the Kubelets hold every kill. Scale to 0 then back to 2: while the two tombstones are unconfirmed the testee must not create any pod (alive 0 + terminating 2 = 2). Once the kills are released and confirmed it must create exactly two new pods.',
    async run(ctx) {
      if (!(await synced(ctx))) return;
      const link = downstreamLink(ctx, 'scheduler');
      ctx.chain.scale('fn', 2);
      if (!(await ctx.waitFor(['REQ-RS-002'], 'two sandboxes running', () => ctx.chain.runningSandboxes().length === 2, 10_000))) return;
      ctx.chain.holdKills('n1', true);
      ctx.chain.holdKills('n2', true);
      ctx.step('scale to 0 with kills held');
      ctx.chain.scale('fn', 0);
      if (!(await ctx.waitFor(['REQ-TOMB-001'], 'both kills requested', () => [...ctx.chain.nodes.values()].reduce((n, x) => n + x.heldKills.length, 0) === 2, 10_000))) return;
      const before = link.provisionCount;
      ctx.step('scale back to 2 while both tombstones are unconfirmed');
      ctx.chain.scale('fn', 2);
      await ctx.sleep(700);
      ctx.check(['REQ-RS-004', 'REQ-TOMB-001', 'REQ-TOMB-003'], link.provisionCount === before, `while two tombstones are unconfirmed, desired 2 must create no pod; created ${link.provisionCount - before}`);
      ctx.step('release the kills');
      ctx.chain.holdKills('n1', false);
      ctx.chain.holdKills('n2', false);
      await ctx.waitFor(['REQ-RS-002'], 'two new sandboxes running', () => ctx.chain.runningSandboxes().length === 2 && link.provisionCount === before + 2, 10_000);
    },
  },
  {
    id: 'replicaset.restart-waits-for-scale',
    roles,
    requirements: ['REQ-REC-007', 'REQ-REC-004', 'REQ-CACHE-009', 'REQ-FAIL-001', 'REQ-CACHE-002'],
    title: 'A restarted ReplicaSet adopts the running pods and decides nothing before a scale.set',
    description: 'Three pods run; the testee is killed and restarted. It must adopt the three pods from the Scheduler\'s snapshot and neither create nor terminate any pod; after the Deployment\'s round 2 (scale.set fn=3) the count stays 3.',
    restartsTestee: true,
    timeoutMs: 30_000,
    async run(ctx) {
      if (!(await synced(ctx))) return;
      const link = downstreamLink(ctx, 'scheduler');
      ctx.chain.scale('fn', 3);
      if (!(await ctx.waitFor(['REQ-RS-002'], 'three sandboxes running', () => ctx.chain.runningSandboxes().length === 3, 10_000))) return;
      const before = ctx.chain.runningSandboxes();
      const provisions = link.provisionCount;
      ctx.step('SIGKILL and restart the testee');
      await ctx.restartTestee();
      if (!(await synced(ctx))) return;
      await ctx.sleep(500);
      ctx.check(['REQ-REC-007', 'REQ-CACHE-009'], ctx.chain.runningSandboxes().join() === before.join() && link.provisionCount === provisions, `after the restart the same three pods must run and none be created: before ${before.join(', ')}, after ${ctx.chain.runningSandboxes().join(', ')}, new provisions ${link.provisionCount - provisions}`);
    },
  },
  ...podForwarderCases('replicaset'),
  ...downstreamSessionCases('replicaset', [
    {
      what: 'a scale_set for a function that is not configured',
      frame: (e) => ({ epoch: e, scale_set: { scales: [{ function: 'nope', desired: 1 }] } }),
      reason: 'UNKNOWN_FUNCTION',
      requirements: ['REQ-WIRE-004', 'REQ-WIRE-006'],
    },
    {
      what: 'a scale_set with desired above desiredMax',
      frame: (e) => ({ epoch: e, scale_set: { scales: [{ function: 'fn', desired: 1_000_001 }] } }),
      reason: 'MALFORMED',
      requirements: ['REQ-WIRE-004'],
    },
    {
      what: 'a provision down a scale link',
      frame: (e) => ({ epoch: e, provision: { pods: [{ name: 'fn-77-1', function: 'fn', priority: 0, node: '' }] } }),
      reason: 'MALFORMED',
      requirements: ['REQ-TOPO-004'],
    },
  ]),
];
