/**
 * The `process` sandbox runtime of one node: every sandbox is a real child process
 * (runtime/node/sandbox-program.sh under /bin/sh) in its own process group, so that
 * starting and terminating a pod are real.
 *
 * - `start`: spawns the program detached; it is `running` once it has created its
 *   ready file (DATA/sandboxes/POD.ready). A program that is not ready within
 *   `sandboxStartMsMax` is killed and reported as failed.
 * - `kill`: SIGTERM to the sandbox's process group, SIGKILL after
 *   `sandboxTerminationGraceMsMax`; `sandbox.killed` once the process is gone.
 * - A sandbox that exits by itself (starting or running) is reported as
 *   `sandbox.failed` (machines/README.md).
 * - Survives a Kubelet restart (spec 06, REQ-FAIL-003): the sandboxes (pod, state,
 *   pid) are kept in DATA/process-sandboxes.json; a restarted Kubelet re-adopts each
 *   one whose pid is alive and is ours (its /proc command line is this program with
 *   this pod's name and ready file), and reports the outcomes still owed (a sandbox
 *   that died meanwhile is reported failed, or killed if it was being killed).
 *
 * Liveness of sandboxes this process did not start (adopted ones) is polled; a child
 * started by this process is also watched through its exit event.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { PodRecord, Role, SandboxInventoryItem } from '../../machines/index.js';
import { sandboxStartMsMax, sandboxTerminationGraceMsMax } from '../../spec/limits.js';
import { repositoryPath } from '../repository-paths.js';
import { readJsonFile, writeFileAtomic } from './durable.js';
import { inventoryItemOf, killOriginOf, type SandboxReporter, type SandboxRuntime } from './sandbox-runtime.js';

/** The sandbox program every sandbox runs. */
export const sandboxProgram = repositoryPath('runtime', 'node', 'sandbox-program.sh');
const shell = '/bin/sh';

/** How often liveness and readiness are checked besides exit and file events. */
const pollIntervalMs = 200;

type SandboxState = SandboxInventoryItem['state'];

/** What DATA/process-sandboxes.json holds per sandbox. */
export interface ProcessSandboxRecord {
  readonly pod: PodRecord;
  readonly state: SandboxState;
  /** The pid of the sandbox program (its process group id too); null if it never started. */
  readonly pid: number | null;
  /** Being killed: the origin of the pod's tombstone (REQ-TOMB-008); absent otherwise. */
  readonly origin?: Role;
}

interface Entry {
  pod: PodRecord;
  state: SandboxState;
  /** Being killed: the origin of the pod's tombstone; null otherwise. */
  origin: Role | null;
  pid: number | null;
  child: ChildProcess | null;
  startedAtMs: number;
  /** SIGTERM has been sent; SIGKILL follows at this time. */
  killDeadlineMs: number | null;
  /** The process is known to be gone (its outcome is being reported). */
  dead: boolean;
}

export function processSandboxesFileOf(dataDir: string): string {
  return join(dataDir, 'process-sandboxes.json');
}

function sandboxesDirOf(dataDir: string): string {
  return join(dataDir, 'sandboxes');
}

function readyFileOf(dataDir: string, pod: string): string {
  return join(sandboxesDirOf(dataDir), `${pod}.ready`);
}

/** True when `pid` runs: it exists and (where /proc tells) is not a zombie waiting to be reaped. */
export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return existsSync('/proc/self/stat') ? false : true; // gone meanwhile, or no procfs (then kill(0) is all there is)
  }
}

const alive = processRuns;

/** True when `pid` is alive and runs the sandbox program for `pod` of the Kubelet whose data is in `dataDir`. */
export function isOurSandbox(pid: number, dataDir: string, pod: string): boolean {
  if (!alive(pid)) return false;
  const procFile = `/proc/${pid}/cmdline`;
  if (!existsSync('/proc/self/cmdline')) return true; // no procfs: the pid file is all there is
  try {
    const argv = readFileSync(procFile, 'utf8').split('\0');
    return argv.includes(sandboxProgram) && argv.includes(pod) && argv.includes(readyFileOf(dataDir, pod));
  } catch {
    return false; // exited meanwhile
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone
  }
}

/**
 * Kills every sandbox process recorded in `dataDir` (SIGKILL to each group that is
 * ours) and forgets them: for tearing a cluster down, or for a simulated node crash.
 * Returns the pids killed.
 */
export function killProcessSandboxes(dataDir: string): number[] {
  const file = processSandboxesFileOf(dataDir);
  const killed: number[] = [];
  for (const record of readJsonFile<ProcessSandboxRecord[]>(file, [])) {
    if (record.pid !== null && isOurSandbox(record.pid, dataDir, record.pod.name)) {
      signalGroup(record.pid, 'SIGKILL');
      killed.push(record.pid);
    }
  }
  rmSync(file, { force: true });
  rmSync(sandboxesDirOf(dataDir), { recursive: true, force: true });
  return killed;
}

export class ProcessSandboxes implements SandboxRuntime {
  private readonly file: string;
  private readonly readyDir: string;
  private readonly entries = new Map<string, Entry>();
  private readonly pending: Array<{ type: 'sandbox.started' | 'sandbox.failed' | 'sandbox.killed'; pod: string }> = [];
  private reportScheduled = false;
  private poller: NodeJS.Timeout | null = null;
  private watcher: FSWatcher | null = null;
  private resumed = false;
  private stopped = false;

  constructor(
    private readonly dataDir: string,
    private readonly report: SandboxReporter,
    private readonly limits: { readonly startMsMax: number; readonly terminationGraceMsMax: number } = {
      startMsMax: sandboxStartMsMax,
      terminationGraceMsMax: sandboxTerminationGraceMsMax,
    },
  ) {
    this.file = processSandboxesFileOf(dataDir);
    this.readyDir = sandboxesDirOf(dataDir);
    mkdirSync(this.readyDir, { recursive: true });
    const now = Date.now();
    for (const record of readJsonFile<ProcessSandboxRecord[]>(this.file, [])) {
      const ours = record.pid !== null && isOurSandbox(record.pid, dataDir, record.pod.name);
      this.entries.set(record.pod.name, {
        pod: record.pod,
        state: record.state,
        origin: record.state === 'killing' ? killOriginOf(record.origin) : null,
        pid: ours ? record.pid : null,
        child: null,
        startedAtMs: now,
        killDeadlineMs: null,
        dead: !ours,
      });
    }
    // Ready files of sandboxes this node no longer has are leftovers of a crash between writes.
    for (const name of readdirSync(this.readyDir))
      if (name.endsWith('.ready') && !this.entries.has(name.slice(0, -'.ready'.length))) rmSync(join(this.readyDir, name), { force: true });
  }

  inventory(): SandboxInventoryItem[] {
    return [...this.entries.values()].map((e) => inventoryItemOf(e.pod, e.state, e.origin));
  }

  /** The pids of the live sandbox programs, by pod (for tests and status). */
  pids(): ReadonlyMap<string, number> {
    const pids = new Map<string, number>();
    for (const [name, e] of this.entries) if (e.pid !== null && !e.dead) pids.set(name, e.pid);
    return pids;
  }

  resume(): void {
    this.resumed = true;
    try {
      this.watcher = watch(this.readyDir, (_type, name) => {
        if (typeof name === 'string' && name.endsWith('.ready')) this.checkReady(name.slice(0, -'.ready'.length));
      });
      this.watcher.on('error', () => {});
    } catch {
      this.watcher = null; // the poll still sees readiness
    }
    this.poller = setInterval(() => this.poll(), pollIntervalMs);
    this.poller.unref();
    this.poll();
  }

  start(pod: PodRecord): void {
    if (this.entries.has(pod.name)) throw new Error(`sandbox.start for ${pod.name}, which already has a sandbox`);
    const readyFile = readyFileOf(this.dataDir, pod.name);
    rmSync(readyFile, { force: true });
    const entry: Entry = { pod, state: 'starting', origin: null, pid: null, child: null, startedAtMs: Date.now(), killDeadlineMs: null, dead: false };
    this.entries.set(pod.name, entry);
    let child: ChildProcess;
    try {
      child = spawn(shell, [sandboxProgram, pod.name, readyFile], { detached: true, stdio: 'ignore' });
    } catch {
      entry.dead = true;
      this.save();
      this.afterDeath(pod.name, entry);
      return;
    }
    entry.child = child;
    entry.pid = child.pid ?? null;
    child.unref();
    child.on('error', () => this.onGone(pod.name, entry));
    child.on('exit', () => this.onGone(pod.name, entry));
    this.save();
    if (entry.pid === null) this.onGone(pod.name, entry);
  }

  kill(pod: PodRecord, origin: Role): void {
    const entry = this.entries.get(pod.name);
    if (entry === undefined) throw new Error(`sandbox.kill for ${pod.name}, which has no sandbox`);
    if (entry.state === 'killing' && (entry.killDeadlineMs !== null || entry.dead)) return; // a kill is in progress
    entry.state = 'killing';
    entry.origin = origin;
    this.save();
    if (entry.dead || entry.pid === null) {
      this.afterDeath(pod.name, entry);
      return;
    }
    signalGroup(entry.pid, 'SIGTERM');
    entry.killDeadlineMs = Date.now() + this.limits.terminationGraceMsMax;
  }

  count(): number {
    return this.entries.size;
  }

  stop(): void {
    this.stopped = true;
    if (this.poller !== null) clearInterval(this.poller);
    this.poller = null;
    this.watcher?.close();
    this.watcher = null;
    for (const e of this.entries.values()) e.child?.removeAllListeners('exit');
  }

  // -------------------------------------------------------------------------

  private checkReady(name: string): void {
    const entry = this.entries.get(name);
    if (entry === undefined || entry.state !== 'starting' || entry.dead) return;
    if (!existsSync(readyFileOf(this.dataDir, name))) return;
    entry.state = 'running';
    this.save();
    this.enqueue('sandbox.started', name);
  }

  private poll(): void {
    if (this.stopped) return;
    const now = Date.now();
    for (const [name, entry] of [...this.entries]) {
      if (entry.dead) {
        this.afterDeath(name, entry);
        continue;
      }
      if (entry.pid === null) continue; // spawn outcome pending
      if (!alive(entry.pid)) {
        this.onGone(name, entry);
        continue;
      }
      if (entry.state === 'starting') {
        this.checkReady(name);
        if (entry.state === 'starting' && now - entry.startedAtMs > this.limits.startMsMax) signalGroup(entry.pid, 'SIGKILL');
      } else if (entry.state === 'killing') {
        if (entry.killDeadlineMs === null) {
          // Adopted while being killed before bootEffects re-issued the kill: nothing to do until kill() runs.
        } else if (now >= entry.killDeadlineMs) signalGroup(entry.pid, 'SIGKILL');
      }
    }
  }

  /** The sandbox's process is gone (exit event, failed spawn, or found dead by the poll). */
  private onGone(name: string, entry: Entry): void {
    if (this.entries.get(name) !== entry || entry.dead) return;
    entry.dead = true;
    // Readiness may have been reached just before the exit: a start that succeeded then died is started, then failed.
    if (entry.state === 'starting' && existsSync(readyFileOf(this.dataDir, name))) this.checkReady(name);
    if (entry.pid !== null) signalGroup(entry.pid, 'SIGKILL'); // whatever is left of its group
    this.afterDeath(name, entry);
  }

  /** Reports the outcome owed for a dead sandbox and forgets it; waits for resume() (the machine must hold the inventory first). */
  private afterDeath(name: string, entry: Entry): void {
    if (!this.resumed || this.entries.get(name) !== entry) return;
    if (entry.state === 'killing' && entry.killDeadlineMs === null && entry.pid !== null) return; // adopted, kill not re-issued yet
    this.entries.delete(name);
    rmSync(readyFileOf(this.dataDir, name), { force: true });
    this.save();
    this.enqueue(entry.state === 'killing' ? 'sandbox.killed' : 'sandbox.failed', name);
  }

  /** Reports leave on a later turn, never inside the step that caused them. */
  private enqueue(type: 'sandbox.started' | 'sandbox.failed' | 'sandbox.killed', pod: string): void {
    this.pending.push({ type, pod });
    if (this.reportScheduled) return;
    this.reportScheduled = true;
    setImmediate(() => {
      this.reportScheduled = false;
      const reports = this.pending.splice(0);
      for (const r of reports) if (!this.stopped) this.report(r);
    });
  }

  private save(): void {
    const records: ProcessSandboxRecord[] = [...this.entries.values()]
      .map((e): ProcessSandboxRecord => (e.origin === null ? { pod: e.pod, state: e.state, pid: e.pid } : { pod: e.pod, state: e.state, pid: e.pid, origin: e.origin }))
      .sort((a, b) => (a.pod.name < b.pod.name ? -1 : 1));
    writeFileAtomic(this.file, JSON.stringify(records), false);
  }
}
