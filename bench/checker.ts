/**
 * `npm run bench:checker`: the model checker's throughput on the `ci` and `deep` presets,
 * with one worker (this thread) and with several worker threads, each run in a fresh
 * process, several times, medians printed. Runs are interleaved (ci w1, ci w2, ci w1, ...)
 * so that a noisy shared machine slows every configuration alike; CPU-seconds (user +
 * system of the whole process, all threads, during the search) are printed beside wall
 * time because they are steadier there. `deep` does not finish; it runs to a time bound
 * and its rate is over what it explored.
 * After the presets, the standard model: TwoPhase at several N on the engine and on SPIN
 * side by side (bench/two-phase.ts), its counts checked against the known ones.
 * Wall time of each whole process is measured too (start-up and liveness included), and
 * the load average is printed, since on a shared machine it decides what wall time means;
 * so is "cores", CPU-seconds per wall second of search: near 1 with two workers means the
 * machine gave the process one core's worth, and no wall-time speed-up could show.
 * Like is compared with like: every worker count runs each preset with the same symmetry
 * reduction (on where the preset has it, e.g. `deep`, which explores ties: DEC-53, DEC-54),
 * and a run whose reduction differs from the others' stops the benchmark.
 * Usage: npm run bench:checker -- [--runs N] [--deep-seconds N] [--workers 1,2] [--presets ci,deep] [--two-phase 7,8] [--json]
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
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
    'two-phase': { kind: 'wholes', value: 'LIST', min: 0, max: 14, default: [7, 8], help: 'TwoPhase sizes N for the standard-model benchmark (0: skip it)' },
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
  /** With symmetry reduction, the number of renamings (states are then orbits); null without. */
  symmetryGroupSize: number | null;
  /** States each worker expanded (null with one worker); a worker that never joined the search expanded 0 (DEC-63). */
  expandedPerWorker: number[] | null;
  /** Wall time of the whole process (start-up, search, liveness, exit), measured here. */
  processSeconds: number;
}

function runChecked(preset: string, workers: number): Summary {
  // Symmetry reduction as the preset has it, for every worker count (the parallel search reduces too, DEC-54).
  const args = [bin, 'check', '--preset', preset, '--json', '--workers', String(workers), ...(preset === 'deep' ? ['--max-seconds', String(deepSeconds)] : [])];
  const started = performance.now();
  let stdout: string;
  try {
    stdout = execFileSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  } catch (error) {
    // Exit code 4 (bounded) is expected for deep: the summary is still on stdout.
    stdout = (error as { stdout?: string }).stdout ?? '';
    if (stdout.trim() === '') throw error;
  }
  const processSeconds = (performance.now() - started) / 1000;
  return { ...(JSON.parse(stdout.trim().split('\n').pop() as string) as Omit<Summary, 'processSeconds'>), processSeconds };
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
  processSeconds: number;
  cpuSeconds: number;
  statesPerSecond: number;
  statesPerCpuSecond: number;
  /** CPU-seconds per wall second of search: how many cores the process was given. */
  cores: number;
  symmetryGroupSize: number | null;
  peakMemoryMiB: number;
  runs: number;
  /** Workers that expanded states, median over the runs: below `workers` when the others never joined (DEC-63). */
  workersJoined: number;
}

const loadBefore = loadavg();
const rows: Row[] = [];
for (const preset of presets) {
  const samples = new Map<number, Summary[]>(workerCounts.map((w) => [w, []]));
  for (let i = 0; i < runs; i++) {
    for (const workers of workerCounts) {
      const s = runChecked(preset, workers);
      const first = [...samples.values()].flat()[0];
      if (first !== undefined && first.symmetryGroupSize !== s.symmetryGroupSize) {
        console.error(`bench:checker: ${preset} with ${workers} workers ran with symmetry group ${s.symmetryGroupSize}, another run with ${first.symmetryGroupSize}: the counts would not compare`);
        process.exit(1);
      }
      samples.get(workers)?.push(s);
      if (values.json !== true)
        console.error(
          `${preset} workers ${workers} run ${i + 1}/${runs}: ${s.verdict}, ${s.distinctStates} ${s.symmetryGroupSize !== null ? 'orbits' : 'states'}, ${s.transitions} transitions, ${s.seconds.toFixed(1)} s search, ${s.processSeconds.toFixed(1)} s process, ${s.cpuSeconds.toFixed(1)} s CPU, load ${loadavg()[0]?.toFixed(1)}`,
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
      processSeconds: median(list.map((s) => s.processSeconds)),
      cpuSeconds: median(list.map((s) => s.cpuSeconds)),
      statesPerSecond: Math.round(median(list.map((s) => s.distinctStates / s.seconds))),
      statesPerCpuSecond: Math.round(median(list.map((s) => s.distinctStates / s.cpuSeconds))),
      cores: median(list.map((s) => s.cpuSeconds / s.seconds)),
      symmetryGroupSize: list[0]?.symmetryGroupSize ?? null,
      peakMemoryMiB: Math.round(median(list.map((s) => s.peakMemoryBytes)) / 2 ** 20),
      runs: list.length,
      workersJoined: median(list.map((s) => (s.expandedPerWorker === null ? 1 : s.expandedPerWorker.filter((expanded) => expanded > 0).length))),
    });
  }
}

const loadAfter = loadavg();
const load = `load average ${loadBefore.map((x) => x.toFixed(1)).join(' ')} before, ${loadAfter.map((x) => x.toFixed(1)).join(' ')} after (1, 5, 15 min)`;
if (values.json === true) console.log(JSON.stringify({ rows, loadBefore, loadAfter }));
else {
  console.log('preset  workers  joined  verdict                  distinct states  transitions  search s  process s  CPU s  cores  states/s  states/CPU-s  peak resident');
  for (const r of rows)
    console.log(
      `${r.preset.padEnd(7)} ${String(r.workers).padStart(7)}  ${String(r.workersJoined).padStart(6)}  ${r.verdict.padEnd(24)} ${`${r.distinctStates}${r.symmetryGroupSize !== null ? ` orbits/${r.symmetryGroupSize}` : ''}`.padStart(15)}  ${String(r.transitions).padStart(11)}  ${r.wallSeconds.toFixed(1).padStart(8)}  ${r.processSeconds.toFixed(1).padStart(9)}  ${r.cpuSeconds.toFixed(1).padStart(5)}  ${r.cores.toFixed(2).padStart(5)}  ${String(r.statesPerSecond).padStart(8)}  ${String(r.statesPerCpuSecond).padStart(12)}  ${r.peakMemoryMiB} MiB`,
    );
  for (const preset of presets) {
    const one = rows.find((r) => r.preset === preset && r.workers === 1);
    for (const r of rows.filter((x) => x.preset === preset && x.workers > 1))
      if (one !== undefined)
        console.log(
          `${preset}: ${r.workers} workers vs 1: search ${one.wallSeconds.toFixed(1)} s vs ${r.wallSeconds.toFixed(1)} s, ${(r.statesPerSecond / one.statesPerSecond).toFixed(2)}x states per wall second of search; process ${one.processSeconds.toFixed(1)} s vs ${r.processSeconds.toFixed(1)} s, ${(one.processSeconds / r.processSeconds).toFixed(2)}x faster as a whole process (same states only when both finished); ${(r.statesPerCpuSecond / one.statesPerCpuSecond).toFixed(2)}x states per CPU-second; cores given ${one.cores.toFixed(2)} vs ${r.cores.toFixed(2)}`,
        );
  }
  console.log(
    `medians of ${runs} runs each, one process per run, interleaved; ${process.version}; ${availableParallelism()} cores; ${load}; joined: workers that expanded states (the others never joined: DEC-63); search s: the search as kd check reports it (wall); process s: the whole kd check process; peak resident: RSS of the process (heap, state table, parent arrays, every thread)`,
  );
}

const sizes = values['two-phase'].filter((n) => n > 0);
if (sizes.length > 0 && values.json !== true) {
  console.log('');
  const twoPhase = fileURLToPath(new URL('./two-phase.ts', import.meta.url));
  const workerList = workerCounts.join(',');
  execFileSync(process.execPath, ['--import', 'tsx', twoPhase, '--sizes', sizes.join(','), '--runs', String(runs), '--workers', workerList], { stdio: 'inherit' });
  console.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} after TwoPhase`);
}
