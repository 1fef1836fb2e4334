/**
 * The engine against a standard model and the field's reference checker: TwoPhase (TLA+
 * TwoPhase, N resource managers; checker/engine/models/two-phase.ts) searched by
 * checker/engine/ with one worker and with worker threads, and the same model in Promela
 * searched by SPIN (exhaustive, gcc -O2) when `spin` and `gcc` are on the PATH (Debian
 * package `spin`; skipped otherwise). Every run is a fresh process; runs are interleaved
 * and medians printed. Distinct states are checked against the known counts (TLC's at
 * N = 7 and 9; N = 3..6 as cross-checked by checker/engine/test/two-phase.test.ts).
 * Run by `npm run bench:checker` (bench/checker.ts) or alone:
 *   npx tsx bench/two-phase.ts [--sizes 7,8] [--runs 3] [--workers 1,2]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandLineOrExit } from '../cli/args.js';
import { twoPhaseModel, twoPhaseModelOf } from '../checker/engine/models/two-phase.js';
import { searchParallel } from '../checker/engine/parallel.js';
import { search } from '../checker/engine/search.js';

/** Distinct states of TwoPhase by N (TLC's published counts at 7 and 9). */
export const twoPhaseKnownStates: Readonly<Record<number, number>> = { 3: 288, 4: 1568, 5: 8832, 6: 50_816, 7: 296_448, 9: 10_340_352 };

interface Sample {
  readonly checker: string;
  readonly n: number;
  readonly states: number;
  readonly seconds: number;
  readonly cpuSeconds: number | null;
  readonly peakMemoryBytes: number | null;
}

const { options } = parseCommandLineOrExit({
  command: 'bench/two-phase.ts',
  program: 'npx tsx',
  about: 'TwoPhase on the engine (1 and more workers) and on SPIN, interleaved runs, medians.',
  options: {
    sizes: { kind: 'wholes', value: 'LIST', min: 1, max: 14, default: [7, 8], help: 'resource-manager counts N' },
    runs: { kind: 'whole', value: 'N', min: 1, max: 100, default: 3, help: 'runs of each (checker, N)' },
    workers: { kind: 'wholes', value: 'LIST', min: 1, max: 64, default: [1, 2], help: 'engine worker counts' },
    child: { kind: 'text', value: 'SPEC', help: 'internal: one engine run, WORKERS:N' },
    json: { kind: 'flag', help: 'the medians as JSON' },
  },
  example: 'npx tsx bench/two-phase.ts --sizes 7,9 --runs 3',
  exits: { ok: 'measured', failed: 'a count differed from the known one' },
});

async function engineRun(workers: number, n: number): Promise<Sample> {
  const result =
    workers === 1
      ? search(twoPhaseModel(n))
      : await searchParallel(twoPhaseModelOf(n), { module: new URL('../checker/engine/models/two-phase.ts', import.meta.url).href, exportName: 'twoPhaseModelOf', argument: n }, { workers });
  return { checker: `engine, ${workers} worker${workers === 1 ? '' : 's'}`, n, states: result.states, seconds: result.seconds, cpuSeconds: result.cpuSeconds, peakMemoryBytes: result.peakMemoryBytes };
}

if (options.child !== undefined && options.child !== '') {
  const [workers, n] = options.child.split(':').map(Number) as [number, number];
  console.log(JSON.stringify(await engineRun(workers, n)));
  process.exit(0);
}

/** TwoPhase in Promela: one process whose loop offers every action as a d_step (no intermediate states stored), TCConsistent asserted after each. */
export function twoPhasePromela(n: number): string {
  const rms = Array.from({ length: n }, (_, r) => r);
  const consistent = `assert(!((${rms.map((r) => `rm[${r}] == 2`).join(' || ')}) && (${rms.map((r) => `rm[${r}] == 3`).join(' || ')})))`;
  const option = (guard: string, effect: string) => `  :: d_step { ${guard} -> ${effect}; ${consistent} }`;
  const options = rms.flatMap((r) => [
    option(`tm == 0 && prepared[${r}]`, `tmPrepared[${r}] = 1`),
    option(`rm[${r}] == 0`, `rm[${r}] = 1; prepared[${r}] = 1`),
    option(`rm[${r}] == 0`, `rm[${r}] = 3`),
    option('commitMessage', `rm[${r}] = 2`),
    option('abortMessage', `rm[${r}] = 3`),
  ]);
  options.push(option(`tm == 0 && ${rms.map((r) => `tmPrepared[${r}]`).join(' && ')}`, 'tm = 1; commitMessage = 1'));
  options.push(option('tm == 0', 'tm = 2; abortMessage = 1'));
  return [
    `/* TwoPhase, ${n} resource managers: rm 0 working, 1 prepared, 2 committed, 3 aborted; tm 0 init, 1 committed, 2 aborted */`,
    `byte rm[${n}]; byte tm; bit tmPrepared[${n}]; bit prepared[${n}]; bit commitMessage; bit abortMessage;`,
    'active proctype twoPhase() {',
    '  do',
    ...options,
    '  od',
    '}',
    '',
  ].join('\n');
}

function spinAvailable(): boolean {
  return ['spin', 'gcc'].every((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0);
}

/** log2 of SPIN's hash table slots: about twice the expected states (they grow about 5.8x per resource manager). */
function spinHashBits(n: number): number {
  return Math.min(28, Math.max(16, Math.ceil(Math.log2(288 * 5.8 ** (n - 3))) + 1));
}

function spinRun(dir: string, n: number): Sample {
  const out = execFileSync('./pan', ['-m10000000', `-w${spinHashBits(n)}`], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 24 });
  const stored = /(\d+) states, stored/.exec(out);
  const elapsed = /elapsed time ([\d.e+-]+) seconds/.exec(out);
  const memory = /([\d.]+)\s+total actual memory usage/.exec(out);
  if (stored === null || elapsed === null) throw new Error(`unexpected SPIN output:\n${out}`);
  if (/assertion violated/.test(out)) throw new Error('SPIN found TCConsistent violated');
  return { checker: 'SPIN (gcc -O2)', n, states: Number(stored[1]), seconds: Number(elapsed[1]), cpuSeconds: null, peakMemoryBytes: memory === null ? null : Number(memory[1]) * 2 ** 20 };
}

function spinBuild(n: number): string {
  const dir = mkdtempSync(join(tmpdir(), `kd-spin-two-phase-${n}-`));
  writeFileSync(join(dir, 'two-phase.pml'), twoPhasePromela(n));
  execFileSync('spin', ['-a', 'two-phase.pml'], { cwd: dir, stdio: 'ignore' });
  execFileSync('gcc', ['-O2', '-DSAFETY', '-DNOREDUCE', '-DMEMLIM=8192', '-o', 'pan', 'pan.c'], { cwd: dir, stdio: 'ignore' });
  return dir;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const self = fileURLToPath(import.meta.url);
const withSpin = spinAvailable();
const rows: Array<{ checker: string; n: number; states: number; known: number | null; seconds: number; cpuSeconds: number | null; statesPerSecond: number; peakMemoryMiB: number | null }> = [];
let mismatch = false;
for (const n of options.sizes) {
  const samples = new Map<string, Sample[]>();
  const spinDir = withSpin ? spinBuild(n) : null;
  try {
    for (let i = 0; i < options.runs; i++) {
      const runs: Sample[] = options.workers.map((w) => JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', self, '--child', `${w}:${n}`], { encoding: 'utf8' }).trim()) as Sample);
      if (spinDir !== null) runs.push(spinRun(spinDir, n));
      for (const s of runs) samples.set(s.checker, [...(samples.get(s.checker) ?? []), s]);
    }
  } finally {
    if (spinDir !== null) rmSync(spinDir, { recursive: true, force: true });
  }
  for (const [checker, list] of samples) {
    const states = (list[0] as Sample).states;
    const known = twoPhaseKnownStates[n] ?? null;
    // SPIN stores the state before the loop's first step too, hence at most one more.
    if (list.some((s) => s.states !== states) || (known !== null && (checker.startsWith('SPIN') ? states - known > 1 || states < known : states !== known))) mismatch = true;
    const memories = list.map((s) => s.peakMemoryBytes).filter((m): m is number => m !== null);
    const cpus = list.map((s) => s.cpuSeconds).filter((c): c is number => c !== null);
    rows.push({
      checker,
      n,
      states,
      known,
      seconds: median(list.map((s) => s.seconds)),
      cpuSeconds: cpus.length > 0 ? median(cpus) : null,
      statesPerSecond: Math.round(median(list.map((s) => s.states / Math.max(s.seconds, 1e-6)))),
      peakMemoryMiB: memories.length > 0 ? Math.round(median(memories) / 2 ** 20) : null,
    });
  }
}
if (options.json) console.log(JSON.stringify(rows));
else {
  console.log('TwoPhase  checker                 distinct states    known  search s  CPU s   states/s  memory');
  for (const r of rows)
    console.log(
      `N=${String(r.n).padEnd(7)} ${r.checker.padEnd(22)} ${String(r.states).padStart(15)}  ${r.known === null ? '      -' : r.known === r.states ? '     ok' : String(r.known).padStart(7)}  ${r.seconds.toFixed(2).padStart(8)}  ${r.cpuSeconds === null ? '    -' : r.cpuSeconds.toFixed(2).padStart(5)}  ${String(r.statesPerSecond).padStart(9)}  ${r.peakMemoryMiB === null ? '-' : `${r.peakMemoryMiB} MiB`}`,
    );
  console.log(`medians of ${options.runs} interleaved runs; engine: one fresh process per run, memory = peak resident; SPIN: ${withSpin ? "pan's elapsed time and its own memory count" : 'not run (spin or gcc not on the PATH)'}`);
}
if (mismatch) {
  console.error('a distinct-state count differed from the known one (or between runs)');
  process.exit(1);
}
