#!/usr/bin/env node
/**
 * Provisions the Debian packages the test suite needs, before any test runs, so that
 * `npm test` on a fresh machine (Node only) either passes or stops at once with a
 * message saying what to install. The list is `test/system-packages.json`.
 *
 * - Everything present: one line, exit 0.
 * - Something missing, running as root with apt-get: `apt-get update` and
 *   `apt-get install -y` of the missing packages (waiting for the dpkg lock if another
 *   install holds it), then checks again.
 * - Something missing and no way to install it: the missing packages, who needs them
 *   and the command to install them; exit 2. `KD_TEST_PROVISION=0` skips this step
 *   (the tests needing a missing package then fail with their own message).
 *
 * Plain JavaScript on purpose: it runs before anything else of the project is built.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const exitMissing = 2;
const dpkgLockWaitSeconds = 900;
const listPath = process.env.KD_TEST_PROVISION_LIST ?? join(dirname(fileURLToPath(import.meta.url)), 'system-packages.json');

function say(line) {
  process.stdout.write(`provision: ${line}\n`);
}

function readList() {
  const parsed = JSON.parse(readFileSync(listPath, 'utf8'));
  if (!Array.isArray(parsed.packages)) throw new Error(`${listPath}: "packages" must be an array`);
  for (const entry of parsed.packages) {
    for (const key of ['package', 'provides', 'neededBy'])
      if (typeof entry[key] !== 'string' || entry[key] === '') throw new Error(`${listPath}: every package needs a non-empty "${key}"`);
  }
  return parsed.packages;
}

function missingOf(packages) {
  return packages.filter((entry) => !existsSync(entry.provides));
}

function canInstall() {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  return isRoot && existsSync('/usr/bin/apt-get');
}

function aptGet(args) {
  const lockOption = ['-o', `DPkg::Lock::Timeout=${dpkgLockWaitSeconds}`];
  const result = spawnSync('apt-get', [...lockOption, ...args], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (result.status !== 0) throw new Error(`apt-get ${args.join(' ')} exited with ${result.status ?? result.signal}`);
}

function explainAndExit(missing, why) {
  const names = missing.map((entry) => entry.package).join(' ');
  process.stderr.write(`provision: the tests need Debian packages that are not installed, and ${why}:\n`);
  for (const entry of missing) process.stderr.write(`  ${entry.package} (${entry.provides}): ${entry.neededBy}\n`);
  process.stderr.write(`Install them as root, then run npm test again:\n  apt-get update && apt-get install -y ${names}\n`);
  process.stderr.write('Or set KD_TEST_PROVISION=0 to run the tests without them (the tests that need them fail).\n');
  process.exit(exitMissing);
}

function main() {
  if (process.env.KD_TEST_PROVISION === '0') {
    say('skipped (KD_TEST_PROVISION=0)');
    return;
  }
  const packages = readList();
  const missing = missingOf(packages);
  if (missing.length === 0) {
    say(`system packages present: ${packages.map((entry) => entry.package).join(', ')}`);
    return;
  }
  if (!canInstall()) explainAndExit(missing, 'this process cannot install them (it needs root and apt-get)');
  const names = missing.map((entry) => entry.package);
  say(`installing ${names.join(', ')} with apt-get (once per machine)`);
  const startedMs = performance.now();
  try {
    aptGet(['update', '-qq']);
    aptGet(['install', '-y', '-qq', ...names]);
  } catch (error) {
    explainAndExit(missing, `installing them failed (${error.message})`);
  }
  const stillMissing = missingOf(packages);
  if (stillMissing.length > 0) explainAndExit(stillMissing, 'apt-get installed them but their files are not where the tests look');
  say(`installed ${names.join(', ')} in ${((performance.now() - startedMs) / 1000).toFixed(0)} s`);
}

try {
  main();
} catch (error) {
  process.stderr.write(`provision: ${error.message}\n`);
  process.exit(exitMissing);
}
