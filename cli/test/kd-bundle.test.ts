/**
 * bin/kd-bundle.mjs: `kd` runs from an esbuild bundle that is built on demand, reused while
 * its inputs are unchanged and rebuilt as soon as one changes. The rebuild cases run on a
 * small fixture project in a temporary folder (never on the real sources); the last tests
 * start the real bin/kd.mjs with its bundle in a temporary folder under out/.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BundleBuildError, bundleDirOf, ensureBundle, repositoryRoot } from '../../bin/kd-bundle.mjs';

const temporaryDirs: string[] = [];
afterAll(() => {
  for (const dir of temporaryDirs) rmSync(dir, { recursive: true, force: true });
});

function temporaryDir(parent: string, prefix: string): string {
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, prefix));
  temporaryDirs.push(dir);
  return dir;
}

/** Rewrites a file with a modification time one second later than before, so that the change shows even within one clock tick. */
function rewrite(file: string, contents: string): void {
  const before = statSync(file).mtimeMs;
  writeFileSync(file, contents);
  const later = new Date(before + 1000);
  utimesSync(file, later, later);
}

let imports = 0;
/** What the bundle's entry exports, imported afresh (a new URL each time, past the module cache). */
async function valueOf(bundleFile: string): Promise<unknown> {
  imports += 1;
  const loaded = (await import(`${pathToFileURL(bundleFile).href}?import=${imports}`)) as { value: unknown };
  return loaded.value;
}

describe('ensureBundle on a fixture project', () => {
  const root = temporaryDir(tmpdir(), 'kd-bundle-fixture-');
  const bundleDir = join(root, 'out', 'kd');
  const options = { root, entry: 'main.ts', bundleDir };
  writeFileSync(join(root, 'main.ts'), "import { part } from './part.js';\nexport const value: string = `main+${part}`;\n");
  writeFileSync(join(root, 'part.ts'), "export const part: string = 'one';\n");
  writeFileSync(join(root, 'package-lock.json'), '{}\n');

  it('builds the bundle, its source map and a manifest of its inputs', async () => {
    const built = await ensureBundle(options);
    expect(built).toEqual({ bundleFile: join(bundleDir, 'cli.mjs'), rebuilt: true });
    expect(await valueOf(built.bundleFile)).toBe('main+one');
    expect(readFileSync(built.bundleFile, 'utf8')).toMatch(/\/\/# sourceMappingURL=cli\.mjs\.map/);
    const map = JSON.parse(readFileSync(join(bundleDir, 'cli.mjs.map'), 'utf8')) as { sources: string[] };
    expect(map.sources).toEqual(['../../part.ts', '../../main.ts']);
    const manifest = JSON.parse(readFileSync(join(bundleDir, 'manifest.json'), 'utf8')) as { inputs: Record<string, { size: number }> };
    expect(Object.keys(manifest.inputs).sort()).toEqual(['main.ts', 'package-lock.json', 'part.ts']);
  });

  it('reuses the bundle while no input changed', async () => {
    const bundleMtimeMs = statSync(join(bundleDir, 'cli.mjs')).mtimeMs;
    expect(await ensureBundle(options)).toMatchObject({ rebuilt: false });
    expect(await ensureBundle(options)).toMatchObject({ rebuilt: false });
    expect(statSync(join(bundleDir, 'cli.mjs')).mtimeMs).toBe(bundleMtimeMs);
  });

  it('rebuilds when an imported file changes', async () => {
    rewrite(join(root, 'part.ts'), "export const part: string = 'two';\n");
    const built = await ensureBundle(options);
    expect(built.rebuilt).toBe(true);
    expect(await valueOf(built.bundleFile)).toBe('main+two');
    expect(await ensureBundle(options)).toMatchObject({ rebuilt: false });
  });

  it('rebuilds when an input is only touched, or package-lock.json changes', async () => {
    const part = join(root, 'part.ts');
    const later = new Date(statSync(part).mtimeMs + 1000);
    utimesSync(part, later, later);
    expect(await ensureBundle(options)).toMatchObject({ rebuilt: true });
    rewrite(join(root, 'package-lock.json'), '{ "lockfileVersion": 3 }\n');
    expect(await ensureBundle(options)).toMatchObject({ rebuilt: true });
    expect(await ensureBundle(options)).toMatchObject({ rebuilt: false });
  });

  it('picks up a new file through the import added to a file already in the bundle', async () => {
    writeFileSync(join(root, 'extra.ts'), "export const extra: string = 'extra';\n");
    rewrite(join(root, 'main.ts'), "import { part } from './part.js';\nimport { extra } from './extra.js';\nexport const value: string = `main+${part}+${extra}`;\n");
    const built = await ensureBundle(options);
    expect(built.rebuilt).toBe(true);
    expect(await valueOf(built.bundleFile)).toBe('main+two+extra');
  });

  it("reports esbuild's message when the sources do not build, and rebuilds once they do", async () => {
    unlinkSync(join(root, 'extra.ts'));
    const failed = ensureBundle(options);
    await expect(failed).rejects.toBeInstanceOf(BundleBuildError);
    await expect(failed).rejects.toThrow(/ERROR\] Could not resolve "\.\/extra\.js"\s+main\.ts:2:\d+/);
    writeFileSync(join(root, 'extra.ts'), "export const extra: string = 'back';\n");
    const built = await ensureBundle(options);
    expect(built.rebuilt).toBe(true);
    expect(await valueOf(built.bundleFile)).toBe('main+two+back');
  });
});

describe('bin/kd.mjs', () => {
  const bin = join(repositoryRoot, 'bin', 'kd.mjs');
  const bundleDir = temporaryDir(join(repositoryRoot, 'out'), 'kd-bundle-test-');
  const bundleFile = join(bundleDir, 'cli.mjs');
  const manifestFile = join(bundleDir, 'manifest.json');
  const kd = (args: string[], env: NodeJS.ProcessEnv = { KD_BUNDLE_DIR: bundleDir }) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, KD_NO_BUNDLE: '', ...env } });

  it('builds the bundle on first start, then reuses it', () => {
    const first = kd(['--help']);
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/^Usage: kd COMMAND/);
    const inputs = Object.keys((JSON.parse(readFileSync(manifestFile, 'utf8')) as { inputs: object }).inputs);
    expect(inputs).toEqual(expect.arrayContaining(['cli/main.ts', 'runtime/repository-paths.ts', 'package-lock.json', 'tsconfig.json', 'bin/kd-bundle.mjs']));
    const bundleMtimeMs = statSync(bundleFile).mtimeMs;
    const manifestMtimeMs = statSync(manifestFile).mtimeMs;
    const second = kd(['simulate', '--replicas', '3', '--nodes', '1']);
    expect(second.status).toBe(0);
    expect(second.stdout).toMatch(/fn: 3 running/);
    expect(statSync(bundleFile).mtimeMs).toBe(bundleMtimeMs);
    expect(statSync(manifestFile).mtimeMs).toBe(manifestMtimeMs);
  });

  it('rebuilds when the manifest no longer matches a source', () => {
    // As if cli/main.ts had changed since the build, without touching the real file.
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { inputs: Record<string, { size: number; mtimeMs: number }> };
    manifest.inputs['cli/main.ts'] = { size: 1, mtimeMs: 1 };
    writeFileSync(manifestFile, JSON.stringify(manifest));
    const bundleMtimeMs = statSync(bundleFile).mtimeMs;
    expect(kd(['--help']).status).toBe(0);
    expect(statSync(bundleFile).mtimeMs).toBeGreaterThan(bundleMtimeMs);
    const rebuilt = JSON.parse(readFileSync(manifestFile, 'utf8')) as typeof manifest;
    expect(rebuilt.inputs['cli/main.ts']?.size).toBe(statSync(join(repositoryRoot, 'cli', 'main.ts')).size);
  });

  it('refuses a bundle folder outside the repository', () => {
    expect(() => bundleDirOf(repositoryRoot, { KD_BUNDLE_DIR: tmpdir() })).toThrow(/KD_BUNDLE_DIR must be inside the repository/);
    const outside = kd(['--help'], { KD_BUNDLE_DIR: tmpdir() });
    expect(outside.status).toBe(2);
    expect(outside.stderr).toMatch(/KD_BUNDLE_DIR must be inside the repository/);
    expect(outside.stderr).not.toMatch(/\n {4}at /); // a message, not a stack trace
  });

  it('runs from the TypeScript sources with KD_NO_BUNDLE=1', () => {
    const unusedBundleDir = join(bundleDir, 'unused');
    const viaTsx = kd(['--help'], { KD_NO_BUNDLE: '1', KD_BUNDLE_DIR: unusedBundleDir });
    expect(viaTsx.status).toBe(0);
    expect(viaTsx.stdout).toMatch(/^Usage: kd COMMAND/);
    expect(existsSync(unusedBundleDir)).toBe(false);
  });
});
