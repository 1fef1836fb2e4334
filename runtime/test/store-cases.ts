/**
 * What both backing stores must do, written once and run against each
 * (runtime/test/store.test.ts: file; runtime/test/store-etcd.test.ts: a real etcd).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runScale, runUp } from '../../cli/cluster-commands.js';
import { loadClusterConfig, type ClusterConfig } from '../config.js';
import { configFileOf, pidOf, processIsAlive, sleep, startStageProcess, waitHealthy } from '../cluster/local-cluster.js';
import { waitConverged } from '../cluster/status.js';
import { podObjectOf, type PodObject } from '../store/pod-objects.js';
import type { BackingStore } from '../store/store.js';

const noPrint = (): void => {};

/** Desired counts: put, get, and a new store instance reads what the old one wrote. */
export async function checkDesiredCounts(open: () => BackingStore): Promise<void> {
  const first = open();
  await first.putDesiredCounts(new Map([['fn', 7]]));
  await first.putDesiredCounts(new Map([['other', 0]]));
  await first.putDesiredCounts(new Map([['fn', 12]]));
  expect(await first.loadDesired()).toEqual({ fn: 12, other: 0 });
  // One batch of more counts than an etcd transaction takes (128 by default).
  const many = new Map(Array.from({ length: 130 }, (_, i) => [`f${String(i).padStart(3, '0')}`, i] as const));
  await first.putDesiredCounts(new Map([...many, ['fn', 13]]));
  const expected = { ...Object.fromEntries(many), fn: 13, other: 0 };
  expect(await first.loadDesired()).toEqual(expected);
  await first.close();
  const second = open();
  expect(await second.loadDesired()).toEqual(expected);
  await second.close();
}

/** Pod objects: writes of one pod coalesce to the latest, a lower phase never overwrites a higher one, deletion removes, a new instance reads them. */
export async function checkPodObjects(open: () => BackingStore): Promise<void> {
  const store = open();
  for (let i = 0; i < 30; i++) {
    const name = `fn-1-${i}`;
    store.enqueuePod({ kind: 'put', pod: name, create: true, object: podObjectOf(name, 'fn', 'Pending', null) });
    store.enqueuePod({ kind: 'put', pod: name, create: false, object: podObjectOf(name, 'fn', 'Pending', 'n1') });
    store.enqueuePod({ kind: 'put', pod: name, create: false, object: podObjectOf(name, 'fn', 'Running', 'n1') });
  }
  // A late lower phase never wins, in the queue or at the store.
  store.enqueuePod({ kind: 'put', pod: 'fn-1-29', create: false, object: podObjectOf('fn-1-29', 'fn', 'Pending', 'n1') });
  await store.flush(10_000);
  expect(store.stats.coalesced).toBeGreaterThan(0);
  expect(store.stats.failed).toBe(0);
  expect(store.stats.written).toBeLessThan(91); // fewer writes than enqueued: coalesced
  store.enqueuePod({ kind: 'put', pod: 'fn-1-0', create: false, object: podObjectOf('fn-1-0', 'fn', 'Pending', 'n1') });
  for (let i = 20; i < 30; i++) store.enqueuePod({ kind: 'delete', pod: `fn-1-${i}` });
  await store.flush(10_000);
  await store.close();

  const reopened = open();
  const pods = await reopened.listPods();
  expect(pods).toHaveLength(20);
  for (const pod of pods) {
    expect(pod).toMatchObject({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'default', labels: { app: 'fn' } }, spec: { nodeName: 'n1' }, status: { phase: 'Running' } });
    expect(pod.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'fn', controller: true }]);
  }
  await reopened.close();
}

export interface ClusterRun {
  readonly dir: string;
  config: ClusterConfig | null;
}


/** Waits until the store holds exactly `count` Pod objects, all Running on a node and owned by the function's ReplicaSet. */
async function waitPodObjects(read: () => Promise<PodObject[]>, count: number, timeoutMs: number): Promise<PodObject[]> {
  const deadline = Date.now() + timeoutMs;
  let pods: PodObject[] = [];
  const settled = (): boolean => pods.length === count && pods.every((p) => p.status.phase === 'Running' && p.spec.nodeName !== undefined);
  for (;;) {
    pods = await read();
    if (settled() || Date.now() > deadline) break;
    await sleep(200);
  }
  const phases = pods.map((p) => `${p.metadata.name}:${p.status.phase}:${p.spec.nodeName ?? '-'}`);
  expect(phases.length, phases.join(' ')).toBe(count);
  for (const pod of pods) {
    expect(pod.status.phase).toBe('Running');
    expect(pod.spec.nodeName).toMatch(/^n[12]$/);
    expect(pod.metadata.ownerReferences[0]).toMatchObject({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'fn', controller: true });
    expect(pod.spec.containers[0]).toEqual({ name: 'fn', image: 'kubedirect/fn' });
  }
  return pods;
}

/**
 * A 2-node cluster on `storeArgs`: scale to 20, the store holds 20 Running Pod objects;
 * SIGKILL and restart of the Autoscaler recovers desired 20 from the store; scale to 5,
 * the store ends with 5 Pod objects.
 */
export async function checkClusterWithStore(run: ClusterRun, storeArgs: readonly string[], read: () => Promise<PodObject[]>, log: (line: string) => void): Promise<void> {
  const t0 = Date.now();
  expect(await runUp(['--nodes', '2', '--capacity', '30', '--dir', run.dir, ...storeArgs], noPrint)).toBe(0);
  const config = loadClusterConfig(configFileOf(run.dir));
  run.config = config;
  await waitConverged(config, 0, 30_000);
  expect(await runScale(['fn', '20', '--dir', run.dir], noPrint)).toBe(0);
  await waitConverged(config, 20, 30_000);
  await waitPodObjects(read, 20, 15_000);
  log(`20 pods converged and written as Pod objects ${Date.now() - t0} ms after kd up`);

  const pid = pidOf(run.dir, 'autoscaler');
  expect(pid).not.toBeNull();
  process.kill(pid as number, 'SIGKILL');
  while (processIsAlive(pid as number)) await sleep(20);
  const restarted = Date.now();
  startStageProcess(run.dir, 'autoscaler');
  await waitHealthy(config, ['autoscaler'], 30_000);
  const recovered = await waitConverged(config, 20, 30_000);
  expect(recovered.functions[0]).toMatchObject({ desired: 20, running: 20 });
  log(`Autoscaler SIGKILLed and restarted: desired 20 recovered, converged in ${Date.now() - restarted} ms`);

  expect(await runScale(['fn', '5', '--dir', run.dir], noPrint)).toBe(0);
  await waitConverged(config, 5, 30_000);
  await waitPodObjects(read, 5, 15_000);
  log(`scaled to 5: the store holds 5 Pod objects (${Date.now() - t0} ms in all)`);
}

export function desiredFileOf(config: ClusterConfig): string {
  return join(config.stages['autoscaler']?.dataDir ?? '', 'desired.json');
}

export { existsSync };
