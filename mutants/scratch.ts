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

/**
 * The mutated files of a mutant, read from `root` (file -> text); throws AnchorError unless
 * each edit's anchor occurs exactly once in its file (after the mutant's earlier edits).
 */
export function mutatedFiles(root: string, mutant: Mutant): Map<string, string> {
  const files = new Map<string, string>();
  for (const edit of mutant.edits) {
    const path = join(root, edit.file);
    if (!files.has(edit.file) && !existsSync(path)) throw new AnchorError(`mutant ${mutant.name}: ${edit.file} does not exist`);
    const text = files.get(edit.file) ?? readFileSync(path, 'utf8');
    const count = occurrences(text, edit.anchor);
    if (count !== 1) throw new AnchorError(`mutant ${mutant.name}: an anchor occurs ${count} times in ${edit.file}, must be exactly once (update it in mutants/catalogue.ts): ${JSON.stringify(edit.anchor.slice(0, 80))}`);
    const mutated = text.replace(edit.anchor, () => edit.replacement);
    if (mutated === text) throw new AnchorError(`mutant ${mutant.name}: a replacement leaves ${edit.file} unchanged`);
    files.set(edit.file, mutated);
  }
  if (files.size === 0) throw new AnchorError(`mutant ${mutant.name} has no edits`);
  return files;
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
  const mutated = mutant === null ? new Map<string, string>() : mutatedFiles(root, mutant);
  const dir = mkdtempSync(join(tmpdir(), `kd-mutant-${label}-`));
  for (const file of repositoryFiles(root)) {
    const target = join(dir, file);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(join(root, file), target);
  }
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  for (const [file, text] of mutated) writeFileSync(join(dir, file), text);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
