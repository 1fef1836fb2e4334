/**
 * Extra Node flags for the stage processes (`kd up --node-flags`, runtime/cluster/node-flags.ts):
 * bad flags are refused with the fix before anything starts; good ones reach every stage
 * process (a real cluster started with --cpu-prof writes one profile per stage when it stops).
 */
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { runDown, runUp } from '../../cli/cluster-commands.js';
import { UsageError } from '../../cli/args.js';
import { configFileOf, removeCluster } from '../cluster/local-cluster.js';
import { nodeFlagsFileOf, nodeFlagsProblem, nodeFlagsTextLengthMax, parseNodeFlags, readNodeFlags, writeNodeFlags } from '../cluster/node-flags.js';

const dirs: string[] = [];
function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kd-node-flags-'));
  dirs.push(dir);
  return dir;
}
const noPrint = (): void => {};

afterAll(async () => {
  for (const dir of dirs) await removeCluster(dir);
}, 60_000);

describe('parseNodeFlags', () => {
  it('splits flags at white space and keeps their values', () => {
    expect(parseNodeFlags('  --cpu-prof   --cpu-prof-dir=/tmp/p\t-e ')).toEqual(['--cpu-prof', '--cpu-prof-dir=/tmp/p', '-e']);
    expect(parseNodeFlags('')).toEqual([]);
  });

  it('any text gives Node options or an error naming --node-flags (generated inputs)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200, unit: 'binary' }), (text) => {
        let flags: string[];
        try {
          flags = parseNodeFlags(text);
        } catch (error) {
          expect((error as Error).message).toMatch(/--node-flags/);
          return;
        }
        for (const flag of flags) expect(flag).toMatch(/^--?[A-Za-z0-9][A-Za-z0-9_-]*(=\S*)?$/);
      }),
      { numRuns: 2_000 },
    );
  });

  it('refuses a script, a bare word and an over-long text, saying the fix', () => {
    expect(() => parseNodeFlags('--cpu-prof ./evil.js')).toThrow(/"\.\/evil\.js" is not a Node option; give options such as/);
    expect(() => parseNodeFlags('---x')).toThrow(/is not a Node option/);
    expect(() => parseNodeFlags(`--x ${'a'.repeat(nodeFlagsTextLengthMax)}`)).toThrow(/at most 4096/);
  });
});

describe('nodeFlagsProblem', () => {
  it('accepts flags Node starts with and reports the ones it refuses in its own words', () => {
    expect(nodeFlagsProblem([])).toBeNull();
    expect(nodeFlagsProblem(['--max-old-space-size=512'])).toBeNull();
    expect(nodeFlagsProblem(['--max-semi-space-size=lots'])).toMatch(/is refused by Node/);
    expect(nodeFlagsProblem(['--no-such-node-flag'])).toMatch(/is refused by Node.*--no-such-node-flag/);
  });
});

describe('the flags file', () => {
  it('round-trips and refuses a damaged file', () => {
    const dir = freshDir();
    expect(readNodeFlags(dir)).toEqual([]);
    writeNodeFlags(dir, ['--cpu-prof', '--cpu-prof-dir=/tmp/x']);
    expect(readNodeFlags(dir)).toEqual(['--cpu-prof', '--cpu-prof-dir=/tmp/x']);
    writeNodeFlags(dir, ['./script.js']);
    expect(() => readNodeFlags(dir)).toThrow(/not a Node option/);
  });
});

describe('kd up --node-flags', () => {
  it('refuses a flag Node does not know before it writes or starts anything (exit 2)', async () => {
    const dir = freshDir();
    await expect(runUp(['--nodes', '1', '--dir', dir, '--node-flags', '--no-such-node-flag'], noPrint)).rejects.toThrow(UsageError);
    await expect(runUp(['--nodes', '1', '--dir', dir, '--node-flags', 'app.js'], noPrint)).rejects.toThrow(/not a Node option/);
    expect(existsSync(configFileOf(dir))).toBe(false);
    expect(existsSync(nodeFlagsFileOf(dir))).toBe(false);
  });

  it('gives every stage process the flags: --cpu-prof writes one profile per stage at kd down', async () => {
    const dir = freshDir();
    const profiles = join(dir, 'profiles');
    expect(await runUp(['--nodes', '1', '--dir', dir, '--node-flags', `--cpu-prof --cpu-prof-dir=${profiles}`], noPrint)).toBe(0);
    expect(await runDown(['--dir', dir], noPrint)).toBe(0);
    // Autoscaler, Deployment, ReplicaSet, Scheduler and one Kubelet.
    expect(readdirSync(profiles).filter((f) => f.endsWith('.cpuprofile')).length).toBe(5);
  }, 180_000);
});
