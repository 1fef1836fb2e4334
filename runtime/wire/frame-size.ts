/**
 * Frames within a size limit (spec 10 §Limits: `frameBytesMax`, or a cluster's lower
 * `flow.frameBytesMax`). The codec batches by record count (`batchRecordsMax`); this
 * file splits a serialized frame that is still too large into consecutive frames of the
 * same body, in order, which REQ-WIRE-002 allows (any run of consecutive records of one
 * kind may be a batch). A snapshot part splits into several parts, `last` only on the
 * final one (REQ-WIRE-008). A Rejected frame's message is cut to fit. Hello and Sync
 * frames hold no records and always fit (`frameBytesMin`).
 */
import type { DownstreamFrame, UpstreamFrame, WireSnapshot } from './proto.js';

/** Records carried by a frame (a Hello, Sync or Rejected counts as one). */
export function recordsOfUpstreamFrame(frame: UpstreamFrame): number {
  return Math.max(1, frame.scale_set?.scales.length ?? frame.provision?.pods.length ?? frame.tombstone?.tombstones.length ?? 1);
}

export function recordsOfDownstreamFrame(frame: DownstreamFrame): number {
  if (frame.snapshot !== undefined) return Math.max(1, frame.snapshot.scales.length + frame.snapshot.pods.length + frame.snapshot.tombstones.length);
  const n =
    frame.scale_applied?.scales.length ??
    frame.running?.names.length ??
    frame.failed?.failures.length ??
    frame.preempted?.names.length ??
    frame.tombstone_done?.names.length ??
    1;
  return Math.max(1, n);
}

/** `items` cut into `parts` contiguous, nearly equal, non-empty pieces (fewer if there are fewer items). */
function pieces<T>(items: readonly T[], parts: number): T[][] {
  const n = Math.min(parts, items.length);
  const out: T[][] = [];
  for (let i = 0; i < n; i++) out.push(items.slice(Math.floor((i * items.length) / n), Math.floor(((i + 1) * items.length) / n)));
  return out;
}

/** A frame cut into about `parts` frames of the same body, in order; null when it holds a single record. */
export function splitUpstreamFrame(frame: UpstreamFrame, parts: number): UpstreamFrame[] | null {
  const { epoch } = frame;
  if (frame.scale_set !== undefined && frame.scale_set.scales.length > 1)
    return pieces(frame.scale_set.scales, parts).map((scales) => ({ epoch, scale_set: { scales } }));
  if (frame.provision !== undefined && frame.provision.pods.length > 1) return pieces(frame.provision.pods, parts).map((pods) => ({ epoch, provision: { pods } }));
  if (frame.tombstone !== undefined && frame.tombstone.tombstones.length > 1)
    return pieces(frame.tombstone.tombstones, parts).map((tombstones) => ({ epoch, tombstone: { tombstones } }));
  return null;
}

export function splitDownstreamFrame(frame: DownstreamFrame, parts: number): DownstreamFrame[] | null {
  const { epoch } = frame;
  if (frame.snapshot !== undefined) {
    const s = frame.snapshot;
    type Item = { scale: WireSnapshot['scales'][number] } | { pod: WireSnapshot['pods'][number] } | { tombstone: WireSnapshot['tombstones'][number] };
    const items: Item[] = [...s.scales.map((scale) => ({ scale })), ...s.pods.map((pod) => ({ pod })), ...s.tombstones.map((tombstone) => ({ tombstone }))];
    if (items.length <= 1) return null;
    const split = pieces(items, parts);
    return split.map((part, i) => {
      const snapshot: WireSnapshot = { scales: [], pods: [], tombstones: [], last: s.last && i === split.length - 1 };
      for (const item of part) {
        if ('scale' in item) snapshot.scales.push(item.scale);
        else if ('pod' in item) snapshot.pods.push(item.pod);
        else snapshot.tombstones.push(item.tombstone);
      }
      return { epoch, snapshot };
    });
  }
  if (frame.scale_applied !== undefined && frame.scale_applied.scales.length > 1)
    return pieces(frame.scale_applied.scales, parts).map((scales) => ({ epoch, scale_applied: { scales } }));
  if (frame.running !== undefined && frame.running.names.length > 1) return pieces(frame.running.names, parts).map((names) => ({ epoch, running: { names } }));
  if (frame.failed !== undefined && frame.failed.failures.length > 1) return pieces(frame.failed.failures, parts).map((failures) => ({ epoch, failed: { failures } }));
  if (frame.preempted !== undefined && frame.preempted.names.length > 1) return pieces(frame.preempted.names, parts).map((names) => ({ epoch, preempted: { names } }));
  if (frame.tombstone_done !== undefined && frame.tombstone_done.names.length > 1)
    return pieces(frame.tombstone_done.names, parts).map((names) => ({ epoch, tombstone_done: { names } }));
  return null;
}

/** A UTF-8 string cut to at most `bytes` bytes, never inside a character. */
export function cutUtf8(text: string, bytes: number): string {
  const encoded = Buffer.from(text, 'utf8');
  if (encoded.length <= bytes) return text;
  let end = Math.max(0, bytes);
  while (end > 0 && ((encoded[end] as number) & 0xc0) === 0x80) end--;
  return encoded.subarray(0, end).toString('utf8');
}

/** A serialized frame within the size limit, and the records it carries. */
export interface FittedFrame {
  readonly bytes: Buffer;
  readonly records: number;
}

/**
 * Serializes each frame, in order, into one list, splitting a frame first if it exceeds
 * `bytesMax`; every returned buffer is at most `bytesMax` bytes (throws otherwise: a
 * single record that does not fit, which the limit relations of spec/limits.ts rule
 * out). A loop, not flatMap: this runs for every frame sent.
 */
export function fitFrames<F>(
  frames: readonly F[],
  bytesMax: number,
  serialize: (frame: F) => Buffer,
  split: (frame: F, parts: number) => F[] | null,
  records: (frame: F) => number,
): FittedFrame[] {
  const fitted: FittedFrame[] = [];
  for (const frame of frames) fitInto(fitted, frame, bytesMax, serialize, split, records);
  return fitted;
}

function fitInto<F>(
  fitted: FittedFrame[],
  frame: F,
  bytesMax: number,
  serialize: (frame: F) => Buffer,
  split: (frame: F, parts: number) => F[] | null,
  records: (frame: F) => number,
): void {
  const bytes = serialize(frame);
  if (bytes.length <= bytesMax) {
    fitted.push({ bytes, records: records(frame) });
    return;
  }
  const parts = split(frame, Math.max(2, Math.ceil(bytes.length / Math.floor(bytesMax * 0.9))));
  if (parts === null) throw new Error(`a frame of one record is ${bytes.length} bytes, over the frame limit of ${bytesMax}`);
  for (const part of parts) fitInto(fitted, part, bytesMax, serialize, split, records);
}

/** A Rejected frame whose message is cut so that the frame fits in `bytesMax`. */
export function rejectedFrameWithin(frame: DownstreamFrame, bytesMax: number, serialize: (frame: DownstreamFrame) => Buffer): DownstreamFrame {
  if (frame.rejected === undefined) return frame;
  const size = serialize(frame).length;
  if (size <= bytesMax) return frame;
  const messageBytes = Buffer.byteLength(frame.rejected.message, 'utf8') - (size - bytesMax) - 8;
  return { ...frame, rejected: { ...frame.rejected, message: cutUtf8(frame.rejected.message, messageBytes) } };
}
