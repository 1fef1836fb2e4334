/** `kd validate TRACE...`: checks the safety invariants of the spec on the NDJSON traces of a run. */
import { formatReport, TraceInputError, validateTraces } from '../runtime/observe/validate.js';
import { helpOf, parseCommandLine, type CommandLineSpec } from './args.js';
import { exitCodes } from './exit-codes.js';

export const validateCommandLine = {
  command: 'validate',
  about: `Merges the NDJSON event traces of one run (each stage appends to DATA_DIR/trace.ndjson)
and checks the spec's safety invariants that per-stage traces can judge, by spec ID. A
directory is searched for files named trace.ndjson (kd validate .kd/data reads every
stage's trace; the other files of a data dir, such as a Kubelet's sandboxes.ndjson, are
not traces and are not read). One line per property: OK, or VIOLATED with the first
offending record and its file:line. Properties that need a consistent cut of all stages
are listed as NOT JUDGED.`,
  arguments: [{ name: 'TRACE', kind: 'text', variadic: true, help: 'trace files, or directories to search for them' }],
  options: { json: { kind: 'flag', help: 'the report as JSON' } },
  example: 'npx kd validate .kd/data',
  exits: { ok: 'no property violated', failed: 'a property violated', usage: 'bad usage, or an unreadable trace' },
} as const satisfies CommandLineSpec;

export function runValidate(argv: readonly string[], print: (line: string) => void): number {
  const parsed = parseCommandLine(validateCommandLine, argv);
  if (parsed === 'help') {
    print(helpOf(validateCommandLine));
    return exitCodes.ok;
  }
  let report;
  try {
    report = validateTraces(parsed.list);
  } catch (error) {
    if (!(error instanceof TraceInputError)) throw error;
    console.error(`kd validate: ${error.message}`);
    return exitCodes.usage;
  }
  if (parsed.options.json) print(JSON.stringify(report, null, 2));
  else for (const line of formatReport(report)) print(line);
  return report.verdicts.some((v) => v.verdict === 'VIOLATED') ? exitCodes.failed : exitCodes.ok;
}
