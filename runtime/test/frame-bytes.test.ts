/**
 * runtime/wire/frame-bytes.ts writes and reads the burst frames without protobufjs; its
 * reference is proto-loader's (de)serializer of spec/kubedirect.proto. These properties
 * check that both give the same bytes for the same frame, and the same frame for the same
 * bytes: valid frames, frames with unusual values (non-ASCII names, large epochs,
 * negative priorities), every body; and, for bytes cut short or mutated, that the
 * runtime never throws and accepts only what the reference reads the same way.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deserializeDownstreamFrame, deserializeUpstreamFrame, protoLoaderFrames, serializeDownstreamFrame, serializeUpstreamFrame } from '../wire/frame-bytes.js';
import { isUndecodable, type DownstreamFrame, type Undecodable, type UpstreamFrame } from '../wire/proto.js';

const reference = {
  serializeUp: protoLoaderFrames.serializeUpstream,
  deserializeUp: protoLoaderFrames.deserializeUpstream,
  serializeDown: protoLoaderFrames.serializeDownstream,
  deserializeDown: protoLoaderFrames.deserializeDownstream,
};

/** Names as the wire carries them, plus some it must still encode the reference's way. */
const name = fc.oneof(
  fc.constantFrom('fn', 'fn-1700000000-12', 'n1', 'scheduler', ''),
  fc.stringMatching(/^[a-z0-9-]{1,40}$/),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
);
const epoch = fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }), fc.constantFrom(1, 2 ** 20 + 1, Number.MAX_SAFE_INTEGER));
const podRecord = fc.record({ name, function: name, priority: fc.oneof(fc.integer({ min: -5, max: 5 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })), node: name });
const tombstone = fc.record({ name, origin: name });
const names = fc.array(name, { minLength: 0, maxLength: 20 });

const upstreamFrame: fc.Arbitrary<UpstreamFrame> = fc.oneof(
  fc.record({ epoch, pods: fc.array(podRecord, { maxLength: 20 }) }).map(({ epoch, pods }) => ({ epoch, body: 'provision' as const, provision: { pods } })),
  fc.record({ epoch, tombstones: fc.array(tombstone, { maxLength: 20 }) }).map(({ epoch, tombstones }) => ({ epoch, body: 'tombstone' as const, tombstone: { tombstones } })),
  fc.record({ epoch, scales: fc.array(fc.record({ function: name, desired: fc.nat(1000) }), { maxLength: 5 }) }).map(({ epoch, scales }) => ({ epoch, body: 'scale_set' as const, scale_set: { scales } })),
  epoch.map((e) => ({ epoch: e, body: 'hello' as const, hello: { upstream_stage_id: 'scheduler', downstream_stage_id: 'kubelet:n1', protocol_version: 1 } })),
);

const downstreamFrame: fc.Arbitrary<DownstreamFrame> = fc.oneof(
  fc.record({ epoch, names }).map(({ epoch, names }) => ({ epoch, body: 'running' as const, running: { names } })),
  fc.record({ epoch, names }).map(({ epoch, names }) => ({ epoch, body: 'preempted' as const, preempted: { names } })),
  fc.record({ epoch, names }).map(({ epoch, names }) => ({ epoch, body: 'tombstone_done' as const, tombstone_done: { names } })),
  fc.record({ epoch, reason: fc.constantFrom('STALE_EPOCH', 'MALFORMED'), message: name }).map(({ epoch, reason, message }) => ({ epoch, body: 'rejected' as const, rejected: { reason, message } }) as DownstreamFrame),
);

/** The result of reading bytes: the frame, or that it threw. */
function outcome<F>(read: (bytes: Buffer) => F, bytes: Buffer): { frame: F } | { threw: true } {
  try {
    return { frame: read(bytes) };
  } catch {
    return { threw: true };
  }
}

/** Bytes cut short at `cut`, with the byte at `at` replaced by `value` (both taken modulo the length). */
function damaged(bytes: Buffer, cut: number, at: number, value: number): Buffer {
  const copy = Buffer.from(bytes.subarray(0, bytes.length === 0 ? 0 : 1 + (cut % bytes.length)));
  if (copy.length > 0) copy[at % copy.length] = value;
  return copy;
}

describe('frame bytes: the direct path gives what proto-loader gives', () => {
  it('frames down: same bytes written, same frame read back', () => {
    fc.assert(
      fc.property(upstreamFrame, (frame) => {
        const bytes = reference.serializeUp(frame);
        expect(serializeUpstreamFrame(frame).equals(bytes)).toBe(true);
        expect(deserializeUpstreamFrame(bytes)).toEqual(reference.deserializeUp(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('frames up: same bytes written, same frame read back', () => {
    fc.assert(
      fc.property(downstreamFrame, (frame) => {
        const bytes = reference.serializeDown(frame);
        expect(serializeDownstreamFrame(frame).equals(bytes)).toBe(true);
        expect(deserializeDownstreamFrame(bytes)).toEqual(reference.deserializeDown(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('cut or mutated bytes: never a throw; Undecodable, or exactly the frame the reference reads', () => {
    // The reference (protobufjs) is lax: it reads a wrong wire type as a value (issue 17). The runtime may refuse
    // what it accepts, but whatever the runtime accepts the reference reads the same way.
    const agrees = <F>(ours: F | Undecodable, theirs: { frame: F } | { threw: true }): void => {
      if (isUndecodable(ours)) return;
      expect(theirs).toEqual({ frame: ours });
    };
    fc.assert(
      fc.property(upstreamFrame, downstreamFrame, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), (up, down, cut, at, value) => {
        const upBytes = damaged(reference.serializeUp(up), cut, at, value);
        agrees(deserializeUpstreamFrame(upBytes), outcome(reference.deserializeUp, upBytes));
        const downBytes = damaged(reference.serializeDown(down), cut, at, value);
        agrees(deserializeDownstreamFrame(downBytes), outcome(reference.deserializeDown, downBytes));
      }),
      { numRuns: 3000 },
    );
  });
});
