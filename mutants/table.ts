/** The mutation table: one row per mutant, what killed it, or why it survived. */
import type { Mutant } from './catalogue.js';
import type { CheckerOutcome, ConformanceOutcome } from './run-mutant.js';

export type MutantVerdict = 'killed' | 'survived' | 'equivalent' | 'not-run';

export interface MutantResult {
  readonly mutant: string;
  readonly requirement: string;
  readonly checker: readonly CheckerOutcome[];
  /** Empty when conformance was skipped. */
  readonly conformance: readonly ConformanceOutcome[];
  readonly conformanceSkipped: boolean;
  /** The conformance outcomes come from an earlier run with the same seed (this run was checker-only). */
  readonly conformanceCarried?: boolean;
  readonly verdict: MutantVerdict;
  /** The catalogue's reason, for an equivalent mutant; the error, for one not run. */
  readonly note?: string;
  readonly seconds: number;
}

/** The checker's kill: the first run that found a violation (or stopped on an internal assertion). */
export function checkerKill(result: Pick<MutantResult, 'checker'>): CheckerOutcome | undefined {
  return result.checker.find((c) => c.verdict === 'violated' || c.verdict === 'internal-error');
}

export function conformanceKills(result: Pick<MutantResult, 'conformance'>): ConformanceOutcome[] {
  return result.conformance.filter((c) => c.verdict === 'failed');
}

export function verdictOf(mutant: Mutant, checker: readonly CheckerOutcome[], conformance: readonly ConformanceOutcome[]): MutantVerdict {
  if (checkerKill({ checker }) !== undefined || conformanceKills({ conformance }).length > 0) return 'killed';
  const incomplete = checker.some((c) => c.verdict === 'failed-to-run') || conformance.some((c) => c.verdict === 'failed-to-run');
  if (incomplete) return 'not-run';
  return mutant.equivalent === undefined ? 'survived' : 'equivalent';
}

function checkerCell(result: MutantResult): string {
  const kill = checkerKill(result);
  if (kill === undefined) {
    const ran = result.checker.map((c) => `${c.check} ${c.verdict}`).join(', ');
    return ran === '' ? 'not run' : `no (${ran})`;
  }
  if (kill.verdict === 'internal-error') return `internal error on ${kill.check}: ${(kill.message ?? '').replace(/\|/g, '/').slice(0, 90)}`;
  return `${kill.property} in ${kill.steps} steps (${kill.check})`;
}

function conformanceCell(result: MutantResult): string {
  if (result.conformanceSkipped) return 'skipped';
  const kills = conformanceKills(result);
  if (kills.length === 0) {
    const notRun = result.conformance.filter((c) => c.verdict === 'failed-to-run');
    if (notRun.length > 0) return `not run (${notRun.map((c) => `${c.role}: ${c.message ?? ''}`).join('; ')})`;
    return `no (${result.conformance.map((c) => `${c.role} ${c.cases} cases`).join(', ')})`;
  }
  const cases = kills.flatMap((k) => k.failedCases);
  const shown = cases.slice(0, 2).map((c) => `${c.id} (${c.requirements.join(', ')})`);
  return `${shown.join('; ')}${cases.length > 2 ? `; ${cases.length - 2} more` : ''}`;
}

/** The table in Markdown: only the mutant names are backticked (docs/build/readme-figures.ts reads them). */
export function mutationTable(results: readonly MutantResult[], baselineFailures: Readonly<Record<string, readonly string[]>> = {}): string {
  const lines = ['| mutant | breaks | killed by the checker (property, steps) | killed by conformance (case, requirement) | verdict |', '| --- | --- | --- | --- | --- |'];
  for (const r of results) lines.push(`| \`${r.mutant}\` | ${r.requirement} | ${checkerCell(r)} | ${conformanceCell(r)} | ${r.verdict}${r.note === undefined ? '' : `: ${r.note.replace(/\|/g, '/')}`} |`);
  const count = (v: MutantVerdict) => results.filter((r) => r.verdict === v).length;
  lines.push('', `${results.length} mutants: ${count('killed')} killed (${results.filter((r) => checkerKill(r) !== undefined).length} by the checker, ${results.filter((r) => conformanceKills(r).length > 0).length} by conformance), ${count('survived')} survived, ${count('equivalent')} equivalent, ${count('not-run')} not run.`);
  const carried = results.filter((r) => r.conformanceCarried === true).length;
  if (carried > 0) lines.push('', `Conformance outcomes of ${carried} of these rows were measured in an earlier run with the same seed; their checker outcomes in this one (npm run mutants -- --skip-conformance).`);
  const failing = Object.entries(baselineFailures).filter(([, ids]) => ids.length > 0);
  if (failing.length > 0) lines.push('', `Failing the unmutated copy too, so counted for no mutant: ${failing.map(([role, ids]) => `${ids.join(', ')} (${role})`).join('; ')}.`);
  return lines.join('\n');
}
