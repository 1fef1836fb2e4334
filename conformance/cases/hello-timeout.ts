/**
 * A stream that never says hello (REQ-WIRE-015): the testee must end it with HELLO_TIMEOUT
 * (DEADLINE_EXCEEDED, a Rejected frame) within `helloWaitMsMax`, and the synced session of
 * its upstream peer must go on. Without the bound, idle streams hold a stage's memory for
 * as long as a peer likes (issue 17, defect 7).
 */
import type { Role } from '../../machines/index.js';
import { helloWaitMsMax } from '../../spec/limits.js';
import type { ConformanceCase } from './case.js';
import { upstreamLink, upstreamSynced } from './helpers.js';

/** Time past `helloWaitMsMax` the testee has to end the stream (timers of a loaded machine). */
const helloTimeoutSlackMs = 5_000;

export function helloTimeoutCases(role: Exclude<Role, 'autoscaler'>): ConformanceCase[] {
  return [
    {
      id: `${role}.hello-timeout`,
      roles: [role],
      requirements: ['REQ-WIRE-015', 'REQ-WIRE-005', 'REQ-FAIL-007'],
      title: 'Ends a stream that sends no Hello (HELLO_TIMEOUT)',
      description: `An extra stream opens and sends nothing. Within helloWaitMsMax (${helloWaitMsMax} ms, plus ${helloTimeoutSlackMs} ms of slack) the testee must end it with a Rejected frame HELLO_TIMEOUT and DEADLINE_EXCEEDED, and the synced session of its upstream peer must go on.`,
      timeoutMs: helloWaitMsMax + 30_000,
      async run(ctx) {
        if (!(await ctx.waitFor(['REQ-SESS-011'], 'the upstream session synced', () => upstreamSynced(ctx), 10_000))) return;
        const link = upstreamLink(ctx);
        const current = link.current;
        const what = 'a stream that sends no Hello';
        ctx.step(what);
        const raw = link.rawStream(what);
        await ctx.expectRejection(raw.stream, 'HELLO_TIMEOUT', ['REQ-WIRE-015'], what, helloWaitMsMax + helloTimeoutSlackMs);
        ctx.check(['REQ-FAIL-007', 'REQ-WIRE-015'], link.current === current && current !== null && !current.ended, 'ending a stream that sent no Hello ended the current session');
      },
    },
  ];
}
