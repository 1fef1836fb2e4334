/**
 * The etcd backing store, through etcd's v3 JSON gateway (`POST /v3/kv/range`, `put`,
 * `deleterange`, `txn`; keys and values base64), so no client library is needed.
 *
 *   /kubedirect/desired/FUNCTION      the desired count, a decimal number
 *   /registry/pods/default/NAME       a v1 Pod object as JSON (runtime/store/pod-objects.ts)
 *
 * A put is acknowledged by etcd once committed (in its fsynced write-ahead log), so
 * `putDesiredCounts` is durable when it resolves. Pod writes are compare-and-swap
 * transactions on the key's revision: a write never lowers a pod's phase and never
 * recreates a deleted pod, whatever order the stages' writes arrive in.
 */
import { mergePodObject, podKeyOf, rankOfPodObject, type PodObject } from './pod-objects.js';
import { etcdRequestMsMax, QueuedObjectWriter, type BackingStore, type PodWrite, type StoreLogger, type WriteOutcome } from './store.js';

export const desiredPrefix = '/kubedirect/desired/';
export const podsPrefix = '/registry/pods/default/';

/** Operations in one etcd transaction: etcd's default `--max-txn-ops`. */
const etcdTxnOpsMax = 128;

/** Compare-and-swap attempts of one pod write inside one queue attempt. */
const casAttemptsMax = 5;

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: string): string => Buffer.from(text, 'base64').toString('utf8');

/** The end of the key range of every key starting with `prefix`. */
function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  const last = bytes.length - 1;
  bytes[last] = (bytes[last] ?? 0) + 1;
  return bytes.toString('base64');
}

interface RangeReply {
  kvs?: Array<{ key: string; value?: string; mod_revision?: string; create_revision?: string }>;
}

export class EtcdStore extends QueuedObjectWriter implements BackingStore {
  readonly kind = 'etcd' as const;

  constructor(
    readonly endpoint: string,
    log: StoreLogger,
  ) {
    super(log);
  }

  private async call<T>(path: string, body: unknown): Promise<T> {
    const response = await fetch(`${this.endpoint}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(etcdRequestMsMax),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`etcd ${path}: HTTP ${response.status} ${text.slice(0, 200)}`);
    return JSON.parse(text) as T;
  }

  private async range(prefix: string): Promise<Array<{ key: string; value: string }>> {
    const reply = await this.call<RangeReply>('/v3/kv/range', { key: b64(prefix), range_end: prefixEnd(prefix) });
    return (reply.kvs ?? []).map((kv) => ({ key: unb64(kv.key), value: unb64(kv.value ?? '') }));
  }

  /** Answers once etcd serves requests (a range on a key nobody writes). */
  async ping(): Promise<void> {
    await this.call('/v3/kv/range', { key: b64('/kubedirect/ping') });
  }

  async loadDesired(): Promise<Record<string, number>> {
    const desired: Record<string, number> = {};
    for (const { key, value } of await this.range(desiredPrefix)) {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw new Error(`etcd ${key}: bad desired count ${JSON.stringify(value)}`);
      desired[key.slice(desiredPrefix.length)] = n;
    }
    return desired;
  }

  /** One transaction per `etcdTxnOpsMax` counts (etcd refuses larger ones by default). */
  async putDesiredCounts(counts: ReadonlyMap<string, number>): Promise<void> {
    const puts = [...counts].map(([fn, desired]) => ({ requestPut: { key: b64(`${desiredPrefix}${fn}`), value: b64(String(desired)) } }));
    for (let i = 0; i < puts.length; i += etcdTxnOpsMax) await this.call('/v3/kv/txn', { success: puts.slice(i, i + etcdTxnOpsMax) });
  }

  protected async applyWrite(write: PodWrite): Promise<WriteOutcome> {
    const key = podKeyOf(write.pod);
    if (write.kind === 'delete') {
      await this.call('/v3/kv/deleterange', { key: b64(key) });
      return 'written';
    }
    for (let attempt = 0; attempt < casAttemptsMax; attempt++) {
      const reply = await this.call<RangeReply>('/v3/kv/range', { key: b64(key) });
      const kv = reply.kvs?.[0];
      const existing = kv === undefined ? null : (JSON.parse(unb64(kv.value ?? '')) as PodObject);
      if (existing === null && !write.create) return 'retry';
      if (existing !== null && rankOfPodObject(existing) >= rankOfPodObject(write.object)) return 'skipped';
      const object = existing === null ? write.object : mergePodObject(existing, write.object);
      const compare =
        kv === undefined
          ? { key: b64(key), result: 'EQUAL', target: 'CREATE', create_revision: '0' }
          : { key: b64(key), result: 'EQUAL', target: 'MOD', mod_revision: kv.mod_revision ?? '0' };
      const txn = await this.call<{ succeeded?: boolean }>('/v3/kv/txn', {
        compare: [compare],
        success: [{ request_put: { key: b64(key), value: b64(JSON.stringify(object)) } }],
      });
      if (txn.succeeded === true) return 'written';
    }
    return 'retry';
  }

  async listPods(): Promise<PodObject[]> {
    return (await this.range(podsPrefix)).map(({ value }) => JSON.parse(value) as PodObject);
  }

  async close(): Promise<void> {
    await this.closeWriter();
  }
}
