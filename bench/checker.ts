/**
 * `npm run bench:checker`: the model checker's throughput on the `ci` and `deep`
 * presets, each run in a fresh process, several times, medians printed. `deep` does not
 * finish; it runs to a time bound and its rate is reported over what it explored.
 * Usage: npm run bench:checker -- [--runs N] [--deep-seconds N] [--json]
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { runs: { type: 'string' }, 'deep-seconds': { type: 'string' }, json: { type: 'boolean' } } });
const runs = Number(values.runs ?? 3);
const deepSeconds = Number(values['deep-seconds'] ?? 60);
const bin = fileURLToPath(new URL('../bin/kd.mjs', import.meta.url));

interface Summary {
  verdict: string;
  distinctStates: number;
  transitions: number;
  seconds: number;
  statesPerSecond: number;
  peakMemoryBytes: number;
  cpuSeconds: number;
}

function runOnce(preset: string, extra: string[]): Summary {
  const started = process.hrtime.bigint();
  const out = execFileSync(process.execPath, [bin, 'check', '--preset', preset, '--json', ...extra], { encoding: 'utf8', maxBuffer: 1 << 26 }).trim();
  void started;
  return JSON.parse(out.split('\n').pop() as string) as Summary;
}

function runChecked(preset: string, extra: string[]): Summary {
  try {
    return runOnce(preset, extra);
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

const results: Record<string, unknown> = {};
for (const [preset, extra] of [
  ['ci', [] as string[]],
  ['deep', ['--max-seconds', String(deepSeconds)]],
] as const) {
  const samples: Summary[] = [];
  for (let i = 0; i < runs; i++) {
    const s = runChecked(preset, [...extra]);
    samples.push(s);
    if (values.json !== true)
      console.error(`${preset} run ${i + 1}/${runs}: ${s.verdict}, ${s.distinctStates} states, ${s.seconds.toFixed(1)} s wall, ${s.cpuSeconds.toFixed(1)} s CPU`);
  }
  const row = {
    verdict: samples.map((s) => s.verdict).join(','),
    distinctStates: median(samples.map((s) => s.distinctStates)),
    transitions: median(samples.map((s) => s.transitions)),
    wallSeconds: median(samples.map((s) => s.seconds)),
    statesPerSecond: Math.round(median(samples.map((s) => s.statesPerSecond))),
    statesPerCpuSecond: Math.round(median(samples.map((s) => s.distinctStates / s.cpuSeconds))),
    peakHeapMiB: Math.round(median(samples.map((s) => s.peakMemoryBytes)) / 2 ** 20),
    runs,
  };
  results[preset] = row;
}
if (values.json === true) console.log(JSON.stringify(results));
else {
  console.log('preset  verdict                    distinct states  transitions  wall s   states/s  states/CPU-s  peak heap');
  for (const [preset, r] of Object.entries(results) as Array<[string, Record<string, number | string>]>)
    console.log(
      `${preset.padEnd(7)} ${String(r.verdict).padEnd(26)} ${String(r.distinctStates).padStart(15)}  ${String(r.transitions).padStart(11)}  ${Number(r.wallSeconds).toFixed(1).padStart(6)}  ${String(r.statesPerSecond).padStart(8)}  ${String(r.statesPerCpuSecond).padStart(12)}  ${r.peakHeapMiB} MiB`,
    );
  console.log(`medians of ${runs} runs each, one process per run; ${process.version}; ${(await import('node:os')).cpus().length} cores`);
}
