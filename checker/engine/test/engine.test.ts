/**
 * The search engine on tiny models whose counts are derived by hand in tiny-models.ts:
 * exact states, transitions, depths and counterexamples for BFS and DFS, transition vs
 * state violations, bounds, `sometimes` coverage, and replay of every counterexample.
 */
import { describe, expect, it } from 'vitest';
import { fingerprintOf } from '../fingerprint.js';
import type { Model } from '../model.js';
import { search, stateAt, walkPath, type SearchResult } from '../search.js';
import { counterModel, jumpModel, mutexModel, twoCountersModel, tickerModel } from './tiny-models.js';

/** The counts of a result, for one exact comparison. */
function counts(result: SearchResult) {
  return { verdict: result.verdict, states: result.states, transitions: result.transitions, depth: result.depth };
}

/** Replays a counterexample: the last step must break the reported property. */
function expectReplaysToViolation<S, A>(model: Model<S, A>, result: SearchResult): void {
  const violation = result.violation;
  expect(violation).not.toBeNull();
  if (violation === null) return;
  const steps = walkPath(model, violation.path);
  expect(steps).toHaveLength(violation.path.length);
  const last = steps[steps.length - 1];
  expect(last?.violations.map((v) => v.property)).toContain(violation.property);
  // No earlier step breaks anything: the counterexample stops at the first violation.
  for (const step of steps.slice(0, -1)) expect(step.violations).toEqual([]);
}

describe('counter modulo N', () => {
  it('BFS: N states, 2N transitions, depth floor(N/2), verified', () => {
    for (const modulus of [1, 2, 3, 10, 11]) {
      const result = search(counterModel({ modulus }));
      expect(counts(result), `N = ${modulus}`).toEqual({ verdict: 'verified', states: modulus, transitions: 2 * modulus, depth: Math.floor(modulus / 2) });
      expect(result.violation).toBeNull();
      expect(result.bound).toBeUndefined();
      expect(result.collisionProbability).toBe((modulus * modulus) / 2 ** 65);
    }
  });

  it('DFS: the same N states and 2N transitions, but discovery depth N - 2', () => {
    expect(counts(search(counterModel({ modulus: 10 }), { strategy: 'dfs' }))).toEqual({ verdict: 'verified', states: 10, transitions: 20, depth: 8 });
  });

  it('BFS reaches k by the shortest path: k increments, or N - k decrements', () => {
    const up = search(counterModel({ modulus: 10, forbidden: 3 }));
    expect(up.violation).toMatchObject({ property: 'COUNTER-AVOIDS', kind: 'safety', path: [0, 0, 0] });
    // BFS order 0 | 1 9 | 2 8 | 3: expanding 2 finds 3 with its first action.
    expect(counts(up)).toEqual({ verdict: 'violated', states: 6, transitions: 7, depth: 3 });
    const down = search(counterModel({ modulus: 10, forbidden: 7 }));
    expect(down.violation?.path).toEqual([1, 1, 1]);
    for (const k of [1, 2, 3, 4, 5, 6, 7, 8, 9]) {
      const result = search(counterModel({ modulus: 10, forbidden: k }));
      expect(result.violation?.path.length, `k = ${k}`).toBe(Math.min(k, 10 - k));
      expect(stateAt(counterModel({ modulus: 10 }), result.violation?.path ?? [])).toBe(k);
    }
  });

  it('DFS finds a longer counterexample (7 decrements to 3) that still replays', () => {
    const model = counterModel({ modulus: 10, forbidden: 3 });
    const result = search(model, { strategy: 'dfs' });
    expect(result.violation?.path).toEqual([1, 1, 1, 1, 1, 1, 1]);
    // Discovered 0 1 9 8 7 6 5 4 3; expanded 0 9 8 7 6 5 4, two transitions each.
    expect(counts(result)).toEqual({ verdict: 'violated', states: 9, transitions: 14, depth: 7 });
    expectReplaysToViolation(model, result);
  });

  it('a large counter (150000 states) crosses table growth and frontier compaction with exact counts', () => {
    const modulus = 150_000;
    expect(counts(search(counterModel({ modulus })))).toEqual({ verdict: 'verified', states: modulus, transitions: 2 * modulus, depth: modulus / 2 });
    expect(counts(search(counterModel({ modulus }), { strategy: 'dfs' }))).toEqual({ verdict: 'verified', states: modulus, transitions: 2 * modulus, depth: modulus - 2 });
  });

  it('a model-supplied fingerprint gives the same exploration as the key', () => {
    const model = counterModel({ modulus: 10, forbidden: 7 });
    const fast: Model<number, 'increment' | 'decrement'> = { ...model, fingerprint: (x: number) => fingerprintOf(model.key(x)) };
    expect(counts(search(fast))).toEqual(counts(search(model)));
    expect(search(fast).violation?.path).toEqual([1, 1, 1]);
  });
});

describe('two independent counters 0..3 and 0..4', () => {
  it('verified: (a+1)(b+1) = 20 states, 2ab + a + b = 31 transitions, depth a + b = 7', () => {
    for (const strategy of ['bfs', 'dfs'] as const) {
      expect(counts(search(twoCountersModel(3, 4), { strategy })), strategy).toEqual({ verdict: 'verified', states: 20, transitions: 31, depth: 7 });
    }
    expect(counts(search(twoCountersModel(5, 0)))).toEqual({ verdict: 'verified', states: 6, transitions: 5, depth: 5 });
    expect(counts(search(twoCountersModel(3, 4, 8)))).toEqual({ verdict: 'verified', states: 20, transitions: 31, depth: 7 });
  });

  it('BFS breaks "x + y < 5" at exactly depth 5: path [0,0,0,0,0], 15 states, 20 transitions', () => {
    const model = twoCountersModel(3, 4, 5);
    const result = search(model);
    expect(result.violation).toMatchObject({ property: 'SUM-BELOW-LIMIT', kind: 'safety', path: [0, 0, 0, 0, 0] });
    expect(counts(result)).toEqual({ verdict: 'violated', states: 15, transitions: 20, depth: 5 });
    expect(stateAt(model, [0, 0, 0, 0, 0])).toEqual({ x: 3, y: 2 });
    expectReplaysToViolation(model, result);
  });

  it('DFS also finds a length-5 counterexample (every path to x + y = 5 has 5 steps)', () => {
    const model = twoCountersModel(3, 4, 5);
    const result = search(model, { strategy: 'dfs' });
    expect(result.violation?.path).toEqual([1, 1, 1, 1, 0]);
    expect(stateAt(model, [1, 1, 1, 1, 0])).toEqual({ x: 1, y: 4 });
    expect(counts(result)).toEqual({ verdict: 'violated', states: 10, transitions: 9, depth: 5 });
    expectReplaysToViolation(model, result);
  });

  it('a depth bound just short of the violation hides it; one step more finds it', () => {
    const model = twoCountersModel(3, 4, 5);
    const short = search(model, { maxDepth: 4 });
    expect(short.verdict).toBe('bounded');
    expect(short.bound).toBe('depth 4');
    expect(short.violation).toBeNull();
    // All 14 states with x + y <= 4 are discovered; the 10 with x + y <= 3 are expanded (19 transitions).
    expect(counts(short)).toEqual({ verdict: 'bounded', states: 14, transitions: 19, depth: 4 });
    expect(search(model, { maxDepth: 5 }).violation?.path).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('two-process mutex', () => {
  it('buggy, without the invariant: 13 states, 24 transitions, depth 6 (BFS and DFS)', () => {
    expect(counts(search(mutexModel('buggy', { checkMutex: false })))).toEqual({ verdict: 'verified', states: 13, transitions: 24, depth: 6 });
    const dfs = search(mutexModel('buggy', { checkMutex: false }), { strategy: 'dfs' });
    expect(dfs.states).toBe(13);
    expect(dfs.transitions).toBe(24);
  });

  it('buggy: BFS finds the shortest violation, 4 steps [0,1,0,1], after 9 states and 12 transitions', () => {
    const model = mutexModel('buggy');
    const result = search(model);
    expect(result.violation).toMatchObject({ property: 'MUTEX', kind: 'safety', path: [0, 1, 0, 1] });
    expect(counts(result)).toEqual({ verdict: 'violated', states: 9, transitions: 12, depth: 4 });
    expect(walkPath(model, [0, 1, 0, 1]).map((step) => model.describe(step.action))).toEqual(['P0 check', 'P1 check', 'P0 enter', 'P1 enter']);
    expectReplaysToViolation(model, result);
  });

  it('buggy: DFS finds [1,0,1,0] after 8 states and 8 transitions', () => {
    const model = mutexModel('buggy');
    const result = search(model, { strategy: 'dfs' });
    expect(result.violation?.path).toEqual([1, 0, 1, 0]);
    expect(counts(result)).toEqual({ verdict: 'violated', states: 8, transitions: 8, depth: 4 });
    expectReplaysToViolation(model, result);
  });

  it('atomic: 3 states, 4 transitions, depth 1, verified', () => {
    expect(counts(search(mutexModel('atomic')))).toEqual({ verdict: 'verified', states: 3, transitions: 4, depth: 1 });
  });
});

describe('transition violations vs state invariants', () => {
  it('a violation reported by next: the path ends with the offending action; its target is not added', () => {
    const model = jumpModel(true);
    const result = search(model);
    expect(result.violation).toMatchObject({ property: 'NO-JUMP', kind: 'safety', path: [1] });
    expect(counts(result)).toEqual({ verdict: 'violated', states: 2, transitions: 2, depth: 1 });
    expectReplaysToViolation(model, result);
  });

  it('the same moves without it: the state invariant breaks at 3 via [0,1]', () => {
    const model = jumpModel(false);
    const result = search(model);
    expect(result.violation).toMatchObject({ property: 'NOT-THREE', kind: 'safety', path: [0, 1] });
    expect(counts(result)).toEqual({ verdict: 'violated', states: 4, transitions: 4, depth: 2 });
    expectReplaysToViolation(model, result);
  });

  it('a violating initial state: empty path, nothing expanded', () => {
    const result = search(jumpModel(false, { initial: 3 }));
    expect(result.violation).toMatchObject({ property: 'NOT-THREE', kind: 'safety', path: [] });
    expect(counts(result)).toEqual({ verdict: 'violated', states: 1, transitions: 0, depth: 0 });
  });

  it('stateAt and walkPath reject a path step that is not enabled', () => {
    expect(() => stateAt(jumpModel(false), [0, 0, 0, 0])).toThrow(/not an enabled action/);
    expect(() => walkPath(jumpModel(false), [5])).toThrow(/not an enabled action/);
  });
});

describe('bounds', () => {
  it('maxStates: counter mod 10 stops at 5 states (0 1 9 2 8), 10 transitions', () => {
    const result = search(counterModel({ modulus: 10 }), { maxStates: 5 });
    expect(result.bound).toBe('5 states');
    expect(counts(result)).toEqual({ verdict: 'bounded', states: 5, transitions: 10, depth: 2 });
    // A bound equal to the state count is never hit.
    expect(search(counterModel({ modulus: 10 }), { maxStates: 10 }).verdict).toBe('verified');
  });

  it('maxDepth: counter mod 10 to depth 3 (0 | 1 9 | 2 8 | 3 7), 10 transitions', () => {
    const result = search(counterModel({ modulus: 10 }), { maxDepth: 3 });
    expect(result.bound).toBe('depth 3');
    expect(counts(result)).toEqual({ verdict: 'bounded', states: 7, transitions: 10, depth: 3 });
    expect(search(counterModel({ modulus: 10 }), { maxDepth: 6 }).verdict).toBe('verified');
  });

  it('maxDepth equal to the diameter still says bounded (states at the bound are not expanded)', () => {
    const result = search(counterModel({ modulus: 10 }), { maxDepth: 5 });
    expect(result.bound).toBe('depth 5');
    expect(counts(result)).toEqual({ verdict: 'bounded', states: 10, transitions: 18, depth: 5 });
  });

  it('liveness is not checked when bounded: a fair-cycle violation goes unreported', () => {
    const model = tickerModel({ finishEverywhere: false });
    expect(search(model).violation?.kind).toBe('liveness');
    const result = search(model, { maxStates: 3 });
    expect(result.livenessChecked).toBe(false);
    expect(result.violation).toBeNull();
    // s, z0, z1 discovered; s, z0, z1 expanded: 1 + 2 + 1 transitions.
    expect(counts(result)).toEqual({ verdict: 'bounded', states: 3, transitions: 4, depth: 2 });
    expect(result.bound).toBe('3 states');
  });

  it('maxSeconds and maxMemoryBytes stop a large search at a progress report', () => {
    const reports: number[] = [];
    const timed = search(counterModel({ modulus: 1_000_000 }), { maxSeconds: 0, progressIntervalMs: 0, onProgress: (p) => reports.push(p.states) });
    expect(timed.verdict).toBe('bounded');
    expect(timed.bound).toBe('0 s');
    expect(timed.states).toBeLessThan(1_000_000);
    expect(reports.length).toBeGreaterThan(0);
    const memory = search(counterModel({ modulus: 1_000_000 }), { maxMemoryBytes: 1, progressIntervalMs: 0 });
    expect(memory.verdict).toBe('bounded');
    expect(memory.bound).toBe('0 MiB of memory');
  });
});

describe('sometimes properties', () => {
  it('reports which were covered', () => {
    const model = counterModel({
      modulus: 10,
      sometimes: [
        { id: 'REACHES-5', description: 'x becomes 5', holds: (x) => x === 5 },
        { id: 'WRAPS-DOWN', description: 'decrement from 0 wraps to 9', holds: (x, action) => action === 'decrement' && x === 9 },
        { id: 'REACHES-12', description: 'x becomes 12 (impossible modulo 10)', holds: (x) => x === 12 },
      ],
    });
    expect(search(model).sometimes).toEqual([
      { id: 'REACHES-5', description: 'x becomes 5', covered: true },
      { id: 'WRAPS-DOWN', description: 'decrement from 0 wraps to 9', covered: true },
      { id: 'REACHES-12', description: 'x becomes 12 (impossible modulo 10)', covered: false },
    ]);
    // Within depth 4, 5 is never reached.
    expect(search(model, { maxDepth: 4 }).sometimes.map((p) => p.covered)).toEqual([false, true, false]);
  });

  it('a model without sometimes properties reports none', () => {
    expect(search(counterModel({ modulus: 3 })).sometimes).toEqual([]);
  });
});
