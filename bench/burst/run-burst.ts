/**
 * One measured burst on a running cluster: scale every function so that `size` pods
 * are asked for, wait until the Kubelets have started them, read the timings from the
 * traces, then (unless the cluster is to be replaced) scale back to 0.
 */
import { roleOf, type StageId } from '../../machines/index.js';
import { sleep } from '../../runtime/cluster/local-cluster.js';
import type { TransportKind } from '../../runtime/mediated/transport-config.js';
import { traceFlushMsMax } from '../../runtime/observe/trace.js';
import { spread, waitQuiet, type BenchCluster } from './cluster.js';
import { flowBetween, type FlowCounters } from './frames.js';
import { burstTimings, StartedCounter, TraceCursor, type StageSpan, type TraceLine } from './traces.js';

export interface BurstRun {
  readonly mode: TransportKind;
  readonly functions: number;
  readonly size: number;
  readonly rep: number;
  /** finished; timeout: not all pods ran within the timeout; skipped: a smaller burst of this series timed out. */
  readonly outcome: 'finished' | 'timeout' | 'skipped';
  /** Scale request to the last sandbox.started (Kubelet traces), ms. */
  readonly latencyMs: number | null;
  /** Pods / latency: the whole burst, filling and draining the chain included. */
  readonly podsPerSecond: number | null;
  /** Pods started per second once the chain is full (traces.ts `steadyRateOf`). */
  readonly steadyPodsPerSecond: number | null;
  readonly stages: Record<string, StageSpan>;
  /** CPU time of each stage process from the scale request until the last pod started, ms (cluster.ts `cpuMsOf`: every thread's run time from /proc). */
  readonly cpuMs: Record<string, number>;
  /** Scale back to 0 and convergence, ms (not part of the latency). */
  readonly scaleDownMs: number | null;
  /** How long the burst waited for the machine to be quiet (cluster.ts `waitQuiet`), ms, and whether it got quiet. */
  readonly quietWaitMs: number;
  readonly quiet: boolean;
  /** How long writing the machine's dirty pages back took before the wait (`sync`), ms; null: not run. */
  readonly syncMs: number | null;
  /** Frames and records each hop carried during the burst (direct links only write frames; frames.ts). */
  readonly flow: FlowCounters;
}

/** How often a burst looks for its last pod in the Kubelets' traces (the files only: no stage is asked). */
const startedPollMs = 50;

/** Waits until `size` sandboxes have started since `started` was made; false after `timeoutMs`. */
async function waitStarted(started: StartedCounter, size: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (started.count() >= size) return true;
    await sleep(startedPollMs);
  }
  return started.count() >= size;
}

/** The burst's trace lines by stage and the wall-clock time of its scale request (for timeline.ts). */
export type BurstTraces = (linesByStage: ReadonlyMap<StageId, readonly TraceLine[]>, requestedAtMs: number) => void;

export async function runBurst(cluster: BenchCluster, size: number, rep: number, timeoutMs: number, scaleDown: boolean, quietWaitMsMax: number, onTraces?: BurstTraces): Promise<BurstRun> {
  const { mode, functions } = cluster.options;
  const { waitedMs: quietWaitMs, quiet, syncMs } = await waitQuiet(quietWaitMsMax);
  const cursor = new TraceCursor();
  const stages = cluster.stages;
  cursor.mark(stages.map((s) => cluster.traceFileOf(s)));
  const started = new StartedCounter(stages.filter((s) => roleOf(s) === 'kubelet').map((s) => cluster.traceFileOf(s)));
  const flowBefore = await cluster.flowCounters();
  const cpuBefore = cluster.cpuMs();
  const requestedAt = Date.now();
  await cluster.scaleAll(spread(size, cluster.functionNames));
  const finished = await waitStarted(started, size, timeoutMs);
  const cpuAfter = cluster.cpuMs();
  const cpuMs = Object.fromEntries(Object.entries(cpuAfter).map(([stage, ms]) => [stage, ms - (cpuBefore[stage] ?? ms)]));
  const flow = flowBetween(flowBefore, await cluster.flowCounters());
  await sleep(traceFlushMsMax + 200);
  const lines = new Map(stages.map((s) => [s, cursor.readNew(cluster.traceFileOf(s))]));
  onTraces?.(lines, requestedAt);
  const timings = burstTimings(lines, requestedAt);
  const latencyMs = finished && timings.sandboxesStarted >= size ? timings.endMs : null;
  let scaleDownMs: number | null = null;
  if (finished && scaleDown) {
    const down = Date.now();
    await cluster.scaleAll(spread(0, cluster.functionNames));
    if (await cluster.waitConverged(0, timeoutMs)) scaleDownMs = Date.now() - down;
  }
  return {
    mode,
    functions,
    size,
    rep,
    outcome: latencyMs !== null && (scaleDownMs !== null || !scaleDown) ? 'finished' : 'timeout',
    latencyMs,
    podsPerSecond: latencyMs === null || latencyMs <= 0 ? null : size / (latencyMs / 1000),
    steadyPodsPerSecond: latencyMs === null ? null : timings.steadyPodsPerSecond,
    stages: timings.stages,
    cpuMs,
    scaleDownMs,
    quietWaitMs,
    quiet,
    syncMs,
    flow,
  };
}
