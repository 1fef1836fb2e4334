/**
 * The results of `npm run mutants` accumulate in OUT/results.json: a run of some mutants
 * (`--only`) replaces their rows and keeps the others', as long as the seed and the
 * checks are the same (otherwise the file starts afresh). The README's table is written
 * from it, in catalogue order, once every mutant has a row measured with conformance.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mutants } from './catalogue.js';
import type { MutantResult } from './table.js';

export interface StoredResults {
  readonly seed: number;
  readonly checks: readonly string[];
  readonly results: readonly MutantResult[];
}

function sameRun(a: StoredResults, b: Pick<StoredResults, 'seed' | 'checks'>): boolean {
  return a.seed === b.seed && a.checks.join(',') === b.checks.join(',');
}

/** Merges `fresh` into OUT/results.json and returns what is stored now (rows in catalogue order, mutants no longer catalogued dropped). */
export function storeResults(out: string, run: Pick<StoredResults, 'seed' | 'checks'>, fresh: readonly MutantResult[]): StoredResults {
  const file = join(out, 'results.json');
  const stored = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as StoredResults) : null;
  const rows = new Map<string, MutantResult>();
  if (stored !== null && sameRun(stored, run)) for (const r of stored.results) rows.set(r.mutant, r);
  for (const r of fresh) rows.set(r.mutant, r);
  const results = mutants.flatMap((m) => {
    const row = rows.get(m.name);
    return row === undefined ? [] : [row];
  });
  const next: StoredResults = { seed: run.seed, checks: run.checks, results };
  mkdirSync(out, { recursive: true });
  writeFileSync(file, `${JSON.stringify(next, null, 1)}\n`);
  return next;
}

/** The catalogue's mutants without a stored row measured with conformance: the README's table needs none missing. */
export function missingForReadme(stored: StoredResults): string[] {
  const measured = new Set(stored.results.filter((r) => !r.conformanceSkipped).map((r) => r.mutant));
  return mutants.filter((m) => !measured.has(m.name)).map((m) => m.name);
}
