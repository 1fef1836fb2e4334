/**
 * Swarm mode: the same seed draws the same configurations; a shipped known-bad variant is
 * found within a small budget and reduced to a smaller configuration that still breaks
 * the same property, written as a config file that `kd check --preset FILE` reproduces.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.js';
import { loadCheckConfig } from '../../chain/config-file.js';
import { ChainModel } from '../../chain/model.js';
import { search } from '../../engine/search.js';
import { configFileOf, randomConfig, swarmWorld } from '../random-config.js';
import { reductionsOf, sizeOf } from '../shrink.js';
import { runSwarm } from '../swarm.js';

const out = mkdtempSync(join(tmpdir(), 'kd-swarm-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

async function kd(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const lines: string[] = [];
  const errors: string[] = [];
  const write = process.stderr.write;
  const error = console.error;
  process.stderr.write = ((chunk: string) => errors.push(String(chunk)) > 0) as typeof process.stderr.write;
  console.error = (line: unknown) => errors.push(String(line));
  try {
    return { code: await main(argv, (l) => lines.push(l)), out: lines.join('\n'), err: errors.join('\n') };
  } finally {
    process.stderr.write = write;
    console.error = error;
  }
}

describe('swarm configurations', () => {
  it('the same seed draws the same configurations; another seed others; every one is within the swarm ranges', () => {
    const first = Array.from({ length: 30 }, (_, i) => randomConfig(7, i, 'correct'));
    const again = Array.from({ length: 30 }, (_, i) => randomConfig(7, i, 'correct'));
    const other = Array.from({ length: 30 }, (_, i) => randomConfig(8, i, 'correct'));
    expect(again).toEqual(first);
    expect(other.map((c) => c.chain)).not.toEqual(first.map((c) => c.chain));
    for (const c of first) {
      expect(c.chain.nodes.length).toBeGreaterThanOrEqual(1);
      expect(c.chain.nodes.length).toBeLessThanOrEqual(swarmWorld.nodesMax);
      expect(c.chain.functions.length).toBeLessThanOrEqual(swarmWorld.functionsMax);
      expect(c.budgets.total).toBeLessThanOrEqual(swarmWorld.faultsMax);
      // Each is a valid configuration (loadCheckConfig checks it as it would a file).
      expect(() => new ChainModel(c)).not.toThrow();
    }
  });

  it('every reduction is smaller, so that shrinking ends', () => {
    for (let i = 0; i < 30; i++) {
      const c = randomConfig(3, i, 'correct');
      for (const r of reductionsOf(c)) expect(sizeOf(r)).toBeLessThan(sizeOf(c));
    }
  });
});

describe('kd check --swarm', () => {
  it('finds drop-tombstone-on-forward within a small budget and reduces it to a smaller configuration that a config file reproduces', () => {
    const seen: number[] = [];
    const result = runSwarm({ seed: 7, configs: 20, variant: 'drop-tombstone-on-forward', budgetSeconds: 20, budgetStates: 50_000, onConfig: (o) => seen.push(o.index) });
    const failure = result.failure;
    expect(failure).not.toBeNull();
    if (failure === null) return;
    // The configurations searched are the seed's, in order.
    expect(result.outcomes.map((o) => o.config)).toEqual(seen.map((i) => randomConfig(7, i, 'drop-tombstone-on-forward')));
    expect(failure.shrinkSteps).toBeGreaterThan(0);
    expect(sizeOf(failure.shrunk)).toBeLessThan(sizeOf(failure.found.config));
    expect(failure.violation.property).toBe(failure.found.property);
    // Written as a config file and read back the way kd check --preset FILE does: the same property, the same shortest length.
    const file = join(out, 'shrunk.json');
    writeFileSync(file, JSON.stringify(configFileOf(failure.shrunk)));
    const again = search(new ChainModel(loadCheckConfig(file, 'drop-tombstone-on-forward')), { maxSeconds: 120 });
    expect(again.violation?.property).toBe(failure.violation.property);
    expect(again.violation?.path.length).toBe(failure.violation.path.length);
    // The correct protocol passes the reduced world.
    expect(search(new ChainModel(loadCheckConfig(file, 'correct')), { maxSeconds: 120 }).verdict).toBe('verified');
  }, 600_000);

  it('the command prints the seed, writes the reduced configuration and its counterexample, exits 1; the same seed finds the same', async () => {
    const argv = ['check', '--swarm', '--configs', '20', '--seed', '7', '--budget-seconds', '20', '--budget-states', '50000', '--variant', 'drop-tombstone-on-forward', '--out', out, '--json'];
    const first = await kd(argv);
    expect(first.code).toBe(1);
    const summary = JSON.parse(first.out) as { seed: number; failure: { index: number; property: string; shrunk: unknown; files: { config: string; json: string } } };
    expect(summary.seed).toBe(7);
    expect(JSON.parse(readFileSync(summary.failure.files.config, 'utf8'))).toEqual(summary.failure.shrunk);
    expect(JSON.parse(readFileSync(summary.failure.files.json, 'utf8'))).toMatchObject({ property: summary.failure.property });
    const second = JSON.parse((await kd(argv)).out) as typeof summary;
    expect({ index: second.failure.index, property: second.failure.property, shrunk: second.failure.shrunk }).toEqual({ index: summary.failure.index, property: summary.failure.property, shrunk: summary.failure.shrunk });
  }, 600_000);

  it('swarm options without --swarm, or --swarm with a preset, are usage errors (exit 2) that say the fix', async () => {
    const without = await kd(['check', '--configs', '5']);
    expect(without.code).toBe(2);
    expect(without.err).toContain('--configs is a swarm option: add --swarm');
    const withPreset = await kd(['check', '--swarm', '--preset', 'ci']);
    expect(withPreset.code).toBe(2);
    expect(withPreset.err).toContain('drop --preset');
  });
});
