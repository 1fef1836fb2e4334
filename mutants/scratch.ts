/**
 * Scratch copies of the repository, one per mutant: every file git knows (tracked, or new
 * and not ignored) is copied, `node_modules` is a symlink to the original's, and the
 * mutant's one replacement is applied there. `machines/` of the original is never
 * written. The copy builds its own `kd` bundle (bin/kd-bundle.mjs) on first use.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Mutant } from './catalogue.js';

export const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** A mutant that cannot be applied: its anchor is missing or ambiguous (fix it after a merge). */
export class AnchorError extends Error {
  override readonly name = 'AnchorError';
}

/** How many times `anchor` occurs in `text` (non-overlapping). */
export function occurrences(text: string, anchor: string): number {
  if (anchor === '') return 0;
  return text.split(anchor).length - 1;
}

/** The mutated text of the mutant's file, read from `root`; throws AnchorError unless the anchor occurs exactly once. */
export function mutatedText(root: string, mutant: Mutant): string {
  const path = join(root, mutant.file);
  if (!existsSync(path)) throw new AnchorError(`mutant ${mutant.name}: ${mutant.file} does not exist`);
  const text = readFileSync(path, 'utf8');
  const count = occurrences(text, mutant.anchor);
  if (count !== 1) throw new AnchorError(`mutant ${mutant.name}: its anchor occurs ${count} times in ${mutant.file}, must be exactly once (update the anchor in mutants/catalogue.ts)`);
  const mutated = text.replace(mutant.anchor, () => mutant.replacement);
  if (mutated === text) throw new AnchorError(`mutant ${mutant.name}: the replacement leaves ${mutant.file} unchanged`);
  return mutated;
}

/** The files of the repository as git sees them: tracked, and new files that are not ignored. */
function repositoryFiles(root: string): string[] {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return out.split('\0').filter((f) => f !== '' && existsSync(join(root, f)));
}

export interface ScratchCopy {
  readonly dir: string;
  remove(): void;
}

/** A scratch copy of `root` under the system's temporary folder, with `mutant` applied (none: the unmutated baseline). */
export function makeScratchCopy(root: string, mutant: Mutant | null, label: string): ScratchCopy {
  // Checked before anything is copied, so that a stale anchor costs nothing.
  const mutated = mutant === null ? null : mutatedText(root, mutant);
  const dir = mkdtempSync(join(tmpdir(), `kd-mutant-${label}-`));
  for (const file of repositoryFiles(root)) {
    const target = join(dir, file);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(join(root, file), target);
  }
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  if (mutant !== null && mutated !== null) writeFileSync(join(dir, mutant.file), mutated);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
