/** `kd check`: exhaustive model checking of the chain, and seeded random walks beyond it. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { loadCheckConfig, ConfigError } from '../checker/chain/config-file.js';
import { ChainModel, chainModelModule } from '../checker/chain/model.js';
import { presetNames, presets, type CheckConfig } from '../checker/chain/presets.js';
import { buildTrace, type CounterexampleTrace } from '../checker/chain/trace.js';
import { randomWalks } from '../checker/engine/random-walk.js';
import { autoWorkers, searchParallel } from '../checker/engine/parallel.js';
import { search, type SearchOptions, type SearchResult } from '../checker/engine/search.js';
import { consequenceOf, traceToHtml, traceToMermaid, type Consequence } from '../checker/render/index.js';
import { describeEpoch } from '../machines/index.js';
import { variantNames, type ProtocolVariant } from '../spec/variants.js';
import { helpOf, parseCommandLine, UsageError, type CommandLineSpec } from './args.js';
import { exitCodes } from './exit-codes.js';

export const checkCommandLine = {
  command: 'check',
  about: `Explores every interleaving of the chain's machines (message deliveries, sandbox
events, connects), the scale script and the faults of the budgets, checking every
safety invariant of spec/ in every state and convergence (LIVE-CONVERGENCE) under weak
fairness after the last fault. Prints the shortest counterexample when one exists.`,
  options: {
    preset: { kind: 'text', value: 'NAME|FILE', default: 'smoke', help: `${presetNames().join(', ')}, or a .json/.yaml config` },
    variant: { kind: 'choice', value: 'NAME', choices: ['correct', ...variantNames], default: 'correct', help: 'check a known-bad variant' },
    strategy: { kind: 'choice', value: 'bfs|dfs', choices: ['bfs', 'dfs'], default: 'bfs', help: 'breadth-first (shortest counterexamples) or depth-first' },
    workers: {
      kind: 'whole',
      value: 'N|auto',
      min: 1,
      max: 256,
      default: 1,
      word: 'auto',
      help: 'breadth-first search on N worker threads sharing one state table (1: this thread; auto: one per core). Counterexamples stay shortest; liveness is then checked on the main thread after the search',
    },
    'max-states': { kind: 'whole', value: 'N', min: 1, max: 1e9, help: 'stop after N distinct states (exit 4)' },
    'max-depth': { kind: 'whole', value: 'N', min: 1, max: 1e6, help: 'do not expand states deeper than N (exit 4 if that cut anything)' },
    'max-seconds': { kind: 'whole', value: 'N', min: 1, max: 1e6, help: 'stop after N seconds (exit 4)' },
    'max-memory-mb': { kind: 'whole', value: 'N', min: 1, max: 1e6, help: 'stop when the heap and the search\'s typed arrays (state table, parent arrays, frontier) exceed N MiB (exit 4; default 80% of the heap limit)' },
    'no-liveness': { kind: 'flag', help: 'check safety only' },
    'random-walks': { kind: 'whole', value: 'N', min: 1, max: 1e9, help: 'instead of exhaustive search, N seeded random walks' },
    'walk-depth': { kind: 'whole', value: 'N', min: 1, max: 1e7, default: 400, help: 'steps per random walk' },
    seed: { kind: 'whole', value: 'N', min: 0, max: 2 ** 32 - 1, default: 1, help: 'seed of the random walks' },
    out: { kind: 'text', value: 'DIR', default: join('out', 'counterexamples'), help: 'where counterexample files go' },
    json: { kind: 'flag', help: 'one JSON summary on stdout, no progress' },
    'list-presets': { kind: 'flag', help: 'print the preset names, one a line' },
    'list-variants': { kind: 'flag', help: 'print the known-bad variant names, one a line' },
  },
  example: 'npx kd check --preset ci',
  exits: { ok: 'verified', failed: 'property violated', incomplete: 'bound reached before the search completed' },
} as const satisfies CommandLineSpec;

interface CheckArguments {
  readonly preset: string;
  readonly variant: ProtocolVariant;
  readonly strategy: 'bfs' | 'dfs';
  readonly workers: number;
  readonly maxStates?: number;
  readonly maxDepth?: number;
  readonly maxSeconds?: number;
  readonly maxMemoryMb?: number;
  readonly liveness: boolean;
  readonly randomWalks?: number;
  readonly walkDepth: number;
  readonly seed: number;
  readonly out: string;
  readonly json: boolean;
}

function parseCheckArguments(argv: readonly string[]): CheckArguments | 'help' | 'list-presets' | 'list-variants' {
  const parsed = parseCommandLine(checkCommandLine, argv);
  if (parsed === 'help') return 'help';
  const v = parsed.options;
  if (v['list-presets']) return 'list-presets';
  if (v['list-variants']) return 'list-variants';
  const workers = v.workers === 'auto' ? autoWorkers() : v.workers;
  if (workers > 1 && v.strategy === 'dfs') throw new UsageError('--workers above 1 searches breadth-first; drop --strategy dfs or use --workers 1');
  const bounds = { maxStates: v['max-states'], maxDepth: v['max-depth'], maxSeconds: v['max-seconds'], maxMemoryMb: v['max-memory-mb'], randomWalks: v['random-walks'] };
  return {
    preset: v.preset,
    variant: v.variant,
    strategy: v.strategy,
    workers,
    liveness: !v['no-liveness'],
    walkDepth: v['walk-depth'],
    seed: v.seed,
    out: v.out,
    json: v.json,
    ...Object.fromEntries(Object.entries(bounds).filter(([, value]) => value !== undefined)),
  };
}

/** The scale requests the model chooses, in words (empty without scaleChoices). */
export function scaleChoicesText(check: CheckConfig): string {
  const c = check.scaleChoices;
  if (c === undefined || c.steps === 0) return '';
  return `, then ${c.steps} chosen by the model (${(c.functions ?? check.chain.functions.map((f) => f.name)).join('/')} to any of ${c.range[0]}..${c.range[1]}, at any point)`;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

function writeCounterexample(dir: string, trace: CounterexampleTrace, consequence: Consequence): { json: string; mermaid: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${trace.check.name.replace(/[^a-z0-9-]/gi, '_')}-${trace.check.chain.variant}-${trace.property}`);
  const files = { json: `${base}.json`, mermaid: `${base}.mmd`, html: `${base}.html` };
  writeFileSync(files.json, `${JSON.stringify(trace, null, 1)}\n`);
  writeFileSync(files.mermaid, traceToMermaid(trace));
  writeFileSync(files.html, traceToHtml(trace, consequence));
  return files;
}

/** What a user would see: the damage the run leads to (checker/render/consequence.ts). */
function printConsequence(trace: CounterexampleTrace, consequence: Consequence, print: (line: string) => void): void {
  if (consequence.found === 'none') {
    print(`what a user would see: no damage in this configuration (no continuation of this run and no run from the start shows any); spec/08-known-bad-variants.md says what ${trace.check.chain.variant} leads to elsewhere`);
    return;
  }
  const where =
    consequence.found === 'extended'
      ? `not after this run (every continuation without a new fault ends well), but in a run of ${consequence.trace.steps.length} steps from the start, at step ${consequence.harmStep ?? '?'}`
      : consequence.trace.steps.length === trace.steps.length
        ? `at step ${consequence.harmStep ?? '?'} itself`
        : `running on ${consequence.trace.steps.length - trace.steps.length} more steps of the machines, at step ${consequence.harmStep ?? '?'}`;
  print(`what a user would see, ${where} (the HTML page shows the run and the full state at each step):`);
  for (const harm of consequence.harms) print(`  ${harm.text}`);
}

function printTrace(trace: CounterexampleTrace, print: (line: string) => void): void {
  print(`${trace.kind === 'safety' ? 'Shortest counterexample' : 'Counterexample'} (${trace.steps.length} steps):`);
  for (const step of trace.steps) {
    const cycle = trace.cycleStartStep === step.step ? '  <- cycle starts here' : '';
    print(`  ${String(step.step).padStart(3)}. ${step.description}${step.delivered !== null ? `: ${step.delivered.label}, epoch ${describeEpoch(step.delivered.epoch)}` : ''}${cycle}`);
    for (const change of step.changed) print(`         ${change.stage}: ${change.summary}`);
    for (const v of step.violations) print(`         !! ${v.property}: ${v.message}`);
  }
}

export async function runCheck(argv: readonly string[], print: (line: string) => void): Promise<number> {
  const args = parseCheckArguments(argv);
  if (args === 'help') {
    print(helpOf(checkCommandLine));
    return exitCodes.ok;
  }
  if (args === 'list-presets') {
    for (const name of presetNames()) print(name);
    return exitCodes.ok;
  }
  if (args === 'list-variants') {
    for (const name of variantNames) print(name);
    return exitCodes.ok;
  }
  let check;
  try {
    check = loadCheckConfig(args.preset, args.variant);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
  const model = new ChainModel(check);
  const progress = (line: string) => {
    if (!args.json) process.stderr.write(`${line}\n`);
  };
  if (!args.json) {
    print(`kd check: preset ${check.name} (${presets[check.name]?.description ?? check.description}), variant ${check.chain.variant}`);
    print(
      `  nodes ${check.chain.nodes.map((n) => `${n.name}:${n.capacity}`).join(' ')}; functions ${check.chain.functions.map((f) => `${f.name}(p${f.priority})`).join(' ')}; ` +
        `scale ${check.scaleScript.map((s) => `${s.function}->${s.desired}`).join(', ')}${scaleChoicesText(check)}; faults ${JSON.stringify(check.budgets)}`,
    );
  }

  if (args.randomWalks !== undefined) {
    const result = randomWalks(model, {
      walks: args.randomWalks,
      depth: args.walkDepth,
      seed: args.seed,
      ...(args.maxSeconds !== undefined ? { maxSeconds: args.maxSeconds } : {}),
      onProgress: (p) => progress(`  walks ${p.walks}, steps ${p.steps}, ${p.seconds.toFixed(0)} s`),
    });
    const trace = result.violation === null ? null : buildTrace(check, result.violation);
    const consequence = trace === null ? null : consequenceOf(trace);
    const files = trace === null || consequence === null ? null : writeCounterexample(args.out, trace, consequence);
    if (args.json) print(JSON.stringify({ mode: 'random-walks', ...result, violation: result.violation && { property: result.violation.property, message: result.violation.message, steps: result.violation.path.length }, files }));
    else {
      print(`random walks: ${result.walks} walks, ${result.steps} steps, ${result.seconds.toFixed(1)} s, seed ${result.seed}`);
      if (trace !== null && files !== null) {
        print(`VIOLATED ${trace.property} in walk ${result.walk} (replay: kd check --preset ${args.preset} --variant ${args.variant} --random-walks ${(result.walk ?? 0) + 1} --seed ${args.seed}, or kd replay ${files.json})`);
        printTrace(trace, print);
        if (consequence !== null) printConsequence(trace, consequence, print);
        print(`files: ${files.json} ${files.mermaid} ${files.html}`);
      } else print('no violation found (random walks are not exhaustive)');
    }
    return result.violation !== null ? exitCodes.failed : exitCodes.ok;
  }

  const maxSeconds = args.maxSeconds ?? check.maxSeconds;
  const maxStates = args.maxStates ?? check.maxStates;
  const maxDepth = args.maxDepth ?? check.maxDepth;
  const searchOptions: SearchOptions = {
    strategy: args.strategy,
    liveness: args.liveness,
    ...(maxStates !== undefined ? { maxStates } : {}),
    ...(maxDepth !== undefined ? { maxDepth } : {}),
    ...(maxSeconds !== undefined ? { maxSeconds } : {}),
    // Without --max-memory-mb, stop at 80% of the heap limit: exit 4 with a stated bound, not a crash.
    maxMemoryBytes: args.maxMemoryMb !== undefined ? args.maxMemoryMb * 2 ** 20 : Math.floor(getHeapStatistics().heap_size_limit * 0.8),
    onProgress: (p) =>
      progress(
        `  states ${p.states}  transitions ${p.transitions}  depth ${p.depth}  queued ${p.queued}  ${Math.round(p.statesPerSecond)} states/s  ${mib(p.memoryBytes)}  ${p.seconds.toFixed(0)} s`,
      ),
  };
  const result: SearchResult =
    args.workers > 1
      ? await searchParallel(model, { module: chainModelModule, exportName: 'chainModelOf', argument: check }, { ...searchOptions, workers: args.workers })
      : search(model, searchOptions);
  const trace = result.violation === null ? null : buildTrace(check, result.violation);
  const consequence = trace === null ? null : consequenceOf(trace);
  const files = trace === null || consequence === null ? null : writeCounterexample(args.out, trace, consequence);
  const memo = model.memoStats();
  if (args.json) {
    print(
      JSON.stringify({
        verdict: result.verdict,
        bound: result.bound ?? null,
        preset: check.name,
        variant: check.chain.variant,
        strategy: args.strategy,
        workers: result.workers,
        expandedPerWorker: result.expandedPerWorker ?? null,
        statesHandedOver: result.statesHandedOver ?? null,
        distinctStates: result.states,
        transitions: result.transitions,
        depth: result.depth,
        seconds: result.seconds,
        statesPerSecond: result.statesPerSecond,
        cpuSeconds: result.cpuSeconds,
        // Resident memory of the process (RSS: heap, fingerprint table, parent and edge arrays, every thread), and its parts.
        peakMemoryBytes: result.peakMemoryBytes,
        peakHeapBytes: result.peakHeapBytes,
        peakArrayBuffersBytes: result.peakArrayBuffersBytes,
        collisionProbability: result.collisionProbability,
        livenessChecked: result.livenessChecked,
        violatedProperty: result.violation?.property ?? null,
        violation: result.violation === null ? null : { kind: result.violation.kind, message: result.violation.message, steps: result.violation.path.length },
        consequence: consequence === null ? null : { found: consequence.found, harmStep: consequence.harmStep, steps: consequence.trace.steps.length, harms: consequence.harms },
        sometimes: result.sometimes,
        // With worker threads each worker memoizes its own steps; they are not collected.
        machineSteps: result.workers === 1 ? memo.stageSteps : null,
        memoizedStepsReused: result.workers === 1 ? memo.reused : null,
        files,
      }),
    );
  } else {
    print(
      `${result.verdict.toUpperCase()}${result.bound !== undefined ? ` (bound reached: ${result.bound})` : ''}: ${result.states} distinct states, ${result.transitions} transitions, ` +
        `depth ${result.depth}, ${result.seconds.toFixed(1)} s, ${Math.round(result.statesPerSecond)} states/s, ${result.cpuSeconds.toFixed(1)} CPU-s, ` +
        `${result.workers} worker${result.workers === 1 ? '' : 's'}`,
    );
    print(
      `  peak memory: resident ${mib(result.peakMemoryBytes)} (the whole process), of it heap ${mib(result.peakHeapBytes)}${result.workers > 1 ? ' (all threads)' : ''} and array buffers ${mib(result.peakArrayBuffersBytes)} (state table, parent and edge arrays, frontier)`,
    );
    print(`  fingerprints: 64-bit, estimated collision probability ${result.collisionProbability.toExponential(1)}`);
    print(`  ${result.workers === 1 ? `machine steps run ${memo.stageSteps}, reused from memo ${memo.reused}` : 'machine steps memoized per worker'}; liveness ${result.livenessChecked ? 'checked (weak fairness, after the last fault)' : 'not checked'}`);
    print(`  symmetry reduction: off (see spec/09-decisions.md)`);
    // After a search that stopped early, an uncovered "sometimes" property was only not reached yet.
    const notCovered = result.verdict === 'verified' ? 'NOT covered' : 'not reached';
    for (const s of result.sometimes) print(`  sometimes ${s.covered ? 'covered    ' : notCovered} ${s.id}: ${s.description}`);
    if (trace !== null && files !== null) {
      print(`VIOLATED ${trace.property} (${trace.kind}): ${trace.message}`);
      printTrace(trace, print);
      if (consequence !== null) printConsequence(trace, consequence, print);
      print(`files: ${files.json} ${files.mermaid} ${files.html}`);
      print(`replay: kd replay ${files.json}`);
    }
  }
  return result.verdict === 'verified' ? exitCodes.ok : result.verdict === 'violated' ? exitCodes.failed : exitCodes.incomplete;
}
