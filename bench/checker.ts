/**
 * `npm run bench:checker`: the model checker's throughput on the `ci` and `deep` presets,
 * with one worker (this thread) and with several worker threads, each run in a fresh
 * process, several times, medians printed. Runs are interleaved (ci w1, ci w2, ci w1, ...)
 * so that a noisy shared machine slows every configuration alike; CPU-seconds (user +
 * system of the whole process, all threads, during the search) are printed beside wall
 * time because they are steadier there. `deep` does not finish; it runs to a time bound
 * and its rate is over what it explored.
 * Usage: npm run bench:checker -- [--runs N] [--deep-seconds N] [--workers 1,2] [--presets ci,deep] [--json]
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseCommandLineOrExit } from '../cli/args.js';

const { options: values } = parseCommandLineOrExit({
  command: 'bench:checker',
  program: 'npm run',
  about: 'Runs kd check on each preset with each worker count, interleaved, and prints the medians.',
  options: {
    runs: { kind: 'whole', value: 'N', min: 1, max: 100, default: 3, help: 'runs of each (preset, workers); the median is printed' },
    'deep-seconds': { kind: 'whole', value: 'N', min: 1, max: 86_400, default: 60, help: 'the time bound of the deep preset' },
    workers: { kind: 'wholes', value: 'LIST', min: 1, max: 256, default: [1, 2], help: 'worker counts to compare' },
    presets: { kind: 'text', value: 'LIST', repeatable: true, help: 'presets to run, comma-separated (default ci,deep)' },
    json: { kind: 'flag', help: 'the figures as JSON' },
  },
  example: 'npm run bench:checker -- --runs 3 --workers 1,2',
  exits: { ok: 'measured', failed: 'a run did not give the expected verdict' },
});
const runs = values.runs;
const deepSeconds = values['deep-seconds'];
const workerCounts = values.workers;
const presets = values.presets.length > 0 ? values.presets : ['ci', 'deep'];
const bin = fileURLToPath(new URL('../bin/kd.mjs', import.meta.url));

interface Summary {
  verdict: string;
  bound: string | null;
  workers: number;
  distinctStates: number;
  transitions: number;
  seconds: number;
  statesPerSecond: number;
  peakMemoryBytes: number;
  cpuSeconds: number;
}

function runChecked(preset: string, workers: number): Summary {
  const args = [bin, 'check', '--preset', preset, '--json', '--workers', String(workers), ...(preset === 'deep' ? ['--max-seconds', String(deepSeconds)] : [])];
  try {
    return JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26 }).trim().split('\n').pop() as string) as Summary;
  } catch (error) {
    // Exit code 2 (bounded) is expected for deep: the summary is still on stdout.
    const stdout = (error as { stdout?: string }).stdout ?? '';
    if (stdout.trim() === '') throw error;
    return JSON.parse(stdout.trim().split('\n').pop() as string) as Summary;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

interface Row {
  preset: string;
  workers: number;
  verdict: string;
  distinctStates: number;
  transitions: number;
  wallSeconds: number;
  cpuSeconds: number;
  statesPerSecond: number;
  statesPerCpuSecond: number;
  peakMemoryMiB: number;
  runs: number;
}

const rows: Row[] = [];
for (const preset of presets) {
  const samples = new Map<number, Summary[]>(workerCounts.map((w) => [w, []]));
  for (let i = 0; i < runs; i++) {
    for (const workers of workerCounts) {
      const s = runChecked(preset, workers);
      samples.get(workers)?.push(s);
      if (values.json !== true)
        console.error(
          `${preset} workers ${workers} run ${i + 1}/${runs}: ${s.verdict}, ${s.distinctStates} states, ${s.transitions} transitions, ${s.seconds.toFixed(1)} s wall, ${s.cpuSeconds.toFixed(1)} s CPU`,
        );
    }
  }
  for (const workers of workerCounts) {
    const list = samples.get(workers) ?? [];
    rows.push({
      preset,
      workers,
      verdict: [...new Set(list.map((s) => (s.bound !== null ? `${s.verdict} (${s.bound})` : s.verdict)))].join(','),
      distinctStates: median(list.map((s) => s.distinctStates)),
      transitions: median(list.map((s) => s.transitions)),
      wallSeconds: median(list.map((s) => s.seconds)),
      cpuSeconds: median(list.map((s) => s.cpuSeconds)),
      statesPerSecond: Math.round(median(list.map((s) => s.distinctStates / s.seconds))),
      statesPerCpuSecond: Math.round(median(list.map((s) => s.distinctStates / s.cpuSeconds))),
      peakMemoryMiB: Math.round(median(list.map((s) => s.peakMemoryBytes)) / 2 ** 20),
      runs: list.length,
    });
  }
}

if (values.json === true) console.log(JSON.stringify(rows));
else {
  console.log('preset  workers  verdict                  distinct states  transitions  wall s  CPU s  states/s  states/CPU-s  peak memory');
  for (const r of rows)
    console.log(
      `${r.preset.padEnd(7)} ${String(r.workers).padStart(7)}  ${r.verdict.padEnd(24)} ${String(r.distinctStates).padStart(15)}  ${String(r.transitions).padStart(11)}  ${r.wallSeconds.toFixed(1).padStart(6)}  ${r.cpuSeconds.toFixed(1).padStart(5)}  ${String(r.statesPerSecond).padStart(8)}  ${String(r.statesPerCpuSecond).padStart(12)}  ${r.peakMemoryMiB} MiB`,
    );
  for (const preset of presets) {
    const one = rows.find((r) => r.preset === preset && r.workers === 1);
    for (const r of rows.filter((x) => x.preset === preset && x.workers > 1))
      if (one !== undefined) console.log(`${preset}: ${r.workers} workers vs 1: ${(r.statesPerSecond / one.statesPerSecond).toFixed(2)}x states per wall second`);
  }
  console.log(
    `medians of ${runs} runs each, one process per run, interleaved; ${process.version}; ${availableParallelism()} cores; peak memory: heap of the one thread, or with workers the sum of their heaps, the main thread's and the shared state table`,
  );
}
