/**
 * `npm run bench:machines`: the machines' own cost of an upscaling burst, the whole
 * chain stepped in one thread with instant delivery (chain-pump.ts), no I/O. It tells
 * how far the protocol logic alone is from a throughput target, and which stage's
 * steps dominate. Each configuration runs in a fresh process (no JIT or heap carried
 * over from another configuration), several times, interleaved; CPU time, medians
 * printed. In its process a run first pumps `--warm-up` unmeasured bursts of the same
 * size on fresh chains: without them a 5,000-pod run measured mostly V8's optimizing
 * compiler (about 1.2 of 1.7 CPU-s in its background threads), not the machines, which
 * in a stage process run warm.
 *
 * Usage: npm run bench:machines -- [--sizes 100,1000,5000,10000] [--functions 1,100] [--nodes 8] [--runs 3] [--warm-up 2] [--json]
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseCommandLineOrExit } from '../../cli/args.js';
import { median } from '../burst/stats.js';
import { pumpBurst, type PumpRun } from './chain-pump.js';

const { options: values } = parseCommandLineOrExit({
  command: 'bench:machines',
  program: 'npm run',
  about: `The machines' own cost of an upscaling burst (the whole chain in one thread, instant
delivery, no I/O), each configuration in a fresh process, interleaved; CPU time, medians.`,
  options: {
    sizes: { kind: 'wholes', value: 'LIST', min: 1, max: 10_000_000, default: [100, 1000, 5000, 10000], help: 'burst sizes (pods)' },
    functions: { kind: 'wholes', value: 'LIST', min: 1, max: 100_000, default: [1, 100], help: 'functions per burst' },
    nodes: { kind: 'whole', value: 'N', min: 1, max: 10_000, default: 8, help: 'Kubelets' },
    runs: { kind: 'whole', value: 'N', min: 1, max: 1_000, default: 3, help: 'runs of each configuration; the median is printed' },
    'warm-up': { kind: 'whole', value: 'N', min: 0, max: 1_000, default: 2, help: 'unmeasured bursts before the measured one, in its process' },
    json: { kind: 'flag', help: 'the figures as JSON' },
    'one-run': { kind: 'wholes', value: 'PODS,FUNCTIONS,NODES,WARMUPS', min: 0, max: 10_000_000, help: 'internal: one measured run in this process' },
  },
  example: 'npm run bench:machines -- --sizes 1000,5000',
  exits: { ok: 'measured' },
});
if (values['one-run'] !== undefined) {
  // A child process: the warm-up bursts, then the measured one, its figures on stdout.
  const [pods = 0, functions = 1, nodes = 1, warmUps = 0] = values['one-run'];
  for (let i = 0; i < warmUps; i++) pumpBurst(pods, functions, nodes);
  console.log(JSON.stringify(pumpBurst(pods, functions, nodes)));
  process.exit(0);
}

const sizes = values.sizes;
const functionCounts = values.functions;
const nodes = values.nodes;
const runs = values.runs;
const warmUps = values['warm-up'];
const script = fileURLToPath(import.meta.url);

function oneRun(pods: number, functions: number): PumpRun {
  const out = execFileSync(process.execPath, ['--import', 'tsx', script, '--one-run', `${pods},${functions},${nodes},${warmUps}`], { encoding: 'utf8', maxBuffer: 1 << 24 });
  return JSON.parse(out.trim().split('\n').pop() as string) as PumpRun;
}

const configurations = functionCounts.flatMap((functions) => sizes.filter((pods) => pods >= functions).map((pods) => ({ pods, functions })));
const results = new Map<string, PumpRun[]>();
for (let run = 0; run < runs; run++)
  for (const { pods, functions } of configurations) {
    const key = `${pods}/${functions}`;
    const result = oneRun(pods, functions);
    results.set(key, [...(results.get(key) ?? []), result]);
    if (!values.json) process.stderr.write(`run ${run + 1}/${runs}: ${pods} pods over ${functions} function(s): ${result.cpuMs.toFixed(0)} CPU-ms\n`);
  }

const summary = configurations.map(({ pods, functions }) => {
  const list = results.get(`${pods}/${functions}`) ?? [];
  const cpuMs = median(list.map((r) => r.cpuMs)) ?? 0;
  const roles = Object.keys(list[0]?.msByRole ?? {});
  return {
    pods,
    functions,
    nodes,
    steps: list[0]?.steps ?? 0,
    cpuMsP50: cpuMs,
    podsPerCpuSecond: cpuMs > 0 ? (pods / cpuMs) * 1000 : null,
    microsecondsPerStep: list[0] === undefined ? null : (cpuMs * 1000) / list[0].steps,
    msByRoleP50: Object.fromEntries(roles.map((role) => [role, median(list.map((r) => r.msByRole[role] ?? 0)) ?? 0])),
  };
});

if (values.json) console.log(JSON.stringify({ runs, warmUps, summary }));
else {
  console.log(`machines only, whole chain in one thread, ${nodes} nodes, median of ${runs} fresh processes, each after ${warmUps} warm-up burst(s) (CPU time)`);
  console.log('pods  functions  steps   CPU-ms  pods/CPU-s  µs/step  by stage (ms)');
  for (const s of summary)
    console.log(
      `${String(s.pods).padStart(5)}  ${String(s.functions).padStart(9)}  ${String(s.steps).padStart(6)}  ${s.cpuMsP50.toFixed(0).padStart(7)}  ${(s.podsPerCpuSecond ?? 0).toFixed(0).padStart(10)}  ${(s.microsecondsPerStep ?? 0).toFixed(1).padStart(7)}  ${Object.entries(s.msByRoleP50).map(([r, ms]) => `${r} ${ms.toFixed(0)}`).join(', ')}`,
    );
}
