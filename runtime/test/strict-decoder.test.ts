/**
 * The strict decoder (runtime/wire/strict-decoder.ts) against protobufjs, the decoder
 * proto-loader uses: every message protobufjs writes, the strict decoder reads as
 * proto-loader's `toObject` gives it; every field of every message of the .proto sent
 * with any wire type but its own is refused, naming the field, where protobufjs reads a
 * value; and no byte string makes it throw.
 */
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { protoLoaderOptions, protoPath, wireSchema } from '../wire/proto.js';
import { decodeStrict } from '../wire/strict-decoder.js';

const root = new protobuf.Root().loadSync(protoPath, { keepCase: true });
const typeOf = (name: string): protobuf.Type => root.lookupType(name);
const toObjectOptions = { longs: Number, enums: String, defaults: true, oneofs: true } as const;
expect(protoLoaderOptions).toMatchObject({ ...toObjectOptions, keepCase: true });

const name = fc.oneof(fc.constantFrom('fn', 'fn-3-12', 'n1', 'kubelet:n1', ''), fc.string({ unit: 'grapheme', maxLength: 10 }));
const scale = fc.record({ function: name, desired: fc.nat() });
const pod = fc.record({ name, function: name, priority: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), node: name });
const epoch = fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER));

/** Valid values of some messages of the .proto, as plain objects protobufjs's fromObject takes. */
const samples: ReadonlyArray<[string, fc.Arbitrary<Record<string, unknown>>]> = [
  ['kubedirect.v1.ScaleRequest', scale],
  ['kubedirect.v1.GetStateRequest', fc.record({ function: name, omit_pods: fc.boolean() })],
  [
    'kubedirect.v1.UpstreamFrame',
    fc.oneof(
      fc.record({ epoch, hello: fc.record({ upstream_stage_id: name, downstream_stage_id: name, protocol_version: fc.nat() }) }),
      fc.record({ epoch, sync: fc.constant({}) }),
      fc.record({ epoch, scale_set: fc.record({ scales: fc.array(scale, { maxLength: 4 }) }) }),
      fc.record({ epoch, provision: fc.record({ pods: fc.array(pod, { maxLength: 4 }) }) }),
    ),
  ],
  [
    'kubedirect.v1.DownstreamFrame',
    fc.oneof(
      fc.record({
        epoch,
        snapshot: fc.record({
          scales: fc.array(scale, { maxLength: 3 }),
          pods: fc.array(fc.record({ record: pod, phase: fc.constantFrom('PENDING', 'RUNNING') }), { maxLength: 3 }),
          tombstones: fc.array(fc.record({ record: pod, origin: name }), { maxLength: 3 }),
          last: fc.boolean(),
        }),
      }),
      fc.record({ epoch, rejected: fc.record({ reason: fc.constantFrom('STALE_EPOCH', 'MALFORMED', 'NOT_READY'), message: name }) }),
      fc.record({ epoch, failed: fc.record({ failures: fc.array(fc.record({ name, reason: fc.constantFrom('SANDBOX_FAILED', 'INVALIDATED') }), { maxLength: 3 }) }) }),
    ),
  ],
];

describe('the strict decoder reads what protobufjs writes, as proto-loader gives it', () => {
  for (const [typeName, values] of samples)
    it(typeName, () => {
      const type = typeOf(typeName);
      fc.assert(
        fc.property(values, (value) => {
          const bytes = type.encode(type.fromObject(value)).finish();
          const decoded = decodeStrict(wireSchema, typeName, bytes);
          expect(decoded).toEqual({ ok: true, value: type.toObject(type.decode(bytes), toObjectOptions) });
        }),
        { numRuns: 300 },
      );
    });
});

/** Every field of every message of the .proto, with its field number and the wire type it must have. */
const fields = [...wireSchema.messages.values()].flatMap((message) =>
  message.fieldList.map((field) => ({ message: message.name, field: field.name, number: field.number, wireType: field.kind === 'string' || field.kind === 'message' ? 2 : 0 })),
);

/** A field of `number` with `wireType` and a plausible payload of that wire type. */
function fieldBytes(number: number, wireType: number, payload: Uint8Array): Buffer {
  const key = number * 8 + wireType;
  const keyBytes = key < 0x80 ? [key] : [(key & 0x7f) | 0x80, key >> 7];
  switch (wireType) {
    case 0:
      return Buffer.from([...keyBytes, ...(payload.length === 0 ? [0] : [...payload.subarray(0, 3)].map((b) => b | 0x80).concat([1]))]);
    case 1:
      return Buffer.from([...keyBytes, ...Buffer.concat([Buffer.from(payload), Buffer.alloc(8)]).subarray(0, 8)]);
    case 5:
      return Buffer.from([...keyBytes, ...Buffer.concat([Buffer.from(payload), Buffer.alloc(4)]).subarray(0, 4)]);
    default:
      return Buffer.from([...keyBytes, payload.length, ...payload]);
  }
}

describe('a field of the wrong wire type is refused, naming the field', () => {
  it(`every field of every message (${fields.length} fields), every other wire type`, () => {
    expect(fields.length).toBeGreaterThan(50);
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.constantFrom(0, 1, 2, 5), fc.uint8Array({ maxLength: 8 }), (f, wireType, payload) => {
        fc.pre(wireType !== f.wireType);
        const decoded = decodeStrict(wireSchema, f.message, fieldBytes(f.number, wireType, payload));
        expect(decoded.ok).toBe(false);
        if (!decoded.ok) expect(decoded.why).toContain(`.${f.field}: wire type`);
      }),
      { numRuns: 2000 },
    );
  });

  it('protobufjs, for comparison, reads a double for ScaleRequest.desired as a number (the defect of issue 17)', () => {
    const bytes = Buffer.from('0a02666e119a9999999999b93f', 'hex');
    const type = typeOf('kubedirect.v1.ScaleRequest');
    expect(type.toObject(type.decode(bytes), toObjectOptions)).toMatchObject({ function: 'fn', desired: expect.any(Number) });
    expect(decodeStrict(wireSchema, 'kubedirect.v1.ScaleRequest', bytes)).toEqual({ ok: false, why: 'ScaleRequest.desired: wire type fixed64, but a uint32 is varint' });
  });
});

describe('no byte string makes the strict decoder throw', () => {
  const typeNames = [...wireSchema.messages.keys()];
  it('random bytes, every message type', () => {
    fc.assert(
      fc.property(fc.constantFrom(...typeNames), fc.uint8Array({ maxLength: 64 }), (typeName, bytes) => {
        const decoded = decodeStrict(wireSchema, typeName, bytes);
        expect(typeof decoded.ok).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
  });

  it('limits of varints and values: 11 bytes, 2^32 for a uint32, an int32 out of range, a bool of 2, field number 0, groups', () => {
    const refused = (typeName: string, hex: string): string => {
      const decoded = decodeStrict(wireSchema, typeName, Buffer.from(hex, 'hex'));
      return decoded.ok ? 'accepted' : decoded.why;
    };
    expect(refused('kubedirect.v1.ScaleRequest', '10ffffffffffffffffffff01')).toMatch(/varint/);
    expect(refused('kubedirect.v1.ScaleRequest', '108080808010')).toMatch(/outside uint32/);
    expect(refused('kubedirect.v1.PodRecord', '1880808080f0ffffffff01')).toMatch(/outside int32/);
    expect(refused('kubedirect.v1.PodRecord', '18ffffffff0f')).toMatch(/outside int32/);
    expect(refused('kubedirect.v1.GetStateRequest', '1002')).toMatch(/bool/);
    expect(refused('kubedirect.v1.ScaleRequest', '0001')).toMatch(/field number 0/);
    expect(refused('kubedirect.v1.UpstreamFrame', '0801130801')).toMatch(/group start/);
    expect(refused('kubedirect.v1.UpstreamFrame', '080108021a00')).toMatch(/set twice/);
    expect(refused('kubedirect.v1.UpstreamFrame', '08011a001a00')).toMatch(/set twice/);
    expect(refused('kubedirect.v1.UpstreamFrame', '08011a002200')).toMatch(/two members of oneof body/);
    expect(refused('kubedirect.v1.ScaleRequest', '0a02ff66')).toMatch(/not UTF-8/);
    expect(refused('kubedirect.v1.ScaleRequest', '7801')).toMatch(/unknown field 15/);
    expect(refused('kubedirect.v1.PodRecord', '1880808080f8ffffffff01')).toBe('accepted'); // -2^31, the smallest int32
  });
});
