/** The command line: good input runs, bad input gets a clear message and exit code 2. */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../main.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const lines: string[] = [];
  const errors: string[] = [];
  const original = console.error;
  console.error = (line: unknown) => errors.push(String(line));
  try {
    const code = await main(argv, (l) => lines.push(l));
    return { code, out: lines.join('\n'), err: errors.join('\n') };
  } finally {
    console.error = original;
  }
}

describe('kd simulate', () => {
  it('converges and says so', async () => {
    const r = await run(['simulate', '--replicas', '20', '--nodes', '2', '--seed', '3']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/fn: 20 running, 0 waiting, desired 20/);
    expect(r.out).toMatch(/converged after \d+ steps/);
  });

  it('prints a JSON summary', async () => {
    const r = await run(['simulate', '--replicas', '5', '--json']);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out) as { converged: boolean; functions: Array<{ running: number }> };
    expect(summary.converged).toBe(true);
    expect(summary.functions[0]?.running).toBe(5);
  });

  it('reports a known-bad variant as a violation with exit code 1', async () => {
    const r = await run(['simulate', '--replicas', '8', '--nodes', '3', '--scenario', 'scale-down', '--variant', 'no-tombstones']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/VIOLATION INV-CACHE-COVERAGE/);
  });

  it.each([
    [['simulate', '--replicas', '-5'], /--replicas must be from 0 to/],
    [['simulate', '--replicas', 'many'], /--replicas takes a whole number/],
    [['simulate', '--bogus'], /unknown option --bogus.*kd simulate --help/],
    [['simulate', '--variant', 'nope'], /--variant must be one of correct, no-tombstones/],
    [['simulate', '--scenario', 'nope'], /unknown scenario "nope"; choose one of: scale-up/],
    [['simulate', '--nodes', '0'], /--nodes must be from 1 to/],
    [['frobnicate'], /unknown command "frobnicate"/],
  ])('rejects %j with a clear message', async (argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  it('works as a real process through bin/kd.mjs', () => {
    const bin = fileURLToPath(new URL('../../bin/kd.mjs', import.meta.url));
    const out = execFileSync(process.execPath, [bin, 'simulate', '--replicas', '10', '--nodes', '2'], { encoding: 'utf8' });
    expect(out).toMatch(/fn: 10 running/);
    const bad = spawnSync(process.execPath, [bin, 'simulate', '--replicas', '-1'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--replicas must be from 0/);
  });
});
