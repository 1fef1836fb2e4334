/**
 * Paths of files that the code reads or runs at run time (.proto files, scripts, bin/kd.mjs),
 * resolved against the repository root. `import.meta.url` alone cannot do it: the same code
 * runs from its .ts source (tsx, vitest) and from the esbuild bundle in out/kd/ (bin/kd.mjs),
 * so `../../spec/x.proto` relative to the module would point to different places. The root is
 * the nearest folder above this module (or above the bundle holding it) that has bin/kd.mjs.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

function findRepositoryRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'bin', 'kd.mjs')) && existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no repository root (a folder with bin/kd.mjs) above ${start}`);
  }
}

export const repositoryRoot = findRepositoryRoot(dirname(fileURLToPath(import.meta.url)));

/** The absolute path of a file of the repository, given as path segments from the root, e.g. `repositoryPath('spec', 'health.proto')`. */
export function repositoryPath(...segments: readonly string[]): string {
  return join(repositoryRoot, ...segments);
}

/** The file URL of a module of the repository, for `import()` and worker threads. */
export function repositoryModuleUrl(...segments: readonly string[]): string {
  return pathToFileURL(repositoryPath(...segments)).href;
}
