/**
 * The Autoscaler profile. The testee is `autoscaler`; it serves Scaler.SetScale and dials
 * the suite's reference Deployment (with a ReplicaSet, a Scheduler and two Kubelets in
 * memory). Functions `fn` and `g`.
 */
import * as grpc from '@grpc/grpc-js';
import { desiredMax } from '../../spec/limits.js';
import { setScale, setScales } from '../harness/context.js';
import type { ConformanceCase } from './case.js';
import { downstreamLink, everyDownstreamSynced } from './helpers.js';

const roles = ['autoscaler'] as const;

function desiredAtDeployment(ctx: Parameters<ConformanceCase['run']>[0], fn: string): number | null {
  const s = ctx.chain.state('deployment');
  return s.role === 'deployment' ? (s.scales[fn]?.desired ?? null) : null;
}

export const autoscalerCases: readonly ConformanceCase[] = [
  {
    id: 'autoscaler.scale-forwarded',
    roles,
    requirements: ['REQ-SCALE-001', 'REQ-SCALE-003', 'REQ-SESS-008', 'REQ-SESS-010', 'REQ-SESS-012'],
    title: 'Stores a requested count and sends it down once synced',
    description: 'Scaler.SetScale fn=3 must be answered OK and scale.set{fn,3} sent to the Deployment (only in a synced session); the pods follow.',
    async run(ctx) {
      await ctx.waitFor(['REQ-SESS-008', 'REQ-SESS-010'], 'the link to the Deployment synced', () => everyDownstreamSynced(ctx), 10_000);
      ctx.step('SetScale fn=3');
      await ctx.scale('fn', 3);
      await ctx.waitFor(['REQ-SCALE-001', 'REQ-SESS-012'], 'the Deployment holds fn=3', () => desiredAtDeployment(ctx, 'fn') === 3);
      await ctx.waitFor(['REQ-SCALE-001'], 'three sandboxes running', () => ctx.chain.runningSandboxes().length === 3, 10_000);
    },
  },
  {
    id: 'autoscaler.rejects-bad-requests',
    roles,
    requirements: ['REQ-SCALE-001', 'REQ-WIRE-006'],
    title: 'Refuses a count for an unknown function or out of range, changing nothing',
    description: `SetScale for an unknown function must fail with NOT_FOUND (UNKNOWN_FUNCTION); desired ${desiredMax + 1} and -1 with INVALID_ARGUMENT (MALFORMED). None may reach the Deployment.`,
    async run(ctx) {
      await ctx.waitFor(['REQ-SESS-010'], 'the link to the Deployment synced', () => everyDownstreamSynced(ctx), 10_000);
      const attempts: Array<[string, number, grpc.status]> = [
        ['nope', 1, grpc.status.NOT_FOUND],
        ['fn', desiredMax + 1, grpc.status.INVALID_ARGUMENT],
        ['fn', -1, grpc.status.INVALID_ARGUMENT],
      ];
      for (const [fn, desired, code] of attempts) {
        ctx.step(`SetScale ${fn}=${desired}`);
        const outcome = await setScale(ctx.launch.listen, fn, desired);
        ctx.check(['REQ-SCALE-001', 'REQ-WIRE-006'], outcome.code === code, `SetScale ${fn}=${desired} must fail with ${grpc.status[code]}, got ${grpc.status[outcome.code]} ${outcome.details}`);
      }
      await ctx.sleep(300);
      ctx.check(['REQ-SCALE-001'], desiredAtDeployment(ctx, 'fn') === null && desiredAtDeployment(ctx, 'nope') === null, 'a refused request reached the Deployment');
    },
  },
  {
    id: 'autoscaler.set-scales-all-or-nothing',
    roles,
    requirements: ['REQ-SCALE-007', 'REQ-SCALE-008', 'REQ-SCALE-001'],
    title: 'Refuses a batch of counts with one bad entry whole; stores and forwards a good batch',
    description:
      'Scaler.SetScales {fn=2, nope=1} must fail with NOT_FOUND and {fn=2, fn=3} with INVALID_ARGUMENT, with no count reaching the Deployment; then {fn=2, g=1} must be answered OK and both counts reach the Deployment.',
    async run(ctx) {
      await ctx.waitFor(['REQ-SESS-010'], 'the link to the Deployment synced', () => everyDownstreamSynced(ctx), 10_000);
      const refused: Array<[string, Array<{ function: string; desired: number }>, grpc.status]> = [
        ['fn=2, nope=1', [{ function: 'fn', desired: 2 }, { function: 'nope', desired: 1 }], grpc.status.NOT_FOUND],
        ['fn=2, fn=3', [{ function: 'fn', desired: 2 }, { function: 'fn', desired: 3 }], grpc.status.INVALID_ARGUMENT],
        [`g=1, fn=${desiredMax + 1}`, [{ function: 'g', desired: 1 }, { function: 'fn', desired: desiredMax + 1 }], grpc.status.INVALID_ARGUMENT],
      ];
      for (const [what, scales, code] of refused) {
        ctx.step(`SetScales ${what}`);
        const outcome = await setScales(ctx.launch.listen, scales);
        ctx.check(['REQ-SCALE-007'], outcome.code === code, `SetScales ${what} must fail with ${grpc.status[code]}, got ${grpc.status[outcome.code]} ${outcome.details}`);
      }
      await ctx.sleep(300);
      ctx.check(['REQ-SCALE-007'], desiredAtDeployment(ctx, 'fn') === null && desiredAtDeployment(ctx, 'g') === null, 'a count of a refused SetScales reached the Deployment');
      ctx.step('SetScales fn=2, g=1');
      const outcome = await setScales(ctx.launch.listen, [{ function: 'fn', desired: 2 }, { function: 'g', desired: 1 }]);
      ctx.check(['REQ-SCALE-008'], outcome.code === grpc.status.OK, `SetScales fn=2, g=1 failed: ${grpc.status[outcome.code]} ${outcome.details}`);
      await ctx.waitFor(['REQ-SCALE-008'], 'the Deployment holds fn=2 and g=1', () => desiredAtDeployment(ctx, 'fn') === 2 && desiredAtDeployment(ctx, 'g') === 1);
    },
  },
  {
    id: 'autoscaler.durable-desired',
    roles,
    requirements: ['REQ-SCALE-002', 'REQ-FAIL-002', 'REQ-SESS-001', 'REQ-SESS-002', 'REQ-CACHE-001'],
    title: 'A count answered OK survives a crash and is sent by the next incarnation',
    description:
      'The suite holds the link to the Deployment, so nothing the testee sends arrives. SetScale fn=5 is answered; the testee is killed at once and restarted. Its new session must use a greater epoch and round 2 must carry scale.set{fn,5}.',
    restartsTestee: true,
    timeoutMs: 30_000,
    async run(ctx) {
      await ctx.waitFor(['REQ-SESS-010'], 'the link to the Deployment synced', () => everyDownstreamSynced(ctx), 10_000);
      const link = downstreamLink(ctx, 'deployment');
      ctx.step('hold the link; SetScale fn=5; SIGKILL');
      link.hold(true);
      await ctx.scale('fn', 5);
      await ctx.restartTestee();
      link.hold(false);
      ctx.step('the restarted testee must send fn=5');
      await ctx.waitFor(['REQ-SCALE-002', 'REQ-FAIL-002'], 'the Deployment holds fn=5 from the restarted Autoscaler', () => desiredAtDeployment(ctx, 'fn') === 5, 10_000);
    },
  },
  {
    id: 'autoscaler.link-cut-resends',
    roles,
    requirements: ['REQ-FAIL-004', 'REQ-CACHE-011', 'REQ-SESS-002', 'REQ-SESS-016', 'REQ-CACHE-001'],
    title: 'After a cut it opens a newer session and resends every count it knows',
    description: 'With fn=2 and g=1 applied, the link is cut. The testee must reconnect with a greater epoch and send both counts again in round 2.',
    async run(ctx) {
      await ctx.waitFor(['REQ-SESS-010'], 'the link to the Deployment synced', () => everyDownstreamSynced(ctx), 10_000);
      await ctx.scale('fn', 2);
      await ctx.scale('g', 1);
      const link = downstreamLink(ctx, 'deployment');
      if (!(await ctx.waitFor(['REQ-SCALE-003'], 'both counts at the Deployment', () => desiredAtDeployment(ctx, 'fn') === 2 && desiredAtDeployment(ctx, 'g') === 1))) return;
      const e1 = link.current?.epoch ?? 0;
      ctx.step('cut the link');
      link.cut();
      await ctx.waitFor(['REQ-FAIL-004', 'REQ-SESS-016'], 'a new synced session with a greater epoch', () => everyDownstreamSynced(ctx) && (link.current?.epoch ?? 0) > e1, 10_000);
      const sent = (): string => JSON.stringify((link.current?.received ?? []).map((f) => (f as { scale_set?: unknown }).scale_set ?? null));
      await ctx.waitFor(['REQ-CACHE-011'], 'scale.set for fn=2 and g=1 in the new session', () => sent().includes('"function":"fn","desired":2') && sent().includes('"function":"g","desired":1'));
    },
  },
];
