/**
 * The packed chain model: its transitions equal the simulator's `applyAction` (checked
 * step by step with `debugChecks`), its fingerprints do not depend on the order in which
 * components were first seen (so worker threads agree), and the parallel search explores
 * the same chain states as the sequential one.
 */
import { describe, expect, it } from 'vitest';
import { runCheck } from '../../../cli/check-command.js';
import { searchParallel } from '../../engine/parallel.js';
import { search, walkPath } from '../../engine/search.js';
import { loadCheckConfig } from '../config-file.js';
import { ChainModel, chainModelModule } from '../model.js';

/** A path of `steps` actions, the i-th chosen by `choose(i, enabled count)`. */
function pathBy(model: ChainModel, steps: number, choose: (i: number, n: number) => number): number[] {
  const path: number[] = [];
  let state = model.initialState();
  for (let i = 0; i < steps; i++) {
    const actions = model.actions(state);
    if (actions.length === 0) break;
    const index = choose(i, actions.length);
    path.push(index);
    state = model.next(state, actions[index] as (typeof actions)[number]).state;
  }
  return path;
}

const counts = (r: { verdict: string; states: number; transitions: number; depth: number }) => ({ verdict: r.verdict, states: r.states, transitions: r.transitions, depth: r.depth });

describe('packed chain model', () => {
  it('smoke with debugChecks: every packed transition equals applyAction, every memoized verdict the full check; same counts', () => {
    const config = loadCheckConfig('smoke', 'correct');
    const plain = search(new ChainModel(config));
    const checked = search(new ChainModel({ ...config, debugChecks: true }));
    expect(plain.verdict).toBe('verified');
    expect(counts(checked)).toEqual(counts(plain));
    expect(checked.sometimes).toEqual(plain.sometimes);
  }, 300_000);

  it('ci with debugChecks, first 4000 states (faults included): no difference from applyAction', () => {
    const config = loadCheckConfig('ci', 'correct');
    const checked = search(new ChainModel({ ...config, debugChecks: true }), { maxStates: 4000, liveness: false });
    const plain = search(new ChainModel(config), { maxStates: 4000, liveness: false });
    expect(checked.verdict).toBe('bounded');
    expect(counts(checked)).toEqual(counts(plain));
  }, 300_000);

  it('fingerprints depend on content only, not on the order components were interned', () => {
    const config = loadCheckConfig('ci', 'correct');
    const a = new ChainModel(config);
    const b = new ChainModel(config);
    // Warm b's interners along another path first, so its ids are assigned in another order.
    expect(walkPath(b, pathBy(b, 30, (i, n) => (n - 1 - (i % n)))).length).toBe(30);
    const path = pathBy(a, 30, (i, n) => (i * 7) % n);
    const inA = walkPath(a, path);
    const inB = walkPath(b, path);
    let differentIds = 0;
    inA.forEach((step, i) => {
      const stepB = inB[i];
      expect(stepB).toBeDefined();
      if (stepB === undefined) return;
      expect(a.fingerprint(step.state)).toEqual(b.fingerprint(stepB.state));
      expect(JSON.stringify(step.state.world)).toBe(JSON.stringify(stepB.state.world));
      if (a.key(step.state) !== b.key(stepB.state)) differentIds++;
    });
    // The ids themselves did differ somewhere, so the test did test something.
    expect(differentIds).toBeGreaterThan(0);
  }, 60_000);
});

describe('parallel search of the chain (2 workers)', () => {
  it('smoke: the same distinct states, transitions and depth as sequential', async () => {
    const config = loadCheckConfig('smoke', 'correct');
    const sequential = search(new ChainModel(config));
    const parallel = await searchParallel(new ChainModel(config), { module: chainModelModule, exportName: 'chainModelOf', argument: config }, { workers: 2, prefixStates: 4, waitForWorkers: true });
    expect(counts(parallel)).toEqual(counts(sequential));
    expect(parallel.livenessChecked).toBe(true);
    expect(parallel.sometimes).toEqual(sequential.sometimes);
  }, 300_000);

  it('ci, variant reuse-pod-name: the same property and a counterexample of the same (shortest) length', async () => {
    const config = loadCheckConfig('ci', 'reuse-pod-name');
    const sequential = search(new ChainModel(config));
    const parallel = await searchParallel(new ChainModel(config), { module: chainModelModule, exportName: 'chainModelOf', argument: config }, { workers: 2, prefixStates: 4, waitForWorkers: true });
    expect(parallel.verdict).toBe('violated');
    expect(parallel.violation?.property).toBe(sequential.violation?.property);
    expect(parallel.violation?.path.length).toBe(sequential.violation?.path.length);
    // The parallel counterexample replays to the same property in a fresh model.
    const steps = walkPath(new ChainModel(config), parallel.violation?.path ?? []);
    expect(steps[steps.length - 1]?.violations.map((v) => v.property)).toContain(parallel.violation?.property);
  }, 300_000);
});

describe('kd check --workers', () => {
  async function check(argv: string[]): Promise<{ code: number; out: string }> {
    const lines: string[] = [];
    const code = await runCheck(argv, (l) => lines.push(l));
    return { code, out: lines.join('\n') };
  }

  it('--workers 2 reports the same states and transitions as one worker', async () => {
    const one = JSON.parse((await check(['--preset', 'smoke', '--json'])).out) as Record<string, unknown>;
    const r = await check(['--preset', 'smoke', '--json', '--workers', '2']);
    expect(r.code).toBe(0);
    const two = JSON.parse(r.out) as Record<string, unknown>;
    expect(two).toMatchObject({ verdict: 'verified', workers: 2, livenessChecked: true, distinctStates: one.distinctStates, transitions: one.transitions, depth: one.depth });
    expect(one.workers).toBe(1);
  }, 300_000);

  it('rejects --workers with depth-first search, and a worker count of 0', async () => {
    await expect(check(['--workers', '2', '--strategy', 'dfs'])).rejects.toThrow(/--workers above 1 searches breadth-first/);
    await expect(check(['--workers', '0'])).rejects.toThrow(/--workers must be from 1/);
  });
});
