/**
 * The results of `npm run mutants` accumulate in OUT/results.json: a run of some mutants
 * (`--only`) replaces their rows and keeps the others', as long as the seed and the
 * checks are the same (otherwise the file starts afresh). The README's table is written
 * from it, in catalogue order, once every mutant has a row measured with conformance.
 * Conformance depends on the seed only, so a checker-only run (`--skip-conformance`)
 * keeps each mutant's conformance outcomes of an earlier run with the same seed, even
 * when the checks changed (the row says so: `conformanceCarried`).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mutants, type Mutant } from './catalogue.js';
import type { ConformanceOutcome } from './run-mutant.js';
import { verdictOf, type MutantResult } from './table.js';

export interface StoredResults {
  readonly seed: number;
  readonly checks: readonly string[];
  readonly results: readonly MutantResult[];
  /** Per role, the cases that failed the unmutated copy in the runs stored (they killed nothing). */
  readonly baselineFailures?: Readonly<Record<string, readonly string[]>>;
  /**
   * Per mutant, the newest conformance outcomes measured with this seed, whatever the
   * checks: kept when the checks change (the rows are not), for checker-only runs to carry.
   */
  readonly conformanceOutcomes?: Readonly<Record<string, readonly ConformanceOutcome[]>>;
}

function sameRun(a: StoredResults, b: Pick<StoredResults, 'seed' | 'checks'>): boolean {
  return a.seed === b.seed && a.checks.join(',') === b.checks.join(',');
}

/** Merges `fresh` into OUT/results.json and returns what is stored now (rows in catalogue order, mutants no longer catalogued dropped). */
export function storeResults(out: string, run: Pick<StoredResults, 'seed' | 'checks'>, fresh: readonly MutantResult[], baselineFailures: ReadonlyMap<string, ReadonlySet<string>>): StoredResults {
  const file = join(out, 'results.json');
  const stored = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as StoredResults) : null;
  const rows = new Map<string, MutantResult>();
  const failing = new Map<string, Set<string>>();
  // Conformance depends on the seed only: its outcomes (and the cases failing the unmutated copy) outlive a change of checks.
  const earlierConformance = new Map<string, readonly ConformanceOutcome[]>();
  if (stored !== null && stored.seed === run.seed) {
    for (const [mutant, outcomes] of Object.entries(stored.conformanceOutcomes ?? {})) earlierConformance.set(mutant, outcomes);
    for (const r of stored.results) if (!r.conformanceSkipped && r.conformanceCarried !== true) earlierConformance.set(r.mutant, r.conformance);
    for (const [role, ids] of Object.entries(stored.baselineFailures ?? {})) failing.set(role, new Set(ids));
    if (sameRun(stored, run)) for (const r of stored.results) rows.set(r.mutant, r);
  }
  for (const [role, ids] of baselineFailures) failing.set(role, new Set([...(failing.get(role) ?? []), ...ids]));
  for (const r of fresh) {
    if (!r.conformanceSkipped) earlierConformance.set(r.mutant, r.conformance);
    rows.set(r.mutant, r.conformanceSkipped ? withEarlierConformance(r, earlierConformance.get(r.mutant)) : r);
  }
  // Every row is judged again against the baselines known now (a row stored before a baseline existed counted its failures as kills).
  const results = mutants.flatMap((m) => {
    const row = rows.get(m.name);
    return row === undefined ? [] : [rejudged(m, row, failing)];
  });
  const conformanceOutcomes = Object.fromEntries(mutants.flatMap((m) => (earlierConformance.has(m.name) ? [[m.name, earlierConformance.get(m.name) as readonly ConformanceOutcome[]]] : [])));
  const next: StoredResults = { seed: run.seed, checks: run.checks, results, baselineFailures: Object.fromEntries([...failing].map(([role, ids]) => [role, [...ids].sort()])), conformanceOutcomes };
  mkdirSync(out, { recursive: true });
  writeFileSync(file, `${JSON.stringify(next, null, 1)}\n`);
  return next;
}

/**
 * A checker-only row (`--skip-conformance`) completed with the conformance outcomes an
 * earlier run with the same seed measured for that mutant, marked as carried; unchanged
 * when there are none.
 */
function withEarlierConformance(row: MutantResult, earlier: readonly ConformanceOutcome[] | undefined): MutantResult {
  if (earlier === undefined) return row;
  return { ...row, conformance: earlier, conformanceSkipped: false, conformanceCarried: true };
}

/** `row` with the cases that fail the unmutated copy taken out of its conformance outcomes, and its verdict decided again. */
function rejudged(mutant: Mutant, row: MutantResult, failing: ReadonlyMap<string, ReadonlySet<string>>): MutantResult {
  const conformance: ConformanceOutcome[] = row.conformance.map((c) => {
    const ignored = failing.get(c.role);
    if (ignored === undefined || c.verdict === 'failed-to-run') return c;
    const failedCases = c.failedCases.filter((f) => !ignored.has(f.id));
    return { ...c, failedCases, verdict: failedCases.length > 0 ? 'failed' : 'passed' };
  });
  const verdict = verdictOf(mutant, row.checker, conformance);
  const note = verdict === 'equivalent' ? mutant.equivalent : undefined;
  const { note: _old, ...rest } = row;
  return { ...rest, conformance, verdict, ...(note === undefined ? {} : { note }) };
}

/** The catalogue's mutants without a stored row measured with conformance: the README's table needs none missing. */
export function missingForReadme(stored: StoredResults): string[] {
  const measured = new Set(stored.results.filter((r) => !r.conformanceSkipped).map((r) => r.mutant));
  return mutants.filter((m) => !measured.has(m.name)).map((m) => m.name);
}
