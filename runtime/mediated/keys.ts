/**
 * Where the store-mediated transport keeps a link's objects in etcd (one key space per
 * link; see README.md for the mapping of sessions and epochs):
 *
 * Under the cluster's prefix (default /kubedirect/mediated/, transport-config.ts):
 *
 *   /kubedirect/mediated/LINK/upstream               the upstream stage's presence: {"incarnation": N}
 *   /kubedirect/mediated/LINK/downstream             the downstream stage's presence: {"incarnation": N}
 *   /kubedirect/mediated/LINK/down/EPOCH/SEQ-KIND[-NAME]   one record sent down in the session EPOCH
 *   /kubedirect/mediated/LINK/up/EPOCH/SEQ-KIND[-NAME]     one record sent up in the session EPOCH
 *
 * The value of a record is the JSON of a one-record frame of spec/kubedirect.proto
 * (UpstreamFrame down, DownstreamFrame up), so the receiver validates it with the same
 * codec as the gRPC transport (runtime/wire/codec.ts), or an end record (EndRecord,
 * key label `ended`) that ends the session as a closed stream would. SEQ numbers a session's records
 * in one direction from 1 (the hello, or the first record up), so the receiver restores
 * the sender's order although the puts are issued concurrently.
 */
import type { LinkId } from '../../machines/index.js';
import { mediatedPrefixDefault } from './transport-config.js';
import type { DownstreamFrame, UpstreamFrame } from '../wire/proto.js';


const epochDigits = 16;
const seqDigits = 10;

export interface LinkKeys {
  readonly base: string;
  readonly upstreamPresence: string;
  readonly downstreamPresence: string;
  /** Prefix of every record sent down (all sessions). */
  readonly down: string;
  /** Prefix of every record sent up (all sessions). */
  readonly up: string;
}

/** The keys of `link` under `prefix` (transport-config.ts: one prefix per cluster). */
export function linkKeysOf(link: LinkId, prefix: string = mediatedPrefixDefault): LinkKeys {
  const base = `${prefix}${link}/`;
  return { base, upstreamPresence: `${base}upstream`, downstreamPresence: `${base}downstream`, down: `${base}down/`, up: `${base}up/` };
}

/** The key of one record: under `prefix` (`keys.down` or `keys.up`), its session's epoch and its sequence number. */
export function recordKeyOf(prefix: string, epoch: number, seq: number, label: string): string {
  return `${prefix}${String(epoch).padStart(epochDigits, '0')}/${String(seq).padStart(seqDigits, '0')}-${label}`;
}

/** Epoch and sequence number of a record key under `prefix`; null for a key of another shape. */
export function parseRecordKey(prefix: string, key: string): { epoch: number; seq: number } | null {
  if (!key.startsWith(prefix)) return null;
  const rest = key.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (slash !== epochDigits) return null;
  const dash = rest.indexOf('-', slash + 1);
  if (dash !== slash + 1 + seqDigits) return null;
  const epoch = Number(rest.slice(0, slash));
  const seq = Number(rest.slice(slash + 1, dash));
  if (!Number.isSafeInteger(epoch) || !Number.isSafeInteger(seq) || seq < 1) return null;
  return { epoch, seq };
}

/**
 * The end of a session, written by the side that ends it (as closing a gRPC stream
 * would tell the peer): a transport signal, never delivered to the machines.
 */
export interface EndRecord {
  readonly epoch: number;
  readonly ended: { readonly why: string };
}

export function isEndRecord(value: unknown): value is EndRecord {
  return typeof value === 'object' && value !== null && typeof (value as { ended?: unknown }).ended === 'object' && (value as { ended?: unknown }).ended !== null;
}

/** A readable label for a record key: the frame's kind and, for one pod or function, its name. */
export function labelOfDown(frame: UpstreamFrame): string {
  if (frame.hello !== undefined) return 'hello';
  if (frame.sync !== undefined) return 'sync';
  const scale = frame.scale_set?.scales[0];
  if (scale !== undefined) return `scale-${scale.function}`;
  const pod = frame.provision?.pods[0];
  if (pod !== undefined) return `pod-${pod.name}`;
  const tombstone = frame.tombstone?.tombstones[0];
  if (tombstone !== undefined) return `tombstone-${tombstone.name}`;
  return 'record';
}

export function labelOfUp(frame: DownstreamFrame): string {
  if (frame.snapshot !== undefined) return 'snapshot';
  if (frame.rejected !== undefined) return 'rejected';
  const scale = frame.scale_applied?.scales[0];
  if (scale !== undefined) return `scale-applied-${scale.function}`;
  const running = frame.running?.names[0];
  if (running !== undefined) return `running-${running}`;
  const failed = frame.failed?.failures[0];
  if (failed !== undefined) return `failed-${failed.name}`;
  const preempted = frame.preempted?.names[0];
  if (preempted !== undefined) return `preempted-${preempted}`;
  const done = frame.tombstone_done?.names[0];
  if (done !== undefined) return `tombstone-done-${done}`;
  return 'record';
}

/**
 * Restores the order of one session's records: records arrive (from a watch) in any
 * order; `take` returns those that are next in sequence, in order.
 */
export class SequenceBuffer<T> {
  private next = 1;
  private readonly waiting = new Map<number, T>();

  take(seq: number, item: T): T[] {
    if (seq < this.next || this.waiting.has(seq)) return [];
    this.waiting.set(seq, item);
    const ready: T[] = [];
    for (let found = this.waiting.get(this.next); found !== undefined; found = this.waiting.get(this.next)) {
      ready.push(found);
      this.waiting.delete(this.next);
      this.next += 1;
    }
    return ready;
  }

  get buffered(): number {
    return this.waiting.size;
  }
}
