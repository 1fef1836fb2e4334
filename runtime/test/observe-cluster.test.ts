/**
 * Observability of a real local cluster (every stage its own process): scale to 30,
 * SIGKILL and restart the Scheduler, scale down to 10, then /metrics and /healthz of
 * two stages, and `kd validate` on every stage's trace. Every process is stopped in
 * afterAll, also when a test fails.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runScale, runUp } from '../../cli/cluster-commands.js';
import { main } from '../../cli/main.js';
import { loadClusterConfig, type ClusterConfig } from '../config.js';
import { configFileOf, pidOf, processIsAlive, sleep, startStageProcess, removeCluster, waitHealthy } from '../cluster/local-cluster.js';
import { waitConverged } from '../cluster/status.js';
import { traceFileOf } from '../observe/trace.js';
import { waitTracesQuiet } from './traces-quiet.js';

const dir = mkdtempSync(join(tmpdir(), 'kd-observe-'));
let config: ClusterConfig;
const noPrint = (): void => {};


async function fetchText(stage: string, path: string): Promise<{ status: number; text: string }> {
  const address = config.stages[stage]?.metricsAddress;
  if (address === undefined) throw new Error(`${stage} has no metricsAddress`);
  const response = await fetch(`http://${address}${path}`);
  return { status: response.status, text: await response.text() };
}

/** The value of one sample of the exposition, e.g. `kubedirect_cache_pods{stage="replicaset",state="clean"}`. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inside = line.slice(name.length + 1, line.indexOf('}'));
    const have = inside.split(',');
    if (wanted.every((w) => have.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return Number.NaN;
}

beforeAll(async () => {
  const lines: string[] = [];
  expect(await runUp(['--nodes', '2', '--dir', dir], (l) => lines.push(l))).toBe(0);
  expect(lines.join('\n')).toMatch(/replicaset +127\.0\.0\.1:\d+ +metrics http:\/\/127\.0\.0\.1:\d+\/metrics/);
  config = loadClusterConfig(configFileOf(dir));
  await waitConverged(config, 0, 30_000);
}, 60_000);

afterAll(async () => {
  await removeCluster(dir);
}, 30_000);

it('metrics, health and traces of a run with a Scheduler crash: the numbers add up and kd validate finds nothing', async () => {
  expect(await runScale(['fn', '30', '--dir', dir], noPrint)).toBe(0);
  await waitConverged(config, 30, 60_000);

  const pid = pidOf(dir, 'scheduler');
  expect(pid).not.toBeNull();
  process.kill(pid as number, 'SIGKILL');
  while (processIsAlive(pid as number)) await sleep(20);
  startStageProcess(dir, 'scheduler');
  await waitHealthy(config, ['scheduler'], 30_000);

  expect(await runScale(['fn', '10', '--dir', dir], noPrint)).toBe(0);
  await waitConverged(config, 10, 60_000);

  const rs = await fetchText('replicaset', '/metrics');
  expect(rs.status).toBe(200);
  expect(rs.text).toMatch(/^# TYPE kubedirect_step_seconds histogram$/m);
  expect(sample(rs.text, 'kubedirect_cache_pods', { stage: 'replicaset', state: 'clean' })).toBe(10);
  for (const state of ['dirty', 'tombstone', 'waiting']) expect(sample(rs.text, 'kubedirect_cache_pods', { stage: 'replicaset', state })).toBe(0);
  expect(sample(rs.text, 'kubedirect_sessions_opened_total', { link: 'replicaset>scheduler' })).toBeGreaterThan(1);
  expect(sample(rs.text, 'kubedirect_messages_sent_total', { link: 'replicaset>scheduler', type: 'pod.provision' })).toBeGreaterThanOrEqual(30);
  expect(sample(rs.text, 'kubedirect_tombstones_total', {})).toBeGreaterThanOrEqual(20);
  expect(sample(rs.text, 'kubedirect_step_seconds_count', {})).toBeGreaterThan(0);

  const scheduler = await fetchText('scheduler', '/metrics');
  expect(sample(scheduler.text, 'kubedirect_incarnation', {})).toBe(2);
  expect(sample(scheduler.text, 'kubedirect_epoch', { link: 'replicaset>scheduler' })).toBe(sample(rs.text, 'kubedirect_epoch', { link: 'replicaset>scheduler' }));
  expect(sample(scheduler.text, 'kubedirect_cache_pods', { stage: 'scheduler', state: 'clean' })).toBe(10);

  const health = await fetchText('scheduler', '/healthz');
  expect(health.status).toBe(200);
  expect(JSON.parse(health.text)).toEqual({ status: 'serving', stage: 'scheduler', incarnation: 2, warm: true, store: { store: 'file', available: true, outages: 0 } });
  expect(JSON.parse((await fetchText('replicaset', '/healthz')).text)).toMatchObject({ incarnation: 1, warm: true });

  const traces = Object.values(config.stages).map((e) => traceFileOf(e.dataDir));
  await waitTracesQuiet(traces);
  const lines: string[] = [];
  expect(await main(['validate', ...traces], (l) => lines.push(l))).toBe(0);
  const text = lines.join('\n');
  expect(text).not.toMatch(/VIOLATED/);
  for (const id of ['INV-FENCING', 'INV-UNIQUE-PLACEMENT', 'INV-NAME-UNIQUE', 'INV-NO-RESTART-AFTER-DEATH', 'INV-NO-RESURRECTION', 'INV-CAPACITY', 'INV-EPOCH-MONOTONIC'])
    expect(text).toMatch(new RegExp(`^OK +${id} .*\\(([1-9]\\d*) checked\\)$`, 'm'));
  expect(text).toMatch(/7 stage incarnation\(s\)/);

  // The documented form, `kd validate .kd/data`: the data root holds the Kubelets' sandbox
  // journals (sandboxes.ndjson) next to the traces; only the traces are read, same report.
  const dataRoot = join(dir, 'data');
  expect(readdirSync(join(dataRoot, 'kubelet-n1'))).toContain('sandboxes.ndjson');
  const rootLines: string[] = [];
  expect(await main(['validate', dataRoot], (l) => rootLines.push(l))).toBe(0);
  expect(rootLines.join('\n')).toBe(text);
}, 180_000);
