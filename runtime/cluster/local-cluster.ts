/**
 * A local cluster: every stage as its own detached OS process on loopback, with its
 * config, logs, pid files and data under one directory (default `.kd`).
 *
 *   DIR/cluster.json        the ClusterConfig every stage reads
 *   DIR/logs/STAGE.log      JSON lines of each stage (stdout and stderr)
 *   DIR/pids/STAGE.pid      the process id of each running stage
 *   DIR/data/STAGE/         durable data: incarnation, desired counts, sandboxes
 *   DIR/objects/pods/       Pod objects of the file store (runtime/store/file-store.ts)
 *   DIR/certs/              with tls: the development CA and every identity (runtime/security/certs.ts)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { kubeletId, roleOf, stagesOf, type LinkId, type StageId } from '../../machines/index.js';
import { loadClusterConfig, type ClusterConfig, type SandboxDriver, type StageEndpoint } from '../config.js';
import { killProcessSandboxes, processRuns } from '../node/process-sandboxes.js';
import { removeCriSandboxes } from '../node/cri/cri-sandboxes.js';
import { supervisorPidFileOf, type StageLauncher } from './supervisor.js';
import { makeCertificates } from '../security/certs.js';
import { operatorIdentity } from '../security/identity.js';
import { getStageState, stageTargetOf } from './rpc.js';
import type { TransportConfig } from '../mediated/transport-config.js';
import type { CriSandboxConfig } from '../node/cri/cri-config.js';
import { repositoryPath } from '../repository-paths.js';
import { readNodeFlags } from './node-flags.js';

const kdBin = repositoryPath('bin', 'kd.mjs');

/**
 * V8 flags of every stage process `kd up` starts. A stage makes short-lived garbage on
 * every step (the new state's copied tree paths, the trace line, the frame's records);
 * the young generation's size (`--max-semi-space-size`, MiB) decides how much of it dies
 * before a scavenge and how much memory the scavenges walk. 16 MiB (Node 20's own
 * maximum on 64-bit) measured better than 32 here (DEC-60): 4 rounds of direct-only
 * bench:burst runs alternated 32, 16 (100 functions, 8 Kubelets, 2 cores shared, load
 * average 7 to 15), medians of 12 bursts each: 5,000 pods 382 against 588 ms, 0.088
 * against 0.111 ms of CPU per pod over the 12 processes (lower in each of the 4 rounds),
 * 1,000 pods 104 against 136 ms; sustained 20,000 pods the same (10,430 against 10,426
 * pods/s, 0.082 ms of CPU per pod both); largest stage's peak RSS 227 against 277 MiB. 64
 * and 128 were no better than 32 (2 rounds each; 128: peak RSS 370 MiB); 8 against 16 (2
 * rounds): bursts worse (0.108 against 0.090 ms per pod), sustained no clear difference. An earlier
 * measurement at lower load had favoured 32 (176 against 188 µs per pod). Named here so
 * a later Node's default cannot change it unnoticed. Operators starting `kd node`
 * themselves can pass it in NODE_OPTIONS; extra flags of one cluster (`kd up
 * --node-flags`, e.g. `--max-semi-space-size=32`) follow it and win (node-flags.ts).
 */
export const stageProcessNodeFlags: readonly string[] = ['--max-semi-space-size=16'];

export function configFileOf(dir: string): string {
  return join(resolve(dir), 'cluster.json');
}

function fileNameOf(stage: StageId): string {
  return stage.replace(':', '-');
}

export function logFileOf(dir: string, stage: StageId): string {
  return join(resolve(dir), 'logs', `${fileNameOf(stage)}.log`);
}

function pidFileOf(dir: string, stage: StageId): string {
  return join(resolve(dir), 'pids', `${fileNameOf(stage)}.pid`);
}

/** Ports this process has handed out: the OS may give a just-released port again, so each is handed out once. */
const portsHandedOut = new Set<number>();
/** How many ports freePort tries before it gives up (it only retries a port it already handed out). */
export const freePortAttemptsMax = 1_000;

/**
 * A free TCP port on 127.0.0.1 (bound and released; the stage binds it right after),
 * never one this process already handed out (a cluster's ports must all differ).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < freePortAttemptsMax; attempt++) {
    const port = await new Promise<number>((resolvePort, reject) => {
      const server = createServer();
      server.unref();
      server.on('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        const bound = typeof address === 'object' && address !== null ? address.port : 0;
        server.close(() => resolvePort(bound));
      });
    });
    if (!portsHandedOut.has(port)) {
      portsHandedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free loopback port in ${freePortAttemptsMax} attempts that this process has not already handed out`);
}

export interface ClusterShape {
  readonly nodes: number;
  readonly capacity: number;
  readonly functions: readonly string[];
  readonly startDelayMs: number;
  readonly killDelayMs: number;
  /** The backing store; absent: the file store in DIR (objects in DIR/objects/pods). */
  readonly store?: ({ readonly kind: 'file' } | { readonly kind: 'etcd'; readonly endpoint: string }) & { readonly podObjects?: boolean };
  /** The Kubelets' sandbox driver; absent: simulated. */
  readonly sandboxDriver?: SandboxDriver;
  /** With sandboxDriver cri: the container runtime's socket and image (runtime/node/cri/cri-config.ts). */
  readonly cri?: CriSandboxConfig;
  /** A frame size limit below the spec's frameBytesMax (config `flow.frameBytesMax`), e.g. for tests. */
  readonly frameBytesMax?: number;
  /** The first receive slice (config `flow.receiveSliceMsFirst`, DEC-69), e.g. to compare with every slice as long as allowed. */
  readonly receiveSliceMsFirst?: number;
  /** Mutual TLS: certificates made (or completed) in DIR/certs by `kd certs`; absent: plaintext on loopback. */
  readonly tls?: { readonly trustDomain: string };
  /** How the links travel (runtime/mediated/transport-config.ts); absent: direct gRPC. */
  readonly transport?: TransportConfig;
  /** The host /metrics and /healthz bind to (e.g. 0.0.0.0 for another host's Prometheus; beyond loopback needs `tls`); absent: 127.0.0.1. */
  readonly metricsHost?: string;
}

/** Where `kd up --tls` keeps the cluster's CA and certificates, relative to DIR. */
export const certsDirName = 'certs';

/** Writes DIR/cluster.json with loopback addresses on free ports. */
export async function writeClusterConfig(dir: string, shape: ClusterShape): Promise<ClusterConfig> {
  const root = resolve(dir);
  mkdirSync(root, { recursive: true });
  const chain = {
    functions: shape.functions.map((name, i) => ({ name, priority: i })),
    nodes: Array.from({ length: shape.nodes }, (_, i) => ({ name: `n${i + 1}`, capacity: shape.capacity })),
    variant: 'correct' as const,
  };
  const stages: Record<StageId, StageEndpoint> = {};
  for (const stage of stagesOf(chain))
    stages[stage] = { address: `127.0.0.1:${await freePort()}`, dataDir: join('data', fileNameOf(stage)), metricsAddress: `${shape.metricsHost ?? '127.0.0.1'}:${await freePort()}` };
  let tls: { trustDomain: string; certsDir: string } | undefined;
  if (shape.tls !== undefined) {
    await makeCertificates({ dir: join(root, certsDirName), trustDomain: shape.tls.trustDomain, identities: [...stagesOf(chain), operatorIdentity], force: false });
    tls = { trustDomain: shape.tls.trustDomain, certsDir: certsDirName };
  }
  const sandbox = {
    ...(shape.sandboxDriver === undefined ? {} : { driver: shape.sandboxDriver }),
    startDelayMs: shape.startDelayMs,
    killDelayMs: shape.killDelayMs,
    ...(shape.cri === undefined ? {} : { cri: shape.cri }),
  };
  const flowSettings = {
    ...(shape.frameBytesMax === undefined ? {} : { frameBytesMax: shape.frameBytesMax }),
    ...(shape.receiveSliceMsFirst === undefined ? {} : { receiveSliceMsFirst: shape.receiveSliceMsFirst }),
  };
  const flow = Object.keys(flowSettings).length === 0 ? {} : { flow: flowSettings };
  const config = { chain, stages, sandbox, ...flow, store: shape.store ?? { kind: 'file' }, ...(tls === undefined ? {} : { tls }), ...(shape.transport === undefined ? {} : { transport: shape.transport }) };
  writeFileSync(configFileOf(root), `${JSON.stringify(config, null, 2)}\n`);
  return loadClusterConfig(configFileOf(root));
}

/** The command line of a stage process of the cluster in `root` (after the node executable). */
function stageArgsOf(root: string, stage: StageId): string[] {
  const role = roleOf(stage);
  const args = [...stageProcessNodeFlags, ...readNodeFlags(root), kdBin, 'node', '--role', role, '--config', configFileOf(root)];
  if (role === 'kubelet') args.push('--node', stage.slice('kubelet:'.length));
  return args;
}

/** Spawns one stage as a detached process writing its log to DIR/logs (the caller writes its pid file). */
export function spawnStage(dir: string, stage: StageId, env: Readonly<Record<string, string>> = {}): ChildProcess {
  const root = resolve(dir);
  mkdirSync(join(root, 'logs'), { recursive: true });
  const log = openSync(logFileOf(root, stage), 'a');
  try {
    return spawn(process.execPath, stageArgsOf(root, stage), { detached: true, stdio: ['ignore', log, log], cwd: root, env: { ...process.env, ...env } });
  } finally {
    closeSync(log);
  }
}

export function writePidFile(dir: string, stage: StageId, pid: number): void {
  mkdirSync(join(resolve(dir), 'pids'), { recursive: true });
  writeFileSync(pidFileOf(dir, stage), `${pid}\n`);
}

/** A start lock older than this is left over from a process that died while holding it. */
export const stageStartLockStaleMs = 10_000;
/** How long a start waits for another process's start of the same stage. */
export const stageStartLockWaitMsMax = 20_000;

/**
 * Runs `start` holding DIR/pids/STAGE.lock (created exclusively), so that checking the
 * pid file and starting the stage are one step across processes: `kd up`'s supervisor
 * and anyone calling startStageProcess never both start the same stage.
 */
export function withStageStartLock<T>(dir: string, stage: StageId, start: () => T): T {
  mkdirSync(join(resolve(dir), 'pids'), { recursive: true });
  const lock = `${pidFileOf(dir, stage)}.lock`;
  const deadline = Date.now() + stageStartLockWaitMsMax;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let ageMs = 0;
      try {
        ageMs = Date.now() - statSync(lock).mtimeMs;
      } catch {
        continue; // released meanwhile
      }
      if (ageMs > stageStartLockStaleMs) rmSync(lock, { force: true });
      else if (Date.now() > deadline) throw new Error(`${lock} is held by another start of ${stage} for ${stageStartLockWaitMsMax} ms`);
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
  try {
    return start();
  } finally {
    rmSync(lock, { force: true });
  }
}

/** The pid of the stage's running process, by its pid file, or null. */
export function runningPidOf(dir: string, stage: StageId): number | null {
  const pid = pidOf(dir, stage);
  return pid !== null && processRuns(pid) ? pid : null;
}

/**
 * Starts one stage as a detached process writing its log to DIR/logs; returns its pid.
 * If the stage already runs (its pid file names a live process, e.g. the supervisor
 * restarted it first), returns that pid and starts nothing: one process per stage.
 */
export function startStageProcess(dir: string, stage: StageId): number {
  return withStageStartLock(dir, stage, () => {
    const existing = runningPidOf(dir, stage);
    if (existing !== null) return existing;
    const child = spawnStage(dir, stage);
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${stage}`);
    writePidFile(dir, stage, child.pid);
    return child.pid;
  });
}

/** The launcher of the supervisor (runtime/cluster/supervisor.ts) for the cluster in DIR. */
export function stageLauncherOf(dir: string): StageLauncher {
  return {
    startUnlessRunning: (stage, env) =>
      withStageStartLock(dir, stage, () => {
        const existing = runningPidOf(dir, stage);
        if (existing !== null) return { pid: existing, child: null };
        const child = spawnStage(dir, stage, env);
        if (child.pid !== undefined) writePidFile(dir, stage, child.pid);
        return { pid: child.pid ?? null, child };
      }),
    pidOf: (stage) => pidOf(dir, stage),
  };
}

/** Starts `kd supervise` for DIR as a detached process (it starts the stages); returns its pid. */
export function startSupervisor(dir: string): number {
  const root = resolve(dir);
  mkdirSync(join(root, 'logs'), { recursive: true });
  const log = openSync(join(root, 'logs', 'supervisor.log'), 'a');
  const child = spawn(process.execPath, [kdBin, 'supervise', '--dir', root], { detached: true, stdio: ['ignore', log, log], cwd: root });
  closeSync(log);
  child.unref();
  if (child.pid === undefined) throw new Error('could not start the supervisor');
  writeFileSync(supervisorPidFileOf(root), `${child.pid}\n`);
  return child.pid;
}

/** The pid of the running supervisor of DIR, or null. */
export function runningSupervisorOf(dir: string): number | null {
  const file = supervisorPidFileOf(dir);
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && processRuns(pid) ? pid : null;
}

export function pidOf(dir: string, stage: StageId): number | null {
  const file = pidFileOf(dir, stage);
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of the stages of DIR that are still running. */
export function runningStages(dir: string): Array<{ stage: StageId; pid: number }> {
  const pidsDir = join(resolve(dir), 'pids');
  if (!existsSync(pidsDir)) return [];
  const running: Array<{ stage: StageId; pid: number }> = [];
  for (const file of readdirSync(pidsDir)) {
    if (!file.endsWith('.pid')) continue;
    const base = file.slice(0, -'.pid'.length);
    const stage = base.startsWith('kubelet-') ? kubeletId(base.slice('kubelet-'.length)) : base;
    const pid = pidOf(dir, stage);
    if (pid !== null && processIsAlive(pid)) running.push({ stage, pid });
  }
  return running;
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Waits until every listed stage answers Inspect.GetState; throws with the stages that did not. */
export async function waitHealthy(config: ClusterConfig, stages: readonly StageId[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(stages);
  while (pending.size > 0) {
    await Promise.all(
      [...pending].map(async (stage) => {
        const endpoint = config.stages[stage];
        if (endpoint === undefined) return;
        const target = stageTargetOf(config, stage);
        try {
          await getStageState(target, 1_000, { omit_pods: true });
          pending.delete(stage);
        } catch {
          // not up yet
        }
      }),
    );
    if (pending.size === 0) return;
    if (Date.now() > deadline) throw new Error(`not healthy after ${timeoutMs} ms: ${[...pending].join(', ')}`);
    await sleep(200);
  }
}

/** Sends SIGTERM to a stage process and waits for it to exit (SIGKILL after `graceMs`). */
export async function stopProcess(pid: number, graceMs: number): Promise<'stopped' | 'killed'> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'stopped';
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!processIsAlive(pid)) return 'stopped';
    await sleep(50);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
  return 'killed';
}

/**
 * For fault tests: makes the upstream of each listed link dial the given address (a
 * fault-injecting proxy, runtime/faults/tcp-proxy.ts) instead of its downstream's
 * (`linkDialAddresses` in DIR/cluster.json). Write it before the upstream starts.
 */
export function setLinkDialAddresses(dir: string, addresses: Readonly<Record<LinkId, string>>): ClusterConfig {
  const file = configFileOf(dir);
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, `${JSON.stringify({ ...raw, linkDialAddresses: addresses }, null, 2)}\n`);
  return loadClusterConfig(file);
}

/** Stops every stage of the cluster (SIGKILL after `graceMs`) and deletes its directory: the teardown of a throwaway cluster. */
export async function removeCluster(dir: string, graceMs = 5_000): Promise<void> {
  await stopCluster(dir, graceMs);
  rmSync(dir, { recursive: true, force: true });
}

/** Stops the supervisor and every stage of DIR and kills the process sandboxes of its Kubelets (a Kubelet restart keeps them; tearing the cluster down does not); returns what became of each stage. */
export async function stopCluster(dir: string, graceMs = 5_000): Promise<Array<{ stage: StageId; pid: number; outcome: 'stopped' | 'killed' }>> {
  // The supervisor first, so that it restarts nothing it is about to stop.
  const supervisor = runningSupervisorOf(dir);
  if (supervisor !== null) await stopProcess(supervisor, graceMs);
  rmSync(supervisorPidFileOf(dir), { force: true });
  const running = runningStages(dir);
  const results = await Promise.all(running.map(async ({ stage, pid }) => ({ stage, pid, outcome: await stopProcess(pid, graceMs) })));
  rmSync(join(resolve(dir), 'pids'), { recursive: true, force: true });
  if (existsSync(configFileOf(dir))) {
    const config = loadClusterConfig(configFileOf(dir));
    const cri = config.sandbox.cri;
    for (const node of config.chain.nodes) {
      const endpoint = config.stages[kubeletId(node.name)];
      if (endpoint === undefined) continue;
      if (config.sandbox.driver === 'process') killProcessSandboxes(endpoint.dataDir);
      // Containers of a runtime that is gone are gone with it.
      if (config.sandbox.driver === 'cri' && cri !== undefined) await removeCriSandboxes(endpoint.dataDir, cri).catch(() => []);
    }
  }
  return results;
}
