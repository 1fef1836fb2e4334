/** `kd check --swarm`: many small random configurations, the first failing one reduced (checker/swarm/). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTrace } from '../checker/chain/trace.js';
import { consequenceOf } from '../checker/render/index.js';
import { configFileOf, describeConfig } from '../checker/swarm/random-config.js';
import { runSwarm, type SwarmResult } from '../checker/swarm/swarm.js';
import type { ProtocolVariant } from '../spec/variants.js';
import { printTrace, writeCounterexample } from './check-output.js';
import { exitCodes } from './exit-codes.js';

export interface SwarmArguments {
  readonly configs: number;
  readonly budgetSeconds: number;
  readonly budgetStates: number;
  readonly seed: number;
  readonly variant: ProtocolVariant | 'correct';
  readonly out: string;
  readonly json: boolean;
}

export function runSwarmCommand(args: SwarmArguments, print: (line: string) => void): number {
  const progress = (line: string) => {
    if (!args.json) process.stderr.write(`${line}\n`);
  };
  if (!args.json)
    print(
      `kd check --swarm: seed ${args.seed}, ${args.configs} configurations, variant ${args.variant}, budget ${args.budgetSeconds} s and ${args.budgetStates} states each (same seed, same configurations)`,
    );
  const result = runSwarm({
    seed: args.seed,
    configs: args.configs,
    variant: args.variant,
    budgetSeconds: args.budgetSeconds,
    budgetStates: args.budgetStates,
    onConfig: (o) =>
      progress(`  [${o.index + 1}/${args.configs}] ${o.verdict}${o.bound !== null ? ` (${o.bound})` : ''}${o.property !== null ? ` ${o.property}` : ''}: ${o.states} states, ${o.seconds.toFixed(1)} s; ${describeConfig(o.config)}`),
    onShrink: (e) => progress(`  shrink ${e.attempt}: ${e.fails ? 'still fails' : 'passes   '} ${describeConfig(e.config)}`),
  });
  const files = result.failure === null ? null : writeFailure(args.out, result);
  if (args.json) {
    print(
      JSON.stringify({
        mode: 'swarm',
        seed: result.seed,
        variant: result.variant,
        configs: result.outcomes.length,
        verified: result.verified,
        bounded: result.bounded,
        seconds: result.seconds,
        outcomes: result.outcomes.map((o) => ({ index: o.index, verdict: o.verdict, bound: o.bound, states: o.states, seconds: o.seconds, property: o.property, config: describeConfig(o.config) })),
        failure:
          result.failure === null
            ? null
            : {
                index: result.failure.found.index,
                property: result.failure.violation.property,
                message: result.failure.violation.message,
                steps: result.failure.violation.path.length,
                found: configFileOf(result.failure.found.config),
                shrunk: configFileOf(result.failure.shrunk),
                shrinkAttempts: result.failure.shrinkAttempts,
                shrinkSteps: result.failure.shrinkSteps,
                files,
              },
      }),
    );
  } else printSummary(result, args, files, print);
  if (result.failure !== null) return exitCodes.failed;
  return result.bounded > 0 ? exitCodes.incomplete : exitCodes.ok;
}

/** Writes the reduced configuration as a config file, and its counterexample (JSON trace, Mermaid, HTML). */
function writeFailure(dir: string, result: SwarmResult): { config: string; json: string; mermaid: string; html: string } {
  const failure = result.failure;
  if (failure === null) throw new Error('no failure to write');
  mkdirSync(dir, { recursive: true });
  const config = join(dir, `${failure.shrunk.name}.json`);
  writeFileSync(config, `${JSON.stringify(configFileOf(failure.shrunk), null, 1)}\n`);
  const trace = buildTrace(failure.shrunk, failure.violation);
  return { config, ...writeCounterexample(dir, trace, consequenceOf(trace)) };
}

function printSummary(result: SwarmResult, args: SwarmArguments, files: ReturnType<typeof writeFailure> | null, print: (line: string) => void): void {
  const failure = result.failure;
  print(
    `${failure !== null ? 'VIOLATED' : result.bounded > 0 ? 'BOUNDED' : 'VERIFIED'}: ${result.outcomes.length} configuration(s) searched, ${result.verified} verified exhaustively, ${result.bounded} cut by the budget, in ${result.seconds.toFixed(1)} s (seed ${result.seed})`,
  );
  if (failure === null || files === null) return;
  print(`configuration ${failure.found.index} of seed ${result.seed} breaks ${failure.violation.property}: ${describeConfig(failure.found.config)}`);
  print(`reduced in ${failure.shrinkSteps} step(s) (${failure.shrinkAttempts} searches) to: ${describeConfig(failure.shrunk)}`);
  print(`VIOLATED ${failure.violation.property} (${failure.violation.kind}): ${failure.violation.message}`);
  printTrace(buildTrace(failure.shrunk, failure.violation), print);
  print(`config file: ${files.config}   reproduce: kd check --preset ${files.config} --variant ${args.variant}`);
  print(`files: ${files.json} ${files.mermaid} ${files.html}`);
}
