/**
 * A desired count far above capacity on a real local cluster (issue 17, defect 6): every
 * stage its own process, 2 nodes of 20. Scaled to 99,999, the ReplicaSet holds the pods
 * that run plus one creation window of pods not yet confirmed running (REQ-RS-007,
 * DEC-42), read through Inspect; the Scheduler and the Pod objects in the store hold no
 * more; the ReplicaSet's memory stays near that of a small run. Scaled down to 5 after
 * that, the chain converges.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runScale, runUp } from '../../cli/cluster-commands.js';
import { creationWindowPodsMax } from '../../spec/limits.js';
import { stateIsAlive, stateIsClean, type StageId } from '../../machines/index.js';
import { loadClusterConfig, type ClusterConfig } from '../config.js';
import { configFileOf, pidOf, removeCluster } from '../cluster/local-cluster.js';
import { getStageState, stageTargetOf } from '../cluster/rpc.js';
import { waitConverged } from '../cluster/status.js';
import { testWaitMsMax, waitUntil } from '../../test/wait-until.js';

const dir = mkdtempSync(join(tmpdir(), 'kd-overload-'));
const noPrint = (): void => {};
const nodes = 2;
const capacityPerNode = 20;
const capacity = nodes * capacityPerNode;
let config: ClusterConfig;

/** The generous deadline of the waits here: the overload phase moves about a thousand pods through a loaded machine. */
const overloadWaitMsMax = 3 * testWaitMsMax;

beforeAll(async () => {
  expect(await runUp(['--nodes', String(nodes), '--capacity', String(capacityPerNode), '--functions', 'fn', '--dir', dir], noPrint)).toBe(0);
  config = loadClusterConfig(configFileOf(dir));
}, 120_000);

afterAll(async () => {
  await removeCluster(dir);
}, 30_000);

/** Resident memory of a stage process, in bytes (Linux /proc). */
function residentBytesOf(stage: StageId): number {
  const pid = pidOf(dir, stage);
  if (pid === null) throw new Error(`${stage} has no process`);
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(/\d+/.exec(line ?? '')?.[0] ?? NaN) * 1024;
}

/** The pod entries a stage holds, alive and confirmed running, read through Inspect. */
async function podsOf(stage: StageId): Promise<{ entries: number; alive: number; running: number; byState: Record<string, number> }> {
  const state = await getStageState(stageTargetOf(config, stage), 10_000);
  const byState: Record<string, number> = {};
  for (const pod of state.pods) byState[pod.state] = (byState[pod.state] ?? 0) + 1;
  return {
    entries: state.pods.length,
    alive: state.pods.filter((p) => stateIsAlive(p.state)).length,
    running: state.pods.filter((p) => stateIsClean(p.state)).length,
    byState,
  };
}

const podObjects = (): number => readdirSync(join(dir, 'objects', 'pods')).length;

it('a desired count far above capacity costs entries in proportion to capacity, and a scale-down converges', async () => {
  expect(await runScale(['fn', String(capacity / 2), '--dir', dir], noPrint)).toBe(0);
  await waitConverged(config, capacity / 2, testWaitMsMax);
  const smallRunBytes = residentBytesOf('replicaset');

  expect(await runScale(['fn', '99999', '--dir', dir], noPrint)).toBe(0);
  // Every node full and one window of pods waiting for room: what the ReplicaSet holds from then on.
  const held = await waitUntil(
    `the ReplicaSet holding ${capacity} running pods and a full window of ${creationWindowPodsMax}`,
    async () => {
      const pods = await podsOf('replicaset');
      return pods.running === capacity && pods.entries === capacity + creationWindowPodsMax ? pods : null;
    },
    overloadWaitMsMax,
  );
  expect(held.alive, JSON.stringify(held.byState)).toBe(capacity + creationWindowPodsMax);
  const scheduler = await podsOf('scheduler');
  expect(scheduler.entries).toBeLessThanOrEqual(capacity + creationWindowPodsMax);
  expect(scheduler.running).toBe(capacity);
  expect(podObjects()).toBeLessThanOrEqual(capacity + creationWindowPodsMax);
  const overloadBytes = residentBytesOf('replicaset');
  // Loosely: a thousand entries more than the small run, not 99,999 (which took hundreds of MB).
  expect(overloadBytes, `ReplicaSet RSS ${overloadBytes} bytes against ${smallRunBytes} in the small run`).toBeLessThan(smallRunBytes + 150 * 1024 * 1024);

  const scaledDown = performance.now();
  expect(await runScale(['fn', '5', '--dir', dir], noPrint)).toBe(0);
  await waitConverged(config, 5, overloadWaitMsMax);
  console.log(`overload: converged at 5 in ${Math.round(performance.now() - scaledDown)} ms after the scale-down; ReplicaSet RSS ${smallRunBytes} B small run, ${overloadBytes} B at 99,999`);
  expect(await podsOf('replicaset')).toEqual({ entries: 5, alive: 5, running: 5, byState: { running: 5 } });
  await waitUntil('5 Pod objects in the store', () => podObjects() === 5, testWaitMsMax);
}, 8 * testWaitMsMax);
