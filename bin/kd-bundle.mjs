// The `kd` bundle: cli/main.ts and everything it imports from this repository, bundled by
// esbuild into one ES module with a source map, so a `kd` process starts without compiling
// TypeScript (tsx compiles ~150 files on every start; a local cluster starts a dozen `kd`
// processes). The bundle is built on demand and never committed: out/kd/ (KD_BUNDLE_DIR)
// holds
//   cli.mjs, cli.mjs.map   the bundle (node_modules stay ordinary imports: `packages: 'external'`)
//   manifest.json          every input of the last build (esbuild's metafile, plus the build's
//                          own inputs below) with its size and mtimeMs
// On every start the inputs of the manifest are stat-ed (~160 files, a few ms); a missing
// bundle or manifest, or an input changed or deleted, means a rebuild (~0.5 s). A new source
// file can only enter the bundle through an import added to a file already in it, and that
// file changed, so stat-ing the known inputs is enough.
//
// Several processes may start at once (`kd up` starts a dozen stage processes): each writes
// its files to a temporary name and renames them into place, so a reader sees a whole old
// file or a whole new one, and two concurrent rebuilds of the same sources write the same bytes.
// Plain JS on purpose: it runs before any TypeScript loader.
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Files that change what the build produces without being imported by the bundled code. */
export const buildInputs = ['package-lock.json', 'tsconfig.json', 'bin/kd-bundle.mjs'];

const manifestFormat = 1;

/** A build error: `message` is esbuild's formatted report. */
export class BundleBuildError extends Error {}

/**
 * The bundle of `entry` (a path from `root`) in `bundleDir`, rebuilt first when missing or
 * stale. Returns the bundle's path and whether this call built it.
 */
export async function ensureBundle({ root, entry, bundleDir }) {
  const bundleFile = join(bundleDir, 'cli.mjs');
  const manifestFile = join(bundleDir, 'manifest.json');
  if (isFresh(root, entry, bundleFile, manifestFile)) return { bundleFile, rebuilt: false };
  await build({ root, entry, bundleDir, manifestFile });
  return { bundleFile, rebuilt: true };
}

function isFresh(root, entry, bundleFile, manifestFile) {
  let manifest;
  try {
    statSync(bundleFile);
    manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  } catch {
    return false;
  }
  if (manifest.format !== manifestFormat || manifest.entry !== entry) return false;
  for (const [input, recorded] of Object.entries(manifest.inputs)) {
    const stat = statOf(join(root, input));
    if (stat === null || stat.size !== recorded.size || stat.mtimeMs !== recorded.mtimeMs) return false;
  }
  return true;
}

function statOf(file) {
  try {
    const stat = statSync(file);
    return { size: stat.size, mtimeMs: stat.mtimeMs };
  } catch {
    return null;
  }
}

async function build({ root, entry, bundleDir, manifestFile }) {
  const { buildSync, formatMessagesSync } = await import('esbuild');
  const startedMs = Date.now();
  let result;
  try {
    result = buildSync({
      absWorkingDir: root,
      entryPoints: { cli: entry },
      outdir: bundleDir,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      // Stack traces map back to the .ts files (bin/kd.mjs enables source maps); the map
      // points at the sources in the repository instead of carrying a copy of them.
      sourcemap: 'linked',
      sourcesContent: false,
      // No code here reads a function's or class's `.name`, so no `__name` calls on hot paths.
      keepNames: false,
      metafile: true,
      write: false,
      logLevel: 'silent',
    });
  } catch (error) {
    const messages = Array.isArray(error?.errors) && error.errors.length > 0 ? formatMessagesSync(error.errors, { kind: 'error', color: false }).join('') : String(error?.message ?? error);
    throw new BundleBuildError(messages);
  }
  const finishedMs = Date.now();
  const inputs = {};
  for (const input of [...Object.keys(result.metafile.inputs), ...buildInputs]) {
    const stat = statOf(join(root, input));
    if (stat === null) continue;
    // Written while esbuild was reading the sources: the bundle may hold the older content,
    // so the input is recorded as unknown and the next start rebuilds.
    const changedDuringBuild = stat.mtimeMs >= startedMs - 1 && stat.mtimeMs <= finishedMs + 1;
    inputs[input] = changedDuringBuild ? { size: -1, mtimeMs: -1 } : stat;
  }
  mkdirSync(bundleDir, { recursive: true });
  // The manifest goes last: a manifest on disk always describes bundle files already in place.
  for (const file of result.outputFiles) writeAtomically(file.path, file.contents);
  writeAtomically(manifestFile, JSON.stringify({ format: manifestFormat, entry, inputs }, null, 1) + '\n');
}

function writeAtomically(file, contents) {
  const temporary = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    writeFileSync(temporary, contents);
    renameSync(temporary, file);
  } finally {
    rmSync(temporary, { force: true });
  }
}

/**
 * The bundle folder: KD_BUNDLE_DIR (relative to the repository root, as stage processes run
 * in their cluster's folder) or out/kd/. It must be inside the repository, whose root the
 * bundled code finds by walking up from the bundle (runtime/repository-paths.ts).
 */
export function bundleDirOf(root, env = process.env) {
  const bundleDir = resolve(root, env.KD_BUNDLE_DIR || join('out', 'kd'));
  const inside = relative(root, bundleDir);
  if (inside.startsWith('..') || isAbsolute(inside)) throw new Error(`KD_BUNDLE_DIR must be inside the repository ${root}, not ${bundleDir}`);
  return bundleDir;
}

/** The repository this file belongs to (bin/..). */
export const repositoryRoot = dirname(dirname(fileURLToPath(import.meta.url)));
