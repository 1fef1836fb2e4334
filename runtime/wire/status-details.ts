/**
 * The binary `grpc-status-details-bin` payload of a rejection: a `google.rpc.Status`
 * whose `details` are `google.protobuf.Any` messages holding one
 * `kubedirect.v1.ErrorDetail` and one `google.rpc.ErrorInfo` (spec 10 §Errors).
 *
 * These four small messages are encoded and decoded here by hand (proto3 wire format:
 * varints and length-delimited fields) so that the runtime needs no generated code and
 * no protobuf library of its own; the numbers of `ErrorReason` come from
 * spec/kubedirect.proto itself, so the enum is defined once.
 *
 *   google.rpc.Status    { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
 *   google.protobuf.Any  { string type_url = 1; bytes value = 2; }
 *   google.rpc.ErrorInfo { string reason = 1; string domain = 2; map<string, string> metadata = 3; }
 *   kubedirect.v1.ErrorDetail { ErrorReason reason = 1; uint64 epoch = 2; string link_id = 3; string message = 4; }
 */
import * as protoLoader from '@grpc/proto-loader';
import { protoLoaderOptions, protoPath } from './proto.js';

export const errorDetailTypeUrl = 'type.googleapis.com/kubedirect.v1.ErrorDetail';
export const errorInfoTypeUrl = 'type.googleapis.com/google.rpc.ErrorInfo';

export interface RpcStatusDetail {
  /** The wire reason name (`STALE_EPOCH`, ...). */
  readonly reason: string;
  readonly epoch: number;
  readonly link_id: string;
  readonly message: string;
}

export interface RpcStatus {
  readonly code: number;
  readonly message: string;
  readonly errorDetail: RpcStatusDetail | null;
  readonly errorInfo: { readonly reason: string; readonly domain: string } | null;
  /** Type URLs of every detail, in order (including ones this file does not know). */
  readonly detailTypes: readonly string[];
}

// ---------------------------------------------------------------------------
// ErrorReason numbers, from the .proto
// ---------------------------------------------------------------------------

const reasonEnum = (
  protoLoader.loadSync(protoPath, protoLoaderOptions)['kubedirect.v1.ErrorReason'] as unknown as {
    type?: { value?: Array<{ name: string; number: number }> };
  }
).type?.value;
if (reasonEnum === undefined) throw new Error('spec/kubedirect.proto has no enum ErrorReason');
const numberOfReason = new Map(reasonEnum.map((v) => [v.name, v.number]));
const reasonOfNumber = new Map(reasonEnum.map((v) => [v.number, v.name]));

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

class Writer {
  private readonly bytes: number[] = [];

  varint(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`varint out of range: ${value}`);
    let v = value;
    while (v >= 0x80) {
      this.bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.bytes.push(v);
    return this;
  }

  /** A varint field; proto3 omits the default 0. */
  uint(field: number, value: number): this {
    return value === 0 ? this : this.varint(field * 8).varint(value);
  }

  /** A length-delimited field; proto3 omits an empty string (but not an empty message: `always`). */
  bytesField(field: number, value: Uint8Array, always = false): this {
    if (value.length === 0 && !always) return this;
    this.varint(field * 8 + 2).varint(value.length);
    for (const b of value) this.bytes.push(b);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytesField(field, Buffer.from(value, 'utf8'));
  }

  finish(): Buffer {
    return Buffer.from(this.bytes);
  }
}

function any(typeUrl: string, value: Buffer): Buffer {
  return new Writer().string(1, typeUrl).bytesField(2, value).finish();
}

export function encodeErrorDetail(detail: RpcStatusDetail): Buffer {
  const reason = numberOfReason.get(detail.reason);
  if (reason === undefined || reason === 0) throw new Error(`not an ErrorReason of spec/kubedirect.proto: ${detail.reason}`);
  return new Writer().uint(1, reason).uint(2, detail.epoch).string(3, detail.link_id).string(4, detail.message).finish();
}

/** The serialized google.rpc.Status of a rejection. */
export function encodeRpcStatus(status: {
  readonly code: number;
  readonly message: string;
  readonly errorDetail: RpcStatusDetail;
  readonly errorInfo?: { readonly reason: string; readonly domain: string };
}): Buffer {
  const w = new Writer().uint(1, status.code).string(2, status.message);
  w.bytesField(3, any(errorDetailTypeUrl, encodeErrorDetail(status.errorDetail)), true);
  if (status.errorInfo !== undefined)
    w.bytesField(3, any(errorInfoTypeUrl, new Writer().string(1, status.errorInfo.reason).string(2, status.errorInfo.domain).finish()), true);
  return w.finish();
}

// ---------------------------------------------------------------------------
// Decoding (strict about structure, tolerant of unknown fields)
// ---------------------------------------------------------------------------

type Field = { readonly field: number; readonly varint?: number; readonly bytes?: Buffer };

function fieldsOf(buffer: Buffer): Field[] {
  const fields: Field[] = [];
  let at = 0;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (at >= buffer.length) throw new Error('truncated varint');
      const b = buffer[at++] as number;
      value += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 0x80;
      if (scale > 2 ** 63) throw new Error('varint too long');
    }
    return value;
  };
  while (at < buffer.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (wireType === 0) fields.push({ field, varint: varint() });
    else if (wireType === 2) {
      const length = varint();
      if (at + length > buffer.length) throw new Error('truncated field');
      fields.push({ field, bytes: buffer.subarray(at, at + length) });
      at += length;
    } else if (wireType === 1) at += 8;
    else if (wireType === 5) at += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
    if (at > buffer.length) throw new Error('truncated field');
  }
  return fields;
}

function text(fields: Field[], field: number): string {
  const found = fields.filter((f) => f.field === field && f.bytes !== undefined).at(-1);
  return found?.bytes?.toString('utf8') ?? '';
}

function uint(fields: Field[], field: number): number {
  return fields.filter((f) => f.field === field && f.varint !== undefined).at(-1)?.varint ?? 0;
}

export function decodeErrorDetail(buffer: Buffer): RpcStatusDetail {
  const fields = fieldsOf(buffer);
  const number = uint(fields, 1);
  return { reason: reasonOfNumber.get(number) ?? `ERROR_REASON_${number}`, epoch: uint(fields, 2), link_id: text(fields, 3), message: text(fields, 4) };
}

/** Decodes a serialized google.rpc.Status; throws on bytes that are not one. */
export function decodeRpcStatus(buffer: Buffer): RpcStatus {
  const fields = fieldsOf(buffer);
  let errorDetail: RpcStatusDetail | null = null;
  let errorInfo: RpcStatus['errorInfo'] = null;
  const detailTypes: string[] = [];
  for (const f of fields) {
    if (f.field !== 3 || f.bytes === undefined) continue;
    const inner = fieldsOf(f.bytes);
    const typeUrl = text(inner, 1);
    const value = inner.filter((g) => g.field === 2 && g.bytes !== undefined).at(-1)?.bytes ?? Buffer.alloc(0);
    detailTypes.push(typeUrl);
    if (typeUrl === errorDetailTypeUrl) errorDetail = decodeErrorDetail(value);
    else if (typeUrl === errorInfoTypeUrl) {
      const info = fieldsOf(value);
      errorInfo = { reason: text(info, 1), domain: text(info, 2) };
    }
  }
  return { code: uint(fields, 1), message: text(fields, 2), errorDetail, errorInfo, detailTypes };
}
