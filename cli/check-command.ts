/** `kd check`: exhaustive model checking of the chain, and seeded random walks beyond it. */
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { loadCheckConfig, ConfigError } from '../checker/chain/config-file.js';
import { ChainModel, chainModelModule } from '../checker/chain/model.js';
import { presetNames, presets, type CheckConfig } from '../checker/chain/presets.js';
import { buildTrace, type CounterexampleTrace } from '../checker/chain/trace.js';
import { randomWalks } from '../checker/engine/random-walk.js';
import { autoWorkers, joinLevelStatesPerWorkerMin, searchParallel } from '../checker/engine/parallel.js';
import { search, type SearchOptions, type SearchResult } from '../checker/engine/search.js';
import { consequenceOf, type Consequence } from '../checker/render/index.js';
import { variantNames, type ProtocolVariant } from '../spec/variants.js';
import { helpOf, parseCommandLine, UsageError, type CommandLineSpec } from './args.js';
import { exitCodes } from './exit-codes.js';
import { printTrace, writeCounterexample } from './check-output.js';
import { runSwarmCommand } from './check-swarm.js';

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
      help: `breadth-first search on N worker threads sharing one state table (1: this thread; auto: one per core); the others start and join at the first level of ${joinLevelStatesPerWorkerMin} states per worker, so a smaller search stays on this thread (DEC-63). Counterexamples stay shortest; liveness is then checked on the main thread after the search`,
    },
    'max-states': { kind: 'whole', value: 'N', min: 1, max: 1e9, help: 'stop after N distinct states (exit 4)' },
    'max-depth': { kind: 'whole', value: 'N', min: 1, max: 1e6, help: 'do not expand states deeper than N (exit 4 if that cut anything)' },
    'max-seconds': { kind: 'whole', value: 'N', min: 1, max: 1e6, help: 'stop after N seconds (exit 4)' },
    'max-memory-mb': { kind: 'whole', value: 'N', min: 1, max: 1e6, help: 'stop when the heap and the search\'s typed arrays (state table, parent arrays, frontier) exceed N MiB (exit 4; default 80% of the heap limit)' },
    'no-liveness': { kind: 'flag', help: 'check safety only' },
    ties: {
      kind: 'choice',
      value: 'explore|spec',
      choices: ['explore', 'spec'],
      help: "the Scheduler's ties between equally free nodes and equally ranked victims: every alternative (explore) or the spec's rule only (spec) (default: the preset's; DEC-52)",
    },
    'no-symmetry': { kind: 'flag', help: 'turn off symmetry reduction over Kubelets of equal capacity (on where sound: with ties explored)' },
    'no-abstraction': { kind: 'flag', help: 'turn off the exact state abstraction (DEC-56: fault budgets capped at the total, empty ghost histories left out); the verdict is the same either way' },
    'random-walks': { kind: 'whole', value: 'N', min: 1, max: 1e9, help: 'instead of exhaustive search, N seeded random walks' },
    'walk-depth': { kind: 'whole', value: 'N', min: 1, max: 1e7, default: 400, help: 'steps per random walk' },
    seed: { kind: 'whole', value: 'N', min: 0, max: 2 ** 32 - 1, default: 1, help: 'seed of the random walks' },
    out: { kind: 'text', value: 'DIR', default: join('out', 'counterexamples'), help: 'where counterexample files go (with --swarm, also the reduced configuration)' },
    swarm: { kind: 'flag', help: 'swarm mode: many small random configurations (nodes, capacities, functions, scale scripts, faults), each searched exhaustively within --budget-seconds and --budget-states; the first that fails is reduced to a small configuration, written as a config file, with its shortest counterexample' },
    configs: { kind: 'whole', value: 'N', min: 1, max: 1e6, default: 20, help: 'with --swarm: how many configurations (drawn from --seed)' },
    'budget-seconds': { kind: 'whole', value: 'N', min: 1, max: 1e5, default: 10, help: 'with --swarm: seconds per configuration (beyond it the configuration counts as bounded)' },
    'budget-states': { kind: 'whole', value: 'N', min: 1, max: 1e9, default: 200_000, help: 'with --swarm: distinct states per configuration' },
    json: { kind: 'flag', help: 'one JSON summary on stdout, no progress' },
    'list-presets': { kind: 'flag', help: 'print the preset names, one a line' },
    'list-variants': { kind: 'flag', help: 'print the known-bad variant names, one a line' },
  },
  example: 'npx kd check --preset ci   |   npx kd check --swarm --configs 50 --seed 7 --budget-seconds 10',
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
  readonly ties?: 'explore' | 'spec';
  readonly symmetry: boolean;
  readonly abstraction: boolean;
  readonly randomWalks?: number;
  readonly walkDepth: number;
  readonly seed: number;
  readonly out: string;
  readonly json: boolean;
  /** Swarm mode (--swarm), with its own options. */
  readonly swarm: { readonly configs: number; readonly budgetSeconds: number; readonly budgetStates: number } | null;
}

function parseCheckArguments(argv: readonly string[]): CheckArguments | 'help' | 'list-presets' | 'list-variants' {
  const parsed = parseCommandLine(checkCommandLine, argv);
  if (parsed === 'help') return 'help';
  const v = parsed.options;
  if (v['list-presets']) return 'list-presets';
  if (v['list-variants']) return 'list-variants';
  const workers = v.workers === 'auto' ? autoWorkers() : v.workers;
  if (workers > 1 && v.strategy === 'dfs') throw new UsageError('--workers above 1 searches breadth-first; drop --strategy dfs or use --workers 1');
  const swarmOnly = (['configs', 'budget-seconds', 'budget-states'] as const).filter((name) => argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`)));
  if (!v.swarm && swarmOnly.length > 0) throw new UsageError(`--${swarmOnly[0]} is a swarm option: add --swarm`);
  if (v.swarm && (argv.some((a) => a === '--preset' || a.startsWith('--preset=')) || v['random-walks'] !== undefined || workers > 1))
    throw new UsageError('--swarm draws its own configurations on one worker: drop --preset, --random-walks and --workers');
  const bounds = { maxStates: v['max-states'], maxDepth: v['max-depth'], maxSeconds: v['max-seconds'], maxMemoryMb: v['max-memory-mb'], randomWalks: v['random-walks'] };
  return {
    preset: v.preset,
    variant: v.variant,
    strategy: v.strategy,
    workers,
    liveness: !v['no-liveness'],
    symmetry: !v['no-symmetry'],
    abstraction: !v['no-abstraction'],
    ...(v.ties !== undefined ? { ties: v.ties } : {}),
    walkDepth: v['walk-depth'],
    seed: v.seed,
    out: v.out,
    json: v.json,
    swarm: v.swarm ? { configs: v.configs, budgetSeconds: v['budget-seconds'], budgetStates: v['budget-states'] } : null,
    ...Object.fromEntries(Object.entries(bounds).filter(([, value]) => value !== undefined)),
  };
}

function symmetryLine(check: CheckConfig, result: SearchResult): string {
  if (result.symmetryGroupSize !== undefined) return `symmetry reduction on: ${result.symmetryGroupSize} renamings of identical Kubelets, states counted are orbits`;
  if (check.symmetry === false) return 'symmetry reduction off (--no-symmetry)';
  if (check.ties !== 'explore') return "symmetry reduction off (unsound with the spec's name-order tie-break: use --ties explore)";
  return 'symmetry reduction off (no two Kubelets alike)';
}

/** The scale requests the model chooses, in words (empty without scaleChoices). */
export function scaleChoicesText(check: CheckConfig): string {
  const c = check.scaleChoices;
  if (c === undefined || c.steps === 0) return '';
  return `, then ${c.steps} chosen by the model (${(c.functions ?? check.chain.functions.map((f) => f.name)).join('/')} to any of ${c.range[0]}..${c.range[1]}, ${check.scaleWhen === 'quiescent' ? 'each once the chain is quiescent' : 'at any point'})`;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/** What a user would see: the damage the run leads to (checker/render/consequence.ts). */
function printConsequence(trace: CounterexampleTrace, consequence: Consequence, print: (line: string) => void): void {
  if (consequence.found === 'none') {
    print(`what a user would see: no damage in this configuration (no continuation of this run and no run from the start shows any); spec/08-known-bad-variants.md says what ${trace.check.chain.variant} leads to elsewhere`);
    return;
  }
  const where =
    consequence.found === 'extended'
      ? `not after this run (${consequence.searches[0]?.bounded === true ? `no continuation without a new fault showed damage within ${consequence.searches[0].states} states, the search's bound` : 'every continuation without a new fault ends well'}), but in a run of ${consequence.trace.steps.length} steps from the start, at step ${consequence.harmStep ?? '?'}`
      : consequence.trace.steps.length === trace.steps.length
        ? `at step ${consequence.harmStep ?? '?'} itself`
        : `running on ${consequence.trace.steps.length - trace.steps.length} more steps of the machines, at step ${consequence.harmStep ?? '?'}`;
  print(`what a user would see, ${where} (the HTML page shows the run and the full state at each step):`);
  for (const harm of consequence.harms) print(`  ${harm.text}`);
}

/** The check to run: the preset or file, with the command line's variant, ties and symmetry; a bad configuration is a usage error. */
function checkOf(args: CheckArguments): CheckConfig {
  try {
    const loaded = loadCheckConfig(args.preset, args.variant);
    return { ...loaded, ...(args.ties !== undefined ? { ties: args.ties } : {}), ...(args.symmetry ? {} : { symmetry: false }), ...(args.abstraction ? {} : { abstraction: false }) };
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

/** `--random-walks N`: N random walks instead of a search; exit 1 on a violation. */
function runRandomWalks(model: ChainModel, check: CheckConfig, args: CheckArguments, print: (line: string) => void, progress: (line: string) => void): number {
  if (args.randomWalks === undefined) throw new Error('runRandomWalks without --random-walks');
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

/** The search's bounds and progress report, from the command line and the check. */
function searchOptionsOf(args: CheckArguments, check: CheckConfig, progress: (line: string) => void): SearchOptions {
  const maxSeconds = args.maxSeconds ?? check.maxSeconds;
  const maxStates = args.maxStates ?? check.maxStates;
  const maxDepth = args.maxDepth ?? check.maxDepth;
  return {
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
}

/** What a search found, with its counterexample and its consequence when there is one. */
interface SearchReport {
  readonly check: CheckConfig;
  readonly args: CheckArguments;
  readonly result: SearchResult;
  readonly trace: ReturnType<typeof buildTrace> | null;
  readonly consequence: ReturnType<typeof consequenceOf> | null;
  readonly files: ReturnType<typeof writeCounterexample> | null;
  readonly memo: ReturnType<ChainModel['memoStats']>;
}

function printSearchJson({ check, args, result, consequence, files, memo }: SearchReport, print: (line: string) => void): void {
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
      ties: check.ties ?? 'spec',
      symmetryGroupSize: result.symmetryGroupSize ?? null,
      abstraction: check.abstraction !== false,
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
}

function printSearchText({ check, result, trace, consequence, files, memo }: SearchReport, print: (line: string) => void): void {
  print(
    `${result.verdict.toUpperCase()}${result.bound !== undefined ? ` (bound reached: ${result.bound})` : ''}: ${result.states} distinct states, ${result.transitions} transitions, ` +
      `depth ${result.depth}, ${result.seconds.toFixed(1)} s, ${Math.round(result.statesPerSecond)} states/s, ${result.cpuSeconds.toFixed(1)} CPU-s, ` +
      `${result.workers} worker${result.workers === 1 ? '' : 's'}${workersJoinedNote(result)}`,
  );
  print(
    `  peak memory: resident ${mib(result.peakMemoryBytes)} (the whole process), of it heap ${mib(result.peakHeapBytes)}${result.workers > 1 ? ' (all threads)' : ''} and array buffers ${mib(result.peakArrayBuffersBytes)} (state table, parent and edge arrays, frontier)`,
  );
  print(`  fingerprints: 64-bit, estimated collision probability ${result.collisionProbability.toExponential(1)}`);
  print(`  ${result.workers === 1 ? `machine steps run ${memo.stageSteps}, reused from memo ${memo.reused}` : 'machine steps memoized per worker'}; liveness ${result.livenessChecked ? 'checked (weak fairness, after the last fault)' : 'not checked'}`);
  print(`  Scheduler ties: ${check.ties === 'explore' ? 'every alternative explored' : "the spec's rule only"} (DEC-52); ${symmetryLine(check, result)}`);
  print(`  state abstraction ${check.abstraction === false ? 'off (--no-abstraction)' : 'on: fault budgets capped at the total, empty ghost histories left out (DEC-56, exact)'}`);
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

/** With several workers of which only the main thread expanded states: why the others were not used (DEC-63). */
function workersJoinedNote(result: SearchResult): string {
  if (result.workers === 1 || (result.expandedPerWorker ?? []).slice(1).some((expanded) => expanded > 0)) return '';
  return ` (only the main thread searched: no level held ${joinLevelStatesPerWorkerMin * result.workers} states, ${joinLevelStatesPerWorkerMin} per worker, with the others ready; DEC-63)`;
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
  if (args.swarm !== null) return runSwarmCommand({ ...args.swarm, seed: args.seed, variant: args.variant, out: args.out, json: args.json }, print);
  const check = checkOf(args);
  const model = new ChainModel(check);
  const progress = (line: string) => {
    if (!args.json) process.stderr.write(`${line}\n`);
  };
  if (!args.json) {
    print(`kd check: preset ${check.name} (${presets[check.name]?.description ?? check.description}), variant ${check.chain.variant}`);
    print(
      `  nodes ${check.chain.nodes.map((n) => `${n.name}:${n.capacity}`).join(' ')}; functions ${check.chain.functions.map((f) => `${f.name}(p${f.priority})`).join(' ')}; ` +
        `scale ${check.scaleScript.map((s) => `${s.function}->${s.desired}`).join(', ') || 'none'}${scaleChoicesText(check)}; faults ${JSON.stringify(check.budgets)}`,
    );
  }

  if (args.randomWalks !== undefined) return runRandomWalks(model, check, args, print, progress);
  const searchOptions = searchOptionsOf(args, check, progress);
  const result: SearchResult =
    args.workers > 1
      ? await searchParallel(model, { module: chainModelModule, exportName: 'chainModelOf', argument: check }, { ...searchOptions, workers: args.workers })
      : search(model, searchOptions);
  const trace = result.violation === null ? null : buildTrace(check, result.violation);
  const consequence = trace === null ? null : consequenceOf(trace);
  const files = trace === null || consequence === null ? null : writeCounterexample(args.out, trace, consequence);
  const report: SearchReport = { check, args, result, trace, consequence, files, memo: model.memoStats() };
  if (args.json) printSearchJson(report, print);
  else printSearchText(report, print);
  return result.verdict === 'verified' ? exitCodes.ok : result.verdict === 'violated' ? exitCodes.failed : exitCodes.incomplete;
}
