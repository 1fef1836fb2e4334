/**
 * The `cri` sandbox driver against a real containerd (its own, runtime/test/containerd.ts)
 * through CRI runtime.v1 over its unix socket: every pod a real container (host network,
 * the busybox image of npm run cri:image). One cluster of stage processes (2 nodes) for the
 * file: a burst up and down, a Kubelet restart re-adopting its running containers by label,
 * a container that exits by itself reported failed and replaced, a node crash killing its
 * containers; the traces pass kd validate; the teardown removes every container.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { runScale } from '../../cli/cluster-commands.js';
import { kubeletId, stagesOf, type StageId } from '../../machines/index.js';
import type { ClusterConfig } from '../config.js';
import { pidOf, processIsAlive, removeCluster, startStageProcess, stopCluster, waitHealthy, writeClusterConfig } from '../cluster/local-cluster.js';
import { getStageState } from '../cluster/rpc.js';
import { waitConverged } from '../cluster/status.js';
import { crashCriNodeSandboxes } from '../faults/node-crash.js';
import { CriClient, type Container } from '../node/cri/cri-client.js';
import { criLabels, criOwnerOf } from '../node/cri/cri-sandboxes.js';
import { traceFileOf } from '../observe/trace.js';
import { waitUntil } from '../../test/wait-until.js';
import { startTestContainerd, type TestContainerd } from './containerd.js';
import { waitTracesQuiet } from './traces-quiet.js';

const dir = mkdtempSync(join(tmpdir(), 'kd-cri-'));
let containerd: TestContainerd;
let client: CriClient;
let config: ClusterConfig;
const noPrint = (): void => {};

function dataDirOf(stage: StageId): string {
  return config.stages[stage]?.dataDir ?? '';
}

/** The running containers of node `node`'s Kubelet, by pod name (from the runtime, by label). */
async function runningContainers(node: string): Promise<Map<string, Container>> {
  const containers = await client.listContainers({ [criLabels.owner]: criOwnerOf(dataDirOf(kubeletId(node))) });
  return new Map(containers.filter((c) => c.state === 'CONTAINER_RUNNING').map((c) => [c.labels[criLabels.pod] ?? '', c]));
}

async function allRunningPods(): Promise<string[]> {
  const pods: string[] = [];
  for (const node of config.chain.nodes) pods.push(...(await runningContainers(node.name)).keys());
  return pods.sort();
}

/** The pods the Kubelets report running (Inspect), sorted. */
async function podsAtKubelets(): Promise<string[]> {
  const names: string[] = [];
  for (const node of config.chain.nodes) {
    const state = await getStageState(config.stages[kubeletId(node.name)]?.address ?? '');
    names.push(...state.pods.filter((p) => p.state === 'running').map((p) => p.record.name));
  }
  return names.sort();
}

/** Scales to `n`, waits for convergence and for the runtime to hold exactly the pods the Kubelets run. */
async function scaleAndSettle(n: number): Promise<string[]> {
  expect(await runScale(['fn', String(n), '--dir', dir], noPrint)).toBe(0);
  await waitConverged(config, n, 120_000);
  const pods = await podsAtKubelets();
  expect(pods).toHaveLength(n);
  await waitUntil(`the runtime holds exactly the ${n} running pods`, async () => JSON.stringify(await allRunningPods()) === JSON.stringify(pods), 120_000);
  return pods;
}

async function restartKubelet(node: string, crash: boolean): Promise<void> {
  const stage = kubeletId(node);
  const pid = pidOf(dir, stage) as number;
  process.kill(pid, 'SIGKILL');
  await waitUntil(`${stage} dead`, () => !processIsAlive(pid));
  if (crash) await crashCriNodeSandboxes(dataDirOf(stage), { endpoint: containerd.socket });
  startStageProcess(dir, stage);
  await waitHealthy(config, [stage], 60_000);
}

beforeAll(async () => {
  containerd = await startTestContainerd();
  client = new CriClient(containerd.socket);
  config = await writeClusterConfig(dir, { nodes: 2, capacity: 8, functions: ['fn'], startDelayMs: 0, killDelayMs: 0, sandboxDriver: 'cri', cri: { endpoint: `unix://${containerd.socket}` } });
  const stages = stagesOf(config.chain);
  for (const stage of [...stages].reverse()) startStageProcess(dir, stage);
  await waitHealthy(config, stages, 60_000);
  await waitConverged(config, 0, 60_000);
}, 180_000);

afterAll(async () => {
  await removeCluster(dir).catch(() => {});
  client?.close();
  await containerd?.stop();
}, 120_000);

describe('pods as real containers through CRI', () => {
  it('a burst up to 12 containers and down to 4: the runtime holds exactly the pods the Kubelets run', async () => {
    const started = Date.now();
    const up = await scaleAndSettle(12);
    console.log(`[cri] 0 -> 12 containers converged in ${Date.now() - started} ms`);
    const sandboxes = await client.listPodSandbox({});
    expect(sandboxes.filter((s) => s.state === 'SANDBOX_READY')).toHaveLength(12);
    const down = Date.now();
    const left = await scaleAndSettle(4);
    console.log(`[cri] 12 -> 4 containers converged in ${Date.now() - down} ms`);
    expect(left.every((p) => up.includes(p))).toBe(true);
    await waitUntil('the 8 killed pods are removed from the runtime', async () => (await client.listPodSandbox({})).length === 4, 60_000);
  }, 300_000);

  it('a Kubelet restart re-adopts its running containers by label: same containers, nothing restarted', async () => {
    const before = await runningContainers('n1');
    expect(before.size).toBeGreaterThan(0);
    const incarnation = (await getStageState(config.stages['kubelet:n1']?.address ?? '')).incarnation;
    await restartKubelet('n1', false);
    await waitConverged(config, 4, 120_000);
    const after = await runningContainers('n1');
    expect([...after.entries()].map(([pod, c]) => `${pod}=${c.id}`).sort()).toEqual([...before.entries()].map(([pod, c]) => `${pod}=${c.id}`).sort());
    const state = await getStageState(config.stages['kubelet:n1']?.address ?? '');
    expect(state.incarnation).toBe(incarnation + 1);
    expect(state.pods.filter((p) => p.state === 'running').map((p) => p.record.name).sort()).toEqual([...before.keys()].sort());
  }, 300_000);

  it('a container that exits by itself is reported failed and its pod replaced', async () => {
    const running = await runningContainers('n2');
    const [victim, container] = [...running.entries()][0] ?? ['', null];
    expect(container).not.toBeNull();
    await client.stopContainer(container?.id ?? '', 0); // from outside the Kubelet
    await waitUntil(`${victim} reported failed in the trace of kubelet:n2`, () =>
      readFileSync(traceFileOf(dataDirOf('kubelet:n2')), 'utf8').includes(`"type":"sandbox.failed","pod":"${victim}"`),
    );
    const pods = await scaleAndSettle(4);
    expect(pods).not.toContain(victim);
  }, 300_000);

  it('a node crash kills its containers; the restarted Kubelet finds none and the pods are placed again', async () => {
    const lost = await runningContainers('n2');
    expect(lost.size).toBeGreaterThan(0);
    await restartKubelet('n2', true);
    const pods = await scaleAndSettle(4);
    for (const pod of lost.keys()) expect(pods).not.toContain(pod);
    for (const [, c] of await runningContainers('n2')) expect([...lost.values()].map((l) => l.id)).not.toContain(c.id);
  }, 300_000);

  it("the run's traces pass kd validate", async () => {
    const traces = Object.values(config.stages).map((e) => traceFileOf(e.dataDir));
    await waitTracesQuiet(traces);
    const lines: string[] = [];
    expect(await main(['validate', ...traces], (l) => lines.push(l))).toBe(0);
    expect(lines.join('\n')).not.toMatch(/VIOLATED/);
  }, 120_000);

  it('tearing the cluster down removes every container of its Kubelets', async () => {
    expect((await client.listPodSandbox({})).length).toBeGreaterThan(0);
    await stopCluster(dir);
    expect(await client.listPodSandbox({})).toEqual([]);
  }, 120_000);
});
