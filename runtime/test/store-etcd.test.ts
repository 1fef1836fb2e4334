/**
 * The etcd store against a real etcd 3.4 (Debian's /usr/bin/etcd, started here on
 * loopback with its own data dir; the test fails, never skips, without it): desired
 * counts and Pod objects, then a 2-node cluster started with `--store etcd` whose
 * Autoscaler is SIGKILLed and recovers its desired count from etcd. etcd and every
 * stage are stopped in afterAll.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runUp } from '../../cli/cluster-commands.js';
import { runningStages, stopCluster } from '../cluster/local-cluster.js';
import { scaleSetsEntriesMax } from '../../spec/limits.js';
import { EtcdClient } from '../store/etcd-client.js';
import { desiredPrefix, EtcdStore } from '../store/etcd-store.js';
import { startEtcd, type EtcdServer } from '../store/etcd-server.js';
import { checkClusterWithStore, checkDesiredCounts, checkPodObjects, desiredFileOf, existsSync, type ClusterRun } from './store-cases.js';

const root = mkdtempSync(join(tmpdir(), 'kd-store-etcd-'));
let unitEtcd: EtcdServer | null = null;
let clusterEtcd: EtcdServer | null = null;
const run: ClusterRun = { dir: join(root, 'cluster'), config: null };

beforeAll(async () => {
  [unitEtcd, clusterEtcd] = await Promise.all([startEtcd(), startEtcd()]);
}, 60_000);

afterAll(async () => {
  await stopCluster(run.dir, 5_000);
  for (const { pid } of runningStages(run.dir)) process.kill(pid, 'SIGKILL');
  await Promise.all([unitEtcd?.stop(), clusterEtcd?.stop()]);
  rmSync(root, { recursive: true, force: true });
}, 30_000);

function endpointOf(server: EtcdServer | null): string {
  if (server === null) throw new Error('etcd did not start');
  return server.endpoint;
}

describe('etcd store', () => {
  const open = (): EtcdStore => new EtcdStore(endpointOf(unitEtcd), () => {});

  it('keeps desired counts under /kubedirect/desired/: a new client reads what the old one wrote', async () => {
    await checkDesiredCounts(open);
  });

  it(`writes the counts of one SetScales (${scaleSetsEntriesMax}) in one transaction: every key has the same revision (DEC-47)`, async () => {
    const store = open();
    const client = new EtcdClient(endpointOf(unitEtcd), 5_000);
    try {
      const counts = new Map(Array.from({ length: scaleSetsEntriesMax }, (_, i) => [`txn${i}`, i] as const));
      await store.putDesiredCounts(counts);
      const { kvs } = await client.rangePrefix(`${desiredPrefix}txn`);
      expect(kvs).toHaveLength(scaleSetsEntriesMax);
      expect(new Set(kvs.map((kv) => kv.modRevision)).size).toBe(1);
    } finally {
      client.close();
      await store.close();
    }
  });

  it('writes Pod objects under /registry/pods/default/, coalesced, never lowering a phase', async () => {
    await checkPodObjects(open);
  });

  it('kd up --store etcd refuses an etcd that does not answer', async () => {
    await expect(runUp(['--store', 'etcd', '--etcd', 'http://127.0.0.1:1', '--dir', join(root, 'refused')], () => {})).rejects.toThrow(/etcd does not answer/);
    await expect(runUp(['--store', 'etcd', '--etcd', 'http://192.0.2.1:2379', '--dir', join(root, 'refused')], () => {})).rejects.toThrow(/loopback/);
  });
});

describe('a cluster on etcd', () => {
  it('writes 20 Running Pod objects to etcd, recovers desired 20 after an Autoscaler SIGKILL, and ends with 5', async () => {
    const endpoint = endpointOf(clusterEtcd);
    const reader = new EtcdStore(endpoint, () => {});
    await checkClusterWithStore(run, ['--store', 'etcd', '--etcd', endpoint], () => reader.listPods(), (line) => console.log(`[store:etcd] ${line}`));
    // The desired count came from etcd: the Autoscaler has no desired.json.
    expect(run.config === null ? true : existsSync(desiredFileOf(run.config))).toBe(false);
    expect(await reader.loadDesired()).toEqual({ fn: 5 });
    const [example] = await reader.listPods();
    console.log(`[store:etcd] example: /registry/pods/default/${example?.metadata.name ?? ''} = ${JSON.stringify(example)}`);
  }, 120_000);
});
