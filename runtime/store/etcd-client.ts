/**
 * The one etcd v3 client of the runtime, on the `etcd3` package (etcd's gRPC API over
 * @grpc/grpc-js, leases with keep-alives, watches that reconnect and resume from the
 * last revision seen). Used by the etcd backing store (etcd-store.ts), the
 * store-mediated transport (runtime/mediated/) and the burst benchmark's calibration.
 *
 * etcd3's own fault handling (a retry of every failed call, a circuit breaker that
 * refuses calls for 5 s after 3 failures) is switched off: a put that fails must reach
 * its caller at once (a failed record put ends a mediated session; the backing store
 * retries pod writes and reports desired counts as not stored, with its own backoff).
 * Watches do reconnect, with etcd3's exponential backoff bounded by the spec's
 * reconnection limits.
 *
 * Keys are strings, values Buffers; revisions are numbers (etcd's int64 revisions stay
 * far below 2^53).
 */
import { ExponentialBackoff, noop, type IBackoff } from 'cockatiel';
import { Etcd3, type IOptions, type Lease, type Watcher } from 'etcd3';
import { reconnectBackoffMsMax, reconnectBackoffMsMin } from '../../spec/limits.js';

/** Largest message etcd sends us (a watch response batches many events). */
const etcdMessageBytesMax = 64 * 1024 * 1024;
/** HTTP/2 flow-control window of the watch channel (its one stream carries every watch). */
const watchWindowBytes = 16 * 1024 * 1024;
/** Time to connect to etcd before a call fails. */
export const etcdDialMsMax = 5_000;

export interface KeyValue {
  readonly key: string;
  readonly value: Buffer;
  readonly modRevision: number;
  readonly createRevision: number;
}

export interface WatchEvent {
  readonly type: 'put' | 'delete';
  readonly key: string;
  readonly value: Buffer;
  readonly modRevision: number;
}

export interface WatchHandlers {
  /** Each watch response's events, in revision order. */
  readonly onEvents: (events: WatchEvent[]) => void;
  /** etcd created (or, after a reconnection, re-created) the watch. */
  readonly onReady?: () => void;
  /** The watch stream broke; etcd3 re-creates it from the last revision seen after a backoff, then `onReady` runs again. */
  readonly onDisconnected?: (why: string) => void;
  /** etcd cancelled the watch for good (e.g. its start revision was compacted); no callback runs after it. */
  readonly onEnd: (why: string) => void;
}

export interface Watch {
  /** Ends the watch; no callback runs after it. */
  cancel(): void;
}

/** A key held under a lease: etcd deletes it when its holder stops renewing the lease for `ttlSeconds` (a SIGKILLed holder). */
export interface LeasedKey {
  /** The revision of the put of the key. */
  readonly revision: number;
  /** Deletes the key by revoking its lease. */
  revoke(): Promise<void>;
}

/** The end of the key range of every key starting with `prefix`. */
export function prefixRangeEnd(prefix: string): Buffer {
  const bytes = Buffer.from(prefix, 'utf8');
  const last = bytes.length - 1;
  bytes[last] = (bytes[last] ?? 0) + 1;
  return bytes;
}

/** host:port of an http://HOST:PORT etcd client URL. */
export function grpcTargetOf(endpoint: string): string {
  const url = new URL(endpoint);
  return `${url.hostname}:${url.port}`;
}

interface WireKeyValue {
  key: Buffer;
  value: Buffer;
  mod_revision: string;
  create_revision: string;
}

function keyValueOf(kv: WireKeyValue): KeyValue {
  return { key: kv.key.toString('utf8'), value: kv.value, modRevision: Number(kv.mod_revision), createRevision: Number(kv.create_revision) };
}

/**
 * The pause before a broken watch stream is re-created. etcd3 uses this as a backoff
 * factory (its default is `new ExponentialBackoff()`), though its option is typed as one
 * backoff step.
 */
const watchBackoff = new ExponentialBackoff({ initialDelay: reconnectBackoffMsMin, maxDelay: reconnectBackoffMsMax }) as unknown as IBackoff<unknown>;

export class EtcdClient {
  private readonly kvClient: Etcd3;
  private readonly watchClient: Etcd3;
  private closed = false;

  /** `callMsMax`: deadline of one unary call (the links' is long: a stage busy stepping does not read replies for seconds). */
  constructor(
    readonly endpoint: string,
    readonly callMsMax: number,
  ) {
    const options = (grpcOptions: NonNullable<IOptions['grpcOptions']>): IOptions => ({
      hosts: endpoint,
      dialTimeout: etcdDialMsMax,
      grpcOptions,
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callMsMax }),
      faultHandling: { host: () => noop, global: noop, watchBackoff },
    });
    const limits = { 'grpc.max_receive_message_length': etcdMessageBytesMax, 'grpc.max_send_message_length': etcdMessageBytesMax };
    this.kvClient = new Etcd3(options(limits));
    // Watches on a channel of their own, so a burst of puts never queues behind events.
    // etcd3 carries every watch of a client on one stream: its HTTP/2 flow-control window
    // is widened so that a burst of events for many watches does not wait for window updates.
    this.watchClient = new Etcd3(options({ ...limits, 'grpc.use_local_subchannel_pool': 1, 'grpc-node.flow_control_window': watchWindowBytes }));
  }

  /** Writes `key`; resolves with the revision of the write once etcd has committed it. */
  async put(key: string, value: Buffer | string): Promise<number> {
    const reply = await this.kvClient.kv.put({ key: Buffer.from(key, 'utf8'), value: typeof value === 'string' ? Buffer.from(value, 'utf8') : value });
    return Number(reply.header.revision);
  }

  /** Writes every entry of `entries` in one transaction (at most etcd's `--max-txn-ops`, 128 by default). */
  async putAll(entries: ReadonlyArray<readonly [string, string]>): Promise<number> {
    const reply = await this.kvClient.kv.txn({ success: entries.map(([key, value]) => ({ request_put: { key: Buffer.from(key, 'utf8'), value: Buffer.from(value, 'utf8') } })) });
    return Number(reply.header.revision);
  }

  /**
   * Writes `key` only if it is unchanged since it was read at `modRevision` (0: only if it
   * does not exist); false when another write came first.
   */
  async putIfUnchanged(key: string, value: string, modRevision: number): Promise<boolean> {
    const keyBytes = Buffer.from(key, 'utf8');
    const compare = modRevision === 0 ? { key: keyBytes, result: 'Equal' as const, target: 'Create' as const, create_revision: 0 } : { key: keyBytes, result: 'Equal' as const, target: 'Mod' as const, mod_revision: modRevision };
    const reply = await this.kvClient.kv.txn({ compare: [compare], success: [{ request_put: { key: keyBytes, value: Buffer.from(value, 'utf8') } }] });
    return reply.succeeded;
  }

  /** Every key with `prefix` now, and the store's revision they were read at. */
  async rangePrefix(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }> {
    const reply = await this.kvClient.kv.range({ key: Buffer.from(prefix, 'utf8'), range_end: prefixRangeEnd(prefix) });
    return { kvs: (reply.kvs as WireKeyValue[]).map(keyValueOf), revision: Number(reply.header.revision) };
  }

  async get(key: string): Promise<KeyValue | null> {
    const reply = await this.kvClient.kv.range({ key: Buffer.from(key, 'utf8') });
    const kv = reply.kvs[0] as WireKeyValue | undefined;
    return kv === undefined ? null : keyValueOf(kv);
  }

  /** Deletes every key with `prefix`; resolves with how many there were. */
  async deletePrefix(prefix: string): Promise<number> {
    const reply = await this.kvClient.kv.deleteRange({ key: Buffer.from(prefix, 'utf8'), range_end: prefixRangeEnd(prefix) });
    return Number(reply.deleted);
  }

  async delete(key: string): Promise<number> {
    const reply = await this.kvClient.kv.deleteRange({ key: Buffer.from(key, 'utf8') });
    return Number(reply.deleted);
  }

  /**
   * Puts `key` under a new lease of `ttlSeconds`, renewed by etcd3 every third of it while
   * this process runs. `onLost` runs once if the lease is lost (etcd unreachable for the
   * whole TTL, or the process did not renew it in time): etcd has then deleted the key or
   * will, and the holder must put it again under a new lease.
   */
  async putLeased(key: string, value: string, ttlSeconds: number, onLost: (why: string) => void): Promise<LeasedKey> {
    const lease: Lease = this.kvClient.lease(ttlSeconds, { autoKeepAlive: true });
    // Lost before the put succeeded (no grant): the put's error says so instead.
    let live = false;
    lease.on('lost', (error: Error) => {
      if (!live) return;
      live = false;
      onLost(error.message);
    });
    try {
      const reply = await lease.put(key).value(value).exec();
      live = true;
      return {
        revision: Number(reply.header.revision),
        revoke: async () => {
          live = false;
          await lease.revoke();
        },
      };
    } catch (error) {
      lease.release();
      throw error;
    }
  }

  /** Watches every key with `prefix` from `startRevision` (0: from now); reconnects by itself (see WatchHandlers). */
  watchPrefix(prefix: string, startRevision: number, handlers: WatchHandlers): Watch {
    const builder = this.watchClient.watch().prefix(prefix);
    if (startRevision > 0) builder.startRevision(String(startRevision));
    const watcher: Watcher = builder.watcher();
    let ended = false;
    watcher.on('connected', () => {
      if (!ended) handlers.onReady?.();
    });
    watcher.on('data', (response) => {
      if (ended || response.events.length === 0) return;
      handlers.onEvents(
        response.events.map((e) => ({
          type: e.type === 'Delete' ? 'delete' : 'put',
          key: e.kv.key.toString('utf8'),
          value: e.kv.value,
          modRevision: Number(e.kv.mod_revision),
        })),
      );
    });
    watcher.on('disconnected', (error: Error) => {
      if (!ended) handlers.onDisconnected?.(error.message);
    });
    watcher.on('error', (error: Error) => {
      if (ended) return;
      ended = true;
      handlers.onEnd(`watch canceled by etcd: ${error.message}`);
    });
    return {
      cancel: () => {
        ended = true;
        watcher.cancel().catch(() => undefined);
      },
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.kvClient.close();
    this.watchClient.close();
  }
}
