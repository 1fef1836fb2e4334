/**
 * A hello alone fences nothing once its session is gone (REQ-SESS-021, DEC-40), also while
 * the testee is cold: an impersonated upstream's hello far ahead, whose stream closes
 * before any sync, must not keep the real upstream out. Issue 17 defect 4 was this fault on
 * a warm Kubelet; a stage with downstream links can also meet it while its hello is
 * deferred (REQ-REC-002), where the mutant `unsynced-hello-fences` forgot the rule.
 */
import { sessionsPerIncarnationMax } from '../../spec/limits.js';
import type { ConformanceCase } from './case.js';
import { everyDownstreamSynced, hello, upstreamLink, upstreamSynced } from './helpers.js';
import { upstreamSessionEnded } from './inspect.js';

/** How far ahead of the real upstream's epoch the forged hello is: three incarnations (as in issue 17). */
const forgedIncarnationsAhead = 3;

export function coldForgedHelloCases(role: 'deployment' | 'replicaset' | 'scheduler'): ConformanceCase[] {
  return [
    {
      id: `${role}.cold-forged-hello-does-not-fence`,
      roles: [role],
      requirements: ['REQ-SESS-021', 'REQ-SESS-018', 'REQ-REC-002'],
      title: 'A forged hello that never synced does not fence the real upstream, also while cold',
      description: `The suite holds the links to the testee's downstream peers, so the testee is cold and defers its upstream peer's hello. The upstream peer stops reconnecting; a hello ${forgedIncarnationsAhead} incarnations ahead comes on a second stream (superseding the deferred one) and that stream is cancelled before any sync. Then the upstream peer reconnects with its own next epoch, below the forged one, and the downstream links are released: the upstream session must sync (the forged epoch fences nothing once its session is gone).`,
      setup(chain) {
        for (const link of chain.fromTestee.values()) link.hold(true);
      },
      async run(ctx) {
        const link = upstreamLink(ctx);
        if (!(await ctx.waitFor(['REQ-REC-002'], "the upstream peer's hello sent (deferred: the testee is cold)", () => link.current !== null && link.current.epoch > 0, 10_000))) return;
        const forged = link.current!.epoch + forgedIncarnationsAhead * sessionsPerIncarnationMax;
        ctx.step(`the upstream peer pauses; a forged hello with epoch ${forged} on a second stream, then cancelled`);
        const deferred = link.current!;
        link.pause();
        const raw = link.rawStream('a forged hello far ahead, never synced');
        raw.write(hello(ctx, forged));
        if (!(await ctx.waitFor(['REQ-SESS-018'], 'the deferred session ended by the newer (forged) hello', () => deferred.ended, 10_000))) return;
        raw.end();
        if (!(await upstreamSessionEnded(ctx, 'the forged session, cancelled before any sync, ended'))) return;
        ctx.step('the upstream peer reconnects with its own next epoch; the downstream links are released');
        link.resume();
        for (const l of ctx.chain.fromTestee.values()) l.hold(false);
        if (!(await ctx.waitFor(['REQ-REC-004'], 'every downstream link synced', () => everyDownstreamSynced(ctx), 10_000))) return;
        await ctx.waitFor(['REQ-SESS-021'], `the real upstream session synced below the forged epoch ${forged} (a hello whose session ended unsynced fences nothing)`, () => upstreamSynced(ctx), 10_000);
      },
    },
  ];
}
