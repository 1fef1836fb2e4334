/**
 * The store-mediated transport (runtime/mediated/) against a real etcd 3.4 (Debian's
 * /usr/bin/etcd, started here; the test fails, never skips, without it): a 2-node
 * cluster started with `kd up --transport store-mediated` converges for a small burst
 * and a scale-down through tombstones, every link's records are etcd objects (one per
 * record), the presence keys of a SIGKILLed Scheduler expire with their lease, and a
 * SIGKILLed Scheduler comes back and the chain converges again through new sessions. Plus the transport's pieces that need no etcd: keys and ordering.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScale, runUp } from '../../cli/cluster-commands.js';
import { loadClusterConfig, type ClusterConfig } from '../config.js';
import { configFileOf, logFileOf, pidOf, runningSupervisorOf, sleep, startStageProcess, startSupervisor, stopCluster } from '../cluster/local-cluster.js';
import { waitConverged } from '../cluster/status.js';
import { EtcdGrpcClient } from '../mediated/etcd-grpc.js';
import { linkKeysOf, parseRecordKey, recordKeyOf, SequenceBuffer } from '../mediated/keys.js';
import { presenceLeaseSeconds } from '../mediated/presence.js';
import { transportConfigOf } from '../mediated/transport-config.js';
import { startEtcd, type EtcdServer } from '../store/etcd-server.js';
import { testWaitMsMax, waitUntil } from '../../test/wait-until.js';

const dir = mkdtempSync(join(tmpdir(), 'kd-mediated-'));
let etcd: EtcdServer | null = null;
let config: ClusterConfig;
const noPrint = (): void => {};


describe('store-mediated transport: keys and order (no etcd)', () => {
  it('record keys carry the session epoch and the sequence number, and parse back', () => {
    const keys = linkKeysOf('replicaset>scheduler');
    const key = recordKeyOf(keys.down, 1_048_577, 42, 'pod-fn-1-7');
    expect(key).toBe('/kubedirect/mediated/replicaset>scheduler/down/0000000001048577/0000000042-pod-fn-1-7');
    expect(parseRecordKey(keys.down, key)).toEqual({ epoch: 1_048_577, seq: 42 });
    expect(parseRecordKey(keys.up, key)).toBeNull();
    expect(parseRecordKey(keys.down, `${keys.down}12/3-x`)).toBeNull();
  });

  it('records taken out of order come out in the sender order, each once', () => {
    const buffer = new SequenceBuffer<string>();
    expect(buffer.take(2, 'b')).toEqual([]);
    expect(buffer.take(3, 'c')).toEqual([]);
    expect(buffer.take(1, 'a')).toEqual(['a', 'b', 'c']);
    expect(buffer.take(2, 'b')).toEqual([]);
    expect(buffer.take(4, 'd')).toEqual(['d']);
    expect(buffer.buffered).toBe(0);
  });

  it('the transport config is direct by default and refuses a non-loopback etcd', () => {
    expect(transportConfigOf(undefined)).toEqual({ kind: 'direct' });
    expect(transportConfigOf({ kind: 'store-mediated', etcd: 'http://127.0.0.1:2379/' })).toEqual({ kind: 'store-mediated', etcd: 'http://127.0.0.1:2379' });
    expect(() => transportConfigOf({ kind: 'store-mediated', etcd: 'http://10.1.2.3:2379' })).toThrow(/loopback/);
    expect(() => transportConfigOf({ kind: 'carrier-pigeon' })).toThrow(/direct.*store-mediated/);
    expect(transportConfigOf({ kind: 'store-mediated', etcd: 'http://127.0.0.1:2379', prefix: '/kd/a/' })).toMatchObject({ prefix: '/kd/a/' });
    expect(() => transportConfigOf({ kind: 'store-mediated', etcd: 'http://127.0.0.1:2379', prefix: 'no-slash' })).toThrow(/prefix/);
    expect(linkKeysOf('a>b', '/kd/a/').down).toBe('/kd/a/a>b/down/');
  });
});

describe('store-mediated cluster on a real etcd', () => {
  beforeAll(async () => {
    etcd = await startEtcd();
    expect(await runUp(['--nodes', '2', '--capacity', '20', '--start-delay-ms', '0', '--transport', 'store-mediated', '--etcd', etcd.endpoint, '--dir', dir], noPrint)).toBe(0);
    config = loadClusterConfig(configFileOf(dir));
    expect(config.transport).toEqual({ kind: 'store-mediated', etcd: etcd.endpoint });
    await waitConverged(config, 0, 40_000);
  }, 90_000);

  afterAll(async () => {
    await stopCluster(dir, 5_000);
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('converges for a burst of 12 pods and back down to 4, every record an etcd object', async () => {
    expect(await runScale(['fn', '12', '--dir', dir], noPrint)).toBe(0);
    const up = await waitConverged(config, 12, 30_000);
    expect(up.functions[0]).toMatchObject({ desired: 12, running: 12 });
    expect(await runScale(['fn', '4', '--dir', dir], noPrint)).toBe(0);
    await waitConverged(config, 4, 30_000);
    const client = new EtcdGrpcClient(etcd?.endpoint ?? '');
    try {
      const provisions = await client.rangePrefix(linkKeysOf('replicaset>scheduler').down);
      const pods = provisions.kvs.filter((kv) => kv.key.includes('-pod-'));
      expect(pods.length).toBe(12); // one object per provision
      const tombstones = provisions.kvs.filter((kv) => kv.key.includes('-tombstone-'));
      expect(tombstones.length).toBe(8);
      const first = JSON.parse(pods[0]?.value.toString('utf8') ?? '{}') as { provision?: { pods: unknown[] } };
      expect(first.provision?.pods).toHaveLength(1);
      const running = (await client.rangePrefix(linkKeysOf('scheduler>kubelet:n1').up)).kvs.filter((kv) => kv.key.includes('-running-'));
      expect(running.length).toBeGreaterThan(0);
      expect((await client.get(linkKeysOf('deployment>replicaset').downstreamPresence))?.value.toString('utf8')).toMatch(/"stage":"replicaset"/);
    } finally {
      client.close();
    }
  }, 60_000);

  it('the presence keys of a SIGKILLed Scheduler are held under a lease: etcd deletes them and the ReplicaSet ends its session', async () => {
    const client = new EtcdGrpcClient(etcd?.endpoint ?? '');
    const presences = [linkKeysOf('replicaset>scheduler').downstreamPresence, linkKeysOf('scheduler>kubelet:n1').upstreamPresence];
    try {
      for (const key of presences) expect(await client.get(key)).not.toBeNull();
      // kd up's supervisor would restart the Scheduler at once (and put its keys again): stop
      // supervising first (the stages keep running), to watch the lease of a stage that stays dead.
      const supervisor = runningSupervisorOf(dir);
      if (supervisor !== null) process.kill(supervisor, 'SIGTERM');
      await waitUntil('the supervisor to stop', () => runningSupervisorOf(dir) === null);
      const pid = pidOf(dir, 'scheduler');
      expect(pid).not.toBeNull();
      process.kill(pid as number, 'SIGKILL');
      // Nobody removes them: the lease runs out presenceLeaseSeconds after the last renewal.
      await waitUntil('the dead Scheduler\'s presence keys to be gone', async () => (await Promise.all(presences.map((key) => client.get(key)))).every((kv) => kv === null), presenceLeaseSeconds * 1_000 + testWaitMsMax);
      await waitUntil('the ReplicaSet to end its session with the stopped Scheduler', () =>
        readFileSync(logFileOf(dir, 'replicaset'), 'utf8').includes('"why":"the downstream stopped"'),
      );
    } finally {
      client.close();
    }
    startStageProcess(dir, 'scheduler');
    startSupervisor(dir);
    await waitConverged(config, 4, 45_000);
  }, presenceLeaseSeconds * 1_000 + 3 * testWaitMsMax);

  it('a SIGKILLed Scheduler comes back with new sessions through etcd and the chain converges', async () => {
    const pid = pidOf(dir, 'scheduler');
    expect(pid).not.toBeNull();
    process.kill(pid as number, 'SIGKILL');
    await sleep(300);
    startStageProcess(dir, 'scheduler');
    expect(await runScale(['fn', '9', '--dir', dir], noPrint)).toBe(0);
    const status = await waitConverged(config, 9, 45_000);
    const scheduler = status.stages.find((s) => s.stage === 'scheduler');
    expect(scheduler?.incarnation).toBe(3);
    expect(scheduler?.sessions.every((l) => l.state === 'synced')).toBe(true);
  }, 60_000);
});
