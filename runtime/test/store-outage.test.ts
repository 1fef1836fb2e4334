/**
 * An outage of the backing store (issue 17, defect 8) with a real etcd 3.4 SIGKILLed and
 * restarted under a 3-node cluster started with `--store etcd`: `kd scale` says "not
 * stored" (exit 4) and whether the count may still be applied; `kd status`, `/healthz`
 * and the metrics report the store unavailable; a node removed during the outage loses
 * Pod object writes (counted); an Autoscaler restarted during the outage waits for its
 * desired counts instead of exiting; after etcd returns the chain converges, the Pod
 * objects are re-synced to what the stages know, and `kd down` stops every stage without
 * SIGKILL. Every wait is on a condition.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runScale, runUp } from '../../cli/cluster-commands.js';
import { main } from '../../cli/main.js';
import { exitCodes } from '../../cli/exit-codes.js';
import { kubeletId, type StageId } from '../../machines/index.js';
import { loadClusterConfig, type ClusterConfig } from '../config.js';
import { configFileOf, logFileOf, pidOf, processIsAlive, startStageProcess, stopCluster, stopProcess } from '../cluster/local-cluster.js';
import { getStageState, stageTargetOf } from '../cluster/rpc.js';
import { waitConverged } from '../cluster/status.js';
import { startEtcd, type EtcdServer } from '../store/etcd-server.js';
import { EtcdStore } from '../store/etcd-store.js';
import { testWaitMsMax, waitUntil } from '../../test/wait-until.js';

const dir = mkdtempSync(join(tmpdir(), 'kd-store-outage-'));
let etcd: EtcdServer;
let config: ClusterConfig;
const noPrint = (): void => {};

/** Runs a kd command, returning its exit code and what it printed (stdout and stderr). */
async function kd(args: readonly string[]): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const originalError = console.error;
  console.error = (line: string) => lines.push(line);
  try {
    const code = await main([...args, '--dir', dir], (line) => lines.push(line));
    return { code, text: lines.join('\n') };
  } finally {
    console.error = originalError;
  }
}

async function httpOf(stage: StageId, path: string): Promise<{ status: number; text: string } | null> {
  try {
    const response = await fetch(`http://${config.stages[stage]?.metricsAddress ?? ''}${path}`, { signal: AbortSignal.timeout(2_000) });
    return { status: response.status, text: await response.text() };
  } catch {
    return null;
  }
}

/** The value of a sample of a stage's /metrics whose line starts with `prefix` (name and labels), or null. */
async function metricOf(stage: StageId, prefix: string): Promise<number | null> {
  const text = (await httpOf(stage, '/metrics'))?.text ?? '';
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? null : Number(line.slice(line.lastIndexOf(' ') + 1));
}

beforeAll(async () => {
  etcd = await startEtcd();
  expect(await runUp(['--nodes', '3', '--capacity', '10', '--start-delay-ms', '0', '--store', 'etcd', '--etcd', etcd.endpoint, '--dir', dir], noPrint)).toBe(0);
  config = loadClusterConfig(configFileOf(dir));
}, 120_000);

afterAll(async () => {
  await stopCluster(dir, 5_000);
  await etcd?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

it('an etcd outage: not stored (exit 4), reported, writes counted, an Autoscaler waiting at start, objects re-synced, kd down clean', async () => {
  expect(await runScale(['fn', '9', '--dir', dir], noPrint)).toBe(0);
  await waitConverged(config, 9, testWaitMsMax);
  const reader = new EtcdStore(etcd.endpoint, () => {});
  try {
    await waitUntil('9 Running Pod objects in etcd', async () => (await reader.listPods()).filter((p) => p.status.phase === 'Running').length === 9);

    await etcd.kill();
    // The Autoscaler still believes in the store: it takes the count, its write fails, it keeps it and retries.
    const first = await kd(['scale', 'fn', '12']);
    expect(first.code).toBe(exitCodes.incomplete);
    expect(first.text).toMatch(/kd scale: not stored: STORE_UNAVAILABLE: the backing store \(etcd\) is unavailable since .*: the desired count 12 of fn is not stored yet; .*may still be stored and applied once the store is back/);
    // Now it knows the store is down: refused before anything changes.
    const second = await kd(['scale', 'fn', '15']);
    expect(second.code).toBe(exitCodes.incomplete);
    expect(second.text).toMatch(/not stored and not applied: nothing changed/);
    expect((await getStageState(stageTargetOf(config, 'autoscaler'), 3_000)).scales.find((s) => s.function === 'fn')?.desired).toBe(12);

    const status = await kd(['status']);
    expect(status.code).toBe(exitCodes.failed);
    expect(status.text).toMatch(/^store: etcd UNAVAILABLE \(autoscaler since /m);
    const health = JSON.parse((await httpOf('autoscaler', '/healthz'))?.text ?? '{}') as { store?: { available: boolean } };
    expect(health.store?.available).toBe(false);
    expect(await metricOf('autoscaler', 'kubedirect_store_available{stage="autoscaler",store="etcd"}')).toBe(0);

    // A node removed during the outage: its pods are rolled back and replaced, and their Pod
    // object writes are lost. Its Kubelet and the Scheduler stop on SIGTERM, with no SIGKILL.
    const removal = await kd(['remove-node', 'n3', '--fence']);
    expect(removal.code).toBe(0);
    expect(removal.text).toMatch(/stopped kubelet:n3 \(pid \d+\): stopped$/m);
    expect(removal.text).toMatch(/stopped the scheduler \(pid \d+\): stopped$/m);
    config = loadClusterConfig(configFileOf(dir));
    await waitUntil('the ReplicaSet to give up Pod object writes', async () => ((await metricOf('replicaset', 'kubedirect_store_object_writes_dropped_total{stage="replicaset",reason="attempts-exhausted"}')) ?? 0) > 0);

    // The Autoscaler, still retrying the write of 12, stops on SIGTERM within kd down's grace
    // (a pending retry kept it alive before); restarted while the store is down, it waits for its desired counts.
    expect(await stopProcess(pidOf(dir, 'autoscaler') as number, 5_000)).toBe('stopped');
    const stopped = readFileSync(logFileOf(dir, 'autoscaler'), 'utf8').split('\n').filter((l) => l.includes('"event":"stage.stopped"'));
    console.log(`[store-outage] the Autoscaler at stage.stopped: ${stopped.at(-1) ?? 'no stage.stopped record'}`);
    // Nothing but stdio keeps it alive once stopped: no timer (the write's retry kept it alive before).
    expect((JSON.parse(stopped.at(-1) ?? '{}') as { activeResources?: string[] }).activeResources).not.toContain('Timeout');
    const autoscaler = startStageProcess(dir, 'autoscaler');
    await waitUntil('the Autoscaler to report waiting for the store', async () => (await httpOf('autoscaler', '/healthz'))?.status === 503);
    expect(JSON.parse((await httpOf('autoscaler', '/healthz'))?.text ?? '{}')).toMatchObject({ status: 'waiting-for-store', stage: 'autoscaler', store: { store: 'etcd', available: false } });
    expect(await metricOf('autoscaler', 'kubedirect_store_available{stage="autoscaler",store="etcd"}')).toBe(0);
    const waiting = await kd(['scale', 'fn', '11']);
    expect(waiting.code).toBe(exitCodes.incomplete);
    expect(waiting.text).toMatch(/is waiting for the backing store .*not stored and not applied: nothing changed/);
    expect((await kd(['status'])).text).toMatch(/autoscaler waits to start: the backing store \(etcd\) unavailable since/);
    expect(processIsAlive(autoscaler)).toBe(true);

    await etcd.restart();
    // 12 was never stored and its Autoscaler is gone: the restarted one loads 9.
    const converged = await waitConverged(config, 9, testWaitMsMax);
    expect(converged.store).toEqual({ kind: 'etcd', available: true, unavailableAt: [] });
    expect(await metricOf('autoscaler', 'kubedirect_store_available{stage="autoscaler",store="etcd"}')).toBe(1);

    // The Pod objects are re-synced to the pods the Kubelets run.
    const running = async (): Promise<string[]> => {
      const pods = await Promise.all(config.chain.nodes.map(async (n) => (await getStageState(stageTargetOf(config, kubeletId(n.name)), 3_000)).pods));
      return pods.flat().filter((p) => p.state === 'running').map((p) => `${p.record.name}@${p.record.node}`).sort();
    };
    const objects = async (): Promise<string[]> => (await reader.listPods()).map((p) => `${p.metadata.name}@${p.spec.nodeName ?? '-'}:${p.status.phase}`).sort();
    const expected = (await running()).map((p) => `${p}:Running`);
    expect(expected).toHaveLength(9);
    await waitUntil('the Pod objects in etcd to match the running pods', async () => JSON.stringify(await objects()) === JSON.stringify(expected));
  } finally {
    await reader.close();
  }

  // Every stage stops on SIGTERM, none needs SIGKILL.
  const down = await kd(['down']);
  expect(down.code).toBe(0);
  expect(down.text).not.toMatch(/killed/);
  expect(down.text.match(/ stopped$/gm)).toHaveLength(6);
}, 10 * testWaitMsMax);
