/**
 * Worker threads of the parallel search load their code from esbuild bundles (built on
 * demand in out/search-worker/, reused while no source changed: bin/kd-bundle.mjs), not
 * through tsx: compiling the model's TypeScript in every worker cost each about half a
 * CPU-second before its first state, several seconds of wall time on a loaded machine.
 * When a bundle cannot be built the worker falls back to tsx.
 */
import { relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { repositoryModuleUrl, repositoryRoot } from '../../runtime/repository-paths.js';

interface BundleModule {
  ensureBundle(options: { root: string; entry: string; bundleDir: string }): Promise<{ bundleFile: string; rebuilt: boolean }>;
}

/** Where a worker finds the model: `module`'s export `exportName`, called with `argument` (JSON only). */
export interface ModelFactory {
  readonly module: string;
  readonly exportName: string;
  readonly argument: unknown;
}

export interface WorkerCode {
  /** The worker's own code (parallel-worker.ts), bundled; null: load it through tsx. */
  readonly workerBundle: string | null;
  /** The factory, its module pointing at the bundle of the model's module when there is one. */
  readonly factory: ModelFactory;
}

/** Bundles of the worker and of the model's module, or the sources (tsx) when bundling fails. */
export async function workerCodeFor(factory: ModelFactory): Promise<WorkerCode> {
  try {
    const { ensureBundle } = (await import(repositoryModuleUrl('bin', 'kd-bundle.mjs'))) as BundleModule;
    const bundle = async (file: string) => {
      const entry = relative(repositoryRoot, file);
      if (entry.startsWith('..')) throw new Error(`${file} is outside the repository`);
      const bundleDir = `${repositoryRoot}/out/search-worker/${entry.replace(/[^a-zA-Z0-9]+/g, '-')}`;
      return pathToFileURL((await ensureBundle({ root: repositoryRoot, entry, bundleDir })).bundleFile).href;
    };
    const workerBundle = await bundle(fileURLToPath(repositoryModuleUrl('checker', 'engine', 'parallel-worker.ts')));
    const modelBundle = await bundle(fileURLToPath(factory.module));
    return { workerBundle, factory: { ...factory, module: modelBundle } };
  } catch {
    return { workerBundle: null, factory };
  }
}
