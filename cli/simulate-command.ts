/** `kd simulate`: the whole chain in one process, seeded, converging to the desired count. */
import { readFileSync } from 'node:fs';
import { chainConfigProblems, desiredMax, nodeCapacityMax, type ChainConfig, type FunctionSpec } from '../machines/index.js';
import { namedScenarios, scenarioNames } from '../simulator/named-scenarios.js';
import type { Scenario } from '../simulator/scenario.js';
import { simulate, type SimulationResult } from '../simulator/simulate.js';
import { formatSummary, summarize, summaryHeader } from '../simulator/summary.js';
import { variantNames, type ProtocolVariant } from '../spec/variants.js';
import { helpOf, parseCommandLine, UsageError, type CommandLineSpec } from './args.js';
import { exitCodes } from './exit-codes.js';

export const simulateCommandLine = {
  command: 'simulate',
  about: `Runs the whole chain (Autoscaler, Deployment, ReplicaSet, Scheduler, one Kubelet per
node) in one process with the protocol machines, a seeded random delivery order and the
faults of a scenario, then checks that it converged with no invariant broken.`,
  options: {
    replicas: { kind: 'whole', value: 'N', min: 0, max: desiredMax, default: 50, help: 'desired count of the first function' },
    nodes: { kind: 'whole', value: 'N', min: 1, max: 1000, default: 4, help: 'number of nodes, one Kubelet each' },
    capacity: { kind: 'whole', value: 'N', min: 0, max: nodeCapacityMax, help: 'sandboxes per node (default: enough for 1.5x the replicas)' },
    functions: { kind: 'whole', value: 'N', min: 1, max: 100, default: 1, help: 'number of functions; the last has the highest priority' },
    seed: { kind: 'whole', value: 'N', min: 0, max: 2 ** 32 - 1, default: 1, help: 'seed of the delivery order; the same seed gives the same run' },
    scenario: {
      kind: 'text',
      value: 'NAME|FILE',
      default: 'scale-up',
      help: `${scenarioNames().join(', ')}, or a JSON file with a list of steps (see simulator/scenario.ts)`,
    },
    variant: { kind: 'choice', value: 'NAME', choices: ['correct', ...variantNames], default: 'correct', help: 'run a known-bad variant' },
    'progress-every': { kind: 'whole', value: 'N', min: 0, max: 1e9, default: 100, help: 'print the caches every N steps, 0 for phases only' },
    json: { kind: 'flag', help: 'print one JSON summary instead of text' },
  },
  example: 'npx kd simulate --replicas 50 --seed 7',
  exits: { ok: 'converged with no violation', failed: 'a violation, or no convergence' },
} as const satisfies CommandLineSpec;

interface SimulateArguments {
  readonly config: ChainConfig;
  readonly replicas: number;
  readonly seed: number;
  readonly scenarioName: string;
  readonly scenario: Scenario;
  readonly progressEvery: number;
  readonly json: boolean;
}

export function parseSimulateArguments(argv: readonly string[]): SimulateArguments | 'help' {
  const parsed = parseCommandLine(simulateCommandLine, argv);
  if (parsed === 'help') return 'help';
  const v = parsed.options;
  const replicas = v.replicas;
  const nodeCount = v.nodes;
  const capacity = v.capacity ?? Math.min(Math.max(1, Math.ceil((replicas * 1.5) / nodeCount)), nodeCapacityMax);
  const functionCount = v.functions;
  const variant: ProtocolVariant = v.variant;
  const functions: FunctionSpec[] = Array.from({ length: functionCount }, (_, i) => ({ name: functionCount === 1 ? 'fn' : `fn${i + 1}`, priority: i }));
  const config: ChainConfig = { functions, nodes: Array.from({ length: nodeCount }, (_, i) => ({ name: `node${i + 1}`, capacity })), variant };
  const problems = chainConfigProblems(config);
  if (problems.length > 0) throw new UsageError(problems.join('; '));
  return { config, replicas, seed: v.seed, scenarioName: v.scenario, scenario: loadScenario(v.scenario, config, replicas), progressEvery: v['progress-every'], json: v.json };
}

function loadScenario(name: string, config: ChainConfig, replicas: number): Scenario {
  const named = namedScenarios[name];
  if (named !== undefined) return named.build({ config, replicas });
  if (!name.endsWith('.json')) throw new UsageError(`unknown scenario "${name}"; choose one of: ${scenarioNames().join(', ')}, or give a .json file`);
  let text: string;
  try {
    text = readFileSync(name, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read scenario file ${name}: ${(error as Error).message}`);
  }
  let steps: unknown;
  try {
    steps = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`scenario file ${name} is not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(steps)) throw new UsageError(`scenario file ${name} must hold a JSON list of steps such as [{"op":"scale","function":"fn","desired":10}]`);
  const ops = new Set(['scale', 'crash', 'nodeCrash', 'cut', 'run']);
  steps.forEach((step, i) => {
    if (typeof step !== 'object' || step === null || !ops.has((step as { op?: unknown }).op as string))
      throw new UsageError(`scenario file ${name}, step ${i + 1}: "op" must be one of ${[...ops].join(', ')}`);
  });
  return steps as Scenario;
}

export function runSimulate(argv: readonly string[], print: (line: string) => void): number {
  const args = parseSimulateArguments(argv);
  if (args === 'help') {
    print(helpOf(simulateCommandLine));
    return exitCodes.ok;
  }
  const { config } = args;
  if (!args.json) {
    print(
      `kd simulate: ${config.functions.length} function(s), ${config.nodes.length} node(s) x capacity ${config.nodes[0]?.capacity ?? 0}, ` +
        `scenario ${args.scenarioName}, seed ${args.seed}, variant ${config.variant}`,
    );
    print(summaryHeader);
  }
  const result = simulate({
    config,
    seed: args.seed,
    scenario: args.scenario,
    progressEverySteps: args.progressEvery,
    onProgress: args.json
      ? undefined
      : (event) => {
          if (event.kind === 'phase') print(`-- ${event.description}`);
          print(formatSummary(event.step, summarize(config, event.world)));
        },
  } as Parameters<typeof simulate>[0]);
  if (args.json) print(JSON.stringify(jsonSummary(args, result)));
  else printResult(result, config, print);
  return result.converged ? exitCodes.ok : exitCodes.failed;
}

function jsonSummary(args: SimulateArguments, result: SimulationResult) {
  return {
    seed: result.seed,
    scenario: args.scenarioName,
    variant: args.config.variant,
    steps: result.steps,
    converged: result.converged,
    violation: result.violation,
    problems: result.problems,
    functions: result.functions,
  };
}

function printResult(result: SimulationResult, config: ChainConfig, print: (line: string) => void): void {
  print(formatSummary(result.steps, summarize(config, result.world)));
  if (result.violation !== null) {
    print(`VIOLATION ${result.violation.property} at step ${result.violation.step}: ${result.violation.message}`);
    print(`  replay: kd simulate with the same options and --seed ${result.seed}`);
    return;
  }
  for (const f of result.functions) print(`${f.function}: ${f.running} running, ${f.waiting} waiting, desired ${f.desired}`);
  if (result.converged) print(`converged after ${result.steps} steps: every cache equals the truth below it, no tombstone left, no invariant broken`);
  else for (const problem of result.problems) print(`NOT CONVERGED: ${problem}`);
}
