/**
 * The embedded backing store: the Autoscaler's desired counts in its data dir
 * (`desired.json`, fsynced on every write: runtime/node/durable.ts) and one JSON file
 * per Pod object under `DIR/objects/pods/NAME.json`, written asynchronously (temp
 * file, fsync, rename) so the event loop never waits on the disk for them.
 *
 * Several stage processes write the same directory; a write reads the object, keeps
 * the higher phase and renames over it. Each read-then-write or deletion holds a
 * per-pod lock (an atomically created directory), so a late update from one process
 * cannot bring back an object another process has just deleted (etcd does the same
 * with transactions). A lock left by a crashed process is broken after `podLockStaleMs`.
 */
import { mkdirSync } from 'node:fs';
import { access, mkdir, open, readFile, readdir, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { DesiredStore } from '../node/durable.js';
import { mergePodObject, rankOfPodObject, type PodObject } from './pod-objects.js';
import { QueuedObjectWriter, type BackingStore, type PodWrite, type StoreLogger, type WriteOutcome } from './store.js';

/** A per-pod lock older than this was left by a crashed process and is broken. */
export const podLockStaleMs = 5_000;
/** Pause between attempts to take a held per-pod lock. */
const podLockRetryMs = 2;

export class FileStore extends QueuedObjectWriter implements BackingStore {
  readonly kind = 'file' as const;
  private desired: DesiredStore | null = null;
  private readonly podsDir: string;

  /** `desiredDir`: the Autoscaler's data dir; `dir`: where `objects/pods/` lives. */
  constructor(
    private readonly desiredDir: string,
    dir: string,
    log: StoreLogger,
  ) {
    super(log, 'file');
    this.podsDir = join(dir, 'objects', 'pods');
    mkdirSync(this.podsDir, { recursive: true });
  }

  /** The file store is the local disk: it answers while its directory exists. */
  ping(): Promise<void> {
    return access(this.podsDir);
  }

  private desiredStore(): DesiredStore {
    this.desired ??= new DesiredStore(this.desiredDir);
    return this.desired;
  }

  loadDesired(): Promise<Record<string, number>> {
    return Promise.resolve({ ...this.desiredStore().all() });
  }

  /** Written and fsynced before it resolves (synchronously: the Autoscaler's persist is on its critical path by contract). */
  putDesiredCounts(counts: ReadonlyMap<string, number>): Promise<void> {
    this.desiredStore().persist(counts);
    return Promise.resolve();
  }

  private fileOf(pod: string): string {
    return join(this.podsDir, `${pod}.json`);
  }

  protected async applyWrite(write: PodWrite): Promise<WriteOutcome> {
    return this.withPodLock(write.pod, () => this.applyWriteLocked(write));
  }

  private async withPodLock<T>(pod: string, body: () => Promise<T>): Promise<T> {
    const lock = join(this.podsDir, `${pod}.lock`);
    for (;;) {
      try {
        await mkdir(lock);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const held = await stat(lock).catch(() => null);
        if (held !== null && Date.now() - held.mtimeMs > podLockStaleMs) await rmdir(lock).catch(() => undefined);
        await sleep(podLockRetryMs);
      }
    }
    try {
      return await body();
    } finally {
      await rmdir(lock).catch(() => undefined);
    }
  }

  private async applyWriteLocked(write: PodWrite): Promise<WriteOutcome> {
    const file = this.fileOf(write.pod);
    if (write.kind === 'delete') {
      await unlink(file).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
      return 'written';
    }
    const existing = await readPod(file);
    if (existing === null && !write.create) return 'retry';
    if (existing !== null && rankOfPodObject(existing) >= rankOfPodObject(write.object)) return 'skipped';
    const object = existing === null ? write.object : mergePodObject(existing, write.object);
    const temp = `${file}.${process.pid}.tmp`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(`${JSON.stringify(object, null, 1)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
    return 'written';
  }

  async listPods(): Promise<PodObject[]> {
    const names = (await readdir(this.podsDir)).filter((n) => n.endsWith('.json')).sort();
    const pods = await Promise.all(names.map((n) => readPod(join(this.podsDir, n))));
    return pods.filter((p): p is PodObject => p !== null);
  }

  async close(): Promise<void> {
    await this.closeWriter();
  }
}

async function readPod(file: string): Promise<PodObject | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as PodObject;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
