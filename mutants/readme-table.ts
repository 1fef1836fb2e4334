/**
 * The mutation table in mutants/README.md (the top-level README links to it), between `<!-- mutants-table -->` markers: written by
 * `npm run mutants -- --readme`, and its mutant names checked against the catalogue with
 * the other README figures (docs/build/readme-figures.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mutants } from './catalogue.js';

/** The file that holds the table, from the repository's root. */
export const mutationTableFile = join('mutants', 'README.md');

/** The table's block in that file; the first group is the table. */
export const readmeTablePattern = /<!-- mutants-table -->\n([\s\S]*?)<!-- \/mutants-table -->/g;

/** The mutant names in catalogue order: the rows the README's table must have. */
export function catalogueNames(): string[] {
  return mutants.map((m) => m.name);
}

export function writeReadmeTable(root: string, table: string, command: string): void {
  const path = join(root, mutationTableFile);
  const text = readFileSync(path, 'utf8');
  // Only the mutant names are backticked inside the block: the command is quoted.
  const block = `<!-- mutants-table -->\nMeasured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC with "${command}":\n\n${table}\n<!-- /mutants-table -->`;
  const matches = [...text.matchAll(readmeTablePattern)];
  if (matches.length !== 1) throw new Error(`${mutationTableFile} must hold exactly one <!-- mutants-table --> block, found ${matches.length}`);
  writeFileSync(path, text.replace(readmeTablePattern, () => block));
}

/** Why the README's table disagrees with the catalogue, or null. */
export function readmeTableProblem(root: string): string | null {
  const text = readFileSync(join(root, mutationTableFile), 'utf8');
  const match = [...text.matchAll(readmeTablePattern)][0];
  if (match === undefined) return `${mutationTableFile} has no <!-- mutants-table --> block`;
  const names = [...(match[1] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]);
  const expected = catalogueNames();
  return names.join(' ') === expected.join(' ') ? null : `${mutationTableFile}'s mutation table names ${names.join(', ')}; the catalogue has ${expected.join(', ')} (npm run mutants -- --readme)`;
}
