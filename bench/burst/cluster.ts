/**
 * One benchmark cluster: every stage its own OS process (runtime/cluster/local-cluster.ts),
 * links either direct (gRPC) or store-mediated (etcd), simulated sandboxes. The driver
 * scales through the Autoscaler's Scaler service, as `kd scale` does, and learns that a
 * burst is complete from the Kubelets' /metrics; timings come from the stages' NDJSON
 * traces afterwards (traces.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { stagesOf, type StageId } from '../../machines/index.js';
import { scaleSetsEntriesMax } from '../../spec/limits.js';
import type { ClusterConfig } from '../../runtime/config.js';
import { pidOf, sleep, startStageProcess, stopCluster, waitHealthy, writeClusterConfig } from '../../runtime/cluster/local-cluster.js';
import { writeNodeFlags } from '../../runtime/cluster/node-flags.js';
import { StageClients } from './clients.js';
import { addFlowCounters, type FlowCounters } from './frames.js';
import { clusterStatus } from '../../runtime/cluster/status.js';
import type { TransportKind } from '../../runtime/mediated/transport-config.js';

/** How the driver asks for desired counts: one Scaler.SetScales call per `scaleSetsEntriesMax` functions, or one SetScale call per function (concurrent). */
export type ScaleCalls = 'set-scales' | 'set-scale';

export interface ClusterOptions {
  readonly mode: TransportKind;
  readonly functions: number;
  readonly nodes: number;
  /** Sandboxes per node (large enough that placement never waits). */
  readonly capacity: number;
  /** etcd client URL for the store-mediated links. */
  readonly etcd: string | null;
  /** The etcd server's pid: its CPU is counted in a store-mediated cluster's (it is that mode's message path). */
  readonly etcdPid?: number;
  /** Simulated sandbox start delay (0 for latency runs). */
  readonly startDelayMs: number;
  /** Whether the stages write Pod objects to the (file) store (`store.podObjects`). */
  readonly podObjects: boolean;
  /** Function names (default fn, or fn000... for several). */
  readonly functionNames?: readonly string[];
  /** Pods of each warm-up cycle run after start (0: none); see `warmUp`. */
  readonly warmUpPods?: number;
  /** Warm-up cycles (default 1); see `warmUp`. */
  readonly warmUpCycles?: number;
  /** Extra Node flags of every stage process (runtime/cluster/node-flags.ts), e.g. --cpu-prof. */
  readonly nodeFlags?: readonly string[];
  /** How desired counts are asked for (default `set-scales`). */
  readonly scaleCalls?: ScaleCalls;
  /** The stages' first receive slice (config `flow.receiveSliceMsFirst`, DEC-69); absent: the spec's. */
  readonly receiveSliceMsFirst?: number;
}

/** Time for a whole cluster to start and sync. */
const clusterStartMsMax = 120_000;
/** Time for one warm-up cycle, up and back to 0 (a store-mediated 5,000-pod scale-down alone takes 30 to 40 s here, more under load). */
const warmUpCycleMsMax = 300_000;
/**
 * Pause between two polls of the Kubelets' counters while a burst runs. The latency
 * comes from the traces' timestamps, not from the poll, so a slower poll costs no
 * accuracy; each poll costs every Kubelet a /metrics page, CPU the burst would otherwise have.
 */
const pollMs = 200;

/** Time a stage process has to exit after SIGTERM before SIGKILL. */
const stopGraceMs = 5_000;
/** The same with a profiler on (12 processes writing their profiles at once, under load). */
const stopGraceMsProfiling = 60_000;

export function functionNamesOf(count: number): string[] {
  return count === 1 ? ['fn'] : Array.from({ length: count }, (_, i) => `fn${String(i).padStart(3, '0')}`);
}

/** Per-function desired counts that add up to `total`, spread as evenly as possible. */
export function spread(total: number, functions: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  functions.forEach((fn, i) => counts.set(fn, Math.floor(total / functions.length) + (i < total % functions.length ? 1 : 0)));
  return counts;
}

/** Clusters started and not yet stopped (stopped on SIGINT/SIGTERM by the benchmark). */
export const activeClusters = new Set<BenchCluster>();

export class BenchCluster {
  readonly dir: string;
  readonly functionNames: string[];
  config: ClusterConfig | null = null;
  private clientsOf: StageClients | null = null;

  constructor(readonly options: ClusterOptions) {
    this.dir = mkdtempSync(join(tmpdir(), `kd-bench-${options.mode}-`));
    this.functionNames = options.functionNames !== undefined ? [...options.functionNames] : functionNamesOf(options.functions);
  }

  get stages(): StageId[] {
    return this.config === null ? [] : [...stagesOf(this.config.chain)];
  }

  async start(): Promise<void> {
    const { mode, etcd } = this.options;
    if (mode === 'store-mediated' && etcd === null) throw new Error('store-mediated needs an etcd');
    this.config = await writeClusterConfig(this.dir, {
      nodes: this.options.nodes,
      capacity: this.options.capacity,
      functions: this.functionNames,
      startDelayMs: this.options.startDelayMs,
      killDelayMs: 0,
      store: { kind: 'file', podObjects: this.options.podObjects },
      ...(this.options.receiveSliceMsFirst === undefined ? {} : { receiveSliceMsFirst: this.options.receiveSliceMsFirst }),
      // A prefix of its own: clusters of one benchmark share the etcd, and their epochs repeat.
      ...(mode === 'store-mediated' && etcd !== null ? { transport: { kind: 'store-mediated' as const, etcd, prefix: `/kubedirect/bench/${basename(this.dir)}/` } } : {}),
    });
    const stages = stagesOf(this.config.chain);
    writeNodeFlags(this.dir, this.options.nodeFlags ?? []);
    activeClusters.add(this);
    for (const stage of [...stages].reverse()) startStageProcess(this.dir, stage);
    await waitHealthy(this.config, stages, clusterStartMsMax);
    const config = this.config;
    this.clientsOf = new StageClients(config.stages['autoscaler']?.address ?? '', new Map(stages.map((s) => [s, config.stages[s]?.address ?? ''])));
    await this.waitConverged(0, clusterStartMsMax);
    for (let cycle = 0; cycle < (this.options.warmUpCycles ?? 1); cycle++) await this.warmUp(this.options.warmUpPods ?? 0);
  }

  /**
   * One scale-up to `pods` (spread over the functions) and back to 0, unmeasured, before
   * any burst (run `warmUpCycles` times). The stage processes are long-running in a real
   * deployment; without this the first bursts after a start measure V8 compiling the hot
   * paths (interpreted at first, optimized after some thousands of calls) in every one of
   * the 12 processes, not the protocol. Both modes get the same cycles.
   */
  private async warmUp(pods: number): Promise<void> {
    if (pods <= 0) return;
    const before = await this.sandboxesStarted();
    await this.scaleAll(spread(pods, this.functionNames));
    const startedAt = Date.now();
    const started = await this.waitStarted(before + pods, warmUpCycleMsMax);
    await this.scaleAll(spread(0, this.functionNames));
    if (!started || !(await this.waitConverged(0, Math.max(0, warmUpCycleMsMax - (Date.now() - startedAt))))) throw new Error(`the warm-up cycle of ${pods} pods did not finish within ${warmUpCycleMsMax} ms`);
  }

  private requireConfig(): ClusterConfig {
    if (this.config === null) throw new Error('the cluster is not started');
    return this.config;
  }

  get clients(): StageClients {
    if (this.clientsOf === null) throw new Error('the cluster is not started');
    return this.clientsOf;
  }

  /** Sets every function's desired count at once (concurrent Scaler calls: SetScales of up to `scaleSetsEntriesMax` counts, or SetScale each); resolves when all are stored. */
  async scaleAll(counts: ReadonlyMap<string, number>): Promise<void> {
    const entries = [...counts].map(([fn, n]) => ({ function: fn, desired: n }));
    if (this.options.scaleCalls === 'set-scale') {
      await Promise.all(entries.map((e) => this.clients.setScale(e.function, e.desired)));
      return;
    }
    const calls: Array<Promise<unknown>> = [];
    for (let i = 0; i < entries.length; i += scaleSetsEntriesMax) calls.push(this.clients.setScales(entries.slice(i, i + scaleSetsEntriesMax)));
    await Promise.all(calls);
  }

  /** Sum over the Kubelets of sandboxes started in this incarnation (from /metrics). */
  async sandboxesStarted(): Promise<number> {
    const config = this.requireConfig();
    const counts = await Promise.all(
      config.chain.nodes.map(async (n) => {
        const address = config.stages[`kubelet:${n.name}`]?.metricsAddress;
        const text = await (await fetch(`http://${address}/metrics`)).text();
        const line = text.split('\n').find((l) => l.startsWith('kubedirect_stage_steps_total{') && l.includes('event="sandbox.started"'));
        return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
      }),
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  /** Frames and records sent so far on each hop (frames.ts), from every stage's /metrics. */
  async flowCounters(): Promise<FlowCounters> {
    const config = this.requireConfig();
    const counters: Record<string, { frames: number; records: number }> = {};
    const texts = await Promise.all(this.stages.map(async (stage) => [stage, await (await fetch(`http://${config.stages[stage]?.metricsAddress}/metrics`)).text()] as const));
    for (const [stage, text] of texts) addFlowCounters(counters, stage, text);
    return counters;
  }

  /** Waits until `target` sandboxes have started in total; false after `timeoutMs`. */
  async waitStarted(target: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await this.sandboxesStarted()) >= target) return true;
      await sleep(pollMs);
    }
    return false;
  }

  /** Waits until the chain has converged with every function at `desired`; false after `timeoutMs`. */
  async waitConverged(desired: number, timeoutMs: number): Promise<boolean> {
    const config = this.requireConfig();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const status = await clusterStatus(config);
      if (status.converged && status.functions.every((f) => f.desired === desired)) return true;
      await sleep(250);
    }
    return false;
  }

  /** Peak resident memory (VmHWM) of each stage process so far, in bytes. */
  peakRss(): Record<string, number> {
    const peaks: Record<string, number> = {};
    for (const stage of this.stages) {
      const pid = pidOf(this.dir, stage);
      if (pid !== null) peaks[stage] = peakRssOf(pid) ?? 0;
    }
    return peaks;
  }

  /**
   * CPU time (user + system) each stage process has used so far, ms; in store-mediated
   * mode also etcd's (`etcd`), which carries every record of that mode. Bursts run one at
   * a time, so etcd's CPU during a burst is that burst's.
   */
  cpuMs(): Record<string, number> {
    const used: Record<string, number> = {};
    for (const stage of this.stages) {
      const pid = pidOf(this.dir, stage);
      const ms = pid === null ? null : cpuMsOf(pid);
      if (ms !== null) used[stage] = ms;
    }
    const etcdMs = this.options.mode === 'store-mediated' && this.options.etcdPid !== undefined ? cpuMsOf(this.options.etcdPid) : null;
    if (etcdMs !== null) used['etcd'] = etcdMs;
    return used;
  }

  traceFileOf(stage: StageId): string {
    const endpoint = this.requireConfig().stages[stage];
    if (endpoint === undefined) throw new Error(`no stage ${stage}`);
    return join(endpoint.dataDir, 'trace.ndjson');
  }

  async stop(): Promise<void> {
    this.clientsOf?.close();
    activeClusters.delete(this);
    // A stage started with --cpu-prof writes its profile as it exits: more time before SIGKILL.
    const profiling = (this.options.nodeFlags ?? []).some((flag) => /^--(cpu|heap)-prof$/.test(flag));
    await stopCluster(this.dir, profiling ? stopGraceMsProfiling : stopGraceMs);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Before each measured burst the machine must be quiet: all its cores together busy for
 * at most `quietBusyCoresMax` over `quietWindowMs` (/proc/stat: every process, the
 * kernel's writeback of etcd's files included). A burst started right after the other
 * mode's large scale-down shared the cores with that cluster's and etcd's leftover work:
 * direct 5,000-pod bursts took 1.0 to 1.8 s after a store-mediated scale-down, about 0.9 s
 * otherwise. Counting only the benchmark's own processes was not enough: they were
 * already quiet, and the next burst was still slow. The idle machine reads 0.02 to 0.04.
 * Even with the cores quiet, a direct burst right after a store-mediated 5,000-pod cycle
 * was often slower (1.47 s against 0.79 to 0.84 s in one run). Part of it is the disk:
 * etcd leaves up to about 50 MB of dirty pages that the kernel writes back within 30 s,
 * and an fsync issued meanwhile (the Autoscaler's, before it sends a count) waits behind
 * them: the Deployment got the count 32 to 57 ms after the request instead of 6 to 13.
 * So the wait first writes every dirty page back (`sync`, timed in the run), then waits
 * for the cores. Both are fair to both modes: each burst starts on a machine with no
 * leftover work.
 */
const quietBusyCoresMax = 0.3;
const quietWindowMs = 500;
/**
 * Pods of the warm-up cycle on every fresh cluster (cluster.ts `warmUp`: the hot paths
 * compiled before anything is measured). Each Kubelet sees only 1/8 of them: with 2,000,
 * a 5,000-pod burst still cost the Kubelets 0.58 to 0.65 ms of CPU per pod, with 8,000
 * 0.32 to 0.35 (side by side, same run).
 */
export const warmUpPodsDefault = 5000;
/**
 * Warm-up cycles. A Kubelet handles a burst in a few dozen frames, so its per-frame code
 * gets hot slowly: with `--trace-opt`, after one 5,000-pod cycle each Kubelet still
 * optimized about 100 functions during the next cycle, after three about 30; and in a
 * burst measured after one cycle, `perf` found 43% of the Kubelets' and the ReplicaSet's
 * CPU in V8's optimizing compiler threads.
 */
export const warmUpCyclesDefault = 3;
/** Longest wait for quiet by default (`--quiet-wait-s`); then the burst starts anyway, and its run says so. */
export const quietWaitMsDefault = 30_000;

/** CPU time since boot from /proc/stat's first line: busy and total, in clock ticks (null where there is no /proc). */
function machineTicks(): { busy: number; total: number } | null {
  try {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle and iowait
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/** Longest wait for `sync`. */
const syncMsMax = 60_000;

/** Writes every dirty page of the machine back to disk (`sync`); returns how long it took, ms (null when `sync` could not run). */
function syncDisks(): number | null {
  const started = Date.now();
  try {
    execFileSync('sync', [], { stdio: 'ignore', timeout: syncMsMax });
    return Date.now() - started;
  } catch {
    return null;
  }
}

/** Waits until the machine is quiet (above): disks synced, then cores quiet; returns how long it waited for the cores and for `sync`, ms, and whether it got quiet. */
export async function waitQuiet(waitMsMax: number): Promise<{ waitedMs: number; quiet: boolean; syncMs: number | null }> {
  if (waitMsMax <= 0) return { waitedMs: 0, quiet: false, syncMs: null };
  const syncMs = syncDisks();
  const started = Date.now();
  for (;;) {
    const before = machineTicks();
    await sleep(quietWindowMs);
    const after = machineTicks();
    if (before === null || after === null) return { waitedMs: 0, quiet: true, syncMs }; // not Linux: nothing to wait on
    const busyCores = after.total === before.total ? 0 : ((after.busy - before.busy) / (after.total - before.total)) * cpus().length;
    if (busyCores <= quietBusyCoresMax) return { waitedMs: Date.now() - started - quietWindowMs, quiet: true, syncMs };
    if (Date.now() - started >= waitMsMax) return { waitedMs: Date.now() - started, quiet: false, syncMs };
  }
}

/** Clock ticks per second of /proc/PID/stat's times (USER_HZ: 100 on Linux). */
const clockTicksPerSecond = 100;

/**
 * CPU time a process has used, ms (Linux); null when it cannot be read. The sum over its
 * threads of the scheduler's run time (/proc/PID/task/TID/schedstat, nanoseconds), so a
 * burst's few hundred CPU-ms per stage are not rounded to 10 ms ticks; /proc/PID/stat's
 * utime + stime (ticks) where schedstat is missing. A thread that ends takes its time out
 * of the sum: Node's and etcd's threads live as long as the process.
 */
export function cpuMsOf(pid: number): number | null {
  return threadsRunMsOf(pid) ?? cpuTicksMsOf(pid);
}

function threadsRunMsOf(pid: number): number | null {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    return Number.isFinite(ns) && ns > 0 ? ns / 1e6 : null;
  } catch {
    return null;
  }
}

function cpuTicksMsOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicksPerSecond;
  } catch {
    return null;
  }
}

/** VmHWM of a process (Linux), in bytes; null when it cannot be read. */
export function peakRssOf(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
    return match === null ? null : Number(match[1]) * 1024;
  } catch {
    return null;
  }
}
