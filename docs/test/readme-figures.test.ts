/**
 * The figures the READMEs quote agree with the code (docs/build/readme-figures.ts): case
 * counts of the conformance profiles, the known-bad variants, the named scenarios and
 * presets. Fails naming the file, the figure and both values; `npm run docs:figures`
 * fixes the numbers.
 */
import { mkdtempSync, cpSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { casesForRole } from '../../conformance/cases/registry.js';
import { quotedFigures, readmeFigureProblems, updateReadmeFigures } from '../build/readme-figures.js';
import { repositoryRoot } from '../build/site.js';

describe('figures quoted in the READMEs', () => {
  it('agree with the code', () => {
    expect(readmeFigureProblems(repositoryRoot)).toEqual([]);
  });

  it('a stale quote is found, named, and rewritten by docs:figures', () => {
    const copy = mkdtempSync(join(tmpdir(), 'kd-figures-'));
    try {
      for (const file of new Set(quotedFigures.map((f) => f.file))) {
        mkdirSync(dirname(join(copy, file)), { recursive: true });
        cpSync(join(repositoryRoot, file), join(copy, file));
      }
      const readme = join(copy, 'conformance/README.md');
      const kubelet = casesForRole('kubelet').length;
      const sample = `role kubelet (kubelet:n1), testee command, ${kubelet} case(s)`;
      writeFileSync(readme, readFileSync(readme, 'utf8').replace(sample, `role kubelet (kubelet:n1), testee command, ${kubelet - 1} case(s)`));
      expect(readmeFigureProblems(copy)).toEqual([`conformance/README.md: cases in the sample output quoted as ${kubelet - 1}, the code has ${kubelet} (npm run docs:figures)`]);
      expect(updateReadmeFigures(copy)).toEqual(['conformance/README.md']);
      expect(readmeFigureProblems(copy)).toEqual([]);
      writeFileSync(readme, readFileSync(readme, 'utf8').replace(sample, 'role kubelet, testee command'));
      expect(readmeFigureProblems(copy)[0]).toContain('the sentence quoting cases in the sample output is gone');
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
