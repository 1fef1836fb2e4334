/**
 * Removing a node (REQ-SCHED-010, DEC-29) from a real local cluster: refused while the
 * node's Kubelet runs, then fenced and removed; the Scheduler restarts without the node,
 * the node's pods are rolled back and replaced on the other nodes, and kd validate finds
 * no violated invariant in the traces of the run (the removed Kubelet's included).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runScale, runUp } from '../../cli/cluster-commands.js';
import { main } from '../../cli/main.js';
import { kubeletId } from '../../machines/index.js';
import { loadClusterConfig,} from '../config.js';
import { configFileOf, pidOf, processIsAlive, removeCluster, runningStages } from '../cluster/local-cluster.js';
import { getStageState, stageTargetOf } from '../cluster/rpc.js';
import { waitConverged } from '../cluster/status.js';
import { traceFileOf } from '../observe/trace.js';
import { waitTracesQuiet } from './traces-quiet.js';

const dir = mkdtempSync(join(tmpdir(), 'kd-node-removal-'));
const noPrint = (): void => {};


beforeAll(async () => {
  expect(await runUp(['--nodes', '3', '--capacity', '4', '--dir', dir], noPrint)).toBe(0);
}, 120_000);

afterAll(async () => {
  await removeCluster(dir);
}, 30_000);

it('kd remove-node: refused while the Kubelet runs, then the pods of the fenced node are replaced elsewhere', async () => {
  const before = loadClusterConfig(configFileOf(dir));
  expect(await runScale(['fn', '6', '--dir', dir], noPrint)).toBe(0);
  await waitConverged(before, 6, 60_000);
  const onN3 = (await getStageState(stageTargetOf(before, kubeletId('n3')), 3_000)).pods.length;
  expect(onN3).toBeGreaterThan(0); // the Scheduler spreads 6 pods over three nodes of 4

  // Refused, nothing changed: the Kubelet of n3 still runs.
  const errors: string[] = [];
  const originalError = console.error;
  console.error = (line: string) => errors.push(line);
  try {
    expect(await main(['remove-node', 'n3', '--dir', dir], noPrint)).toBe(2);
    expect(await main(['remove-node', 'n9', '--dir', dir], noPrint)).toBe(2);
  } finally {
    console.error = originalError;
  }
  expect(errors.join('\n')).toMatch(/kubelet:n3 is still running .*--fence/);
  expect(errors.join('\n')).toMatch(/node "n9" is not in the cluster; its nodes: n1, n2, n3/);
  expect(loadClusterConfig(configFileOf(dir)).chain.nodes.map((n) => n.name)).toEqual(['n1', 'n2', 'n3']);

  const schedulerBefore = pidOf(dir, 'scheduler');
  const lines: string[] = [];
  expect(await main(['remove-node', 'n3', '--fence', '--dir', dir], (l) => lines.push(l))).toBe(0);
  expect(lines.join('\n')).toMatch(/node n3 removed; nodes now: n1, n2/);
  const kubeletPid = pidOf(dir, kubeletId('n3'));
  expect(kubeletPid === null || !processIsAlive(kubeletPid)).toBe(true);
  expect(pidOf(dir, 'scheduler')).not.toBe(schedulerBefore);

  const after = loadClusterConfig(configFileOf(dir));
  expect(after.chain.nodes.map((n) => n.name)).toEqual(['n1', 'n2']);
  const status = await waitConverged(after, 6, 60_000);
  expect(status.functions[0]?.running).toBe(6);
  const scheduler = await getStageState(stageTargetOf(after, 'scheduler'), 3_000);
  expect(scheduler.nodes.map((n) => n.node).sort()).toEqual(['n1', 'n2']);
  expect(scheduler.pods.length).toBe(6);
  expect(scheduler.pods.every((p) => p.record.node === 'n1' || p.record.node === 'n2')).toBe(true);

  const traces = Object.values(before.stages).map((e) => traceFileOf(e.dataDir));
  await waitTracesQuiet(traces);
  const report: string[] = [];
  expect(await main(['validate', ...traces], (l) => report.push(l))).toBe(0);
  expect(report.join('\n')).not.toMatch(/VIOLATED/);
}, 180_000);

it('kd remove-node on a stopped cluster: refused with the fix, no process started, the configuration unchanged', async () => {
  expect(await main(['down', '--dir', dir], noPrint)).toBe(0);
  expect(runningStages(dir)).toEqual([]);
  const configBefore = readFileSync(configFileOf(dir), 'utf8');
  const errors: string[] = [];
  const originalError = console.error;
  console.error = (line: string) => errors.push(line);
  try {
    expect(await main(['remove-node', 'n1', '--fence', '--dir', dir], noPrint)).toBe(2);
    expect(await main(['remove-node', 'n2', '--dir', dir], noPrint)).toBe(2);
  } finally {
    console.error = originalError;
  }
  expect(errors.join('\n')).toMatch(/the cluster in .* is stopped \(no stage of it runs\).*kd up --nodes 1 --dir /);
  expect(runningStages(dir)).toEqual([]);
  expect(pidOf(dir, 'scheduler')).toBeNull();
  expect(readFileSync(configFileOf(dir), 'utf8')).toBe(configBefore);
}, 60_000);
