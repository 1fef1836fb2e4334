/**
 * The etcd backing store, through the runtime's etcd client (etcd-client.ts: etcd's gRPC
 * API via the `etcd3` package).
 *
 *   /kubedirect/desired/FUNCTION      the desired count, a decimal number
 *   /registry/pods/default/NAME       a v1 Pod object as JSON (runtime/store/pod-objects.ts)
 *
 * A put is acknowledged by etcd once committed (in its fsynced write-ahead log), so
 * `putDesiredCounts` is durable when it resolves. Pod writes are compare-and-swap
 * transactions on the key's revision: a write never lowers a pod's phase and never
 * recreates a deleted pod, whatever order the stages' writes arrive in.
 */
import { assert } from '../../machines/index.js';
import { scaleSetsEntriesMax } from '../../spec/limits.js';
import { EtcdClient } from './etcd-client.js';
import { mergePodObject, podKeyOf, rankOfPodObject, type PodObject } from './pod-objects.js';
import { etcdRequestMsMax, QueuedObjectWriter, type BackingStore, type PodWrite, type StoreLogger, type WriteOutcome } from './store.js';

export const desiredPrefix = '/kubedirect/desired/';
export const podsPrefix = '/registry/pods/default/';

/** Operations in one etcd transaction: etcd's default `--max-txn-ops`. */
const etcdTxnOpsMax = 128;
// DEC-47: the counts of one Scaler.SetScales call fit in one transaction (when no other call's counts share its batch).
assert(scaleSetsEntriesMax <= etcdTxnOpsMax, 'one SetScales call fits in one etcd transaction');

/** Compare-and-swap attempts of one pod write inside one queue attempt. */
const casAttemptsMax = 5;

export class EtcdStore extends QueuedObjectWriter implements BackingStore {
  readonly kind = 'etcd' as const;
  private readonly client: EtcdClient;

  constructor(
    readonly endpoint: string,
    log: StoreLogger,
  ) {
    super(log, 'etcd');
    this.client = new EtcdClient(endpoint, etcdRequestMsMax);
  }

  /** Answers once etcd serves requests (a read of a key nobody writes). */
  async ping(): Promise<void> {
    await this.client.get('/kubedirect/ping');
  }

  async loadDesired(): Promise<Record<string, number>> {
    const desired: Record<string, number> = {};
    for (const { key, value } of (await this.client.rangePrefix(desiredPrefix)).kvs) {
      const text = value.toString('utf8');
      const n = Number(text);
      if (!Number.isInteger(n) || n < 0) throw new Error(`etcd ${key}: bad desired count ${JSON.stringify(text)}`);
      desired[key.slice(desiredPrefix.length)] = n;
    }
    return desired;
  }

  /** One transaction per `etcdTxnOpsMax` counts (etcd refuses larger ones by default). */
  async putDesiredCounts(counts: ReadonlyMap<string, number>): Promise<void> {
    const puts = [...counts].map(([fn, desired]) => [`${desiredPrefix}${fn}`, String(desired)] as const);
    for (let i = 0; i < puts.length; i += etcdTxnOpsMax) await this.client.putAll(puts.slice(i, i + etcdTxnOpsMax));
  }

  protected async applyWrite(write: PodWrite): Promise<WriteOutcome> {
    const key = podKeyOf(write.pod);
    if (write.kind === 'delete') {
      await this.client.delete(key);
      return 'written';
    }
    for (let attempt = 0; attempt < casAttemptsMax; attempt++) {
      const kv = await this.client.get(key);
      const existing = kv === null ? null : (JSON.parse(kv.value.toString('utf8')) as PodObject);
      if (existing === null && !write.create) return 'retry';
      if (existing !== null && rankOfPodObject(existing) >= rankOfPodObject(write.object)) return 'skipped';
      const object = existing === null ? write.object : mergePodObject(existing, write.object);
      if (await this.client.putIfUnchanged(key, JSON.stringify(object), kv?.modRevision ?? 0)) return 'written';
    }
    return 'retry';
  }

  async listPods(): Promise<PodObject[]> {
    return (await this.client.rangePrefix(podsPrefix)).kvs.map(({ value }) => JSON.parse(value.toString('utf8')) as PodObject);
  }

  async close(): Promise<void> {
    await this.closeWriter();
    this.client.close();
  }
}
