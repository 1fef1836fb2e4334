/**
 * `npm run bench:timeline`: where the wall time of a direct burst goes. Starts one direct
 * cluster (as bench:burst does: 8 Kubelets, simulated sandboxes with start delay 0, the
 * same warm-up), runs --reps bursts of --size pods over one function and prints each
 * burst's per-stage timeline (bench/burst/timeline.ts) with each stage's CPU during the
 * burst: when the first and last record arrived and left, the hop into the stage, the
 * milliseconds the stage was active and idle inside its span, and its largest gap.
 *
 * With --compare-first-slice-ms N a second cluster's stages start each run of received
 * records with an N ms slice, doubling up to receiveSliceMsMax (`flow.receiveSliceMsFirst`,
 * DEC-69), its bursts interleaved with the first cluster's, so both see the same machine
 * load; the medians of both come last.
 *
 * Usage: npm run bench:timeline -- [--size 1000] [--reps 3] [--nodes 8] [--warm-up 5000] [--warm-up-cycles 3]
 *          [--quiet-wait-s 10] [--compare-first-slice-ms N] [--json]
 */
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseCommandLineOrExit, type CommandLineSpec } from '../cli/args.js';
import { exitCodes } from '../cli/exit-codes.js';
import { receiveSliceMsMax } from '../spec/limits.js';
import { BenchCluster, warmUpCyclesDefault, warmUpPodsDefault } from './burst/cluster.js';
import { runBurst } from './burst/run-burst.js';
import { median } from './burst/stats.js';
import { burstTimeline, cpuByGroup, timelineText, type BurstTimeline } from './burst/timeline.js';

export const timelineCommandLine = {
  command: 'bench:timeline',
  program: 'npm run',
  about: `Prints the per-stage timeline of direct bursts over one function: for each stage,
when the burst's first and last record arrived and left, the hop into it, the
milliseconds it was active and idle, and its CPU during the burst.`,
  options: {
    size: { kind: 'whole', value: 'N', min: 1, max: 1_000_000, default: 1000, help: 'pods per burst' },
    reps: { kind: 'whole', value: 'N', min: 1, max: 1_000, default: 3, help: 'bursts (per cluster)' },
    nodes: { kind: 'whole', value: 'N', min: 1, max: 1_000, default: 8, help: 'Kubelets' },
    'warm-up': { kind: 'whole', value: 'N', min: 0, max: 1_000_000, default: warmUpPodsDefault, help: 'pods of each unmeasured warm-up cycle (0: none)' },
    'warm-up-cycles': { kind: 'whole', value: 'N', min: 1, max: 100, default: warmUpCyclesDefault, help: 'warm-up cycles' },
    'quiet-wait-s': { kind: 'whole', value: 'N', min: 0, max: 3_600, default: 10, help: "longest wait for a quiet machine before each burst (bench:burst's waitQuiet)" },
    'timeout-s': { kind: 'whole', value: 'N', min: 1, max: 86_400, default: 120, help: 'per burst' },
    'compare-first-slice-ms': { kind: 'whole', value: 'N', min: 1, max: receiveSliceMsMax, help: `also a cluster whose stages start each run of received records with an N ms slice, doubling up to ${receiveSliceMsMax} (DEC-69), bursts interleaved` },
    json: { kind: 'flag', help: 'print the JSON result' },
  },
  example: 'npm run bench:timeline -- --size 1000 --reps 7 --compare-first-slice-ms 1',
  exits: { ok: 'every burst finished', failed: 'a burst did not finish within its timeout' },
} as const satisfies CommandLineSpec;

interface TimelineRun {
  readonly cluster: string;
  readonly rep: number;
  readonly latencyMs: number | null;
  readonly loadAverage: string;
  readonly cpuMs: Record<string, number>;
  readonly timeline: BurstTimeline | null;
}

function load(): string {
  return loadavg().map((l) => l.toFixed(1)).join(' ');
}

async function main(): Promise<void> {
  const { options } = parseCommandLineOrExit(timelineCommandLine);
  const size = options.size;
  const base = { mode: 'direct' as const, functions: 1, nodes: options.nodes, capacity: Math.max(size, options['warm-up']), etcd: null, startDelayMs: 0, podObjects: true, warmUpPods: options['warm-up'], warmUpCycles: options['warm-up-cycles'] };
  const clusters = new Map<string, BenchCluster>([['default', new BenchCluster(base)]]);
  const firstSliceMs = options['compare-first-slice-ms'];
  if (firstSliceMs !== undefined) clusters.set(`first-slice-${firstSliceMs}ms`, new BenchCluster({ ...base, receiveSliceMsFirst: firstSliceMs }));
  const runs: TimelineRun[] = [];
  try {
    for (const cluster of clusters.values()) await cluster.start();
    for (let rep = 1; rep <= options.reps; rep++)
      for (const [name, cluster] of clusters) {
        let timeline: BurstTimeline | null = null;
        const run = await runBurst(cluster, size, rep, options['timeout-s'] * 1000, true, options['quiet-wait-s'] * 1000, (lines, at) => (timeline = burstTimeline(lines, at)));
        const result: TimelineRun = { cluster: name, rep, latencyMs: run.outcome === 'finished' ? run.latencyMs : null, loadAverage: load(), cpuMs: cpuByGroup(run.cpuMs), timeline };
        runs.push(result);
        if (!options.json)
          console.log(`\nburst ${rep} (${name}): ${size} pods, direct, ${run.outcome}, latency ${run.latencyMs ?? '-'} ms, load average ${result.loadAverage}\n${timeline === null ? '(no traces)' : timelineText(timeline, result.cpuMs)}`);
      }
  } finally {
    for (const cluster of clusters.values()) await cluster.stop();
  }
  const medians = Object.fromEntries([...clusters.keys()].map((name) => [name, median(runs.filter((r) => r.cluster === name && r.latencyMs !== null).map((r) => r.latencyMs as number))]));
  if (options.json) console.log(JSON.stringify({ size, runs, medianLatencyMs: medians }, null, 2));
  else console.log(`\nmedian latency: ${Object.entries(medians).map(([name, ms]) => `${name} ${ms ?? '-'} ms`).join(', ')} (${options.reps} bursts each)`);
  process.exit(runs.some((r) => r.latencyMs === null) ? exitCodes.failed : exitCodes.ok);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) await main();
