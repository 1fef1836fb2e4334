/**
 * Trace replay: a bursty invocation trace with the shape of the Azure Functions trace
 * (per-minute invocation counts per function; many functions; heavy-tailed popularity;
 * bursts; some timer-like functions) drives the Autoscaler, compressed in time (one trace
 * minute is `minuteMs` of real time; invocation durations are compressed by the same
 * factor, so concurrency is that of the trace). The driver plays the FaaS gateway: each
 * invocation waits in its function's queue until an instance is idle (a pod running at a
 * Kubelet, polled through Inspect, not serving another invocation); the wait is the
 * scheduling delay. A concurrency-based policy (as Knative's KPA, target concurrency 1)
 * sets the desired count through the Scaler: in-flight plus queued invocations (at most instancesPerFunctionMax), held for
 * `scaleDownDelayMinutes` before it goes down.
 *
 * The trace is generated from a seed (mulberry32), or read from a CSV file in the
 * Azure trace's layout: a header `function,1,2,...,M` and one row per function with its
 * invocation count for each minute. The generated trace is written next to the results
 * (replay-trace.csv) so a run can be repeated from the file.
 */
import { SeededRandom } from '../../simulator/random.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { sleep } from '../../runtime/cluster/local-cluster.js';
import type { TransportKind } from '../../runtime/mediated/transport-config.js';
import { BenchCluster } from './cluster.js';
import { distributionOf, type Distribution } from './stats.js';

export interface InvocationTrace {
  readonly seed: number | null;
  readonly functions: number;
  readonly minutes: number;
  readonly names: readonly string[];
  /** counts[f][m]: invocations of function f in minute m. */
  readonly counts: ReadonlyArray<readonly number[]>;
  /** Mean invocation duration of each function, in trace milliseconds. */
  readonly durationsMs: readonly number[];
  readonly invocations: number;
}

/** Deterministic random numbers in [0, 1) from a seed (the simulator's mulberry32). */
export function mulberry32(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
}

function poisson(random: () => number, mean: number): number {
  if (mean <= 0) return 0;
  if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * gaussian(random)));
  const limit = Math.exp(-mean);
  let k = 0;
  let p = random();
  while (p > limit) {
    k += 1;
    p *= random();
  }
  return k;
}

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(Math.max(random(), 1e-12))) * Math.cos(2 * Math.PI * random());
}

function durationsOf(functions: number, random: () => number): number[] {
  // Log-normal around ~800 ms (the trace's typical function), from ~100 ms to a few seconds.
  return Array.from({ length: functions }, () => Math.min(5_000, Math.max(50, Math.round(800 * Math.exp(0.8 * gaussian(random))))));
}

/**
 * A trace from a seed: popularity Zipf-like over a shuffled ranking (a few functions take
 * most invocations); 20% timer-like functions (a steady count every minute); the rest
 * switch between idle and active minutes, with occasional bursts of 3-8x.
 */
export function generateTrace(seed: number, functions: number, minutes: number, peakPerMinute = 900): InvocationTrace {
  const random = mulberry32(seed);
  const names = Array.from({ length: functions }, (_, i) => `fn${String(i).padStart(3, '0')}`);
  const ranks = names.map((_, i) => i).sort(() => random() - 0.5);
  const counts: number[][] = [];
  for (let f = 0; f < functions; f++) {
    const rate = peakPerMinute / (1 + (ranks[f] ?? f)) ** 1.1;
    const row: number[] = [];
    if (random() < 0.2) {
      const every = Math.max(1, Math.round(rate / 4));
      for (let m = 0; m < minutes; m++) row.push(every);
    } else {
      let active = random() < 0.5;
      for (let m = 0; m < minutes; m++) {
        if (active ? random() < 0.3 : random() < 0.25) active = !active;
        const burst = random() < 0.08 ? 3 + random() * 5 : 1;
        row.push(active ? poisson(random, rate * burst) : 0);
      }
    }
    counts.push(row);
  }
  return finish(seed, names, counts, durationsOf(functions, random));
}

function finish(seed: number | null, names: string[], counts: number[][], durationsMs: number[]): InvocationTrace {
  const invocations = counts.reduce((sum, row) => sum + row.reduce((a, b) => a + b, 0), 0);
  return { seed, functions: names.length, minutes: counts[0]?.length ?? 0, names, counts, durationsMs, invocations };
}

/** The Azure trace's per-minute layout: `function,1,2,...,M`, one row per function. */
export function traceToCsv(trace: InvocationTrace): string {
  const header = ['function', ...Array.from({ length: trace.minutes }, (_, m) => String(m + 1))].join(',');
  return `${[header, ...trace.names.map((name, f) => [name, ...(trace.counts[f] ?? [])].join(','))].join('\n')}\n`;
}

export function traceFromCsv(text: string, seed: number): InvocationTrace {
  const rows = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = rows.shift()?.split(',') ?? [];
  const minutes = header.length - 1;
  if (minutes < 1) throw new Error('replay CSV: the header must be function,1,2,...,M');
  const names: string[] = [];
  const counts: number[][] = [];
  rows.forEach((row, i) => {
    const cells = row.split(',');
    const raw = (cells[0] ?? '').trim().toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '');
    // Function names must be DNS labels: the file's names are kept when they are, else numbered.
    names.push(/^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/.test(raw) ? raw : `fn${String(i).padStart(3, '0')}`);
    const values = cells.slice(1, minutes + 1).map(Number);
    if (values.length !== minutes || values.some((v) => !Number.isInteger(v) || v < 0)) throw new Error(`replay CSV line ${i + 2}: ${minutes} whole counts expected`);
    counts.push(values);
  });
  return finish(null, names, counts, durationsOf(names.length, mulberry32(seed)));
}

export interface ReplayModeResult {
  readonly delayMs: Distribution;
  /** Share of invocations that waited more than `waitedMsMin` (100 ms) for an instance. */
  readonly waitedFraction: number | null;
  /** Invocations still waiting when the drain timed out (counted with their wait so far). */
  readonly undispatched: number;
  readonly scaleCalls: number;
  readonly peakDesired: number;
  readonly seconds: number;
}

export interface ReplayResult {
  readonly trace: { seed: number | null; functions: number; minutes: number; invocations: number; csv: string | null };
  readonly minuteMs: number;
  readonly policy: string;
  readonly modes: Record<string, ReplayModeResult>;
}

export interface ReplayOptions {
  readonly modes: readonly TransportKind[];
  readonly nodes: number;
  readonly etcd: string | null;
  /** Whether the stages write Pod objects (as in the bursts). */
  readonly podObjects: boolean;
  readonly seed: number;
  readonly minutes: number;
  readonly functions: number;
  readonly csv: string | null;
  /** Real milliseconds per trace minute. */
  readonly minuteMs: number;
  readonly log: (line: string) => void;
  /** Clusters of the bursts, at 0 pods, to replay on when they have the trace's functions (else a cluster is started per mode); stopped here. */
  readonly clusters?: ReadonlyMap<TransportKind, BenchCluster>;
  /** Where the generated trace is written (CSV); null: not written. */
  readonly writeCsvTo?: string | null;
}

/** Real milliseconds per trace minute (default: 12x faster than the trace). */
export const replayMinuteMsDefault = 5_000;
const tickMs = 10;
/** An invocation counts as having waited for an instance when its delay is above this (the driver's own lateness on a loaded machine stays below it). */
const waitedMsMin = 100;
const pollMs = 50;
const autoscaleMs = 100;
/** Pause before a failed Scaler call is asked again. */
const scaleRetryMs = 100;
const scaleDownDelayMinutes = 2;
/** Most instances of one function (Knative's max-scale): a burst queues instead of asking for thousands of pods. */
export const instancesPerFunctionMax = 50;
/** Longest wait for the last queued invocations after the trace ends. */
const drainMsMax = 60_000;

interface Invocation {
  readonly fn: number;
  readonly atMs: number;
  readonly durationMs: number;
}

function arrivalsOf(trace: InvocationTrace, seed: number, replayMinuteMs: number): Invocation[] {
  const random = mulberry32(seed ^ 0x5bd1e995);
  const scale = replayMinuteMs / 60_000;
  const out: Invocation[] = [];
  trace.counts.forEach((row, fn) =>
    row.forEach((count, minute) => {
      for (let i = 0; i < count; i++) out.push({ fn, atMs: (minute + random()) * replayMinuteMs, durationMs: (trace.durationsMs[fn] ?? 800) * scale });
    }),
  );
  return out.sort((a, b) => a.atMs - b.atMs);
}

async function replayOnce(cluster: BenchCluster, trace: InvocationTrace, arrivals: readonly Invocation[], replayMinuteMs: number, log: (line: string) => void): Promise<ReplayModeResult> {
  const F = trace.functions;
  const names = cluster.functionNames;
  const kubelets = cluster.stages.filter((s) => s.startsWith('kubelet:'));
  const running = new Array<number>(F).fill(0);
  const busyUntil: number[][] = Array.from({ length: F }, () => []);
  const queues: Array<Array<{ atMs: number; durationMs: number }>> = Array.from({ length: F }, () => []);
  const desired = new Array<number>(F).fill(0);
  // One Scaler call in flight per function, so the counts arrive in the order decided; the latest wins.
  const sent = new Array<number>(F).fill(0);
  const inFlight = new Array<boolean>(F).fill(false);
  // Set when the replay is over: no more Scaler calls (the clusters may be stopping).
  let over = false;
  const push = (f: number): void => {
    if (over || inFlight[f] === true || sent[f] === desired[f]) return;
    const value = desired[f] ?? 0;
    inFlight[f] = true;
    scaleCalls += 1;
    cluster.clients
      .setScale(names[f] as string, value)
      .then(
        () => {
          sent[f] = value;
        },
        (error: Error) => {
          log(`replay: scale ${names[f]} to ${value} failed: ${error.message}`);
          return sleep(scaleRetryMs); // then asked again (below), not at once: a closed channel fails at once
        },
      )
      .finally(() => {
        inFlight[f] = false;
        push(f);
      });
  };
  const lastHighAt = new Array<number>(F).fill(0);
  const index = new Map(names.map((n, i) => [n, i]));
  const delays: number[] = [];
  let scaleCalls = 0;
  let peakDesired = 0;
  let polling = false;
  const start = performance.now();
  const now = (): number => performance.now() - start;
  const poll = async (): Promise<void> => {
    if (polling) return;
    polling = true;
    try {
      const states = await Promise.all(kubelets.map((k) => cluster.clients.getState(k)));
      const counts = new Array<number>(F).fill(0);
      for (const state of states)
        for (const pod of state.pods) {
          const f = index.get(pod.record.function);
          if (f !== undefined && pod.state === 'running') counts[f] = (counts[f] ?? 0) + 1;
        }
      for (let f = 0; f < F; f++) running[f] = counts[f] ?? 0;
    } catch (error) {
      log(`replay: poll failed: ${(error as Error).message}`);
    } finally {
      polling = false;
    }
  };
  const autoscale = (t: number): void => {
    let total = 0;
    for (let f = 0; f < F; f++) {
      const demand = Math.min(instancesPerFunctionMax, (busyUntil[f]?.length ?? 0) + (queues[f]?.length ?? 0));
      let next = desired[f] ?? 0;
      if (demand >= next) {
        next = demand;
        lastHighAt[f] = t;
      } else if (t - (lastHighAt[f] ?? 0) >= scaleDownDelayMinutes * replayMinuteMs) next = demand;
      if (next !== desired[f]) {
        desired[f] = next;
        push(f);
      }
      total += desired[f] ?? 0;
    }
    peakDesired = Math.max(peakDesired, total);
  };
  let next = 0;
  let lastPoll = -pollMs;
  let lastAutoscale = -autoscaleMs;
  const end = trace.minutes * replayMinuteMs;
  for (;;) {
    const t = now();
    while (next < arrivals.length && (arrivals[next]?.atMs ?? Infinity) <= t) {
      const a = arrivals[next] as Invocation;
      queues[a.fn]?.push({ atMs: a.atMs, durationMs: a.durationMs });
      next += 1;
    }
    for (let f = 0; f < F; f++) {
      const busy = busyUntil[f] as number[];
      for (let i = busy.length - 1; i >= 0; i--) if ((busy[i] ?? 0) <= t) busy.splice(i, 1);
      const queue = queues[f] as Array<{ atMs: number; durationMs: number }>;
      while (queue.length > 0 && (running[f] ?? 0) - busy.length > 0) {
        const q = queue.shift() as { atMs: number; durationMs: number };
        delays.push(Math.max(0, t - q.atMs));
        busy.push(t + q.durationMs);
      }
    }
    if (t - lastPoll >= pollMs) {
      lastPoll = t;
      void poll();
    }
    if (t - lastAutoscale >= autoscaleMs) {
      lastAutoscale = t;
      autoscale(t);
    }
    const waiting = queues.reduce((sum, q) => sum + q.length, 0);
    if (next >= arrivals.length && t >= end && waiting === 0) break;
    if (t >= end + drainMsMax) break;
    await sleep(tickMs);
  }
  over = true;
  const t = now();
  let undispatched = 0;
  for (const q of queues)
    for (const item of q) {
      delays.push(t - item.atMs);
      undispatched += 1;
    }
  return {
    delayMs: distributionOf(delays),
    waitedFraction: delays.length === 0 ? null : delays.filter((d) => d > waitedMsMin).length / delays.length,
    undispatched,
    scaleCalls,
    peakDesired,
    seconds: t / 1000,
  };
}

export async function runReplay(options: ReplayOptions): Promise<ReplayResult> {
  const trace = options.csv !== null ? traceFromCsv(readFileSync(options.csv, 'utf8'), options.seed) : generateTrace(options.seed, options.functions, options.minutes);
  if (options.writeCsvTo !== undefined && options.writeCsvTo !== null) writeFileSync(options.writeCsvTo, traceToCsv(trace));
  const arrivals = arrivalsOf(trace, options.seed, options.minuteMs);
  options.log(`trace replay: ${trace.functions} functions, ${trace.minutes} minutes, ${trace.invocations} invocations (${options.csv ?? `seed ${options.seed}`})`);
  const modes: Record<string, ReplayModeResult> = {};
  for (const mode of options.modes) {
    const kept = options.clusters?.get(mode);
    const reuse = kept !== undefined && kept.functionNames.join(',') === trace.names.join(',');
    const cluster = reuse ? kept : new BenchCluster({ mode, functions: trace.functions, nodes: options.nodes, capacity: 1_000, etcd: options.etcd, startDelayMs: 0, podObjects: options.podObjects, functionNames: trace.names });
    if (!reuse) await cluster.start();
    try {
      options.log(`trace replay on the ${mode} cluster`);
      const result = await replayOnce(cluster, trace, arrivals, options.minuteMs, options.log);
      modes[mode] = result;
      options.log(`trace replay ${mode}: scheduling delay p50 ${result.delayMs.p50?.toFixed(0)} ms, p99 ${result.delayMs.p99?.toFixed(0)} ms, max ${result.delayMs.p100?.toFixed(0)} ms`);
    } finally {
      await cluster.stop();
    }
  }
  return {
    trace: { seed: trace.seed, functions: trace.functions, minutes: trace.minutes, invocations: trace.invocations, csv: options.csv },
    minuteMs: options.minuteMs,
    policy: `concurrency-based (target 1 in-flight or queued invocation per instance, at most ${instancesPerFunctionMax} per function), scale-down after ${scaleDownDelayMinutes} trace minutes below, decided every ${autoscaleMs} ms; instances polled every ${pollMs} ms`,
    modes,
  };
}
