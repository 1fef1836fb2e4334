/**
 * Whole-chain mode: the testee inside an otherwise reference chain under a seeded fault
 * schedule (desired-count changes, cuts of the testee's links, crash-restarts of the
 * reference stages around it), then the end-to-end check: the chain converges to the
 * last desired count with every pod running, and no frame broke a rule on the way (the
 * link oracle runs throughout). The schedule comes from the case's seed.
 */
import { roles as allRoles, type Role, type StageId } from '../../machines/index.js';
import type { CaseContext } from '../harness/context.js';
import type { ConformanceCase } from './case.js';
import { everyDownstreamSynced, podsIn, upstreamSynced } from './helpers.js';

function synced(ctx: CaseContext): boolean {
  return everyDownstreamSynced(ctx) && (ctx.chain.toTestee === null || upstreamSynced(ctx));
}

/** Pods running and pods held, as the chain's end shows them. */
function counts(ctx: CaseContext): { running: number; held: number } {
  if (ctx.role === 'kubelet') return { running: podsIn(ctx, 'scheduler', 'running', 'n1').length, held: ctx.chain.podsOf('scheduler').length };
  const sandboxes = [...ctx.chain.nodes.values()].reduce((n, x) => n + x.sandboxes.size, 0);
  return { running: ctx.chain.runningSandboxes().length, held: sandboxes };
}

export function wholeChainCase(role: Role): ConformanceCase {
  return {
    id: `${role}.whole-chain-faults`,
    roles: [role],
    requirements: role === 'kubelet' ? ['REQ-FAIL-004', 'REQ-FAIL-006', 'REQ-SESS-018'] : ['REQ-FAIL-004', 'REQ-FAIL-006', 'REQ-SESS-017'],
    title: 'Converges inside the reference chain after a seeded schedule of faults',
    description:
      'Six seeded steps, each a new desired count, a cut of one of the testee\'s links or a crash-restart of a reference stage, 50 to 300 ms apart; then a last desired count. The chain must converge to it (that many pods running, none left over) within 15 s, with no violation of the per-frame rules on the way.',
    timeoutMs: 40_000,
    async run(ctx) {
      if (!(await ctx.waitFor(['REQ-SESS-011'], 'every link of the testee synced', () => synced(ctx), 10_000))) return;
      const capacity = ctx.launch.chain.nodes.reduce((n, x) => n + x.capacity, 0);
      const peers: StageId[] = [...ctx.chain.states.keys()];
      for (let i = 0; i < 6; i++) {
        const pick = ctx.random.int(0, 2);
        if (pick === 0) {
          const desired = ctx.random.int(0, capacity);
          ctx.step(`scale fn to ${desired}`);
          await ctx.scale('fn', desired);
        } else if (pick === 1) {
          const links = [...(ctx.chain.toTestee === null ? [] : [ctx.chain.toTestee]), ...ctx.chain.fromTestee.values()];
          const link = links[ctx.random.int(0, links.length - 1)];
          ctx.step(`cut ${link?.link ?? 'no link'}`);
          link?.cut();
        } else {
          const peer = peers[ctx.random.int(0, peers.length - 1)] ?? '';
          ctx.step(`crash-restart of the reference ${peer}`);
          ctx.chain.crashPeer(peer);
        }
        await ctx.sleep(ctx.random.int(50, 300));
      }
      const last = ctx.random.int(1, Math.min(3, capacity));
      ctx.step(`scale fn to ${last} and wait for convergence`);
      await ctx.scale('fn', last);
      await ctx.waitFor(role === 'kubelet' ? ['REQ-FAIL-004', 'REQ-SESS-018'] : ['REQ-FAIL-004', 'REQ-FAIL-006', 'REQ-SESS-017'], `the chain converged to ${last} running pods and nothing else (now ${JSON.stringify(counts(ctx))})`, () => {
        const c = counts(ctx);
        return c.running === last && c.held === last && synced(ctx);
      }, 15_000);
    },
  };
}

export const wholeChainCases: readonly ConformanceCase[] = allRoles.map(wholeChainCase);
