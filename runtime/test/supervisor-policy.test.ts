/**
 * The restart policy of the supervisor (runtime/cluster/supervisor.ts) with a fake launcher
 * and fake time: a failure restarts the stage after the backoff delay (doubling with each
 * failure in a row, back to the initial delay after a stable run) and hands it the restart
 * count; exit 0 stays stopped; exit 2 is marked failed and not restarted; after stop()
 * nothing is restarted.
 */
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { StageId } from '../../machines/index.js';
import { writeClusterConfig } from '../cluster/local-cluster.js';
import { StageSupervisor, stageRestartDelayMsInitial, stageRestartsEnv, stageUptimeStableMsMin, supervisorPollMs, type StageLauncher } from '../cluster/supervisor.js';

class FakeChild extends EventEmitter {
  constructor(readonly pid: number) {
    super();
  }

  unref(): void {}
}

interface Spawned {
  readonly stage: StageId;
  readonly restarts: string | undefined;
  readonly child: FakeChild;
}

let dir: string;
let spawned: Spawned[];
let supervisor: StageSupervisor;

function launcher(): StageLauncher {
  let nextPid = 4_000_000; // beyond any real pid: never mistaken for a live process
  return {
    startUnlessRunning: (stage, env) => {
      const child = new FakeChild(nextPid++);
      spawned.push({ stage, restarts: env[stageRestartsEnv], child });
      return { pid: child.pid, child: child as unknown as ChildProcess };
    },
    pidOf: () => null,
  };
}

function latest(stage: StageId): Spawned {
  const found = spawned.filter((s) => s.stage === stage).at(-1);
  if (found === undefined) throw new Error(`${stage} never started`);
  return found;
}

function startsOf(stage: StageId): number {
  return spawned.filter((s) => s.stage === stage).length;
}

/** Advances fake time in poll-sized steps (the watch loop runs on each). */
function advance(ms: number): void {
  for (let left = ms; left > 0; left -= supervisorPollMs) vi.advanceTimersByTime(Math.min(supervisorPollMs, left));
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kd-supervisor-policy-'));
  await writeClusterConfig(dir, { nodes: 1, capacity: 1, functions: ['fn'], startDelayMs: 0, killDelayMs: 0 });
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date'] });
  spawned = [];
  supervisor = new StageSupervisor(dir, launcher(), () => {});
  supervisor.start();
});

afterEach(() => {
  supervisor.stop();
  vi.useRealTimers();
});

describe('the supervisor restart policy', () => {
  it('starts every stage once, downstreams first, with restart count 0', () => {
    expect(spawned.map((s) => `${s.stage}:${s.restarts}`)).toEqual(['kubelet:n1:0', 'scheduler:0', 'replicaset:0', 'deployment:0', 'autoscaler:0']);
  });

  it('restarts a failed stage after the backoff delay, doubling with failures in a row, and starting over after a stable run', () => {
    latest('scheduler').child.emit('exit', null, 'SIGKILL');
    advance(stageRestartDelayMsInitial - supervisorPollMs);
    expect(startsOf('scheduler')).toBe(1);
    advance(2 * supervisorPollMs);
    expect(startsOf('scheduler')).toBe(2);
    expect(latest('scheduler').restarts).toBe('1');

    latest('scheduler').child.emit('exit', 70, null); // fails again at once: twice the delay
    advance(2 * stageRestartDelayMsInitial - supervisorPollMs);
    expect(startsOf('scheduler')).toBe(2);
    advance(2 * supervisorPollMs);
    expect(startsOf('scheduler')).toBe(3);
    expect(latest('scheduler').restarts).toBe('2');

    advance(stageUptimeStableMsMin); // a stable run: the next failure waits the initial delay again
    latest('scheduler').child.emit('exit', 1, null);
    advance(stageRestartDelayMsInitial + supervisorPollMs);
    expect(startsOf('scheduler')).toBe(4);
    expect(supervisor.snapshot().stages['scheduler']).toMatchObject({ state: 'running', restarts: 3, lastExit: { code: 1, signal: null } });
  });

  it('leaves a stage that exited 0 stopped and one that exited 2 failed', () => {
    latest('deployment').child.emit('exit', 0, null);
    latest('replicaset').child.emit('exit', 2, null);
    advance(stageUptimeStableMsMin);
    expect(startsOf('deployment')).toBe(1);
    expect(startsOf('replicaset')).toBe(1);
    expect(supervisor.snapshot().stages['deployment']).toMatchObject({ state: 'stopped', restarts: 0 });
    expect(supervisor.snapshot().stages['replicaset']).toMatchObject({ state: 'failed', restarts: 0 });
  });

  it('restarts nothing once stopped', () => {
    supervisor.stop();
    latest('autoscaler').child.emit('exit', null, 'SIGKILL');
    advance(stageUptimeStableMsMin);
    expect(startsOf('autoscaler')).toBe(1);
  });
});
