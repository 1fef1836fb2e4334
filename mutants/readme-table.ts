/**
 * The mutation table in README.md, between `<!-- mutants-table -->` markers: written by
 * `npm run mutants -- --readme`, and its mutant names checked against the catalogue with
 * the other README figures (docs/build/readme-figures.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mutants } from './catalogue.js';

/** The table's block in README.md; the first group is the table. */
export const readmeTablePattern = /<!-- mutants-table -->\n([\s\S]*?)<!-- \/mutants-table -->/g;

/** The mutant names in catalogue order: the rows the README's table must have. */
export function catalogueNames(): string[] {
  return mutants.map((m) => m.name);
}

export function writeReadmeTable(root: string, table: string, command: string): void {
  const path = join(root, 'README.md');
  const text = readFileSync(path, 'utf8');
  // Only the mutant names are backticked inside the block: the command is quoted.
  const block = `<!-- mutants-table -->\nMeasured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC with "${command}":\n\n${table}\n<!-- /mutants-table -->`;
  const matches = [...text.matchAll(readmeTablePattern)];
  if (matches.length !== 1) throw new Error(`README.md must hold exactly one <!-- mutants-table --> block, found ${matches.length}`);
  writeFileSync(path, text.replace(readmeTablePattern, () => block));
}

/** Why the README's table disagrees with the catalogue, or null. */
export function readmeTableProblem(root: string): string | null {
  const text = readFileSync(join(root, 'README.md'), 'utf8');
  const match = [...text.matchAll(readmeTablePattern)][0];
  if (match === undefined) return 'README.md has no <!-- mutants-table --> block';
  const names = [...(match[1] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]);
  const expected = catalogueNames();
  return names.join(' ') === expected.join(' ') ? null : `README.md's mutation table names ${names.join(', ')}; the catalogue has ${expected.join(', ')} (npm run mutants -- --readme)`;
}
