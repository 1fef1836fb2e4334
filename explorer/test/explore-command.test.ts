/** `kd explore` refuses bad usage with the fix and exit code 2, before serving anything. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { presetNames } from '../../checker/chain/presets.js';
import { main } from '../../cli/main.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const lines: string[] = [];
  const errors: string[] = [];
  const originalError = console.error;
  console.error = (line: unknown) => errors.push(String(line));
  try {
    const code = await main(argv, (l) => lines.push(l));
    return { code, out: lines.join('\n'), err: errors.join('\n') };
  } finally {
    console.error = originalError;
  }
}

describe('kd explore usage', () => {
  it('prints its help with an example and the exit codes', async () => {
    const r = await run(['explore', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('kd explore --trace out/counterexamples/ci-no-fencing-INV-FENCING.json');
    expect(r.out).toMatch(/Exit codes:\n {2}0 +stopped by Ctrl-C\n {2}2 +bad usage/);
  });

  it('exits 2 with the fix for each mistake', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--preset', 'nosuch'], new RegExp(`unknown preset "nosuch"; choose one of ${presetNames().join(', ')}`)],
      [['--variant', 'nosuch'], /--variant must be one of no-tombstones/],
      [['--trace', 'x.json', '--preset', 'ci'], /--trace opens the preset and variant recorded in the trace: drop --preset and --variant/],
      [['--trace', '/nonexistent/cx.json'], /cannot read \/nonexistent\/cx.json/],
      [['--port', 'abc'], /--port takes a whole number, got "abc"/],
      [['--port', '70000'], /--port must be from 0 to 65535/],
      [['extra'], /takes no arguments, got "extra".*for example: npx kd explore/],
    ];
    for (const [args, message] of cases) {
      const r = await run(['explore', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(message);
    }
  });

  it('refuses a configuration file as kd check does, with what is wrong in it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kd-explore-config-'));
    try {
      const file = join(dir, 'bad.yaml');
      writeFileSync(file, 'chain:\n  functions: [{ name: f, priority: 0 }]\n  nodes: []\nscaleScript: [{ function: g, desired: 1 }]\n');
      const r = await run(['explore', '--preset', file]);
      expect(r.code).toBe(2);
      expect(r.err).toContain('at least one node is needed: add one to nodes');
      expect(r.err).toContain('scaleScript[0]: function "g" is not in chain.functions');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says how to pick another port when its port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const r = await run(['explore', '--port', String(port)]);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`port ${port} on 127.0.0.1 is in use: choose another with --port N, or --port 0 for any free port`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
