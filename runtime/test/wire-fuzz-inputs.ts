/**
 * Inputs of the wire fuzzer (wire-fuzz.test.ts): messages built from the schema of
 * spec/kubedirect.proto (the strict decoder's view of it) as trees of protobuf fields,
 * then damaged: one field given another wire type, a value out of its type's range or
 * a non-finite float, a huge length, a deep nesting, a duplicate, an unknown field
 * number, a group, or the bytes cut short; plus random bytes and gRPC framing errors.
 *
 * The base messages are chosen so that no input can be an honest one that changes
 * state: a Link frame's epoch is at most 1,000 (every current epoch is at least 2^20:
 * a Hello of such an epoch is stale), and a ScaleRequest names no configured function.
 */
import fc from 'fast-check';
import type { Schema } from '../wire/strict-decoder.js';

/** One protobuf field as written: a varint, 8 or 4 raw bytes, bytes, a nested message, or a group. */
export type WireField =
  | { readonly number: number; readonly wire: 'varint'; readonly value: bigint }
  | { readonly number: number; readonly wire: 'fixed64' | 'fixed32' | 'bytes'; readonly value: Uint8Array }
  | { readonly number: number; readonly wire: 'message'; readonly value: readonly WireField[] }
  | { readonly number: number; readonly wire: 'group'; readonly value: readonly WireField[]; readonly closed: boolean }
  /** A length-delimited field whose length prefix says `length` but holds `value`. */
  | { readonly number: number; readonly wire: 'lying-length'; readonly length: number; readonly value: Uint8Array };

const wireTypeOf = { varint: 0, fixed64: 1, bytes: 2, message: 2, 'lying-length': 2, fixed32: 5, group: 3 } as const;

function varintBytes(value: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, value);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

export function encodeFields(fields: readonly WireField[]): Buffer {
  const parts: Buffer[] = [];
  for (const field of fields) {
    const key = Buffer.from(varintBytes(BigInt(field.number * 8 + wireTypeOf[field.wire])));
    switch (field.wire) {
      case 'varint':
        parts.push(key, Buffer.from(varintBytes(field.value)));
        break;
      case 'fixed64':
      case 'fixed32':
        parts.push(key, Buffer.from(field.value));
        break;
      case 'bytes':
        parts.push(key, Buffer.from(varintBytes(BigInt(field.value.length))), Buffer.from(field.value));
        break;
      case 'message': {
        const inner = encodeFields(field.value);
        parts.push(key, Buffer.from(varintBytes(BigInt(inner.length))), inner);
        break;
      }
      case 'lying-length':
        parts.push(key, Buffer.from(varintBytes(BigInt(field.length))), Buffer.from(field.value));
        break;
      case 'group':
        parts.push(key, encodeFields(field.value));
        if (field.closed) parts.push(Buffer.from(varintBytes(BigInt(field.number * 8 + 4))));
        break;
    }
  }
  return Buffer.concat(parts);
}

/** Names a stage may or may not know, never a configured function whose scale could change. */
const names = ['nope', 'fn-1-1', 'n1', 'kubelet:n1', 'scheduler', 'replicaset', 'deployment', 'autoscaler', 'replicaset', 'scheduler', '', 'x'.repeat(300)];

/** A valid message of `typeName`, as fields, built from the schema; `depth` bounds nesting. */
export function messageOf(schema: Schema, typeName: string, depth = 0): fc.Arbitrary<WireField[]> {
  const type = schema.messages.get(typeName);
  if (type === undefined) throw new Error(`no message ${typeName}`);
  const oneofs = [...new Set(type.fieldList.flatMap((f) => (f.oneof === null ? [] : [f.oneof])))];
  const plain = type.fieldList.filter((f) => f.oneof === null);
  const memberOf = (oneof: string): fc.Arbitrary<number> => fc.constantFrom(...type.fieldList.filter((f) => f.oneof === oneof).map((f) => f.number));
  return fc.tuple(fc.tuple(...oneofs.map(memberOf)), fc.subarray(plain.map((f) => f.number))).chain(([members, present]) => {
    const chosen = type.fieldList.filter((f) => members.includes(f.number) || present.includes(f.number));
    const values = chosen.map((field): fc.Arbitrary<WireField[]> => {
      const one = (): fc.Arbitrary<WireField> => valueOf(schema, typeName, field.name, field.kind, field.typeName, field.number, depth);
      return field.repeated ? fc.array(one(), { minLength: 1, maxLength: 3 }) : one().map((f) => [f]);
    });
    return values.length === 0 ? fc.constant([]) : fc.tuple(...values).map((lists) => lists.flat());
  });
}

function valueOf(schema: Schema, typeName: string, fieldName: string, kind: string, fieldType: string, number: number, depth: number): fc.Arbitrary<WireField> {
  if (typeName.endsWith('Frame') && fieldName === 'epoch') return fc.integer({ min: 1, max: 1_000 }).map((v) => ({ number, wire: 'varint', value: BigInt(v) }));
  switch (kind) {
    case 'string':
      return fc.constantFrom(...names).map((s) => ({ number, wire: 'bytes', value: Buffer.from(s) }));
    case 'bool':
      return fc.boolean().map((b) => ({ number, wire: 'varint', value: b ? 1n : 0n }));
    case 'int32':
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((v) => ({ number, wire: 'varint', value: BigInt(v) }));
    case 'uint32':
    case 'enum':
      return fc.integer({ min: 0, max: 12 }).map((v) => ({ number, wire: 'varint', value: BigInt(v) }));
    case 'uint64':
      return fc.integer({ min: 0, max: 2 ** 40 }).map((v) => ({ number, wire: 'varint', value: BigInt(v) }));
    default:
      return depth >= 4 ? fc.constant({ number, wire: 'message', value: [] }) : messageOf(schema, fieldType, depth + 1).map((value) => ({ number, wire: 'message', value }));
  }
}

/** How an input was damaged; the fuzzer's table counts inputs and statuses by these kinds. */
export type InputKind =
  | 'valid'
  | 'wrong-wire-type'
  | 'out-of-range'
  | 'non-finite'
  | 'huge-length'
  | 'deep-nesting'
  | 'duplicate-field'
  | 'unknown-field'
  | 'group'
  | 'truncated'
  | 'random-bytes'
  | 'grpc-truncated'
  | 'grpc-compressed-flag'
  | 'grpc-oversize'
  | 'http2-unknown-method'
  | 'http2-reset';

export const messageKinds: readonly InputKind[] = ['valid', 'wrong-wire-type', 'out-of-range', 'non-finite', 'huge-length', 'deep-nesting', 'duplicate-field', 'unknown-field', 'group', 'truncated', 'random-bytes'];
export const framingKinds: readonly InputKind[] = ['grpc-truncated', 'grpc-compressed-flag', 'grpc-oversize', 'http2-unknown-method', 'http2-reset'];

/** Every field of a tree with its path of indexes, for picking one to damage. */
function paths(fields: readonly WireField[], prefix: number[] = []): number[][] {
  return fields.flatMap((f, i) => [[...prefix, i], ...(f.wire === 'message' ? paths(f.value, [...prefix, i]) : [])]);
}

function replaceAt(fields: readonly WireField[], path: readonly number[], replace: (field: WireField) => WireField[]): WireField[] {
  const [head, ...rest] = path;
  return fields.flatMap((f, i) => {
    if (i !== head) return [f];
    if (rest.length === 0) return replace(f);
    return f.wire === 'message' ? [{ ...f, value: replaceAt(f.value, rest, replace) }] : [f];
  });
}

const nan64 = Buffer.from('000000000000f87f', 'hex');
const infinity64 = Buffer.from('000000000000f07f', 'hex');
const nan32 = Buffer.from('0000c07f', 'hex');
const infinity32 = Buffer.from('0000807f', 'hex');

/** One damage of `kind` to the field at `path`, chosen by `choice` (any natural number). */
function damage(kind: InputKind, field: WireField, choice: number): WireField[] {
  const number = field.number;
  switch (kind) {
    case 'wrong-wire-type': {
      const others: WireField[] = [
        { number, wire: 'varint', value: BigInt(choice) },
        { number, wire: 'fixed64', value: Buffer.alloc(8, choice & 0xff) },
        { number, wire: 'fixed32', value: Buffer.alloc(4, choice & 0xff) },
        { number, wire: 'bytes', value: Buffer.from([choice & 0xff]) },
      ];
      const candidates = others.filter((o) => wireTypeOf[o.wire] !== wireTypeOf[field.wire]);
      return [candidates[choice % candidates.length] as WireField];
    }
    case 'out-of-range':
      return [{ number, wire: 'varint', value: [2n ** 32n, 2n ** 53n, 2n ** 64n - 1n, -(2n ** 40n), 2n ** 31n][choice % 5] as bigint }];
    case 'non-finite':
      return [[{ number, wire: 'fixed64', value: nan64 }, { number, wire: 'fixed64', value: infinity64 }, { number, wire: 'fixed32', value: nan32 }, { number, wire: 'fixed32', value: infinity32 }][choice % 4] as WireField];
    case 'huge-length':
      // A length prefix far past the end of the message, with a few bytes behind it.
      return [{ number, wire: 'lying-length', length: [2 ** 31, 2 ** 32 - 1, 65_536, 1_000][choice % 4] as number, value: Buffer.from('abc') }];
    case 'deep-nesting': {
      let inner: WireField = { number, wire: 'message', value: [] };
      for (let i = 0; i < 50 + (choice % 150); i++) inner = { number, wire: 'message', value: [inner] };
      return [inner];
    }
    case 'duplicate-field':
      return [field, field];
    case 'unknown-field':
      return [field, { number: 100 + (choice % 1_000), wire: 'varint', value: 1n }];
    case 'group':
      return [field, { number: 100 + (choice % 10), wire: 'group', value: [{ number: 1, wire: 'varint', value: 1n }], closed: choice % 2 === 0 }];
    default:
      return [field];
  }
}

export interface MessageInput {
  readonly kind: InputKind;
  readonly bytes: Buffer;
}

/** A message of `typeName` as bytes, valid or damaged by one of `messageKinds`. */
export function messageInput(schema: Schema, typeName: string): fc.Arbitrary<MessageInput> {
  return fc.tuple(messageOf(schema, typeName), fc.constantFrom(...messageKinds), fc.nat(), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 40 })).map(([fields, kind, pick, choice, random]) => {
    if (kind === 'random-bytes') return { kind, bytes: Buffer.from(random) };
    const all = paths(fields);
    if (kind === 'valid') return { kind, bytes: encodeFields(fields) };
    if (kind === 'truncated') {
      const bytes = encodeFields(fields);
      return bytes.length < 2 ? { kind: 'random-bytes' as const, bytes: Buffer.from(random) } : { kind, bytes: bytes.subarray(0, 1 + (choice % (bytes.length - 1))) };
    }
    if (all.length === 0) return { kind: 'unknown-field' as const, bytes: encodeFields([{ number: 100 + (choice % 1_000), wire: 'varint', value: 1n }]) };
    const path = all[pick % all.length] as number[];
    return { kind, bytes: encodeFields(replaceAt(fields, path, (f) => damage(kind, f, choice))) };
  });
}
