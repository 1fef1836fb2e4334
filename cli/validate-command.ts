/** `kd validate TRACE...`: checks the safety invariants of the spec on the NDJSON traces of a run. */
import { parseArgs } from 'node:util';
import { formatReport, TraceInputError, validateTraces } from '../runtime/observe/validate.js';
import { exitCodes, UsageError } from './usage-error.js';

export const validateHelp = `Usage: kd validate [--json] TRACE...

Merges the NDJSON event traces of one run (each stage appends to DATA_DIR/trace.ndjson)
and checks the spec's safety invariants that per-stage traces can judge, by spec ID. A
directory is searched for files named trace.ndjson (kd validate .kd/data reads every
stage's trace; the other files of a data dir, such as a Kubelet's sandboxes.ndjson, are
not traces and are not read). One line per property: OK, or VIOLATED with the first
offending record and its file:line. Properties that need a consistent cut of all stages
are listed as NOT JUDGED.

Options:
  --json       the report as JSON
  -h, --help   show this help

Exit codes: 0 no property violated, 1 a property violated, 2 bad usage, 3 unreadable input.`;

export const validateExitCodes = { ok: 0, violated: 1, usage: exitCodes.usage, unreadable: 3 } as const;

export function runValidate(argv: readonly string[], print: (line: string) => void): number {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], strict: true, allowPositionals: true, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. Run "kd validate --help" for the options.`);
  }
  if (parsed.values.help === true) {
    print(validateHelp);
    return exitCodes.ok;
  }
  if (parsed.positionals.length === 0) throw new UsageError('name at least one trace file or directory (for example: kd validate .kd/data)');
  let report;
  try {
    report = validateTraces(parsed.positionals);
  } catch (error) {
    if (!(error instanceof TraceInputError)) throw error;
    console.error(`kd validate: ${error.message}`);
    return validateExitCodes.unreadable;
  }
  if (parsed.values.json === true) print(JSON.stringify(report, null, 2));
  else for (const line of formatReport(report)) print(line);
  return report.verdicts.some((v) => v.verdict === 'VIOLATED') ? validateExitCodes.violated : validateExitCodes.ok;
}
