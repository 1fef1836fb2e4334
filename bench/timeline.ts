/**
 * `npm run bench:timeline`: where the wall time of a direct burst goes. Starts one direct
 * cluster (as bench:burst does: 8 Kubelets, simulated sandboxes with start delay 0, the
 * same warm-up), runs --reps bursts of --size pods over one function and prints each
 * burst's per-stage timeline (bench/burst/timeline.ts) with each stage's CPU during the
 * burst: when the first and last record arrived and left, the hop into the stage, the
 * milliseconds the stage was active and idle inside its span, and its largest gap.
 *
 * Usage: npm run bench:timeline -- [--size 1000] [--reps 3] [--nodes 8] [--warm-up 5000] [--warm-up-cycles 3] [--json]
 */
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseCommandLineOrExit, type CommandLineSpec } from '../cli/args.js';
import { exitCodes } from '../cli/exit-codes.js';
import { BenchCluster } from './burst/cluster.js';
import { runBurst } from './burst/run-burst.js';
import { burstTimeline, cpuByGroup, timelineText, type BurstTimeline } from './burst/timeline.js';

export const timelineCommandLine = {
  command: 'bench:timeline',
  program: 'npm run',
  about: `Prints the per-stage timeline of direct bursts over one function: for each stage,
when the burst's first and last record arrived and left, the hop into it, the
milliseconds it was active and idle, and its CPU during the burst.`,
  options: {
    size: { kind: 'whole', value: 'N', min: 1, max: 1_000_000, default: 1000, help: 'pods per burst' },
    reps: { kind: 'whole', value: 'N', min: 1, max: 1_000, default: 3, help: 'bursts' },
    nodes: { kind: 'whole', value: 'N', min: 1, max: 1_000, default: 8, help: 'Kubelets' },
    'warm-up': { kind: 'whole', value: 'N', min: 0, max: 1_000_000, default: 5000, help: 'pods of each unmeasured warm-up cycle (0: none)' },
    'warm-up-cycles': { kind: 'whole', value: 'N', min: 1, max: 100, default: 3, help: 'warm-up cycles' },
    'timeout-s': { kind: 'whole', value: 'N', min: 1, max: 86_400, default: 120, help: 'per burst' },
    json: { kind: 'flag', help: 'print the JSON result' },
  },
  example: 'npm run bench:timeline -- --size 1000 --reps 3',
  exits: { ok: 'every burst finished', failed: 'a burst did not finish within its timeout' },
} as const satisfies CommandLineSpec;

function load(): string {
  return loadavg().map((l) => l.toFixed(1)).join(' ');
}

async function main(): Promise<void> {
  const { options } = parseCommandLineOrExit(timelineCommandLine);
  const size = options.size;
  const cluster = new BenchCluster({ mode: 'direct', functions: 1, nodes: options.nodes, capacity: Math.max(size, options['warm-up']), etcd: null, startDelayMs: 0, podObjects: true, warmUpPods: options['warm-up'], warmUpCycles: options['warm-up-cycles'] });
  const results: Array<{ rep: number; latencyMs: number | null; loadAverage: string; timeline: BurstTimeline; cpuMs: Record<string, number> }> = [];
  let failed = false;
  try {
    await cluster.start();
    for (let rep = 1; rep <= options.reps; rep++) {
      let timeline: BurstTimeline | null = null;
      const run = await runBurst(cluster, size, rep, options['timeout-s'] * 1000, true, 30_000, (lines, at) => (timeline = burstTimeline(lines, at)));
      if (run.outcome !== 'finished' || timeline === null) failed = true;
      const cpuMs = cpuByGroup(run.cpuMs);
      const loadAverage = load();
      if (timeline !== null) results.push({ rep, latencyMs: run.latencyMs, loadAverage, timeline, cpuMs });
      if (!options.json)
        console.log(`\nburst ${rep}: ${size} pods, direct, ${run.outcome}, latency ${run.latencyMs ?? '-'} ms, load average ${loadAverage}\n${timeline === null ? '(no traces)' : timelineText(timeline, cpuMs)}`);
    }
  } finally {
    await cluster.stop();
  }
  if (options.json) console.log(JSON.stringify({ size, results }, null, 2));
  process.exit(failed ? exitCodes.failed : exitCodes.ok);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) await main();
