/**
 * Bytes that are no frame at all, sent to every downstream role on extra streams
 * (REQ-WIRE-013, REQ-WIRE-014): each must be rejected as MALFORMED, with a Rejected frame
 * and the status, and change nothing: the synced session of the upstream peer goes on.
 * Written as raw bytes, since no protobuf serializer writes them.
 */
import type { Role } from '../../machines/index.js';
import type { ConformanceCase } from './case.js';
import { upstreamLink, upstreamSynced } from './helpers.js';

/** Bytes, what they are, and the requirement they probe. */
const undecodable: ReadonlyArray<readonly [string, string, string]> = [
  ['a sync frame with epoch 2^53', '0880808080808080101a00', 'REQ-WIRE-013'],
  ['a sync frame with epoch 2^64-1', '08ffffffffffffffffff011a00', 'REQ-WIRE-013'],
  ['an epoch sent as a fixed64 (wrong wire type)', '090100000000000000' + '1a00', 'REQ-WIRE-014'],
  ['a Hello whose protocol_version is a double (wrong wire type)', '0801120f0a0161120162' + '19000000000000f03f', 'REQ-WIRE-014'],
  ['an 11-byte varint', '08ffffffffffffffffffff01', 'REQ-WIRE-014'],
  ['a length past the end of the frame', '0801127f0a0161', 'REQ-WIRE-014'],
  ['an unclosed group', '0801130801', 'REQ-WIRE-014'],
  ['an unknown field', '08011a00f80601', 'REQ-WIRE-014'],
  ['random bytes', 'ff13079a00c31127', 'REQ-WIRE-014'],
];

export function undecodableFrameCases(role: Exclude<Role, 'autoscaler'>): ConformanceCase[] {
  return [
    {
      id: `${role}.undecodable-frames`,
      roles: [role],
      requirements: ['REQ-WIRE-013', 'REQ-WIRE-014', 'REQ-WIRE-005', 'REQ-WIRE-006', 'REQ-FAIL-007'],
      title: 'Rejects bytes that are no frame (MALFORMED), whatever they hold',
      description: `Extra streams send, each as their first message: ${undecodable.map(([what]) => what).join('; ')}. Each must be rejected with MALFORMED and INVALID_ARGUMENT after a Rejected frame, the testee must keep serving, and the synced session of its upstream peer must go on.`,
      timeoutMs: 30_000,
      async run(ctx) {
        if (!(await ctx.waitFor(['REQ-SESS-011'], 'the upstream session synced', () => upstreamSynced(ctx), 10_000))) return;
        const link = upstreamLink(ctx);
        const current = link.current;
        for (const [what, hex, requirement] of undecodable) {
          ctx.step(what);
          const raw = link.rawStream(what);
          raw.writeBytes(Buffer.from(hex, 'hex'));
          await ctx.expectRejection(raw.stream, 'MALFORMED', [requirement], what);
        }
        ctx.check(['REQ-FAIL-007', 'REQ-WIRE-013'], link.current === current && current !== null && !current.ended, 'an undecodable frame on another stream ended the current session');
      },
    },
  ];
}
