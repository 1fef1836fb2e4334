/**
 * Supervision under `kd up` (runtime/cluster/supervisor.ts): a stage SIGKILLed during a
 * burst comes back by itself and the chain converges with nobody acting; the restart is
 * counted in `kd status` and in the stage's metric; a stage asked to stop (SIGTERM, exit
 * status 0) stays stopped; `kd down` stops the supervisor and every stage. The restart
 * delay is checked as a function first.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDown, runScale, runStatus, runUp } from '../../cli/cluster-commands.js';
import type { StageId } from '../../machines/index.js';
import { loadClusterConfig, type ClusterConfig } from '../config.js';
import { configFileOf, pidOf, removeCluster, runningStages, runningSupervisorOf } from '../cluster/local-cluster.js';
import { waitConverged, type ClusterStatus } from '../cluster/status.js';
import { readSupervisorState, restartDelayMsOf, stageRestartDelayMsInitial, stageRestartDelayMsMax } from '../cluster/supervisor.js';
import { processRuns } from '../node/process-sandboxes.js';
import { waitUntil } from '../../test/wait-until.js';

describe('restart delay', () => {
  it('starts at the initial delay, never shrinks with more failures in a row, and stops at the cap', () => {
    expect(restartDelayMsOf(1)).toBe(stageRestartDelayMsInitial);
    expect(restartDelayMsOf(2)).toBe(2 * stageRestartDelayMsInitial);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), (failures) => {
        const delay = restartDelayMsOf(failures);
        expect(delay).toBeGreaterThanOrEqual(stageRestartDelayMsInitial);
        expect(delay).toBeLessThanOrEqual(stageRestartDelayMsMax);
        expect(restartDelayMsOf(failures + 1)).toBeGreaterThanOrEqual(delay);
      }),
    );
    expect(restartDelayMsOf(10_000)).toBe(stageRestartDelayMsMax);
  });

  it('refuses a failure count that is not a whole number from 1', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ max: 0 }), fc.double({ noInteger: true })), (bad) => {
        expect(() => restartDelayMsOf(bad)).toThrow(/whole number/);
      }),
    );
  });
});

const dir = mkdtempSync(join(tmpdir(), 'kd-supervised-'));
let config: ClusterConfig;
const noPrint = (): void => {};

async function statusJson(): Promise<ClusterStatus> {
  const lines: string[] = [];
  await runStatus(['--json', '--wait', '0', '--dir', dir], (l) => lines.push(l));
  return JSON.parse(lines.join('\n')) as ClusterStatus;
}

async function metricsOf(stage: StageId): Promise<string> {
  const response = await fetch(`http://${config.stages[stage]?.metricsAddress ?? ''}/metrics`);
  return response.text();
}

/** Waits until the stage's pid file names a live process other than `before`. */
async function restartedPid(stage: StageId, before: number): Promise<number> {
  return waitUntil(`${stage} restarted by the supervisor`, () => {
    const pid = pidOf(dir, stage);
    return pid !== null && pid !== before && processRuns(pid) ? pid : null;
  });
}

describe('kd up supervises its stages', () => {
  beforeAll(async () => {
    expect(await runUp(['--nodes', '2', '--capacity', '40', '--dir', dir], noPrint)).toBe(0);
    config = loadClusterConfig(configFileOf(dir));
    expect(runningSupervisorOf(dir)).not.toBeNull();
    await waitConverged(config, 0, 60_000);
  }, 120_000);

  afterAll(async () => {
    await removeCluster(dir);
  }, 30_000);

  it('a stage SIGKILLed during a burst comes back by itself and the chain converges', async () => {
    const replicaset = pidOf(dir, 'replicaset') as number;
    const kubelet = pidOf(dir, 'kubelet:n2') as number;
    expect(await runScale(['fn', '50', '--dir', dir], noPrint)).toBe(0);
    process.kill(replicaset, 'SIGKILL');
    process.kill(kubelet, 'SIGKILL');
    await restartedPid('replicaset', replicaset);
    await restartedPid('kubelet:n2', kubelet);
    const converged = await waitConverged(config, 50, 90_000);
    expect(converged.functions[0]).toMatchObject({ desired: 50, running: 50 });

    const status = await statusJson();
    const restarts = Object.fromEntries(status.stages.map((s) => [s.stage, s.restarts]));
    expect(restarts).toEqual({ autoscaler: 0, deployment: 0, replicaset: 1, scheduler: 0, 'kubelet:n1': 0, 'kubelet:n2': 1 });
    const text: string[] = [];
    await runStatus(['--wait', '0', '--dir', dir], (l) => text.push(l));
    expect(text.join('\n')).toMatch(/^replicaset +127\.0\.0\.1:\d+ +\d+ +1 /m);
    expect(await metricsOf('replicaset')).toMatch(/^kubedirect_stage_restarts_total\{stage="replicaset"\} 1$/m);
    expect(await metricsOf('scheduler')).toMatch(/^kubedirect_stage_restarts_total\{stage="scheduler"\} 0$/m);
    const lastExit = readSupervisorState(dir)?.stages['replicaset']?.lastExit;
    expect(lastExit?.signal).toBe('SIGKILL');
  }, 200_000);

  it('a second failure in a row is restarted too and counted', async () => {
    const first = pidOf(dir, 'scheduler') as number;
    process.kill(first, 'SIGKILL');
    const second = await restartedPid('scheduler', first);
    process.kill(second, 'SIGKILL');
    await restartedPid('scheduler', second);
    await waitConverged(config, 50, 90_000);
    expect(readSupervisorState(dir)?.stages['scheduler']).toMatchObject({ state: 'running', restarts: 2 });
  }, 200_000);

  it('a stage asked to stop (SIGTERM, exit status 0) stays stopped', async () => {
    const deployment = pidOf(dir, 'deployment') as number;
    process.kill(deployment, 'SIGTERM');
    const recorded = await waitUntil('the supervisor records the deployment stopped', () => {
      const s = readSupervisorState(dir)?.stages['deployment'];
      return s?.state === 'stopped' ? s : null;
    });
    expect(recorded.lastExit?.code).toBe(0);
    // Stopped is final: a failure afterwards is restarted (so the supervisor kept watching), the stopped stage is not.
    const kubelet = pidOf(dir, 'kubelet:n1') as number;
    process.kill(kubelet, 'SIGKILL');
    await restartedPid('kubelet:n1', kubelet);
    expect(pidOf(dir, 'deployment')).toBe(deployment);
    expect(processRuns(deployment)).toBe(false);
    expect(readSupervisorState(dir)?.stages['deployment']).toMatchObject({ state: 'stopped', restarts: 0 });
  }, 120_000);

  it('kd down stops the supervisor and every stage', async () => {
    expect(await runDown(['--dir', dir], noPrint)).toBe(0);
    expect(runningSupervisorOf(dir)).toBeNull();
    expect(runningStages(dir)).toEqual([]);
  }, 60_000);
});
