/** kd check and kd replay as a user runs them: listings, JSON summary, exit codes, files. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { variantNames } from '../../spec/variants.js';
import { presetNames } from '../../checker/chain/presets.js';
import { main } from '../main.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const lines: string[] = [];
  const errors: string[] = [];
  const originalError = console.error;
  const originalWrite = process.stderr.write.bind(process.stderr);
  console.error = (line: unknown) => errors.push(String(line));
  process.stderr.write = ((chunk: string) => errors.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    const code = await main(argv, (l) => lines.push(l));
    return { code, out: lines.join('\n'), err: errors.join('\n') };
  } finally {
    console.error = originalError;
    process.stderr.write = originalWrite;
  }
}

describe('kd check', () => {
  it('lists presets and variants, one a line', async () => {
    expect((await run(['check', '--list-presets'])).out.split('\n')).toEqual(presetNames());
    expect((await run(['check', '--list-variants'])).out.split('\n')).toEqual([...variantNames]);
  });

  it('--workers 2 on a search too narrow to split says that only the main thread searched, with the one-worker counts (DEC-63)', async () => {
    const one = await run(['check', '--preset', 'smoke']);
    const two = await run(['check', '--preset', 'smoke', '--workers', '2']);
    expect(two.code).toBe(0);
    const counts = (out: string) => /VERIFIED: (\d+) distinct states, (\d+) transitions, depth (\d+)/.exec(out)?.slice(1);
    expect(counts(two.out)).toEqual(counts(one.out));
    expect(counts(two.out)).toBeDefined();
    expect(two.out).toMatch(/2 workers \(only the main thread searched: no level held 8192 states, 4096 per worker, with the others ready; DEC-63\)/);
    expect(one.out).not.toMatch(/only the main thread searched/);
  }, 120_000);

  it('prints a JSON summary with the verdict and the figures, and exits 0 when verified', async () => {
    const r = await run(['check', '--preset', 'smoke', '--json']);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out) as Record<string, unknown>;
    expect(summary).toMatchObject({ verdict: 'verified', preset: 'smoke', variant: 'correct', violatedProperty: null, livenessChecked: true });
    for (const key of ['distinctStates', 'transitions', 'seconds', 'statesPerSecond', 'peakMemoryBytes', 'collisionProbability'])
      expect(typeof summary[key], key).toBe('number');
  });

  it('exits 4 when a bound stops it, and says which', async () => {
    const r = await run(['check', '--preset', 'smoke', '--max-states', '50']);
    expect(r.code).toBe(4);
    expect(r.out).toMatch(/BOUNDED \(bound reached: 50 states\)/);
  });

  it('exits 1 on a variant, prints the shortest counterexample, writes files that replay', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kd-check-'));
    const r = await run(['check', '--preset', 'smoke', '--variant', 'no-tombstones', '--out', dir]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/VIOLATED INV-CACHE-COVERAGE/);
    expect(r.out).toMatch(/Shortest counterexample \(\d+ steps\)/);
    const file = /files: (\S+\.json)/.exec(r.out)?.[1];
    expect(file).toBeDefined();
    expect(readFileSync(file!.replace(/\.json$/, '.mmd'), 'utf8')).toMatch(/^sequenceDiagram/);
    expect(readFileSync(file!.replace(/\.json$/, '.html'), 'utf8')).toMatch(/<svg/);
    const replayed = await run(['replay', file!]);
    expect(replayed.code).toBe(1);
    expect(replayed.out).toMatch(/reproduced INV-CACHE-COVERAGE/);
  });

  it('random walks find a variant and print the seed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kd-walk-'));
    const r = await run(['check', '--preset', 'ci', '--variant', 'reuse-pod-name', '--random-walks', '200', '--seed', '7', '--out', dir]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/VIOLATED INV-NAME-UNIQUE in walk \d+ \(replay: .*--seed 7/);
  });

  it.each([
    [['check', '--preset', 'nope'], /unknown preset "nope"; choose one of smoke, ci, ci-window, deep/],
    [['check', '--variant', 'nope'], /--variant must be one of correct, no-tombstones/],
    [['check', '--strategy', 'random'], /--strategy must be one of bfs, dfs; got "random"/],
    [['check', '--max-states', '0'], /--max-states must be from 1/],
    [['check', '--frobnicate'], /unknown option --frobnicate/],
    [['check', '--workers', 'many'], /--workers takes a whole number, got "many"/],
  ])('rejects %j with exit code 2 (bad usage) and a clear message', async (argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  it('reads a YAML configuration and rejects a bad one with the reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kd-config-'));
    const good = join(dir, 'tiny.yaml');
    writeFileSync(good, 'chain:\n  functions: [{name: f, priority: 0}]\n  nodes: [{name: n1, capacity: 1}]\nscaleScript: [{function: f, desired: 1}]\nbudgets: {total: 1, linkCut: 1}\n');
    expect((await run(['check', '--preset', good])).code).toBe(0);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'chain:\n  functions: [{name: f, priority: 0}]\n  nodes: [{name: n1, capacity: 1}]\nscaleScript: [{function: g, desired: 1}]\n');
    const r = await run(['check', '--preset', bad]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/scaleScript\[0\]: function "g" is not in chain.functions/);
  });

  it('--no-abstraction searches the unabstracted model: same verdict and depth, more states; a configuration file may turn it off, with a boolean only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kd-abstraction-'));
    const file = join(dir, 'two-kinds.yaml');
    // One controller crash or one Kubelet restart: after either, the budgets of both kinds are spent (DEC-56 merges them), and a restart leaves an empty tombstone history.
    const world = 'chain:\n  functions: [{name: f, priority: 0}]\n  nodes: [{name: n1, capacity: 1}]\nscaleScript: [{function: f, desired: 1}, {function: f, desired: 0}]\nbudgets: {total: 1, controllerCrash: 1, kubeletRestart: 1}\nscaleWhen: quiescent\nstartSynced: true\n';
    writeFileSync(file, world);
    const summaryOf = async (argv: string[]) => {
      const r = await run(['check', '--preset', ...argv, '--json']);
      expect(r.code).toBe(0);
      return JSON.parse(r.out) as { verdict: string; distinctStates: number; depth: number; abstraction: boolean };
    };
    const on = await summaryOf([file]);
    const off = await summaryOf([file, '--no-abstraction']);
    expect(on).toMatchObject({ verdict: 'verified', abstraction: true });
    expect(off).toMatchObject({ verdict: 'verified', abstraction: false, depth: on.depth });
    expect(off.distinctStates).toBeGreaterThan(on.distinctStates);
    const offInFile = join(dir, 'off.yaml');
    writeFileSync(offInFile, `${world}abstraction: false\n`);
    expect((await summaryOf([offInFile])).distinctStates).toBe(off.distinctStates);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, `${world}abstraction: "no"\n`);
    const r = await run(['check', '--preset', bad]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/abstraction is true or false/);
  });

  it('kd replay rejects a file that is not a trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kd-replay-'));
    const file = join(dir, 'x.json');
    writeFileSync(file, '{"hello": 1}');
    const r = await run(['replay', file]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/is not a counterexample trace/);
  });
});
