#!/usr/bin/env node
// The `kd` command. It runs cli/main.ts from an esbuild bundle in out/kd/ that is built on
// demand and rebuilt whenever a source it was built from changes (bin/kd-bundle.mjs), so there
// is no build step to remember and a `kd` process starts without compiling TypeScript.
// KD_NO_BUNDLE=1 runs the TypeScript sources through tsx's loader instead, as before the
// bundle; KD_BUNDLE_DIR (a folder inside the repository, relative to its root) puts the
// bundle elsewhere (tests).
import { pathToFileURL } from 'node:url';

// `kd ... | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

async function loadMain() {
  if (process.env.KD_NO_BUNDLE === '1') {
    const { register } = await import('tsx/esm/api');
    register();
    return await import('../cli/main.ts');
  }
  const { BundleBuildError, bundleDirOf, ensureBundle, repositoryRoot } = await import('./kd-bundle.mjs');
  let bundleDir;
  try {
    bundleDir = bundleDirOf(repositoryRoot);
  } catch (error) {
    process.stderr.write(`kd: ${error.message} (unset KD_BUNDLE_DIR for the default out/kd/)\n`);
    process.exit(2);
  }
  let bundle;
  try {
    bundle = await ensureBundle({ root: repositoryRoot, entry: 'cli/main.ts', bundleDir });
  } catch (error) {
    if (!(error instanceof BundleBuildError)) throw error;
    process.stderr.write(`kd: could not build the kd bundle from the sources (bin/kd-bundle.mjs):\n\n${error.message}\n`);
    process.exit(1);
  }
  // Stack traces name the .ts files and lines, through the bundle's source map.
  process.setSourceMapsEnabled(true);
  return await import(pathToFileURL(bundle.bundleFile).href);
}

const { main, exitsWhenDone } = await loadMain();
process.exitCode = await main(process.argv.slice(2));
// A one-shot operator call is done once it has printed: a connection attempt still open to an
// unreachable host must not keep the process alive until TCP gives up (about two minutes).
if (exitsWhenDone(process.argv.slice(2))) process.exit();
