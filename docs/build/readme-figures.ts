/**
 * Figures the READMEs quote that the code can compute (how many conformance cases a
 * profile has, how many known-bad variants, which scenarios and presets exist), each
 * with where it is quoted. `readmeFigureProblems` lists every quote that disagrees with
 * the code (docs/test/readme-figures.test.ts fails on any); `npm run docs:figures`
 * rewrites the numbers in place. A check whose sentence is gone is a problem too, so a
 * figure cannot silently drop out of the check.
 *
 * Measurements (times, rates) are not here: they are dated results of a run, kept with
 * the command that produced them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { presetNames } from '../../checker/chain/presets.js';
import { casesForRole } from '../../conformance/cases/registry.js';
import type { Role } from '../../machines/index.js';
import { scenarioNames } from '../../simulator/named-scenarios.js';
import { variantNames } from '../../spec/variants.js';
import { figureScenarios } from './protocol-figures.js';

/** A number quoted in a file: the pattern's first group is the number (digits, or a word for small numbers). */
export interface QuotedNumber {
  readonly kind: 'number';
  readonly file: string;
  readonly what: string;
  readonly pattern: RegExp;
  readonly expected: () => number;
  /** Whether the file writes it as a word (`seven`). */
  readonly inWords?: boolean;
}

/** A list of backticked names quoted in a file: the pattern's first group holds the list. */
export interface QuotedNames {
  readonly kind: 'names';
  readonly file: string;
  readonly what: string;
  readonly pattern: RegExp;
  readonly expected: () => readonly string[];
}

export type QuotedFigure = QuotedNumber | QuotedNames;

const caseCount = (role: Role) => (): number => casesForRole(role).length;

export const quotedFigures: readonly QuotedFigure[] = [
  // The profile sizes in conformance/README.md are written by npm run conformance:index and checked by conformance/test/traceability.test.ts.
  { kind: 'number', file: 'conformance/README.md', what: 'cases in the sample output', pattern: /role kubelet \(kubelet:n1\), testee command, (\d+) case\(s\)/g, expected: caseCount('kubelet') },
  { kind: 'number', file: 'conformance/README.md', what: 'passed cases in the sample output (all but the one failing)', pattern: /^ {4}(\d+) passed, 1 failed/gm, expected: () => casesForRole('kubelet').length - 1 },
  { kind: 'number', file: 'conformance/README.md', what: 'known-bad variants', pattern: /[Ee]ach of the (\d+) known-bad variants/g, expected: () => variantNames.length },
  // The example Kubelet's README quotes a dated run (which cases passed on that day): history, not a figure of today's code.
  { kind: 'number', file: 'docs/README.md', what: 'named scenarios of the spec figures', pattern: /not by hand \(`build\/protocol-figures\.ts`\): (\w+)\s+named scenarios/g, expected: () => figureScenarios.length, inWords: true },
  { kind: 'names', file: 'simulator/README.md', what: 'named scenarios of kd simulate', pattern: /^Scenarios: ((?:`[^`]+`,?\s+)+)or a/gm, expected: () => scenarioNames() },
  { kind: 'names', file: 'checker/README.md', what: 'presets of kd check', pattern: /^Presets \(`--list-presets`\): ([\s\S]*?)\. What each explores/gm, expected: () => presetNames() },
];

const words = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve'];

function numberText(value: number, inWords: boolean): string {
  return inWords && value < words.length ? (words[value] ?? String(value)) : String(value);
}

function numberOf(text: string): number {
  const at = words.indexOf(text.toLowerCase());
  return at >= 0 ? at : Number(text);
}

/** The backticked names of a quoted list, in order. */
function namesIn(text: string): string[] {
  return [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
}

/** Every quote that disagrees with the code, and every check whose quote is gone. */
export function readmeFigureProblems(repositoryRoot: string): string[] {
  const problems: string[] = [];
  for (const figure of quotedFigures) {
    const text = readFileSync(join(repositoryRoot, figure.file), 'utf8');
    const matches = [...text.matchAll(figure.pattern)];
    if (matches.length === 0) problems.push(`${figure.file}: the sentence quoting ${figure.what} is gone (pattern ${figure.pattern.source}); update docs/build/readme-figures.ts`);
    for (const match of matches) {
      const quoted = match[1] ?? '';
      if (figure.kind === 'number') {
        const expected = figure.expected();
        if (numberOf(quoted) !== expected) problems.push(`${figure.file}: ${figure.what} quoted as ${quoted}, the code has ${expected} (npm run docs:figures)`);
      } else {
        const expected = figure.expected();
        const names = namesIn(quoted);
        if (names.join(' ') !== expected.join(' ')) problems.push(`${figure.file}: ${figure.what} quoted as ${names.join(', ')}; the code has ${expected.join(', ')}`);
      }
    }
  }
  return problems;
}

/** Rewrites every quoted number to the code's value (lists are only reported); returns the files changed. */
export function updateReadmeFigures(repositoryRoot: string): string[] {
  const changed = new Set<string>();
  for (const figure of quotedFigures) {
    if (figure.kind !== 'number') continue;
    const path = join(repositoryRoot, figure.file);
    const text = readFileSync(path, 'utf8');
    const next = text.replace(figure.pattern, (whole: string, quoted: string) => whole.replace(quoted, numberText(figure.expected(), figure.inWords === true)));
    if (next !== text) {
      writeFileSync(path, next);
      changed.add(figure.file);
    }
  }
  return [...changed];
}
