/**
 * The backing store of a cluster (issue 4, "Backing store"). Two jobs, two contracts:
 *
 * - Desired counts per function, the Autoscaler's durable state: `putDesiredCounts` resolves
 *   only once the count is durable (the driver holds every later effect of the step
 *   until then: machines/README.md, `store.persist`); `loadDesired` on (re)start gives
 *   `StageBoot.durableDesired`.
 * - Kubernetes-shaped Pod objects (runtime/store/pod-objects.ts), written off the
 *   critical path: `enqueuePod` never blocks and never fails; a bounded queue, always
 *   coalesced per pod to the latest write, is drained in the background. Nothing of the
 *   protocol ever reads them back: they exist so that other tools can observe the pods.
 *
 * Implementations: `file` (embedded default: runtime/store/file-store.ts) and `etcd`
 * (etcd through the etcd3 package: runtime/store/etcd-store.ts, etcd-client.ts).
 */
import { isAbsolute, join } from 'node:path';
import { rankOfPodObject, type PodObject, type PodWrite } from './pod-objects.js';

export type { PodWrite } from './pod-objects.js';
import { StoreHealth } from './store-health.js';

/** Pods with a write waiting in one process's queue; beyond it a write is dropped and counted. */
export const objectWritesQueuedMax = 10_000;
/** Pod writes one process has in flight to the store at once. */
export const objectWritesInFlightMax = 4;
/** Attempts of one pod write (store unreachable, conflict, object not created yet). */
export const objectWriteAttemptsMax = 8;
/** Delay before the first retry of a pod write; doubled on each retry. */
export const objectWriteRetryDelayMsMin = 50;
/** Wait for queued pod writes when a stage stops. */
export const objectFlushOnStopMsMax = 2_000;
/** Timeout of one request to etcd. */
export const etcdRequestMsMax = 5_000;

if (objectWritesInFlightMax > objectWritesQueuedMax) throw new Error('objectWritesInFlightMax must not exceed objectWritesQueuedMax');

/** Where the store is, as written in cluster.json (`"store": {"kind": "etcd", "endpoint": "http://127.0.0.1:2379"}`). */
export type StoreConfig = (
  | { readonly kind: 'file'; /** Directory holding `objects/pods/` (default: the cluster dir). */ readonly dir: string }
  | { readonly kind: 'etcd'; /** http://HOST:PORT of an etcd v3 client URL; loopback only. */ readonly endpoint: string }
) & {
  /**
   * Whether the stages write Pod objects (default true). False leaves only the desired
   * counts in the store: the control plane alone, e.g. for a benchmark of it on a
   * machine that would otherwise also host the object store's work.
   */
  readonly podObjects?: boolean;
};

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Why an etcd endpoint is unusable; null when it is fine. */
export function etcdEndpointProblem(endpoint: string): string | null {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return `etcd endpoint "${endpoint}" is not a URL (for example http://127.0.0.1:2379)`;
  }
  if (url.protocol !== 'http:') return `etcd endpoint "${endpoint}" must be http:// (this runtime has no TLS yet)`;
  if (!loopbackHosts.has(url.hostname)) return `etcd endpoint "${endpoint}" is not loopback; this runtime talks to 127.0.0.1 only`;
  if (url.port === '' || (url.pathname !== '/' && url.pathname !== '')) return `etcd endpoint "${endpoint}" must be http://HOST:PORT`;
  return null;
}

/** The store config of a cluster.json (`raw` as read, `base` the file's directory); throws on a bad one. */
export function storeConfigOf(raw: unknown, base: string): StoreConfig {
  if (raw === undefined || raw === null) return { kind: 'file', dir: base };
  const r = raw as { kind?: unknown; dir?: unknown; endpoint?: unknown; podObjects?: unknown };
  if (r.podObjects !== undefined && typeof r.podObjects !== 'boolean') throw new Error(`store.podObjects must be true or false, got ${JSON.stringify(r.podObjects)}`);
  const podObjects = r.podObjects === false ? { podObjects: false } : {};
  if (r.kind === 'file') {
    const dir = typeof r.dir === 'string' && r.dir !== '' ? r.dir : '.';
    return { kind: 'file', dir: isAbsolute(dir) ? dir : join(base, dir), ...podObjects };
  }
  if (r.kind === 'etcd') {
    const endpoint = typeof r.endpoint === 'string' ? r.endpoint.replace(/\/+$/, '') : '';
    const problem = etcdEndpointProblem(endpoint);
    if (problem !== null) throw new Error(`store: ${problem}`);
    return { kind: 'etcd', endpoint, ...podObjects };
  }
  throw new Error(`store.kind must be "file" or "etcd", got ${JSON.stringify(r.kind)}`);
}


/** What became of one write at the store. */
export type WriteOutcome = 'written' | 'skipped' | 'retry';

export interface ObjectWriterStats {
  queued: number;
  written: number;
  skipped: number;
  coalesced: number;
  dropped: number;
  failed: number;
}

export interface BackingStore {
  readonly kind: StoreConfig['kind'];
  /** Whether the store answers, as this process last saw it (store-health.ts). */
  readonly health: StoreHealth;
  /** Resolves once the store answers a read. */
  ping(): Promise<void>;
  /** Every durable desired count (for StageBoot.durableDesired). */
  loadDesired(): Promise<Record<string, number>>;
  /** Resolves once every count of `counts` (function to desired count) is durable. */
  putDesiredCounts(counts: ReadonlyMap<string, number>): Promise<void>;
  /** Queues a pod write; never blocks, never throws. */
  enqueuePod(write: PodWrite): void;
  /** Resolves once the queue is empty and nothing is in flight (or after `timeoutMs`). */
  flush(timeoutMs: number): Promise<void>;
  /** The Pod objects in the store now (for tools and tests). */
  listPods(): Promise<PodObject[]>;
  readonly stats: Readonly<ObjectWriterStats>;
  /** Flushes (bounded by objectFlushOnStopMsMax) and releases resources. */
  close(): Promise<void>;
}

export type StoreLogger = (record: Record<string, unknown>) => void;

/**
 * The queue and its background drain, shared by both implementations: a Map from pod
 * name to its latest write (insertion order is the drain order); a pod is never
 * written by two requests at once.
 */
export abstract class QueuedObjectWriter {
  private readonly queue = new Map<string, { write: PodWrite; attempt: number }>();
  private readonly inFlight = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private idleWaiters: Array<() => void> = [];
  private closed = false;
  readonly stats: ObjectWriterStats = { queued: 0, written: 0, skipped: 0, coalesced: 0, dropped: 0, failed: 0 };
  readonly health: StoreHealth;

  constructor(
    protected readonly log: StoreLogger,
    kind: StoreConfig['kind'],
  ) {
    this.health = new StoreHealth(kind, () => this.ping(), log);
  }

  /** Resolves once the store answers a read. */
  abstract ping(): Promise<void>;

  /** Carries out one write at the store. */
  protected abstract applyWrite(write: PodWrite): Promise<WriteOutcome>;

  enqueuePod(write: PodWrite): void {
    if (this.closed) return;
    this.requeue(write, 0);
  }

  private requeue(write: PodWrite, attempt: number): void {
    const queued = this.queue.get(write.pod);
    if (queued !== undefined) {
      // Latest version wins; a retry never replaces a newer write.
      if (attempt > 0) return;
      this.stats.coalesced += 1;
      this.queue.set(write.pod, { write: latestOf(queued.write, write), attempt: 0 });
    } else if (this.queue.size >= objectWritesQueuedMax) {
      this.stats.dropped += 1;
      if (this.stats.dropped === 1 || this.stats.dropped % 1_000 === 0)
        this.log({ event: 'store.object-dropped', pod: write.pod, dropped: this.stats.dropped, limit: 'objectWritesQueuedMax', objectWritesQueuedMax });
      return;
    } else {
      this.queue.set(write.pod, { write, attempt });
      this.stats.queued = this.queue.size;
    }
    this.pump();
  }

  private pump(): void {
    if (this.inFlight.size >= objectWritesInFlightMax) return;
    for (const [pod, entry] of this.queue) {
      if (this.inFlight.size >= objectWritesInFlightMax) break;
      if (this.inFlight.has(pod)) continue;
      this.queue.delete(pod);
      this.inFlight.add(pod);
      void this.run(entry.write, entry.attempt).finally(() => {
        this.inFlight.delete(pod);
        this.stats.queued = this.queue.size;
        this.pump();
        this.notifyIdle();
      });
    }
    this.stats.queued = this.queue.size;
  }

  private async run(write: PodWrite, attempt: number): Promise<void> {
    let outcome: WriteOutcome;
    let why = 'the object does not exist yet';
    try {
      outcome = await this.applyWrite(write);
      this.health.markAvailable();
    } catch (error) {
      outcome = 'retry';
      why = String((error as Error).message ?? error);
      this.health.markUnavailable(why);
    }
    if (outcome === 'written') this.stats.written += 1;
    else if (outcome === 'skipped') this.stats.skipped += 1;
    else if (attempt + 1 >= objectWriteAttemptsMax || this.closed) {
      this.stats.failed += 1;
      this.log({ event: 'store.object-failed', pod: write.pod, write: write.kind, attempts: attempt + 1, why });
    } else {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.requeue(write, attempt + 1);
      }, objectWriteRetryDelayMsMin * 2 ** attempt);
      this.timers.add(timer);
    }
  }

  private idle(): boolean {
    return this.queue.size === 0 && this.inFlight.size === 0 && this.timers.size === 0;
  }

  private notifyIdle(): void {
    if (!this.idle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  async flush(timeoutMs: number): Promise<void> {
    if (this.idle()) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  protected async closeWriter(): Promise<void> {
    this.health.close();
    await this.flush(objectFlushOnStopMsMax);
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

/** Of two writes of one pod, the one to keep: a deletion is final; otherwise the later put, keeping `create` if either had it. */
function latestOf(older: PodWrite, newer: PodWrite): PodWrite {
  if (older.kind === 'delete') return older;
  if (newer.kind === 'delete') return newer;
  if (rankOfPodObject(newer.object) < rankOfPodObject(older.object)) return { ...older, create: older.create || newer.create };
  return { ...newer, create: older.create || newer.create };
}
