/** `kd simulate`: the whole chain in one process, seeded, converging to the desired count. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { chainConfigProblems, desiredMax, nodeCapacityMax, type ChainConfig, type FunctionSpec } from '../machines/index.js';
import { namedScenarios, scenarioNames } from '../simulator/named-scenarios.js';
import type { Scenario } from '../simulator/scenario.js';
import { simulate, type SimulationResult } from '../simulator/simulate.js';
import { formatSummary, summarize, summaryHeader } from '../simulator/summary.js';
import { isVariantName, variantNames, type ProtocolVariant } from '../spec/variants.js';
import { exitCodes, parseWholeNumber, UsageError } from './usage-error.js';

export const simulateHelp = `Usage: kd simulate [options]

Runs the whole chain (Autoscaler, Deployment, ReplicaSet, Scheduler, one Kubelet per
node) in one process with the protocol machines, a seeded random delivery order and the
faults of a scenario, then checks that it converged with no invariant broken.

Options:
  --replicas N        desired count of the first function (default 50)
  --nodes N           number of nodes, one Kubelet each (default 4)
  --capacity N        sandboxes per node (default: enough for 1.5x the replicas)
  --functions N       number of functions; the last has the highest priority (default 1)
  --seed N            seed of the delivery order; the same seed gives the same run (default 1)
  --scenario NAME     ${scenarioNames().join(', ')} (default scale-up),
                      or a JSON file with a list of steps (see simulator/scenario.ts)
  --variant NAME      run a known-bad variant: ${variantNames.join(', ')}
  --progress-every N  print the caches every N steps, 0 for phases only (default 100)
  --json              print one JSON summary instead of text
  -h, --help          show this help

Exit codes: 0 converged with no violation, 1 violation or no convergence, 2 bad usage.`;

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
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(argv),
      strict: true,
      allowPositionals: false,
      options: {
        replicas: { type: 'string' },
        nodes: { type: 'string' },
        capacity: { type: 'string' },
        functions: { type: 'string' },
        seed: { type: 'string' },
        scenario: { type: 'string' },
        variant: { type: 'string' },
        'progress-every': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. Run "kd simulate --help" for the options.`);
  }
  const v = parsed.values;
  if (v.help === true) return 'help';
  const replicas = parseWholeNumber('replicas', v.replicas, 50, 0, desiredMax);
  const nodeCount = parseWholeNumber('nodes', v.nodes, 4, 1, 1000);
  const defaultCapacity = Math.max(1, Math.ceil((replicas * 1.5) / nodeCount));
  const capacity = parseWholeNumber('capacity', v.capacity, Math.min(defaultCapacity, nodeCapacityMax), 0, nodeCapacityMax);
  const functionCount = parseWholeNumber('functions', v.functions, 1, 1, 100);
  const seed = parseWholeNumber('seed', v.seed, 1, 0, 2 ** 32 - 1);
  const progressEvery = parseWholeNumber('progress-every', v['progress-every'], 100, 0, 1e9);
  let variant: ProtocolVariant = 'correct';
  if (v.variant !== undefined) {
    if (!isVariantName(v.variant)) throw new UsageError(`unknown variant "${v.variant}"; choose one of: ${variantNames.join(', ')}`);
    variant = v.variant;
  }
  const functions: FunctionSpec[] = Array.from({ length: functionCount }, (_, i) => ({ name: functionCount === 1 ? 'fn' : `fn${i + 1}`, priority: i }));
  const config: ChainConfig = { functions, nodes: Array.from({ length: nodeCount }, (_, i) => ({ name: `node${i + 1}`, capacity })), variant };
  const problems = chainConfigProblems(config);
  if (problems.length > 0) throw new UsageError(problems.join('; '));
  const scenarioName = v.scenario ?? 'scale-up';
  return { config, replicas, seed, scenarioName, scenario: loadScenario(scenarioName, config, replicas), progressEvery, json: v.json === true };
}

/** `--replicas -5` would read as two flags; joined as `--replicas=-5`, the range check can explain it. */
function joinNegativeValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const next = argv[i + 1];
    if (arg.startsWith('--') && !arg.includes('=') && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
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
    print(simulateHelp);
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
