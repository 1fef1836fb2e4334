/**
 * The supervisor of a local cluster (`kd up` starts it as `kd supervise`): it starts every
 * stage of DIR/cluster.json and brings back a stage that went down by itself, the way
 * systemd's `Restart=on-failure` does for the units `kd deploy` writes.
 *
 * - A stage that exits with status 0 (it was asked to stop: SIGTERM, `kd down`,
 *   `kd remove-node`) stays stopped. One that exits with the usage status 2 (a
 *   configuration it cannot run) is marked failed and not restarted: restarting cannot
 *   fix it. Any other end (a signal such as SIGKILL, a crash, status 1 or 70) is a
 *   failure: the stage is started again after a backoff delay.
 * - The delay starts at `stageRestartDelayMsInitial` and doubles with each failure in a
 *   row, up to `stageRestartDelayMsMax`; a stage that stayed up `stageUptimeStableMsMin`
 *   starts over at the initial delay.
 * - A stage started by someone else (its pid file names a live process that is not a
 *   child of the supervisor, e.g. `kd remove-node` restarting the Scheduler) is adopted:
 *   watched by polling, and restarted if it disappears while still in the configuration.
 * - Restarts are counted per stage, kept in DIR/supervisor.json (read by `kd status`) and
 *   handed to the restarted stage in `KD_STAGE_RESTARTS`, which it exports as the metric
 *   `kubedirect_stage_restarts_total`.
 * - SIGTERM: stops supervising and exits; the stages keep running (`kd down` stops the
 *   supervisor first, then the stages).
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { StageId } from '../../machines/index.js';
import { loadClusterConfig, localStagesOf } from '../config.js';
import { writeFileAtomic } from '../node/durable.js';
import { processRuns } from '../node/process-sandboxes.js';

/** The first restart delay after a stage fails. */
export const stageRestartDelayMsInitial = 250;
/** The cap of the doubling restart delay. */
export const stageRestartDelayMsMax = 30_000;
/** A stage up at least this long before it fails starts over at the initial delay. */
export const stageUptimeStableMsMin = 60_000;
/** How often the supervisor looks at adopted stages, due restarts and the configuration. */
export const supervisorPollMs = 250;
/** The environment variable that tells a stage how often its supervisor has restarted it. */
export const stageRestartsEnv = 'KD_STAGE_RESTARTS';

if (!(stageRestartDelayMsInitial > 0 && stageRestartDelayMsInitial <= stageRestartDelayMsMax && stageRestartDelayMsMax < stageUptimeStableMsMin))
  throw new Error('supervisor limits: need 0 < stageRestartDelayMsInitial <= stageRestartDelayMsMax < stageUptimeStableMsMin');

/** The delay before restart number `failuresInARow` (1 for the first failure) of a stage. */
export function restartDelayMsOf(failuresInARow: number): number {
  if (!Number.isInteger(failuresInARow) || failuresInARow < 1) throw new Error(`failuresInARow must be a whole number >= 1, got ${failuresInARow}`);
  const doublings = Math.min(failuresInARow - 1, 32);
  return Math.min(stageRestartDelayMsMax, stageRestartDelayMsInitial * 2 ** doublings);
}

export type SupervisedState = 'running' | 'backoff' | 'stopped' | 'failed';

/** What DIR/supervisor.json says about one stage. */
export interface SupervisedStage {
  readonly state: SupervisedState;
  readonly pid: number | null;
  /** Times the supervisor started this stage again after a failure. */
  readonly restarts: number;
  readonly lastExit: { readonly code: number | null; readonly signal: string | null; readonly at: string } | null;
}

export interface SupervisorState {
  readonly supervisorPid: number;
  readonly stages: Readonly<Record<StageId, SupervisedStage>>;
}

export function supervisorStateFileOf(dir: string): string {
  return join(resolve(dir), 'supervisor.json');
}

export function supervisorPidFileOf(dir: string): string {
  return join(resolve(dir), 'supervisor.pid');
}

/** The supervisor's last written state, or null without a supervisor (or an unreadable file). */
export function readSupervisorState(dir: string): SupervisorState | null {
  const file = supervisorStateFileOf(dir);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SupervisorState;
  } catch {
    return null;
  }
}

/** Restarts per stage from a supervisor's state (empty without a supervisor). */
export function restartsOf(state: SupervisorState | null): Readonly<Record<StageId, number>> {
  const restarts: Record<StageId, number> = {};
  for (const [stage, s] of Object.entries(state?.stages ?? {})) restarts[stage] = s.restarts;
  return restarts;
}

/** How the supervisor starts a stage and finds one started by others (runtime/cluster/local-cluster.ts). */
export interface StageLauncher {
  /**
   * Starts the stage unless its pid file names a live process, as one step across
   * processes (a start lock): the new child, or the pid of the one already running.
   */
  startUnlessRunning(stage: StageId, env: Readonly<Record<string, string>>): { readonly pid: number | null; readonly child: ChildProcess | null };
  /** The pid in the stage's pid file, if any. */
  pidOf(stage: StageId): number | null;
}

interface Entry {
  state: SupervisedState;
  pid: number | null;
  child: ChildProcess | null;
  restarts: number;
  failuresInARow: number;
  startedAtMs: number;
  restartAtMs: number;
  lastExit: SupervisedStage['lastExit'];
}

export type SupervisorLog = (record: Record<string, unknown>) => void;

export class StageSupervisor {
  private readonly entries = new Map<StageId, Entry>();
  private poller: NodeJS.Timeout | null = null;
  private stopping = false;

  constructor(
    private readonly dir: string,
    private readonly launcher: StageLauncher,
    private readonly log: SupervisorLog,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts every stage of the configuration (downstreams first) and the watch loop. */
  start(): void {
    for (const stage of [...this.wantedStages()].reverse()) {
      const entry: Entry = { state: 'stopped', pid: null, child: null, restarts: 0, failuresInARow: 0, startedAtMs: 0, restartAtMs: 0, lastExit: null };
      this.entries.set(stage, entry);
      this.spawn(stage, entry);
    }
    this.save();
    this.poller = setInterval(() => this.tick(), supervisorPollMs);
  }

  /** Stops supervising: nothing is restarted any more; the stages keep running (`kd down` stops them after this). */
  stop(): void {
    this.stopping = true;
    if (this.poller !== null) clearInterval(this.poller);
    this.poller = null;
    for (const e of this.entries.values()) e.child?.removeAllListeners('exit');
    this.save();
  }

  /** The current state of every supervised stage. */
  snapshot(): SupervisorState {
    const stages: Record<StageId, SupervisedStage> = {};
    for (const [stage, e] of [...this.entries].sort(([a], [b]) => (a < b ? -1 : 1)))
      stages[stage] = { state: e.state, pid: e.pid, restarts: e.restarts, lastExit: e.lastExit };
    return { supervisorPid: process.pid, stages };
  }

  // -------------------------------------------------------------------------

  private wantedStages(): readonly StageId[] {
    try {
      return localStagesOf(loadClusterConfig(join(resolve(this.dir), 'cluster.json')));
    } catch (error) {
      this.log({ event: 'supervisor.config-unreadable', message: (error as Error).message });
      return [...this.entries.keys()];
    }
  }

  /** Starts the stage as restart number `restarts` (0: the first start); false when someone else had started it meanwhile (then adopted). */
  private spawn(stage: StageId, entry: Entry, restarts = 0): boolean {
    const { pid, child } = this.launcher.startUnlessRunning(stage, { [stageRestartsEnv]: String(restarts) });
    if (child === null) {
      if (pid !== null) this.adopt(stage, entry, pid);
      return false;
    }
    child.unref(); // the watch loop keeps the supervisor alive, not its stages
    entry.child = child;
    entry.pid = pid;
    entry.startedAtMs = this.now();
    entry.state = 'running';
    child.once('exit', (code, sig) => this.onExit(stage, entry, child, code, sig));
    child.once('error', (error) => this.log({ event: 'supervisor.spawn-failed', stage, message: error.message }));
    this.log({ event: 'supervisor.started', stage, pid: entry.pid, restarts });
    return true;
  }

  private adopt(stage: StageId, entry: Entry, pid: number): void {
    entry.child = null;
    entry.pid = pid;
    entry.startedAtMs = this.now();
    entry.state = 'running';
    this.log({ event: 'supervisor.adopted', stage, pid });
  }

  private onExit(stage: StageId, entry: Entry, child: ChildProcess, code: number | null, sig: NodeJS.Signals | null): void {
    if (entry.child !== child) return;
    entry.child = null;
    entry.lastExit = { code, signal: sig, at: new Date(this.now()).toISOString() };
    if (this.stopping) return;
    if (code === 0) this.settle(stage, entry, 'stopped');
    else if (code === 2) this.settle(stage, entry, 'failed');
    else this.failed(stage, entry);
    this.save();
  }

  private settle(stage: StageId, entry: Entry, state: 'stopped' | 'failed'): void {
    entry.state = state;
    entry.failuresInARow = 0;
    this.log({ event: `supervisor.${state}`, stage, pid: entry.pid, lastExit: entry.lastExit });
  }

  /** The stage went down by itself: schedule its restart. */
  private failed(stage: StageId, entry: Entry): void {
    entry.failuresInARow = this.now() - entry.startedAtMs >= stageUptimeStableMsMin ? 1 : entry.failuresInARow + 1;
    const delayMs = restartDelayMsOf(entry.failuresInARow);
    entry.state = 'backoff';
    entry.restartAtMs = this.now() + delayMs;
    this.log({ event: 'supervisor.failed', stage, pid: entry.pid, lastExit: entry.lastExit, restartInMs: delayMs, failuresInARow: entry.failuresInARow });
  }

  private tick(): void {
    if (this.stopping) return;
    const wanted = new Set(this.wantedStages());
    let changed = false;
    for (const [stage, entry] of this.entries) {
      const filed = this.launcher.pidOf(stage);
      // Started by someone else while this stage was not running here: adopt it.
      if (entry.state !== 'running' && filed !== null && filed !== entry.pid && processRuns(filed)) {
        this.adopt(stage, entry, filed);
        changed = true;
      } else if (entry.state === 'running' && entry.child === null && entry.pid !== null && !processRuns(entry.pid)) {
        // An adopted stage is gone; its status is not ours to read.
        entry.lastExit = { code: null, signal: null, at: new Date(this.now()).toISOString() };
        if (wanted.has(stage)) this.failed(stage, entry);
        else this.settle(stage, entry, 'stopped');
        changed = true;
      } else if (entry.state === 'backoff' && this.now() >= entry.restartAtMs) {
        if (wanted.has(stage)) {
          // A restart counts only if it started a process (someone else may have started the stage meanwhile: adopted).
          if (this.spawn(stage, entry, entry.restarts + 1)) entry.restarts++;
        } else this.settle(stage, entry, 'stopped');
        changed = true;
      }
    }
    if (changed) this.save();
  }

  private save(): void {
    writeFileAtomic(supervisorStateFileOf(this.dir), `${JSON.stringify(this.snapshot(), null, 2)}\n`, false);
  }
}

