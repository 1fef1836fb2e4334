/**
 * The file store (the embedded default): desired counts and Pod objects, the queue's
 * bound, and a real 2-node cluster whose Autoscaler is SIGKILLed and recovers its
 * desired count from the file. Every process is stopped in afterAll.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runningStages, stopCluster } from '../cluster/local-cluster.js';
import { FileStore } from '../store/file-store.js';
import { podObjectOf } from '../store/pod-objects.js';
import { objectWritesInFlightMax, objectWritesQueuedMax, QueuedObjectWriter, storeConfigOf, type PodWrite, type WriteOutcome } from '../store/store.js';
import { checkClusterWithStore, checkDesiredCounts, checkPodObjects, desiredFileOf, existsSync, type ClusterRun } from './store-cases.js';

const root = mkdtempSync(join(tmpdir(), 'kd-store-'));
const run: ClusterRun = { dir: join(root, 'cluster'), config: null };

afterAll(async () => {
  await stopCluster(run.dir, 5_000);
  for (const { pid } of runningStages(run.dir)) process.kill(pid, 'SIGKILL');
  rmSync(root, { recursive: true, force: true });
}, 30_000);

describe('file store', () => {
  const open = (): FileStore => new FileStore(join(root, 'unit', 'data'), join(root, 'unit'), () => {});

  it('keeps desired counts durably: a new instance reads what the old one wrote', async () => {
    await checkDesiredCounts(open);
  });

  it('writes Pod objects as one JSON file each, coalesced, never lowering a phase', async () => {
    await checkPodObjects(open);
    expect(readdirSync(join(root, 'unit', 'objects', 'pods')).filter((f) => f.endsWith('.json'))).toHaveLength(20);
  });

  it('reads the store of cluster.json: file by default, etcd only on loopback', () => {
    expect(storeConfigOf(undefined, '/c')).toEqual({ kind: 'file', dir: '/c' });
    expect(storeConfigOf({ kind: 'etcd', endpoint: 'http://127.0.0.1:2379/' }, '/c')).toEqual({ kind: 'etcd', endpoint: 'http://127.0.0.1:2379' });
    expect(() => storeConfigOf({ kind: 'etcd', endpoint: 'http://10.0.0.1:2379' }, '/c')).toThrow(/loopback/);
    expect(() => storeConfigOf({ kind: 'zk' }, '/c')).toThrow(/file.*etcd/);
  });

  it('reads store.podObjects: absent or true writes Pod objects, false turns them off, anything else is refused', () => {
    expect(storeConfigOf({ kind: 'file', podObjects: true }, '/c')).toEqual({ kind: 'file', dir: '/c' });
    expect(storeConfigOf({ kind: 'file', podObjects: false }, '/c')).toEqual({ kind: 'file', dir: '/c', podObjects: false });
    expect(storeConfigOf({ kind: 'etcd', endpoint: 'http://127.0.0.1:2379', podObjects: false }, '/c')).toEqual({ kind: 'etcd', endpoint: 'http://127.0.0.1:2379', podObjects: false });
    expect(() => storeConfigOf({ kind: 'file', podObjects: 'no' }, '/c')).toThrow(/podObjects must be true or false/);
  });
});

describe('the object queue', () => {
  class Held extends QueuedObjectWriter {
    release: (() => void) | null = null;
    private readonly gate = new Promise<void>((r) => (this.release = r));
    readonly applied: PodWrite[] = [];
    ping(): Promise<void> {
      return Promise.resolve();
    }
    protected async applyWrite(write: PodWrite): Promise<WriteOutcome> {
      await this.gate;
      this.applied.push(write);
      return 'written';
    }
  }

  it('never blocks: beyond objectWritesQueuedMax distinct pods a write is dropped and counted; one pod always coalesces', async () => {
    const writer = new Held(() => {}, 'file');
    const total = objectWritesQueuedMax + objectWritesInFlightMax + 3;
    for (let i = 0; i < total; i++) writer.enqueuePod({ kind: 'put', pod: `p-${i}`, create: true, object: podObjectOf(`p-${i}`, 'fn', 'Pending', null) });
    expect(writer.stats.dropped).toBe(3);
    // A pod already queued still takes its latest version when the queue is full.
    writer.enqueuePod({ kind: 'put', pod: 'p-9', create: false, object: podObjectOf('p-9', 'fn', 'Running', 'n1') });
    expect(writer.stats.dropped).toBe(3);
    writer.release?.();
    await writer.flush(10_000);
    expect(writer.applied).toHaveLength(total - 3);
    const p9 = writer.applied.find((w) => w.pod === 'p-9');
    expect(p9?.kind === 'put' ? [p9.object.status.phase, p9.create] : null).toEqual(['Running', true]);
  });
});

describe('a cluster on the file store', () => {
  it('writes 20 Pod objects, recovers desired 20 after an Autoscaler SIGKILL, and ends with 5', async () => {
    const podsDir = join(run.dir, 'objects', 'pods');
    await checkClusterWithStore(
      run,
      [],
      async () => {
        const store = new FileStore(join(root, 'unused'), run.dir, () => {});
        return store.listPods();
      },
      (line) => console.log(`[store:file] ${line}`),
    );
    expect(existsSync(podsDir)).toBe(true);
    expect(run.config === null ? false : existsSync(desiredFileOf(run.config))).toBe(true);
  }, 120_000);
});
