/**
 * The provisioner that `npm test` runs first: with every package present it says so and
 * exits 0; with a package missing and no way to install it (not root) it names the
 * package, who needs it and the command, and exits 2 before any test runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const script = join(import.meta.dirname, 'provision-system.mjs');

function listFile(packages: Array<{ package: string; provides: string; neededBy: string }>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kd-provision-'));
  chmodSync(dir, 0o755);
  const path = join(dir, 'list.json');
  writeFileSync(path, JSON.stringify({ packages }));
  chmodSync(path, 0o644);
  return path;
}

function runProvisioner(list: string, asUser?: string) {
  const [program, ...args] = asUser === undefined ? [process.execPath, script] : ['runuser', '-u', asUser, '--', process.execPath, script];
  const result = spawnSync(program ?? process.execPath, args, { env: { ...process.env, KD_TEST_PROVISION_LIST: list }, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('test/provision-system.mjs', () => {
  it('says the packages are present and exits 0 when every file is there', () => {
    const result = runProvisioner(listFile([{ package: 'coreutils', provides: '/bin/sh', neededBy: 'a test' }]));
    expect(result.stdout).toContain('system packages present: coreutils');
    expect(result.status).toBe(0);
  });

  it.runIf(process.getuid?.() === 0)('as a user who cannot install, names what is missing and how to install it, and exits 2', () => {
    const list = listFile([{ package: 'kd-no-such-package', provides: '/nonexistent/kd-binary', neededBy: 'the imaginary test' }]);
    const result = runProvisioner(list, 'nobody');
    expect(result.stderr).toContain('kd-no-such-package (/nonexistent/kd-binary): the imaginary test');
    expect(result.stderr).toContain('apt-get update && apt-get install -y kd-no-such-package');
    expect(result.stderr).toContain('it needs root and apt-get');
    expect(result.status).toBe(2);
  });

  it('rejects a list whose entry lacks a field', () => {
    const result = runProvisioner(listFile([{ package: 'x', provides: '', neededBy: 'y' }]));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('every package needs a non-empty "provides"');
  });
});
