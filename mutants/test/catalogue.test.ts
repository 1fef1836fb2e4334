/**
 * The mutant catalogue stays applicable: every anchor occurs exactly once in today's
 * machines/ (after a merge that moved code, fix the anchor), and the short version of
 * `npm run mutants`: one mutant through the checker on a scratch copy, killed with a
 * property and a counterexample, while the unmutated copy verifies.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requirements } from '../../spec/requirements.js';
import { conformanceRoles, mutantNamed, mutants, type Mutant } from '../catalogue.js';
import { readmeTableProblem } from '../readme-table.js';
import { runChecker } from '../run-mutant.js';
import { AnchorError, makeScratchCopy, mutatedFiles, repositoryRoot, type ScratchCopy } from '../scratch.js';

const requirementIds = new Set(requirements.map((r) => r.id));

describe('the mutant catalogue', () => {
  it('has at least 20 mutants with unique kebab-case names', () => {
    expect(mutants.length).toBeGreaterThanOrEqual(20);
    expect(new Set(mutants.map((m) => m.name)).size).toBe(mutants.length);
    for (const m of mutants) expect(m.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  });

  for (const mutant of mutants)
    it(`${mutant.name}: every anchor occurs exactly once in machines/, and the mutant names a requirement and a role`, () => {
      for (const edit of mutant.edits) expect(edit.file.startsWith('machines/'), edit.file).toBe(true);
      const files = mutatedFiles(repositoryRoot, mutant);
      for (const [file, text] of files) expect(text).not.toBe(readFileSync(join(repositoryRoot, file), 'utf8'));
      expect(requirementIds.has(mutant.requirement), mutant.requirement).toBe(true);
      expect(mutant.roles.length).toBeGreaterThan(0);
      for (const role of mutant.roles) expect(conformanceRoles).toContain(role);
      if (mutant.equivalent !== undefined) expect(mutant.equivalent.length).toBeGreaterThan(40);
      if (mutant.unobservableInModel !== undefined) expect(mutant.unobservableInModel.length).toBeGreaterThan(40);
      expect(mutant.equivalent !== undefined && mutant.unobservableInModel !== undefined, 'equivalent, or seen by a peer only: not both').toBe(false);
    });

  it('refuses a mutant whose anchor is missing or occurs twice', () => {
    const base = mutantNamed('accept-equal-epoch-hello');
    const edit = base.edits[0] as Mutant['edits'][number];
    const missing: Mutant = { ...base, edits: [{ ...edit, anchor: `${edit.anchor} /* not there */` }] };
    expect(() => mutatedFiles(repositoryRoot, missing)).toThrow(AnchorError);
    const twice: Mutant = { ...base, edits: [{ ...edit, anchor: 'return' }] };
    expect(() => mutatedFiles(repositoryRoot, twice)).toThrow(/occurs \d+ times/);
  });

  it("mutants/README.md's mutation table names every mutant of the catalogue, in order", () => {
    expect(readmeTableProblem(repositoryRoot)).toBeNull();
  });
});

describe('npm run mutants, short version (the checker on scratch copies)', () => {
  const copies: ScratchCopy[] = [];
  afterAll(() => {
    for (const copy of copies) copy.remove();
  });

  it('the unmutated copy verifies on smoke; accept-equal-epoch-hello is killed on ci with INV-FENCING and a counterexample', { timeout: 240_000 }, async () => {
    const baseline = makeScratchCopy(repositoryRoot, null, 'baseline-test');
    copies.push(baseline);
    const verified = await runChecker(baseline.dir, { label: 'smoke', args: ['--preset', 'smoke'] }, 200_000);
    expect(verified.verdict, JSON.stringify(verified)).toBe('verified');
    const mutant = makeScratchCopy(repositoryRoot, mutantNamed('accept-equal-epoch-hello'), 'accept-equal-epoch-hello-test');
    copies.push(mutant);
    const killed = await runChecker(mutant.dir, { label: 'ci', args: ['--preset', 'ci'] }, 200_000);
    expect(killed.verdict, JSON.stringify(killed)).toBe('violated');
    expect(killed.property).toBe('INV-FENCING');
    expect(killed.steps).toBeGreaterThan(0);
    expect(mutant.dir).not.toBe(repositoryRoot);
  });
});
