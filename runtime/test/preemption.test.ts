/**
 * Preemption on a real local cluster: two nodes of capacity 2 full of `fn` pods
 * (priority 0); scaling `hi` (priority 1) to 2 preempts two of them. The Scheduler's
 * trace shows that each hi pod is provisioned to a node only after the Kubelet of that
 * node confirmed the kill of a preempted pod (tombstone.done): capacity is freed after the
 * kill, not at the decision (REQ-SCHED-003, the `free-capacity-on-preempt` variant is the
 * bug this rules out). No Kubelet ever refuses a pod for capacity, and kd validate finds
 * no violated invariant.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runScale, runUp } from '../../cli/cluster-commands.js';
import { main } from '../../cli/main.js';
import { loadClusterConfig, type ClusterConfig } from '../config.js';
import { configFileOf, sleep, removeCluster } from '../cluster/local-cluster.js';
import { clusterStatus } from '../cluster/status.js';
import { traceFileOf } from '../observe/trace.js';
import { readTraces } from '../observe/validate.js';
import { waitTracesQuiet } from './traces-quiet.js';

const dir = mkdtempSync(join(tmpdir(), 'kd-preemption-'));
const noPrint = (): void => {};
let config: ClusterConfig;

async function waitFor(what: string, ok: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await ok()) return;
    await sleep(200);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms; ${JSON.stringify((await clusterStatus(config)).problems)}`);
}

const running = async (fn: string): Promise<number> => (await clusterStatus(config)).functions.find((f) => f.function === fn)?.running ?? -1;

beforeAll(async () => {
  expect(await runUp(['--nodes', '2', '--capacity', '2', '--functions', 'fn,hi', '--start-delay-ms', '20', '--dir', dir], noPrint)).toBe(0);
  config = loadClusterConfig(configFileOf(dir));
}, 120_000);

afterAll(async () => {
  await removeCluster(dir);
}, 30_000);

it('a higher-priority pod takes a node only after the preempted pod was killed there', async () => {
  expect(config.chain.functions).toEqual([
    { name: 'fn', priority: 0 },
    { name: 'hi', priority: 1 },
  ]);
  expect(await runScale(['fn', '4', '--dir', dir], noPrint)).toBe(0);
  await waitFor('4 fn pods running', async () => (await running('fn')) === 4, 60_000);
  expect(await runScale(['hi', '2', '--dir', dir], noPrint)).toBe(0);
  await waitFor('2 hi pods running, fn down to the 2 slots left', async () => (await running('hi')) === 2 && (await running('fn')) === 2, 60_000);

  const traces = Object.values(config.stages).map((e) => traceFileOf(e.dataDir));
  await waitTracesQuiet(traces);
  const { records } = readTraces(traces);
  const scheduler = records.map((r) => r.record).filter((r) => r.stage === 'scheduler').sort((a, b) => a.incarnation - b.incarnation || a.seq - b.seq);

  // Walk the Scheduler's own order: tombstones it sent per node, kills confirmed per node, provisions per node.
  const preemptedOn = new Map<string, string[]>();
  const killedOn = new Map<string, Set<string>>();
  const provisionsOfHi: Array<{ pod: string; node: string; killedBefore: number; preemptedBefore: number }> = [];
  for (const r of scheduler) {
    const event = r.event;
    if (event.type === 'message.received' && event.message?.type === 'tombstone.done' && event.link?.startsWith('scheduler>kubelet:')) {
      const node = event.link.slice('scheduler>kubelet:'.length);
      const set = killedOn.get(node) ?? new Set<string>();
      set.add(event.message.name ?? '');
      killedOn.set(node, set);
    }
    for (const effect of r.effects) {
      if (effect.type !== 'message.send' || !effect.link.startsWith('scheduler>kubelet:')) continue;
      const node = effect.link.slice('scheduler>kubelet:'.length);
      if (effect.message.type === 'pod.tombstone' && effect.message.origin === 'scheduler') preemptedOn.set(node, [...(preemptedOn.get(node) ?? []), effect.message.name ?? '']);
      if (effect.message.type === 'pod.provision' && effect.message.name?.startsWith('hi-') === true) {
        const preempted = preemptedOn.get(node) ?? [];
        provisionsOfHi.push({ pod: effect.message.name, node, preemptedBefore: preempted.length, killedBefore: preempted.filter((p) => killedOn.get(node)?.has(p) === true).length });
      }
    }
  }
  expect(provisionsOfHi).toHaveLength(2);
  for (const p of provisionsOfHi) {
    expect(p.preemptedBefore, `${p.pod} on ${p.node}: a pod was preempted there first`).toBeGreaterThanOrEqual(1);
    expect(p.killedBefore, `${p.pod} on ${p.node}: the preempted pod's kill was confirmed before the provision`).toBeGreaterThanOrEqual(1);
  }
  const refusedForCapacity = scheduler.filter((r) => r.event.type === 'message.received' && r.event.message?.type === 'pod.failed' && r.event.message.reason === 'capacity-exceeded');
  expect(refusedForCapacity).toEqual([]);

  const report: string[] = [];
  expect(await main(['validate', ...traces], (l) => report.push(l))).toBe(0);
  expect(report.join('\n')).toMatch(/^OK +INV-CAPACITY /m);
}, 180_000);

it('kd scale with several FUNCTION N pairs stores them in one Scaler.SetScales call', async () => {
  const lines: string[] = [];
  expect(await runScale(['fn', '1', 'hi', '1', '--dir', dir], (line) => lines.push(line))).toBe(0);
  expect(lines).toEqual(['fn: desired 1 (stored)', 'hi: desired 1 (stored)']);
  await waitFor('one fn and one hi pod running', async () => (await running('hi')) === 1 && (await running('fn')) === 1, 60_000);
  const desired = (await clusterStatus(config)).functions.map((f) => [f.function, f.desired]);
  expect(desired).toEqual([
    ['fn', 1],
    ['hi', 1],
  ]);
});
