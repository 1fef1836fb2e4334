/**
 * `npm run bench:burst`: direct message passing against the store-mediated baseline
 * (the Kubernetes API-server pattern over a real etcd), side by side in one invocation.
 *
 * For each function count (1 and 100 by default) one cluster per mode runs at once (8
 * Kubelets, simulated sandboxes with start delay 0, so the control plane is all that is
 * measured); bursts of each size are interleaved between the modes, repetition by
 * repetition. A burst scales from 0 to N pods (spread over the functions) with
 * concurrent Scaler calls, waits until the Kubelets have started N sandboxes, then
 * scales back to 0 and waits for convergence (from --restart-from pods on, if given, the
 * cluster is replaced by a fresh one instead). Latency is from the scale request to the
 * last `sandbox.started` in the Kubelets' traces; the per-stage breakdown comes from the
 * same traces (traces.ts). After the bursts of the last function count, the sustained
 * run on the same clusters (sustained.ts: 20,000 pods, the steady rate). Then the trace
 * replay (replay.ts), the floor of the transport for each burst size (bench/floor: the
 * records across four gRPC hops with no protocol work) and, with --calibrate, the plain
 * etcd chain (calibrate.ts).
 * Results go to out/bench/burst.json and burst.svg.
 *
 * Usage: npm run bench:burst -- [--sizes 100,500,1000,5000] [--functions 1,100] [--reps 3]
 *          [--nodes 8] [--modes direct,store-mediated] [--timeout-s 300] [--restart-from N] [--warm-up 5000] [--warm-up-cycles 3] [--sustained 20000] [--quiet-wait-s 30] [--quick]
 *          [--calibrate] [--no-floor] [--no-replay | --replay-only] [--replay-csv FILE] [--replay-seed N] [--replay-minutes N]
 *          [--replay-functions N] [--replay-minute-ms MS]
 *          [--pod-objects on|off] [--node-flags "FLAGS"] [--out DIR] [--json]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parseCommandLineOrExit, type CommandLineSpec, type OptionValues } from '../../cli/args.js';
import { exitCodes } from '../../cli/exit-codes.js';
import type { TransportKind } from '../../runtime/mediated/transport-config.js';
import { nodeFlagsProblem, parseNodeFlags } from '../../runtime/cluster/node-flags.js';
import { startEtcd } from '../../runtime/store/etcd-server.js';
import { batchRecordsMax, scaleSetsEntriesMax } from '../../spec/limits.js';
import { measureFloor, type FloorResult } from '../floor/floor.js';
import { floorText } from '../floor/main.js';
import { calibrate, type CalibrationSummary } from './calibrate.js';
import { activeClusters, BenchCluster, peakRssOf, quietWaitMsDefault, warmUpCyclesDefault, warmUpPodsDefault, type ScaleCalls } from './cluster.js';
import { latencyPlotSvg, type PlotSeries } from './plot.js';
import { replayMinuteMsDefault, runReplay, type ReplayResult } from './replay.js';
import { distributionOf, median, type Distribution } from './stats.js';
import { runBurst, type BurstRun } from './run-burst.js';
import { runSustained, sustainedPodsDefault, type SustainedResult } from './sustained.js';

export type { BurstRun } from './run-burst.js';

export interface BurstSummary {
  readonly functions: number;
  readonly size: number;
  readonly latencyMs: Record<string, Distribution>;
  /** Median store-mediated latency / median direct latency. */
  readonly ratioP50: number | null;
  /** Median per-stage spans (first/last handling after the scale request), ms. */
  readonly stages: Record<string, Record<string, { firstMs: number | null; lastMs: number | null }>>;
  readonly podsPerSecondP50: Record<string, number | null>;
  /** Per mode: median steady rate (pods started per second once the chain is full; traces.ts). */
  readonly steadyPodsPerSecondP50: Record<string, number | null>;
  /** Per mode: median CPU-ms per pod of each stage (Kubelets summed; etcd in store-mediated mode), and their total. */
  readonly cpuMsPerPod: Record<string, Record<string, number>>;
  /** Per mode and hop: records per frame over all repetitions (hops that wrote frames only). */
  readonly recordsPerFrame: Record<string, Record<string, number>>;
}

export interface BenchResult {
  readonly command: string;
  readonly machine: { cpus: number; model: string; memoryBytes: number; node: string; loadAverageStart: number[]; loadAverageEnd: number[]; etcd: string };
  readonly options: Record<string, unknown>;
  readonly startedAt: string;
  readonly seconds: number;
  readonly calibration: CalibrationSummary | null;
  readonly runs: BurstRun[];
  readonly summary: BurstSummary[];
  /**
   * Per mode, the rates of the largest burst (whole-burst and steady, medians). Not the
   * sustained throughput: a burst's steady rate flatters (its pods are all created before
   * the Scheduler starts); that figure is `sustained`.
   */
  readonly largestBurstRates: Record<string, { size: number; functions: number; podsPerSecondP50: number | null; steadyPodsPerSecondP50: number | null } | null>;
  /** The sustained-throughput run (sustained.ts); null when off. */
  readonly sustained: SustainedResult | null;
  /** Peak RSS (VmHWM) per stage process and of etcd, per mode, bytes. */
  readonly peakRssBytes: Record<string, Record<string, number>>;
  readonly replay: ReplayResult | null;
  /** The transport's floor for each burst size (bench/floor): the records across four gRPC hops with no protocol work; empty with --no-floor. */
  readonly floor: FloorResult[];
}

const modeOrder: readonly TransportKind[] = ['direct', 'store-mediated'];
/** Measured runs (and as many unmeasured ones first) of the floor for each burst size. */
const floorRuns = 10;

/** A mistake on the command line found after parsing: said with the fix, exit 2. */
function usageExit(message: string): never {
  console.error(`bench:burst: ${message}. Run "npm run bench:burst -- --help" for the options.`);
  process.exit(exitCodes.usage);
}

/** The stage processes' extra Node flags of `--node-flags`, checked; a profile directory must be absolute (each cluster's directory is removed when it stops). */
function nodeFlagsOf(text: string | undefined): string[] {
  if (text === undefined) return [];
  let flags: string[];
  try {
    flags = parseNodeFlags(text);
  } catch (error) {
    return usageExit((error as Error).message);
  }
  const problem = nodeFlagsProblem(flags);
  if (problem !== null) usageExit(`--node-flags: ${problem}`);
  const relative = flags.find((flag) => /^--(cpu|heap)-prof-dir=/.test(flag) && !isAbsolute(flag.slice(flag.indexOf('=') + 1)));
  if (relative !== undefined) usageExit(`--node-flags: ${relative}: give an absolute directory (the stages run in each cluster's own directory, removed when it stops)`);
  if (flags.some((flag) => /^--(cpu|heap)-prof$/.test(flag)) && !flags.some((flag) => /^--(cpu|heap)-prof-dir=/.test(flag)))
    usageExit('--node-flags: with --cpu-prof or --heap-prof also give --cpu-prof-dir=/ABSOLUTE/DIR (or --heap-prof-dir): the profiles would be written into the clusters\' directories, which are removed');
  return flags;
}

function etcdVersion(): string {
  try {
    return execFileSync('/usr/bin/etcd', ['--version'], { encoding: 'utf8' }).split('\n')[0] ?? '';
  } catch {
    return 'unknown';
  }
}

function summarize(runs: readonly BurstRun[], modes: readonly TransportKind[]): BurstSummary[] {
  const keys = [...new Set(runs.map((r) => `${r.functions}/${r.size}`))];
  return keys.map((key) => {
    const [functions, size] = key.split('/').map(Number) as [number, number];
    const of = (mode: TransportKind): BurstRun[] => runs.filter((r) => r.functions === functions && r.size === size && r.mode === mode && r.outcome === 'finished');
    const latencyMs: Record<string, Distribution> = {};
    const stages: BurstSummary['stages'] = {};
    const podsPerSecondP50: Record<string, number | null> = {};
    const steadyPodsPerSecondP50: Record<string, number | null> = {};
    const cpuMsPerPod: BurstSummary['cpuMsPerPod'] = {};
    const recordsPerFrame: BurstSummary['recordsPerFrame'] = {};
    for (const mode of modes) {
      const done = of(mode);
      latencyMs[mode] = distributionOf(done.map((r) => r.latencyMs as number));
      podsPerSecondP50[mode] = median(done.map((r) => r.podsPerSecond ?? 0));
      steadyPodsPerSecondP50[mode] = median(done.flatMap((r) => (r.steadyPodsPerSecond === null ? [] : [r.steadyPodsPerSecond])));
      const groups = [...new Set(done.flatMap((r) => Object.keys(r.stages)))];
      stages[mode] = Object.fromEntries(
        groups.map((g) => [g, { firstMs: median(done.flatMap((r) => (r.stages[g] === undefined ? [] : [r.stages[g].firstMs]))), lastMs: median(done.flatMap((r) => (r.stages[g] === undefined ? [] : [r.stages[g].lastMs]))) }]),
      );
      cpuMsPerPod[mode] = cpuPerPodOf(done, size);
      recordsPerFrame[mode] = recordsPerFrameOf(done);
    }
    const direct = latencyMs['direct']?.p50 ?? null;
    const mediated = latencyMs['store-mediated']?.p50 ?? null;
    // Medians of all repetitions only when every repetition finished in both modes.
    const complete = modes.every((m) => latencyMs[m]?.count === runs.filter((r) => r.functions === functions && r.size === size && r.mode === m).length);
    return { functions, size, latencyMs, ratioP50: complete && direct !== null && mediated !== null && direct > 0 ? mediated / direct : null, stages, podsPerSecondP50, steadyPodsPerSecondP50, cpuMsPerPod, recordsPerFrame };
  });
}

/** Records per frame of each hop that wrote frames, over all the runs together. */
function recordsPerFrameOf(runs: readonly BurstRun[]): Record<string, number> {
  const total: Record<string, { frames: number; records: number }> = {};
  for (const run of runs)
    for (const [hop, flow] of Object.entries(run.flow)) {
      const sum = (total[hop] ??= { frames: 0, records: 0 });
      sum.frames += flow.frames;
      sum.records += flow.records;
    }
  return Object.fromEntries(Object.entries(total).flatMap(([hop, sum]) => (sum.frames > 0 ? [[hop, sum.records / sum.frames]] : [])));
}

/** Median CPU-ms per pod of each stage (Kubelets summed into one `kubelets` entry, plus `total`) over the runs. */
function cpuPerPodOf(runs: readonly BurstRun[], size: number): Record<string, number> {
  const perRun = runs.map((r) => {
    const grouped: Record<string, number> = {};
    for (const [stage, ms] of Object.entries(r.cpuMs)) {
      const group = stage.startsWith('kubelet:') ? 'kubelets' : stage;
      grouped[group] = (grouped[group] ?? 0) + ms / size;
      grouped['total'] = (grouped['total'] ?? 0) + ms / size;
    }
    return grouped;
  });
  const groups = [...new Set(perRun.flatMap((g) => Object.keys(g)))];
  return Object.fromEntries(groups.map((g) => [g, median(perRun.map((r) => r[g] ?? 0)) ?? 0]));
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}

/** The wait for quiet before a burst (cluster.ts `waitQuiet`), when there was one. */
function quietText(run: BurstRun): string {
  const synced = run.syncMs !== null && run.syncMs >= syncMsShown ? `; disks synced in ${formatMs(run.syncMs)}` : '';
  if (!run.quiet) return `${synced}; started without quiet after ${formatMs(run.quietWaitMs)}`;
  return `${synced}${run.quietWaitMs > 0 ? `; quiet after ${formatMs(run.quietWaitMs)}` : ''}`;
}

/** A `sync` before a burst is shown in its progress line from this long on, ms. */
const syncMsShown = 100;

function rateText(perSecond: number | null | undefined): string {
  return perSecond === null || perSecond === undefined ? '-' : String(Math.round(perSecond));
}

function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

export function report(result: BenchResult): string {
  const lines: string[] = [];
  lines.push(`bench:burst on ${result.machine.cpus} cores (${result.machine.model}), Node ${result.machine.node}, ${result.machine.etcd}; load average at start ${result.machine.loadAverageStart.map((l) => l.toFixed(1)).join(' ')}`);
  lines.push(`command: ${result.command}`);
  if (result.calibration !== null)
    for (const m of result.calibration.medians) lines.push(`calibration (4-hop etcd chain, ${m.client}): ${m.objects} objects ${m.medianSeconds === null ? 'unfinished' : `${m.medianSeconds.toFixed(2)} s`}`);
  lines.push('');
  lines.push('functions  burst   direct p50/p90/p100          store-mediated p50/p90/p100   ratio p50   pods/s direct / mediated (whole burst; steady)');
  for (const s of result.summary) {
    const d = s.latencyMs['direct'];
    const m = s.latencyMs['store-mediated'];
    const three = (x: Distribution | undefined): string => (x === undefined || x.count === 0 ? '-' : `${formatMs(x.p50)} / ${formatMs(x.p90)} / ${formatMs(x.p100)}`);
    lines.push(
      `${String(s.functions).padStart(9)}  ${String(s.size).padStart(5)}   ${three(d).padEnd(28)} ${three(m).padEnd(29)} ${s.ratioP50 === null ? '-'.padStart(9) : `${s.ratioP50.toFixed(1)}x`.padStart(9)}   ${Math.round(s.podsPerSecondP50['direct'] ?? 0)} / ${Math.round(s.podsPerSecondP50['store-mediated'] ?? 0)}; ${rateText(s.steadyPodsPerSecondP50['direct'])} / ${rateText(s.steadyPodsPerSecondP50['store-mediated'])}`,
    );
  }
  for (const floor of result.floor) {
    const direct = result.summary.find((x) => x.functions === 1 && x.size === floor.records)?.latencyMs['direct']?.p50 ?? null;
    const beside = direct === null || floor.latencyMs.p50 === null ? '' : `; direct 1 fn ${formatMs(direct)}, ${(direct / floor.latencyMs.p50).toFixed(1)}x the floor`;
    lines.push(`${floorText(floor)}${beside}`);
  }
  const notQuiet = result.runs.filter((r) => !r.quiet);
  if (notQuiet.length > 0) lines.push(`started without quiet (cluster.ts waitQuiet): ${notQuiet.map((r) => `${r.mode} ${r.functions}fn ${r.size} rep ${r.rep + 1}`).join(', ')}`);
  const unfinished = result.runs.filter((r) => r.outcome !== 'finished');
  if (unfinished.length > 0) lines.push(`unfinished: ${unfinished.map((r) => `${r.mode} ${r.functions}fn ${r.size} (${r.outcome})`).join(', ')}`);
  lines.push('');
  lines.push('per-stage breakdown (medians; first-last handling of the burst after the scale request):');
  for (const s of result.summary)
    for (const [mode, groups] of Object.entries(s.stages))
      lines.push(`  ${s.functions}fn ${String(s.size).padStart(5)} ${mode.padEnd(15)} ${Object.entries(groups).map(([g, span]) => `${g} ${formatMs(span.firstMs)}-${formatMs(span.lastMs)}`).join(', ')}`);
  lines.push('');
  lines.push('CPU per pod (medians; each stage process from the scale request to the last pod started; Kubelets summed; store-mediated includes etcd):');
  for (const s of result.summary)
    for (const [mode, perStage] of Object.entries(s.cpuMsPerPod))
      lines.push(`  ${s.functions}fn ${String(s.size).padStart(5)} ${mode.padEnd(15)} ${Object.entries(perStage).map(([g, ms]) => `${g} ${ms.toFixed(3)} ms`).join(', ')}`);
  lines.push('');
  lines.push('records per frame (direct links; all repetitions of a burst together):');
  for (const s of result.summary)
    for (const [mode, hops] of Object.entries(s.recordsPerFrame))
      if (Object.keys(hops).length > 0) lines.push(`  ${s.functions}fn ${String(s.size).padStart(5)} ${mode.padEnd(15)} ${Object.entries(hops).map(([hop, r]) => `${hop} ${r.toFixed(1)}`).join(', ')}`);
  lines.push('');
  for (const [mode, peaks] of Object.entries(result.peakRssBytes)) lines.push(`peak RSS ${mode}: ${Object.entries(peaks).map(([s, b]) => `${s} ${mib(b)}`).join(', ')}`);
  for (const [mode, t] of Object.entries(result.largestBurstRates))
    lines.push(`largest burst ${mode}: ${t === null || t.podsPerSecondP50 === null ? '-' : `${Math.round(t.podsPerSecondP50)} pods/s whole burst, ${rateText(t.steadyPodsPerSecondP50)} pods/s steady (medians, ${t.size}-pod bursts, ${t.functions} function(s))`}`);
  const sustained = result.sustained;
  if (sustained !== null)
    for (const mode of Object.keys(sustained.podsPerSecondP50))
      lines.push(`sustained throughput ${mode}: ${rateText(sustained.steadyPodsPerSecondP50[mode])} pods/s steady, ${rateText(sustained.podsPerSecondP50[mode])} pods/s whole run (medians of ${sustained.runs.filter((r) => r.mode === mode && r.outcome === 'finished').length} runs of ${sustained.pods} pods over ${sustained.functions} function(s))`);
  if (result.replay !== null) {
    lines.push('');
    lines.push(`trace replay: ${result.replay.trace.functions} functions, ${result.replay.trace.minutes} minutes (1 minute = ${result.replay.minuteMs} ms), ${result.replay.trace.invocations} invocations, seed ${result.replay.trace.seed}`);
    for (const [mode, r] of Object.entries(result.replay.modes))
      lines.push(`  ${mode.padEnd(15)} scheduling delay p50 ${formatMs(r.delayMs.p50)}, p90 ${formatMs(r.delayMs.p90)}, p99 ${formatMs(r.delayMs.p99)}, max ${formatMs(r.delayMs.p100)}; waited >100 ms ${r.waitedFraction === null ? '-' : `${(r.waitedFraction * 100).toFixed(1)}%`}; ${r.scaleCalls} scale calls`);
  }
  return lines.join('\n');
}

/** The command line of `npm run bench:burst` (cli/args.ts checks it and writes its --help). */
const burstCommandLine = {
  command: 'bench:burst',
  program: 'npm run',
  about: `Runs the burst benchmark: direct gRPC links against the store-mediated baseline (etcd),
interleaved, and writes out/bench/burst.json and burst.svg. Defaults marked "quick" are
those of --quick.`,
  options: {
    sizes: { kind: 'wholes', value: 'LIST', min: 1, max: 1_000_000, help: 'burst sizes in pods (default 100,500,1000,5000; quick 20,50)' },
    functions: { kind: 'wholes', value: 'LIST', min: 1, max: 100_000, help: 'functions per burst (default 1,100; quick 1)' },
    reps: { kind: 'whole', value: 'N', min: 1, max: 1_000, help: 'repetitions per size (default 3; quick 1)' },
    nodes: { kind: 'whole', value: 'N', min: 1, max: 1_000, default: 8, help: 'Kubelets' },
    modes: { kind: 'text', value: 'LIST', repeatable: true, help: 'direct, store-mediated or both (default both)' },
    'timeout-s': { kind: 'whole', value: 'N', min: 1, max: 86_400, help: 'per burst (default 300; quick 60)' },
    'restart-from': { kind: 'whole', value: 'N', min: 1, max: 1_000_000, help: 'a fresh cluster (warmed up again) after each burst from this size on (default: none, every burst scales back to 0)' },
    'warm-up': { kind: 'whole', value: 'N', min: 0, max: 1_000_000, help: `pods of the unmeasured scale-up and scale-down cycles on every cluster after it starts (default ${warmUpPodsDefault}; quick 0; 0: none)` },
    'warm-up-cycles': { kind: 'whole', value: 'N', min: 1, max: 100, default: warmUpCyclesDefault, help: 'how many such cycles (no warm-up: --warm-up 0)' },
    sustained: { kind: 'whole', value: 'N', min: 0, max: 10_000_000, help: `pods of the sustained-throughput run, on the clusters of the last function count, --reps times per mode (default ${sustainedPodsDefault}; quick 0; 0: none)` },
    'quiet-wait-s': { kind: 'whole', value: 'N', min: 0, max: 3_600, default: quietWaitMsDefault / 1000, help: 'longest wait before each burst for the machine to be quiet (disks synced, then all cores under 0.3 busy; 0: no wait and no sync)' },
    quick: { kind: 'flag', help: 'tiny sizes, one repetition' },
    calibrate: { kind: 'flag', help: 'also the plain 4-hop etcd chain' },
    'no-replay': { kind: 'flag', help: 'no trace replay' },
    'no-floor': { kind: 'flag', help: 'no floor measurement (bench/floor: each burst size across four gRPC hops with no protocol work, printed beside the direct figures)' },
    'replay-only': { kind: 'flag', help: 'only the trace replay' },
    'replay-csv': { kind: 'text', value: 'FILE', help: 'replay this invocation trace instead of a generated one' },
    'replay-seed': { kind: 'whole', value: 'N', min: 0, max: 2 ** 32 - 1, default: 1, help: 'seed of the generated trace' },
    'replay-minutes': { kind: 'whole', value: 'N', min: 1, max: 10_000, help: 'minutes of the trace (default 20; quick 3)' },
    'replay-functions': { kind: 'whole', value: 'N', min: 1, max: 100_000, help: 'functions of the trace (default 100; quick 10)' },
    'replay-minute-ms': { kind: 'whole', value: 'N', min: 1, max: 600_000, default: replayMinuteMsDefault, help: 'milliseconds one trace minute lasts' },
    'pod-objects': { kind: 'choice', value: 'on|off', choices: ['on', 'off'], default: 'off', help: 'whether the stages also write Pod objects to the file store, in both modes (off: the control plane alone; see docs/pages/benchmarks.md)' },
    'node-flags': {
      kind: 'text',
      value: 'FLAGS',
      help: 'extra Node flags for every stage process of both modes, one quoted text (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof": a profile per stage process, written when the cluster stops; the directory must be absolute, the clusters\' own directories are removed)',
    },
    'scale-calls': {
      kind: 'choice',
      value: 'set-scales|set-scale',
      choices: ['set-scales', 'set-scale'],
      default: 'set-scales',
      help: `how a burst asks for its counts, in both modes: one Scaler.SetScales call per ${scaleSetsEntriesMax} functions (scaleSetsEntriesMax), or one SetScale call per function, all at once`,
    },
    out: { kind: 'text', value: 'DIR', default: 'out/bench', help: 'where the results go' },
    json: { kind: 'flag', help: 'print the JSON result instead of the report' },
  },
  example: 'npm run bench:burst -- --quick',
  exits: { ok: 'measured', internal: 'a burst did not converge in time, or the benchmark failed' },
} as const satisfies CommandLineSpec;

async function main(): Promise<void> {
  await runBench(parseCommandLineOrExit(burstCommandLine).options);
}

async function runBench(values: OptionValues<typeof burstCommandLine.options>): Promise<void> {
  const quick = values.quick;
  const sizes = [...(values.sizes ?? (quick ? [20, 50] : [100, 500, 1000, 5000]))].sort((a, b) => a - b);
  const functionCounts = [...(values.functions ?? (quick ? [1] : [1, 100]))];
  const reps = values.reps ?? (quick ? 1 : 3);
  const nodes = values.nodes;
  const timeoutMs = (values['timeout-s'] ?? (quick ? 60 : 300)) * 1000;
  // A fresh cluster costs its warm-up cycles, more than a scale-down: by default none.
  const restartFromSize = values['restart-from'] ?? Number.POSITIVE_INFINITY;
  const warmUpPods = values['warm-up'] ?? (quick ? 0 : warmUpPodsDefault);
  const warmUpCycles = values['warm-up-cycles'];
  const sustainedPods = values.sustained ?? (quick ? 0 : sustainedPodsDefault);
  const quietWaitMs = values['quiet-wait-s'] * 1000;
  const modes = (values.modes.length > 0 ? values.modes : modeOrder) as TransportKind[];
  for (const m of modes) if (!modeOrder.includes(m)) usageExit(`--modes: unknown mode "${m}" (direct, store-mediated)`);
  const podObjects = values['pod-objects'] === 'on';
  const nodeFlags = nodeFlagsOf(values['node-flags']);
  const scaleCalls = values['scale-calls'] as ScaleCalls;
  const outDir = resolve(values.out);
  const log = (line: string): void => console.error(`[bench:burst ${new Date().toISOString().slice(11, 19)}] ${line}`);
  const started = Date.now();
  const loadAverageStart = loadavg();
  const etcd = modes.includes('store-mediated') || values.calibrate ? await startEtcd() : null;
  // Interrupted: stop every stage process and etcd before leaving (they are detached).
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      log(`${signal}: stopping the clusters and etcd`);
      void Promise.all([...activeClusters].map((c) => c.stop()))
        .then(() => etcd?.stop())
        .finally(() => process.exit(130));
    });
  const runs: BurstRun[] = [];
  const peakRssBytes: Record<string, Record<string, number>> = {};
  let calibration: CalibrationSummary | null = null;
  let replay: ReplayResult | null = null;
  let sustained: SustainedResult | null = null;
  const replayFunctions = values['replay-functions'] ?? (quick ? 10 : 100);
  const replayEnabled = !values['no-replay'];
  // The last burst clusters are kept for the replay when they have its functions (a generated trace names them as the bursts do).
  const keptForReplay = new Map<TransportKind, BenchCluster>();
  const notePeaks = (cluster: BenchCluster): void => {
    const peaks = (peakRssBytes[cluster.options.mode] ??= {});
    for (const [stage, bytes] of Object.entries(cluster.peakRss())) peaks[stage] = Math.max(peaks[stage] ?? 0, bytes);
  };
  try {
    if (values.calibrate && etcd !== null) {
      log('calibration: plain 4-hop etcd chain');
      calibration = await calibrate(etcd.endpoint, quick ? [200] : [1000, 5000], quick ? 1 : 3, ['grpc', 'gateway'], log);
    }
    for (const functions of values['replay-only'] ? [] : functionCounts) {
      const make = (mode: TransportKind): BenchCluster =>
        new BenchCluster({ mode, functions, nodes, capacity: Math.max(...sizes, warmUpPods, sustainedPods), etcd: etcd?.endpoint ?? null, ...(etcd?.process.pid === undefined ? {} : { etcdPid: etcd.process.pid }), startDelayMs: 0, podObjects, warmUpPods, warmUpCycles, nodeFlags, scaleCalls });
      const clusters = new Map<TransportKind, BenchCluster>();
      for (const mode of modes) {
        const cluster = make(mode);
        log(`starting the ${mode} cluster (${functions} function(s), ${nodes} Kubelets) in ${cluster.dir}`);
        await cluster.start();
        clusters.set(mode, cluster);
      }
      const gaveUpAt = new Map<TransportKind, number>();
      try {
        for (let rep = 0; rep < reps; rep++)
          for (const size of sizes) {
            // Alternate which mode goes first, so neither always runs right after the other's scale-down.
            const order = (rep + sizes.indexOf(size)) % 2 === 0 ? modes : [...modes].reverse();
            for (const mode of order) {
              const limit = gaveUpAt.get(mode);
              if (limit !== undefined && size >= limit) {
                runs.push({ mode, functions, size, rep, outcome: 'skipped', latencyMs: null, podsPerSecond: null, steadyPodsPerSecond: null, stages: {}, cpuMs: {}, scaleDownMs: null, quietWaitMs: 0, quiet: true, syncMs: null, flow: {} });
                continue;
              }
              const cluster = clusters.get(mode) as BenchCluster;
              // From --restart-from on, a burst is followed by a fresh cluster instead of a scale-down.
              const restart = size >= restartFromSize;
              const run = await runBurst(cluster, size, rep, timeoutMs, !restart, quietWaitMs);
              runs.push(run);
              // What is measured so far, in case the run is cut short.
              mkdirSync(outDir, { recursive: true });
              writeFileSync(join(outDir, 'burst.partial.json'), `${JSON.stringify({ runs, peakRssBytes }, null, 2)}\n`);
              log(`${mode} ${functions}fn burst ${size} rep ${rep + 1}/${reps}: ${run.outcome === 'finished' ? `${formatMs(run.latencyMs)} (${Math.round(run.podsPerSecond ?? 0)} pods/s), ${restart ? 'fresh cluster next' : `scale-down ${formatMs(run.scaleDownMs)}`}` : run.outcome}${quietText(run)}`);
              if (run.outcome !== 'finished' || restart) {
                // The cluster may still be busy (or holds the burst): replace it; after a timeout skip larger bursts of this series.
                if (run.outcome !== 'finished') gaveUpAt.set(mode, size);
                notePeaks(cluster);
                await cluster.stop();
                const fresh = make(mode);
                await fresh.start();
                clusters.set(mode, fresh);
              }
            }
          }
        if (sustainedPods > 0 && functions === functionCounts[functionCounts.length - 1]) {
          sustained = await runSustained(clusters, sustainedPods, reps, timeoutMs, quietWaitMs, log);
          // A cluster whose sustained run did not finish may still hold its pods: a fresh one for the replay.
          for (const mode of new Set(sustained.runs.filter((r) => r.outcome !== 'finished').map((r) => r.mode))) {
            const cluster = clusters.get(mode) as BenchCluster;
            notePeaks(cluster);
            await cluster.stop();
            const fresh = make(mode);
            await fresh.start();
            clusters.set(mode, fresh);
          }
        }
      } finally {
        const keep = replayEnabled && values['replay-csv'] === undefined && functions === replayFunctions && functions === functionCounts[functionCounts.length - 1];
        for (const [mode, cluster] of clusters) {
          notePeaks(cluster);
          if (keep) keptForReplay.set(mode, cluster);
          else await cluster.stop();
        }
      }
    }
    if (replayEnabled) {
      mkdirSync(outDir, { recursive: true });
      replay = await runReplay({
        modes,
        nodes,
        etcd: etcd?.endpoint ?? null,
        podObjects,
        seed: values['replay-seed'],
        minutes: values['replay-minutes'] ?? (quick ? 3 : 20),
        functions: replayFunctions,
        clusters: keptForReplay,
        csv: values['replay-csv'] ?? null,
        minuteMs: values['replay-minute-ms'],
        log,
        writeCsvTo: values['replay-csv'] === undefined ? join(outDir, 'replay-trace.csv') : null,
      });
    }
  } finally {
    for (const cluster of activeClusters) await cluster.stop();
    if (etcd !== null) {
      const mediatedPeaks = peakRssBytes['store-mediated'];
      if (mediatedPeaks !== undefined) mediatedPeaks['etcd'] = peakRssOf(etcd.process.pid ?? 0) ?? 0;
      await etcd.stop();
    }
  }
  const floor: FloorResult[] = [];
  if (!values['no-floor'] && !values['replay-only'])
    for (const size of sizes) {
      log(`floor: ${size} records over four gRPC hops, no protocol work`);
      floor.push(await measureFloor({ records: size, frameRecords: Math.min(size, batchRecordsMax), runs: floorRuns, warmUpRuns: floorRuns }));
    }
  const summary = summarize(runs, modes);
  const largestBurstRates: BenchResult['largestBurstRates'] = {};
  for (const mode of modes) {
    const candidates = summary.filter((s) => (s.podsPerSecondP50[mode] ?? null) !== null && (s.latencyMs[mode]?.count ?? 0) > 0);
    const largest = candidates.sort((a, b) => b.size - a.size || a.functions - b.functions)[0];
    largestBurstRates[mode] = largest === undefined ? null : { size: largest.size, functions: largest.functions, podsPerSecondP50: largest.podsPerSecondP50[mode] ?? null, steadyPodsPerSecondP50: largest.steadyPodsPerSecondP50[mode] ?? null };
  }
  const result: BenchResult = {
    command: `npm run bench:burst --${process.argv.slice(2).length > 0 ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', memoryBytes: totalmem(), node: process.version, loadAverageStart, loadAverageEnd: loadavg(), etcd: etcdVersion() },
    options: { sizes, functionCounts, reps, nodes, timeoutMs, sustainedPods, quietWaitMs, restartFromSize: Number.isFinite(restartFromSize) ? restartFromSize : null, warmUpPods, warmUpCycles, modes, sandboxStartDelayMs: 0, backingStore: 'file (both modes)', podObjects, scaleCalls },
    startedAt: new Date(started).toISOString(),
    seconds: (Date.now() - started) / 1000,
    calibration,
    runs,
    summary,
    largestBurstRates,
    sustained,
    peakRssBytes,
    replay,
    floor,
  };
  mkdirSync(outDir, { recursive: true });
  const jsonFile = join(outDir, 'burst.json');
  writeFileSync(jsonFile, `${JSON.stringify(result, null, 2)}\n`);
  const colors: Record<string, string> = { direct: '#1f77b4', 'store-mediated': '#d62728' };
  const series: PlotSeries[] = [];
  for (const mode of modes)
    for (const functions of functionCounts)
      series.push({
        label: `${mode}, ${functions} fn`,
        color: colors[mode] ?? '#555',
        dashed: functions !== functionCounts[0],
        points: summary
          .filter((s) => s.functions === functions && (s.latencyMs[mode]?.count ?? 0) > 0)
          .map((s) => ({ size: s.size, p50Ms: s.latencyMs[mode]?.p50 ?? 0, p100Ms: s.latencyMs[mode]?.p100 ?? 0 })),
      });
  const svgFile = join(outDir, 'burst.svg');
  writeFileSync(svgFile, latencyPlotSvg(`Upscaling latency, ${nodes} Kubelets, ${cpus().length} cores (median, whisker to max of ${reps})`, series));
  if (values.json) console.log(readFileSync(jsonFile, 'utf8').trimEnd());
  else console.log(report(result));
  log(`wrote ${jsonFile} and ${svgFile}`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) await main();
