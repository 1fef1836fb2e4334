/** `kd replay TRACE.json`: re-executes a counterexample step by step in the simulator. */
import { readFileSync } from 'node:fs';
import { checkConfigProblems } from '../checker/chain/config-file.js';
import { traceSchema, type CounterexampleTrace } from '../checker/chain/trace.js';
import { describeAction } from '../checker/chain/model.js';
import { replay } from '../simulator/simulate.js';
import { summarize, formatSummary } from '../simulator/summary.js';
import { bootSequence } from '../simulator/world.js';
import { helpOf, parseCommandLine, UsageError, type CommandLineSpec } from './args.js';
import { exitCodes } from './exit-codes.js';

export const replayCommandLine = {
  command: 'replay',
  about: `Re-executes a counterexample written by "kd check" step by step in the simulator (the
same machines, the same world) and reports the properties broken on the way.`,
  arguments: [{ name: 'TRACE.json', kind: 'text', help: 'a counterexample file of kd check (its --out directory)' }],
  options: { quiet: { kind: 'flag', help: 'print only the verdict' } },
  example: 'npx kd replay out/counterexamples/ci-no-fencing-INV-FENCING.json',
  exits: {
    ok: 'the trace does not reproduce its violation (the protocol no longer breaks there)',
    failed: 'the trace reproduces its violation',
    usage: 'bad usage, or the file is not a trace',
  },
} as const satisfies CommandLineSpec;

export function runReplay(argv: readonly string[], print: (line: string) => void): number {
  const parsed = parseCommandLine(replayCommandLine, argv);
  if (parsed === 'help') {
    print(helpOf(replayCommandLine));
    return exitCodes.ok;
  }
  const file = String(parsed.arguments['TRACE.json']);
  let trace: CounterexampleTrace;
  try {
    trace = JSON.parse(readFileSync(file, 'utf8')) as CounterexampleTrace;
  } catch (error) {
    throw new UsageError(`cannot read ${file} as JSON: ${(error as Error).message}`);
  }
  if (trace.schema !== traceSchema || !Array.isArray(trace.steps)) throw new UsageError(`${file} is not a counterexample trace (schema ${traceSchema})`);
  const problems = checkConfigProblems(trace.check);
  if (problems.length > 0) throw new UsageError(`${file}: the configuration in the trace is invalid: ${problems.join('; ')}`);
  const config = trace.check.chain;
  const boot = trace.check.startSynced === true ? bootSequence(config).actions : [];
  const actions = [...boot, ...trace.steps.map((s) => s.action)];
  const result = replay(config, actions);
  if (!parsed.options.quiet) {
    print(`replaying ${file}: ${trace.check.name}, variant ${config.variant}, ${boot.length} boot steps then ${trace.steps.length} steps`);
    trace.steps.forEach((step, i) => {
      const world = result.worlds[boot.length + i + 1];
      const line = world === undefined ? '' : formatSummary(step.step, summarize(config, world));
      print(`${String(step.step).padStart(4)}. ${describeAction(step.action).padEnd(44)} ${line.slice(10)}`);
      for (const v of result.violations.filter((x) => x.step === boot.length + i + 1)) print(`       !! ${v.property}: ${v.message}`);
    });
  }
  const reproduced = trace.kind === 'safety' ? result.violations.some((v) => v.property === trace.property) : true;
  print(
    trace.kind === 'safety'
      ? reproduced
        ? `reproduced ${trace.property}`
        : `NOT reproduced: ${trace.property} did not occur (found: ${result.violations.map((v) => v.property).join(', ') || 'nothing'})`
      : `replayed the ${trace.kind} counterexample to its end (its cycle starts at step ${trace.cycleStartStep ?? '-'}; the simulator cannot show that it repeats forever)`,
  );
  return reproduced ? exitCodes.failed : exitCodes.ok;
}
