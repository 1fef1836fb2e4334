/**
 * Link frames to bytes and back, for the gRPC transport (runtime/node/grpc-*-link.ts).
 *
 * The reference is the @grpc/proto-loader (de)serializer of spec/kubedirect.proto:
 * protobufjs `fromObject` + `encode` to write, `decode` + `toObject` to read. It is
 * general but dear on the frames of a burst: about 2 µs per pod record to write (mostly
 * protobufjs's writer), and every record built twice to read. So the frames that carry
 * records in bursts (provision and tombstone down; running, preempted and tombstone_done
 * up) are written and read here directly; every other frame goes to the reference.
 *
 * Writing: the direct path gives exactly the bytes of the reference, and leaves to the
 * reference every frame it does not write the plain way (any other body, a string that
 * is not ASCII, a number outside its type's plain range, a value of the wrong type).
 *
 * Reading never throws and never uses protobufjs (it does not check wire types: issue
 * 17): the direct path reads only the plain encoding of the burst frames (one-byte keys
 * of the right wire type, strings that are UTF-8, each field once, varints within their type) and
 * gives exactly the object proto-loader would; every other byte string goes to the
 * strict decoder (strict-decoder.ts), which gives the same object or Undecodable.
 */
import type * as grpc from '@grpc/grpc-js';
import {
  LinkClient,
  packageDefinition,
  strictDeserializerOf,
  wireSchema,
  type DownstreamFrame,
  type Undecodable,
  type UpstreamFrame,
  type WirePodRecord,
  type WireTombstone,
} from './proto.js';

// ---------------------------------------------------------------------------
// The reference (de)serializers
// ---------------------------------------------------------------------------

const sessionMethod = (LinkClient.service as grpc.ServiceDefinition)['Session'];
if (sessionMethod === undefined) throw new Error('spec/kubedirect.proto: Link has no Session');
const referenceSerializeUpstream = sessionMethod.requestSerialize as (frame: UpstreamFrame) => Buffer;
const referenceDeserializeUpstream = sessionMethod.requestDeserialize as (bytes: Buffer) => UpstreamFrame;
const referenceSerializeDownstream = sessionMethod.responseSerialize as (frame: DownstreamFrame) => Buffer;
const referenceDeserializeDownstream = sessionMethod.responseDeserialize as (bytes: Buffer) => DownstreamFrame;

/** proto-loader's own (de)serializers of the Link frames: the reference this file must match (tests compare the two). */
export const protoLoaderFrames = {
  serializeUpstream: referenceSerializeUpstream,
  deserializeUpstream: referenceDeserializeUpstream,
  serializeDownstream: referenceSerializeDownstream,
  deserializeDownstream: referenceDeserializeDownstream,
} as const;

// ---------------------------------------------------------------------------
// Field keys of the direct path, checked against the .proto at load
// ---------------------------------------------------------------------------

type DescriptorField = { readonly name: string; readonly number: number; readonly type: string; readonly label: string };

function fieldsOf(message: string): readonly DescriptorField[] {
  const fields = (packageDefinition[`kubedirect.v1.${message}`] as { type?: { field?: DescriptorField[] } } | undefined)?.type?.field;
  if (fields === undefined) throw new Error(`spec/kubedirect.proto has no message ${message}`);
  return fields;
}

/** A message whose every field the direct path writes and reads: any field added to the .proto must be added here too. */
function allFieldsKnown(message: string, count: number): void {
  if (fieldsOf(message).length !== count) throw new Error(`runtime/wire/frame-bytes.ts: ${message} has fields this file does not know`);
}

/** The key (field number and wire type) of a field, after checking it is as written here. */
function keyOf(message: string, field: string, number: number, type: 'TYPE_STRING' | 'TYPE_INT32' | 'TYPE_UINT64' | 'TYPE_MESSAGE', repeated = false): number {
  const d = fieldsOf(message).find((f) => f.name === field);
  if (d === undefined || d.number !== number || d.type !== type || (d.label === 'LABEL_REPEATED') !== repeated)
    throw new Error(`runtime/wire/frame-bytes.ts: ${message}.${field} is not as in spec/kubedirect.proto`);
  const key = number * 8 + (type === 'TYPE_STRING' || type === 'TYPE_MESSAGE' ? 2 : 0);
  if (key >= 0x80) throw new Error('runtime/wire/frame-bytes.ts: every key is one byte');
  return key;
}

/** Field 1 of both frames. */
const epochKey = keyOf('UpstreamFrame', 'epoch', 1, 'TYPE_UINT64');
keyOf('DownstreamFrame', 'epoch', 1, 'TYPE_UINT64');
const provisionKey = keyOf('UpstreamFrame', 'provision', 5, 'TYPE_MESSAGE');
const tombstoneKey = keyOf('UpstreamFrame', 'tombstone', 6, 'TYPE_MESSAGE');
const runningKey = keyOf('DownstreamFrame', 'running', 5, 'TYPE_MESSAGE');
const preemptedKey = keyOf('DownstreamFrame', 'preempted', 7, 'TYPE_MESSAGE');
const tombstoneDoneKey = keyOf('DownstreamFrame', 'tombstone_done', 8, 'TYPE_MESSAGE');
// The writer checks that every other body of a frame is absent (writeUpstreamDirect, writeDownstreamDirect).
allFieldsKnown('UpstreamFrame', 6);
allFieldsKnown('DownstreamFrame', 8);
/** Field 1 of every batch message here: its records (messages or strings, both length-delimited). */
const recordKey = keyOf('ProvisionBatch', 'pods', 1, 'TYPE_MESSAGE', true);
keyOf('TombstoneBatch', 'tombstones', 1, 'TYPE_MESSAGE', true);
for (const batch of ['RunningBatch', 'PreemptedBatch', 'TombstoneDoneBatch']) keyOf(batch, 'names', 1, 'TYPE_STRING', true);
for (const batch of ['ProvisionBatch', 'TombstoneBatch', 'RunningBatch', 'PreemptedBatch', 'TombstoneDoneBatch']) allFieldsKnown(batch, 1);
const podNameKey = keyOf('PodRecord', 'name', 1, 'TYPE_STRING');
const podFunctionKey = keyOf('PodRecord', 'function', 2, 'TYPE_STRING');
const podPriorityKey = keyOf('PodRecord', 'priority', 3, 'TYPE_INT32');
const podNodeKey = keyOf('PodRecord', 'node', 4, 'TYPE_STRING');
allFieldsKnown('PodRecord', 4);
const tombstoneNameKey = keyOf('Tombstone', 'name', 1, 'TYPE_STRING');
const tombstoneOriginKey = keyOf('Tombstone', 'origin', 2, 'TYPE_STRING');
allFieldsKnown('Tombstone', 2);

// ---------------------------------------------------------------------------
// Writing: the size first (-1: the reference writes this frame), then the bytes
// ---------------------------------------------------------------------------

/** Not plain: the frame goes to the reference. */
const notPlain = -1;

function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  let size = 3;
  for (let v = value; v >= 0x200000; v = Math.floor(v / 0x80)) size++;
  return size;
}

/** Bytes of a field holding `size` bytes (key, length, content). */
function delimitedSize(size: number): number {
  return size < 0 ? notPlain : 1 + varintSize(size) + size;
}

/** Bytes of an optional string field, counted as ASCII (one byte a character): the writer finds any other character and leaves the frame to the reference. */
function stringFieldSize(value: unknown): number {
  if (value === undefined || value === null) return 0;
  return typeof value === 'string' ? delimitedSize(value.length) : notPlain;
}

/** A negative int32 takes ten bytes on the wire (sign-extended): left to the reference. */
function int32FieldSize(value: unknown): number {
  if (value === undefined || value === null) return 0;
  return typeof value === 'number' && (value | 0) >= 0 ? 1 + varintSize(value | 0) : notPlain;
}

function epochFieldSize(value: unknown): number {
  if (value === undefined || value === null) return 0;
  return Number.isSafeInteger(value) && (value as number) >= 0 ? 1 + varintSize(value as number) : notPlain;
}

function isMessage(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sumOrNotPlain(...sizes: number[]): number {
  let sum = 0;
  for (const size of sizes) {
    if (size < 0) return notPlain;
    sum += size;
  }
  return sum;
}

function podRecordSize(pod: unknown): number {
  if (!isMessage(pod)) return notPlain;
  return sumOrNotPlain(stringFieldSize(pod['name']), stringFieldSize(pod['function']), int32FieldSize(pod['priority']), stringFieldSize(pod['node']));
}

function tombstoneSize(tombstone: unknown): number {
  if (!isMessage(tombstone)) return notPlain;
  return sumOrNotPlain(stringFieldSize(tombstone['name']), stringFieldSize(tombstone['origin']));
}

/** Bytes of a batch message: its records in field 1, each a message (`recordSize`) or a string (null). */
function batchSize(batch: unknown, list: string, recordSize: ((record: unknown) => number) | null): number {
  if (!isMessage(batch)) return notPlain;
  const records = batch[list];
  if (records === undefined || records === null) return 0;
  if (!Array.isArray(records)) return notPlain;
  let size = 0;
  for (const record of records) {
    const s = recordSize === null ? (typeof record === 'string' ? delimitedSize(record.length) : notPlain) : delimitedSize(recordSize(record));
    if (s < 0) return notPlain;
    size += s;
  }
  return size;
}

/** A buffer being filled with a frame whose size is known. */
class FrameWriter {
  position = 0;
  /** Every character code of the strings written, or-ed: 0x80 or more means a string was not ASCII, and the bytes are wrong. */
  characterBits = 0;

  constructor(readonly bytes: Buffer) {}

  varint(value: number): void {
    let v = value;
    for (; v >= 0x80 && v < 2 ** 31; v >>>= 7) this.bytes[this.position++] = (v & 0x7f) | 0x80;
    for (; v >= 0x80; v = Math.floor(v / 0x80)) this.bytes[this.position++] = (v % 0x80) | 0x80;
    this.bytes[this.position++] = v;
  }

  /** The key and the length of a field holding `size` bytes; its content follows. */
  delimited(key: number, size: number): void {
    this.bytes[this.position++] = key;
    this.varint(size);
  }

  string(key: number, text: unknown): void {
    if (typeof text !== 'string') return;
    this.delimited(key, text.length);
    const bytes = this.bytes;
    const start = this.position;
    let characterBits = 0;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      characterBits |= code;
      bytes[start + i] = code;
    }
    this.characterBits |= characterBits;
    this.position = start + text.length;
  }

  epoch(value: unknown): void {
    if (typeof value !== 'number') return;
    this.bytes[this.position++] = epochKey;
    this.varint(value);
  }

  podRecord(pod: Record<string, unknown>): void {
    this.string(podNameKey, pod['name']);
    this.string(podFunctionKey, pod['function']);
    if (typeof pod['priority'] === 'number') {
      this.bytes[this.position++] = podPriorityKey;
      this.varint(pod['priority'] | 0);
    }
    this.string(podNodeKey, pod['node']);
  }

  tombstone(tombstone: Record<string, unknown>): void {
    this.string(tombstoneNameKey, tombstone['name']);
    this.string(tombstoneOriginKey, tombstone['origin']);
  }

  /** A batch whose size batchSize gave, with its records. */
  batch(key: number, batch: Record<string, unknown>, list: string, size: number, record: RecordCoding | null): void {
    this.delimited(key, size);
    const records = (batch[list] ?? []) as unknown[];
    for (const item of records) {
      if (record === null) this.string(recordKey, item);
      else {
        this.delimited(recordKey, record.size(item));
        record.write(this, item as Record<string, unknown>);
      }
    }
  }
}

/** How the records of a batch that are messages are sized and written. */
interface RecordCoding {
  readonly size: (record: unknown) => number;
  readonly write: (writer: FrameWriter, record: Record<string, unknown>) => void;
}

/** A batch body the direct path writes: its field in the frame, its list of records, and their coding (null: strings). */
interface DirectBody {
  readonly key: number;
  readonly list: string;
  readonly record: RecordCoding | null;
}

/**
 * Writes `frame` whose only body is `body` (the frame's other bodies are all absent),
 * or returns null when it is not plain.
 */
function writeDirect(frame: Record<string, unknown>, batch: unknown, body: DirectBody): Buffer | null {
  const size = batchSize(batch, body.list, body.record?.size ?? null);
  const total = sumOrNotPlain(epochFieldSize(frame['epoch']), delimitedSize(size));
  if (total < 0) return null;
  const writer = new FrameWriter(Buffer.allocUnsafe(total));
  writer.epoch(frame['epoch']);
  writer.batch(body.key, batch as Record<string, unknown>, body.list, size, body.record);
  if (writer.characterBits >= 0x80) return null;
  if (writer.position !== total) throw new Error(`runtime/wire/frame-bytes.ts: wrote ${writer.position} bytes of a frame of ${total}`);
  return writer.bytes;
}

const provisionBody: DirectBody = { key: provisionKey, list: 'pods', record: { size: podRecordSize, write: (writer, pod) => writer.podRecord(pod) } };
const tombstoneBody: DirectBody = { key: tombstoneKey, list: 'tombstones', record: { size: tombstoneSize, write: (writer, tombstone) => writer.tombstone(tombstone) } };
const runningBody: DirectBody = { key: runningKey, list: 'names', record: null };
const preemptedBody: DirectBody = { key: preemptedKey, list: 'names', record: null };
const tombstoneDoneBody: DirectBody = { key: tombstoneDoneKey, list: 'names', record: null };

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null;
}

function writeUpstreamDirect(frame: UpstreamFrame): Buffer | null {
  if (!isMessage(frame) || !isAbsent(frame.hello) || !isAbsent(frame.sync) || !isAbsent(frame.scale_set)) return null;
  if (!isAbsent(frame.provision)) return isAbsent(frame.tombstone) ? writeDirect(frame, frame.provision, provisionBody) : null;
  return isAbsent(frame.tombstone) ? null : writeDirect(frame, frame.tombstone, tombstoneBody);
}

function writeDownstreamDirect(frame: DownstreamFrame): Buffer | null {
  if (!isMessage(frame) || !isAbsent(frame.snapshot) || !isAbsent(frame.rejected) || !isAbsent(frame.scale_applied) || !isAbsent(frame.failed)) return null;
  const { running, preempted, tombstone_done: done } = frame;
  const set = Number(!isAbsent(running)) + Number(!isAbsent(preempted)) + Number(!isAbsent(done));
  if (set !== 1) return null;
  if (!isAbsent(running)) return writeDirect(frame, running, runningBody);
  if (!isAbsent(preempted)) return writeDirect(frame, preempted, preemptedBody);
  return writeDirect(frame, done, tombstoneDoneBody);
}

// ---------------------------------------------------------------------------
// Reading: the plain encoding only (null: the reference reads these bytes)
// ---------------------------------------------------------------------------

/**
 * The last string read for each field key, across frames: the records of a batch, and
 * the frames of a link, mostly share their function, node and origin. Reading is
 * synchronous, so one table serves every reader.
 */
const lastStringOfKey: Array<string | undefined> = [];

/** Reads a frame; every method returns null when the bytes are not the plain encoding. */
class FrameReader {
  position = 0;

  constructor(private readonly bytes: Buffer) {}

  /** A varint of at most five bytes, as protobufjs's `uint32` reads it. */
  uint32(end: number): number | null {
    let value = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (this.position >= end) return null;
      const b = this.bytes[this.position++] as number;
      value = (value | ((b & 0x7f) << shift)) >>> 0;
      if (b < 0x80) return value;
    }
    if (this.position >= end) return null;
    const last = this.bytes[this.position++] as number;
    // A fifth byte above 0x0f holds bits past 32: not the plain encoding (the strict decoder refuses it).
    return last <= 0x0f ? (value | (last << 28)) >>> 0 : null;
  }

  /** A varint of a safe integer, as protobufjs's `uint64` then `toObject` with `longs: Number` give it. */
  epoch(end: number): number | null {
    let value = 0;
    for (let scale = 1; scale <= 2 ** 49; scale *= 0x80) {
      if (this.position >= end) return null;
      const b = this.bytes[this.position++] as number;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return Number.isSafeInteger(value) ? value : null;
    }
    return null;
  }

  /** The end of a length-delimited field starting here, or null when it runs past `end`. */
  delimitedEnd(end: number): number | null {
    const length = this.uint32(end);
    return length === null || this.position + length > end ? null : this.position + length;
  }

  /**
   * A string field as protobufjs reads it (UTF-8, bad bytes replaced). The field's last
   * string again when the bytes are its ASCII characters: decoding is the dearest part
   * of reading.
   */
  string(key: number, end: number): string | null {
    const stringEnd = this.delimitedEnd(end);
    if (stringEnd === null) return null;
    const start = this.position;
    this.position = stringEnd;
    const last = lastStringOfKey[key];
    if (last !== undefined && last.length === stringEnd - start) {
      let same = true;
      // From the end: names in a batch differ in their last characters.
      for (let i = last.length - 1; same && i >= 0; i--) {
        const b = this.bytes[start + i] as number;
        same = b < 0x80 && b === last.charCodeAt(i);
      }
      if (same) return last;
    }
    // A replacement character means bytes that are not UTF-8 (or a real U+FFFD): the strict decoder decides.
    const text = this.bytes.toString('utf8', start, stringEnd);
    if (text.includes('\ufffd')) return null;
    lastStringOfKey[key] = text;
    return text;
  }

  podRecord(end: number): Record<string, unknown> | null {
    const pod = { name: '', function: '', priority: 0, node: '' };
    // Field numbers seen, one bit each: a field set twice is not the plain encoding (the strict decoder refuses it).
    let seen = 0;
    while (this.position < end) {
      const key = this.uint32(end);
      if (key === null) return null;
      const bit = 1 << ((key >>> 3) & 31);
      if ((seen & bit) !== 0) return null;
      seen |= bit;
      if (key === podPriorityKey) {
        const priority = this.uint32(end);
        // A negative priority takes ten bytes (the strict decoder reads it); five bytes of 2^31 or more are no int32.
        if (priority === null || priority >= 2 ** 31) return null;
        pod.priority = priority;
        continue;
      }
      const text = key === podNameKey || key === podFunctionKey || key === podNodeKey ? this.string(key, end) : null;
      if (text === null) return null;
      if (key === podNameKey) pod.name = text;
      else if (key === podFunctionKey) pod.function = text;
      else pod.node = text;
    }
    return pod;
  }

  tombstone(end: number): Record<string, unknown> | null {
    const tombstone = { name: '', origin: '' };
    let seen = 0;
    while (this.position < end) {
      const key = this.uint32(end);
      if (key === null) return null;
      const bit = 1 << ((key >>> 3) & 31);
      if ((seen & bit) !== 0) return null;
      seen |= bit;
      const value = key === tombstoneNameKey || key === tombstoneOriginKey ? this.string(key, end) : null;
      if (value === null) return null;
      if (key === tombstoneNameKey) tombstone.name = value;
      else tombstone.origin = value;
    }
    return tombstone;
  }

  /** The records of a batch message ending at `end`, each a message (`record`) or a string (null). */
  records(end: number, record: ((this: FrameReader, end: number) => Record<string, unknown> | null) | null): unknown[] | null {
    const records: unknown[] = [];
    while (this.position < end) {
      if (this.uint32(end) !== recordKey) return null;
      if (record === null) {
        const name = this.string(recordKey, end);
        if (name === null) return null;
        records.push(name);
        continue;
      }
      const recordEnd = this.delimitedEnd(end);
      const value = recordEnd === null ? null : record.call(this, recordEnd);
      if (value === null || this.position !== recordEnd) return null;
      records.push(value);
    }
    return records;
  }

  /**
   * A frame of epoch and at most one body among `bodies` (by key), as toObject gives it
   * with `defaults` and `oneofs`: the epoch 0 when absent, `body` naming the member set.
   */
  frame<F>(bodies: ReadonlyMap<number, DirectBodyReading<F>>, epochOnly: (epoch: number) => F): F | null {
    const end = this.bytes.length;
    let epoch = 0;
    let epochSeen = false;
    let body: DirectBodyReading<F> | null = null;
    let records: unknown[] | null = null;
    while (this.position < end) {
      const key = this.uint32(end);
      if (key === epochKey) {
        const value = epochSeen ? null : this.epoch(end);
        if (value === null) return null;
        epoch = value;
        epochSeen = true;
        continue;
      }
      if (body !== null) return null;
      body = (key === null ? undefined : bodies.get(key)) ?? null;
      const bodyEnd = body === null ? null : this.delimitedEnd(end);
      records = body === null || bodyEnd === null ? null : this.records(bodyEnd, body.record);
      if (records === null) return null;
    }
    return body === null || records === null ? epochOnly(epoch) : body.frameOf(epoch, records);
  }
}

/** How the direct path reads a batch body: its records (messages, or strings: null), and the frame as toObject gives it. */
interface DirectBodyReading<F> {
  readonly record: ((this: FrameReader, end: number) => Record<string, unknown> | null) | null;
  readonly frameOf: (epoch: number, records: unknown[]) => F;
}

const upstreamBodies = new Map<number, DirectBodyReading<UpstreamFrame>>([
  [provisionKey, { record: FrameReader.prototype.podRecord, frameOf: (epoch, pods) => ({ epoch, provision: { pods: pods as WirePodRecord[] }, body: 'provision' }) }],
  [
    tombstoneKey,
    { record: FrameReader.prototype.tombstone, frameOf: (epoch, tombstones) => ({ epoch, tombstone: { tombstones: tombstones as WireTombstone[] }, body: 'tombstone' }) },
  ],
]);

const downstreamBodies = new Map<number, DirectBodyReading<DownstreamFrame>>([
  [runningKey, { record: null, frameOf: (epoch, names) => ({ epoch, running: { names: names as string[] }, body: 'running' }) }],
  [preemptedKey, { record: null, frameOf: (epoch, names) => ({ epoch, preempted: { names: names as string[] }, body: 'preempted' }) }],
  [tombstoneDoneKey, { record: null, frameOf: (epoch, names) => ({ epoch, tombstone_done: { names: names as string[] }, body: 'tombstone_done' }) }],
]);

// ---------------------------------------------------------------------------
// The Link frames
// ---------------------------------------------------------------------------

/** The bytes proto-loader's `UpstreamFrame` serializer gives. */
export function serializeUpstreamFrame(frame: UpstreamFrame): Buffer {
  return writeUpstreamDirect(frame) ?? referenceSerializeUpstream(frame);
}

const strictUpstreamFrame = strictDeserializerOf(wireSchema, 'kubedirect.v1.UpstreamFrame') as (bytes: Buffer) => UpstreamFrame | Undecodable;
const strictDownstreamFrame = strictDeserializerOf(wireSchema, 'kubedirect.v1.DownstreamFrame') as (bytes: Buffer) => DownstreamFrame | Undecodable;

/**
 * The frame in `bytes`, as proto-loader's `UpstreamFrame` deserializer gives it, or
 * Undecodable with what is wrong (the strict decoder, strict-decoder.ts); never throws.
 */
export function deserializeUpstreamFrame(bytes: Buffer): UpstreamFrame | Undecodable {
  return new FrameReader(bytes).frame(upstreamBodies, (epoch) => ({ epoch })) ?? strictUpstreamFrame(bytes);
}

export function serializeDownstreamFrame(frame: DownstreamFrame): Buffer {
  return writeDownstreamDirect(frame) ?? referenceSerializeDownstream(frame);
}

export function deserializeDownstreamFrame(bytes: Buffer): DownstreamFrame | Undecodable {
  return new FrameReader(bytes).frame(downstreamBodies, (epoch) => ({ epoch })) ?? strictDownstreamFrame(bytes);
}
