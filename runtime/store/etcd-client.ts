/**
 * The runtime's etcd v3 client on the `etcd3` package (etcd's gRPC API over
 * @grpc/grpc-js, leases with keep-alives): the etcd backing store (etcd-store.ts) and the
 * leases of the store-mediated links' presence keys (runtime/mediated/presence.ts). The
 * mediated records and watches keep their own client (runtime/mediated/etcd-grpc.ts;
 * its README says why).
 *
 * etcd3's own fault handling (a retry of every failed call, a circuit breaker that
 * refuses calls for 5 s after 3 failures) is switched off: a failure must reach its caller
 * at once (the backing store retries pod writes and reports desired counts as not stored,
 * with its own backoff, and its health says the store is unavailable).
 *
 * Keys are strings, values Buffers; revisions are numbers (etcd's int64 revisions stay
 * far below 2^53).
 */
import { noop } from 'cockatiel';
import { Etcd3, type Lease } from 'etcd3';

/** Largest message etcd sends us (a range of every Pod object). */
const etcdMessageBytesMax = 64 * 1024 * 1024;
/** Time to connect to etcd before a call fails. */
export const etcdDialMsMax = 5_000;

export interface KeyValue {
  readonly key: string;
  readonly value: Buffer;
  readonly modRevision: number;
  readonly createRevision: number;
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

interface WireKeyValue {
  key: Buffer;
  value: Buffer;
  mod_revision: string;
  create_revision: string;
}

function keyValueOf(kv: WireKeyValue): KeyValue {
  return { key: kv.key.toString('utf8'), value: kv.value, modRevision: Number(kv.mod_revision), createRevision: Number(kv.create_revision) };
}

export class EtcdClient {
  private readonly client: Etcd3;
  private closed = false;

  /** `callMsMax`: deadline of one unary call. */
  constructor(
    readonly endpoint: string,
    readonly callMsMax: number,
  ) {
    this.client = new Etcd3({
      hosts: endpoint,
      dialTimeout: etcdDialMsMax,
      grpcOptions: { 'grpc.max_receive_message_length': etcdMessageBytesMax, 'grpc.max_send_message_length': etcdMessageBytesMax },
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callMsMax }),
      faultHandling: { host: () => noop, global: noop },
    });
  }

  /** Writes every entry of `entries` in one transaction (at most etcd's `--max-txn-ops`, 128 by default). */
  async putAll(entries: ReadonlyArray<readonly [string, string]>): Promise<number> {
    const reply = await this.client.kv.txn({ success: entries.map(([key, value]) => ({ request_put: { key: Buffer.from(key, 'utf8'), value: Buffer.from(value, 'utf8') } })) });
    return Number(reply.header.revision);
  }

  /**
   * Writes `key` only if it is unchanged since it was read at `modRevision` (0: only if it
   * does not exist); false when another write came first.
   */
  async putIfUnchanged(key: string, value: string, modRevision: number): Promise<boolean> {
    const keyBytes = Buffer.from(key, 'utf8');
    const compare = modRevision === 0 ? { key: keyBytes, result: 'Equal' as const, target: 'Create' as const, create_revision: 0 } : { key: keyBytes, result: 'Equal' as const, target: 'Mod' as const, mod_revision: modRevision };
    const reply = await this.client.kv.txn({ compare: [compare], success: [{ request_put: { key: keyBytes, value: Buffer.from(value, 'utf8') } }] });
    return reply.succeeded;
  }

  /** Every key with `prefix` now, and the store's revision they were read at. */
  async rangePrefix(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }> {
    const reply = await this.client.kv.range({ key: Buffer.from(prefix, 'utf8'), range_end: prefixRangeEnd(prefix) });
    return { kvs: (reply.kvs as WireKeyValue[]).map(keyValueOf), revision: Number(reply.header.revision) };
  }

  async get(key: string): Promise<KeyValue | null> {
    const reply = await this.client.kv.range({ key: Buffer.from(key, 'utf8') });
    const kv = reply.kvs[0] as WireKeyValue | undefined;
    return kv === undefined ? null : keyValueOf(kv);
  }

  async delete(key: string): Promise<number> {
    const reply = await this.client.kv.deleteRange({ key: Buffer.from(key, 'utf8') });
    return Number(reply.deleted);
  }

  /**
   * Puts `key` under a new lease of `ttlSeconds`, renewed by etcd3 every third of it while
   * this process runs. `onLost` runs once if the lease is lost (etcd unreachable for the
   * whole TTL, or the process did not renew it in time): etcd has then deleted the key or
   * will, and the holder must put it again under a new lease.
   */
  async putLeased(key: string, value: string, ttlSeconds: number, onLost: (why: string) => void): Promise<LeasedKey> {
    const lease: Lease = this.client.lease(ttlSeconds, { autoKeepAlive: true });
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

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
  }
}
