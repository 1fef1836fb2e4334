/** `kd replay TRACE.json`: re-executes a counterexample step by step in the simulator. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { checkConfigProblems } from '../checker/chain/config-file.js';
import { traceSchema, type CounterexampleTrace } from '../checker/chain/trace.js';
import { describeAction } from '../checker/chain/model.js';
import { replay } from '../simulator/simulate.js';
import { summarize, formatSummary } from '../simulator/summary.js';
import { bootSequence } from '../simulator/world.js';
import { UsageError } from './usage-error.js';

export const replayHelp = `Usage: kd replay TRACE.json [--quiet]

Re-executes a counterexample written by "kd check" step by step in the simulator (the
same machines, the same world) and reports the properties broken on the way.

Exit codes: 1 the trace reproduces its violation, 0 it does not (the protocol no
longer breaks there), 3 the file is not a trace.`;

export function runReplay(argv: readonly string[], print: (line: string) => void): number {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], strict: true, allowPositionals: true, options: { quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. Run "kd replay --help".`);
  }
  if (parsed.values.help === true) {
    print(replayHelp);
    return 0;
  }
  const file = parsed.positionals[0];
  if (file === undefined || parsed.positionals.length > 1) throw new UsageError('give exactly one trace file, e.g. kd replay out/counterexamples/ci-no-fencing-INV-FENCING.json');
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
  if (parsed.values.quiet !== true) {
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
  return reproduced ? 1 : 0;
}
