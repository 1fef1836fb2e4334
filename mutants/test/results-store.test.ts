/**
 * OUT/results.json: a checker-only run keeps each mutant's conformance outcomes of an
 * earlier run with the same seed, also when the checks changed, and says so; rows of
 * other checks are dropped, and another seed carries nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { storeResults } from '../results-store.js';
import type { MutantResult } from '../table.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function outDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kd-results-store-'));
  dirs.push(dir);
  return dir;
}

/** A row of `mutant`: the checker verified it on `check`; conformance killed it, or was skipped. */
function row(mutant: string, check: string, conformance: 'killed' | 'skipped'): MutantResult {
  return {
    mutant,
    requirement: 'REQ-SCHED-002',
    checker: [{ check, verdict: 'verified', seconds: 1 }],
    conformance:
      conformance === 'killed'
        ? [{ role: 'scheduler', verdict: 'failed', failedCases: [{ id: 'scheduler.places-on-largest-free', status: 'failed', requirements: ['REQ-SCHED-002'], message: 'placed on n2', step: 1, stepName: 'scale fn to 1' }], cases: 23, seconds: 60 }]
        : [],
    conformanceSkipped: conformance === 'skipped',
    verdict: conformance === 'killed' ? 'killed' : 'survived',
    seconds: 61,
  };
}

const noBaselines = new Map<string, ReadonlySet<string>>();

describe('storeResults', () => {
  it('a checker-only run with other checks keeps the conformance outcomes of the same seed, marked as carried, and drops rows it did not measure', () => {
    const out = outDir();
    storeResults(out, { seed: 42, checks: ['smoke', 'ci'] }, [row('place-on-smallest-free', 'ci', 'killed'), row('preempt-oldest-victim', 'ci', 'killed')], noBaselines);
    const stored = storeResults(out, { seed: 42, checks: ['smoke', 'ci', 'roomy'] }, [row('place-on-smallest-free', 'roomy', 'skipped')], noBaselines);
    expect(stored.results.map((r) => r.mutant)).toEqual(['place-on-smallest-free']);
    const carried = stored.results[0] as MutantResult;
    expect(carried.conformanceSkipped).toBe(false);
    expect(carried.conformanceCarried).toBe(true);
    expect(carried.conformance[0]?.failedCases[0]?.id).toBe('scheduler.places-on-largest-free');
    expect(carried.checker[0]?.check).toBe('roomy');
    expect(carried.verdict).toBe('killed');
  });

  it('carries for every mutant of a checker-only run one at a time, although its first row already replaced the file of other checks', () => {
    const out = outDir();
    storeResults(out, { seed: 42, checks: ['smoke', 'ci'] }, [row('place-on-smallest-free', 'ci', 'killed'), row('preempt-oldest-victim', 'ci', 'killed')], noBaselines);
    storeResults(out, { seed: 42, checks: ['roomy'] }, [row('place-on-smallest-free', 'roomy', 'skipped')], noBaselines);
    const stored = storeResults(out, { seed: 42, checks: ['roomy'] }, [row('preempt-oldest-victim', 'roomy', 'skipped')], noBaselines);
    expect(stored.results.map((r) => [r.mutant, r.conformanceCarried, r.verdict])).toEqual([
      ['place-on-smallest-free', true, 'killed'],
      ['preempt-oldest-victim', true, 'killed'],
    ]);
  });

  it('another seed carries nothing: the checker-only row stays without conformance', () => {
    const out = outDir();
    storeResults(out, { seed: 42, checks: ['smoke', 'ci'] }, [row('place-on-smallest-free', 'ci', 'killed')], noBaselines);
    const stored = storeResults(out, { seed: 7, checks: ['smoke', 'ci'] }, [row('place-on-smallest-free', 'ci', 'skipped')], noBaselines);
    const only = stored.results[0] as MutantResult;
    expect(only.conformanceSkipped).toBe(true);
    expect(only.conformanceCarried).toBeUndefined();
    expect(only.verdict).toBe('survived');
  });

  it('a run with conformance replaces the carried outcomes', () => {
    const out = outDir();
    storeResults(out, { seed: 42, checks: ['ci'] }, [row('place-on-smallest-free', 'ci', 'killed')], noBaselines);
    const stored = storeResults(out, { seed: 42, checks: ['ci'] }, [{ ...row('place-on-smallest-free', 'ci', 'killed'), conformance: [{ role: 'scheduler', verdict: 'passed', failedCases: [], cases: 23, seconds: 50 }], verdict: 'survived' }], noBaselines);
    const fresh = stored.results[0] as MutantResult;
    expect(fresh.conformanceCarried).toBeUndefined();
    expect(fresh.conformance[0]?.verdict).toBe('passed');
  });
});
