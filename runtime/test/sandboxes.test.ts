/**
 * The `process` sandbox driver (runtime/node/process-sandboxes.ts): real child
 * processes started and killed, failures of sandboxes that exit by themselves, and
 * re-adoption by a restarted Kubelet (a new ProcessSandboxes on the same data dir).
 * Then a small real cluster with `sandbox.driver: "process"`: scale up (the sandbox
 * processes exist), scale down (they are gone), kd down (none left).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDown, runScale, runUp } from '../../cli/cluster-commands.js';
import { kubeletId, type PodRecord } from '../../machines/index.js';
import { configFileOf, pidOf, processIsAlive, sleep, startStageProcess, stopCluster, waitHealthy } from '../cluster/local-cluster.js';
import { getStageState } from '../cluster/rpc.js';
import { waitConverged } from '../cluster/status.js';
import { loadClusterConfig, type ClusterConfig } from '../config.js';
import { isOurSandbox, killProcessSandboxes, ProcessSandboxes, processRuns, processSandboxesFileOf, type ProcessSandboxRecord } from '../node/process-sandboxes.js';
import type { SandboxReport } from '../node/sandbox-runtime.js';
import { testWaitMsMax } from '../../test/wait-until.js';

const dirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs) {
    killProcessSandboxes(dir);
    rmSync(dir, { recursive: true, force: true });
  }
});

function pod(n: number): PodRecord {
  return { name: `fn-1-${n}`, function: 'fn', priority: 0, node: 'n1' };
}

const alive = processRuns;

async function until(what: string, holds: () => boolean, timeoutMs = testWaitMsMax): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!holds()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('process sandboxes', () => {
  it('start real processes, report running once ready, kill them for real, and report one that exits by itself as failed', async () => {
    const dir = tempDir('kd-sandbox-');
    const reports: SandboxReport[] = [];
    const sandboxes = new ProcessSandboxes(dir, (r) => reports.push(r), { startMsMax: 10_000, terminationGraceMsMax: 1_000 });
    expect(sandboxes.inventory()).toEqual([]);
    sandboxes.resume();
    for (const n of [1, 2, 3]) sandboxes.start(pod(n));
    await until('three started', () => reports.filter((r) => r.type === 'sandbox.started').length === 3);
    const pids = sandboxes.pids();
    expect(pids.size).toBe(3);
    for (const [name, pid] of pids) {
      expect(alive(pid)).toBe(true);
      expect(isOurSandbox(pid, dir, name)).toBe(true);
      expect(isOurSandbox(pid, dir, 'fn-1-999')).toBe(false);
    }
    expect(sandboxes.inventory().map((i) => i.state)).toEqual(['running', 'running', 'running']);

    // kill: SIGTERM, the process is really gone before sandbox.killed.
    const pid1 = pids.get('fn-1-1') as number;
    sandboxes.kill(pod(1), 'replicaset');
    sandboxes.kill(pod(1), 'replicaset'); // idempotent while in progress
    await until('fn-1-1 killed', () => reports.some((r) => r.type === 'sandbox.killed' && r.pod === 'fn-1-1'));
    expect(alive(pid1)).toBe(false);
    expect(reports.filter((r) => r.pod === 'fn-1-1').map((r) => r.type)).toEqual(['sandbox.started', 'sandbox.killed']);

    // A sandbox that dies by itself is failed.
    const pid2 = pids.get('fn-1-2') as number;
    process.kill(pid2, 'SIGKILL');
    await until('fn-1-2 failed', () => reports.some((r) => r.type === 'sandbox.failed' && r.pod === 'fn-1-2'));
    expect(sandboxes.count()).toBe(1);
    const saved = JSON.parse(readFileSync(processSandboxesFileOf(dir), 'utf8')) as ProcessSandboxRecord[];
    expect(saved.map((s) => [s.pod.name, s.state, s.pid])).toEqual([['fn-1-3', 'running', pids.get('fn-1-3')]]);
    sandboxes.stop();
  }, 30_000);

  it('a restarted Kubelet re-adopts its live sandboxes from the pid file, and reports those that died meanwhile', async () => {
    const dir = tempDir('kd-sandbox-');
    const first: SandboxReport[] = [];
    const before = new ProcessSandboxes(dir, (r) => first.push(r), { startMsMax: 10_000, terminationGraceMsMax: 1_000 });
    before.resume();
    for (const n of [1, 2, 3, 4]) before.start(pod(n));
    await until('four started', () => first.filter((r) => r.type === 'sandbox.started').length === 4);
    const pids = new Map(before.pids());
    before.kill(pod(4), 'replicaset'); // being killed when the Kubelet "crashes"
    before.stop(); // the Kubelet process ends; its sandboxes keep running
    await new Promise((r) => setTimeout(r, 200));
    expect(alive(pids.get('fn-1-1') as number)).toBe(true);
    process.kill(pids.get('fn-1-2') as number, 'SIGKILL'); // dies while no Kubelet watches

    const reports: SandboxReport[] = [];
    const after = new ProcessSandboxes(dir, (r) => reports.push(r), { startMsMax: 10_000, terminationGraceMsMax: 1_000 });
    const inventory = after.inventory().map((i) => [i.pod.name, i.state]);
    expect(inventory).toEqual(
      expect.arrayContaining([
        ['fn-1-1', 'running'],
        ['fn-1-2', 'running'],
        ['fn-1-3', 'running'],
        ['fn-1-4', 'killing'],
      ]),
    );
    // The origin of fn-1-4's tombstone is kept with it (REQ-TOMB-008): a restarted Kubelet reports it in its snapshot.
    expect(after.inventory().find((i) => i.pod.name === 'fn-1-4')?.origin).toBe('replicaset');
    // bootEffects re-issue the kill of fn-1-4, then resume.
    after.kill(pod(4), 'replicaset');
    after.resume();
    await until('fn-1-2 failed and fn-1-4 killed', () => reports.length >= 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(reports.map((r) => `${r.type} ${r.pod}`).sort()).toEqual(['sandbox.failed fn-1-2', 'sandbox.killed fn-1-4']);
    expect(alive(pids.get('fn-1-4') as number)).toBe(false);
    expect([...after.pids().keys()].sort()).toEqual(['fn-1-1', 'fn-1-3']);
    expect(after.pids().get('fn-1-1')).toBe(pids.get('fn-1-1'));

    // The adopted sandboxes are killed for real too.
    after.kill(pod(1), 'replicaset');
    await until('fn-1-1 killed', () => reports.some((r) => r.type === 'sandbox.killed' && r.pod === 'fn-1-1'));
    expect(alive(pids.get('fn-1-1') as number)).toBe(false);
    after.stop();

    // Tearing the node down kills what is left.
    expect(killProcessSandboxes(dir)).toEqual([pids.get('fn-1-3')]);
    await until('fn-1-3 gone', () => !alive(pids.get('fn-1-3') as number));
  }, 30_000);

  it('a pid in the pid file that is alive but not our sandbox is not adopted (and never signalled): the sandbox is reported failed', async () => {
    const dir = tempDir('kd-sandbox-');
    // process.pid is alive but runs vitest, not the sandbox program.
    const records: ProcessSandboxRecord[] = [{ pod: pod(1), state: 'running', pid: process.pid }];
    writeFileSync(processSandboxesFileOf(dir), JSON.stringify(records));
    expect(isOurSandbox(process.pid, dir, 'fn-1-1')).toBe(false);
    const reports: SandboxReport[] = [];
    const sandboxes = new ProcessSandboxes(dir, (r) => reports.push(r));
    expect(sandboxes.inventory()).toEqual([{ pod: pod(1), state: 'running' }]);
    sandboxes.kill(pod(1), 'replicaset'); // would signal the pid if it were adopted
    sandboxes.resume();
    await until('a report', () => reports.length > 0);
    expect(reports).toEqual([{ type: 'sandbox.killed', pod: 'fn-1-1' }]);
    expect(sandboxes.count()).toBe(0);
    sandboxes.stop();
  });
});

// ---------------------------------------------------------------------------
// A real cluster with the process driver (kd up --sandbox process)
// ---------------------------------------------------------------------------

describe('a cluster with process sandboxes', () => {
  const dir = tempDir('kd-process-cluster-');
  let config: ClusterConfig;

  afterAll(async () => {
    await stopCluster(dir, 5_000);
  }, 30_000);


  /** pod -> pid of every sandbox process the Kubelets hold, from their pid files. */
  function sandboxPids(): Map<string, number> {
    const pids = new Map<string, number>();
    for (const node of config.chain.nodes) {
      const dataDir = config.stages[kubeletId(node.name)]?.dataDir ?? '';
      let records: ProcessSandboxRecord[] = [];
      try {
        records = JSON.parse(readFileSync(processSandboxesFileOf(dataDir), 'utf8')) as ProcessSandboxRecord[];
      } catch {
        records = [];
      }
      for (const r of records) if (r.pid !== null) pids.set(r.pod.name, r.pid);
    }
    return pids;
  }

  it('scale up starts real processes, a Kubelet restart keeps them, scale down and kd down end them', async () => {
    expect(await runUp(['--nodes', '2', '--capacity', '20', '--sandbox', 'process', '--dir', dir], () => {})).toBe(0);
    config = loadClusterConfig(configFileOf(dir));
    expect(config.sandbox.driver).toBe('process');
    await waitConverged(config, 0, 30_000);

    expect(await runScale(['fn', '8', '--dir', dir], () => {})).toBe(0);
    await waitConverged(config, 8, 60_000);
    const up = sandboxPids();
    expect(up.size).toBe(8);
    for (const [pod, pid] of up) {
      expect(processIsAlive(pid)).toBe(true);
      const node = config.chain.nodes.find((n) => readFileSync(processSandboxesFileOf(config.stages[kubeletId(n.name)]?.dataDir ?? ''), 'utf8').includes(pod));
      expect(isOurSandbox(pid, config.stages[kubeletId(node?.name ?? '')]?.dataDir ?? '', pod)).toBe(true);
    }

    // A Kubelet process restart: its sandboxes keep running and are re-adopted (same pids, same pods).
    const kubelet = kubeletId('n1');
    const kubeletPid = pidOf(dir, kubelet) as number;
    const onN1 = (await getStageState(config.stages[kubelet]?.address ?? '')).pods.map((p) => p.record.name).sort();
    expect(onN1.length).toBeGreaterThan(0);
    process.kill(kubeletPid, 'SIGKILL');
    while (processIsAlive(kubeletPid)) await sleep(20);
    for (const pod of onN1) expect(processIsAlive(up.get(pod) as number)).toBe(true);
    startStageProcess(dir, kubelet);
    await waitHealthy(config, [kubelet], 30_000);
    await waitConverged(config, 8, 60_000);
    expect((await getStageState(config.stages[kubelet]?.address ?? '')).pods.map((p) => p.record.name).sort()).toEqual(onN1);
    expect(sandboxPids()).toEqual(up);

    // Scale down: the victims' processes are really gone, the others still run.
    expect(await runScale(['fn', '3', '--dir', dir], () => {})).toBe(0);
    await waitConverged(config, 3, 60_000);
    const down = sandboxPids();
    expect(down.size).toBe(3);
    for (const [pod, pid] of up) expect(processRuns(pid)).toBe(down.has(pod));

    // kd down stops the stages and kills the sandboxes.
    expect(await runDown(['--dir', dir], () => {})).toBe(0);
    await until('every sandbox process gone', () => [...down.values()].every((pid) => !processRuns(pid)));
  }, 180_000);
});
