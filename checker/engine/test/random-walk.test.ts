/**
 * Seeded random walks on tiny models: replay from the seed, exact step counts where the
 * model fixes them, and violations whose paths replay.
 */
import { describe, expect, it } from 'vitest';
import { randomWalks, type RandomWalkResult } from '../random-walk.js';
import { stateAt, walkPath } from '../search.js';
import { mutexModel, twoCountersModel } from './tiny-models.js';

const withoutTime = ({ seconds: _seconds, ...rest }: RandomWalkResult) => rest;

describe('randomWalks', () => {
  it('the same seed gives the same result; another seed a different walk', () => {
    const model = mutexModel('buggy');
    const first = randomWalks(model, { walks: 200, depth: 30, seed: 11 });
    expect(withoutTime(randomWalks(model, { walks: 200, depth: 30, seed: 11 }))).toEqual(withoutTime(first));
    const others = [12, 13, 14, 15].map((seed) => randomWalks(model, { walks: 200, depth: 30, seed }).violation?.path.join(','));
    expect(others.some((path) => path !== first.violation?.path.join(','))).toBe(true);
  });

  it('finds the buggy mutex violation within 50 walks, with a path (at least 4 steps) that replays', () => {
    const model = mutexModel('buggy');
    for (const seed of [1, 2, 3, 4, 5]) {
      const result = randomWalks(model, { walks: 50, depth: 20, seed });
      expect(result.violation, `seed ${seed}`).toMatchObject({ property: 'MUTEX', kind: 'safety' });
      expect(result.walk).toBe(result.walks - 1);
      const path = result.violation?.path ?? [];
      expect(path.length).toBeGreaterThanOrEqual(4);
      expect(model.invariants(stateAt(model, path)).map((v) => v.property)).toEqual(['MUTEX']);
      expect(walkPath(model, path).slice(0, -1).every((step) => step.violations.length === 0)).toBe(true);
    }
  });

  it('the atomic mutex: no violation and no dead end, so walks x depth steps exactly', () => {
    const result = randomWalks(mutexModel('atomic'), { walks: 40, depth: 25, seed: 3 });
    expect(result).toMatchObject({ seed: 3, walks: 40, steps: 1000, walk: null, violation: null });
  });

  it('a walk stops at a dead end: two counters 0..3, 0..4 end at (3,4) after exactly 7 steps', () => {
    expect(randomWalks(twoCountersModel(3, 4), { walks: 30, depth: 100, seed: 9 })).toMatchObject({ walks: 30, steps: 210, walk: null, violation: null });
    // A depth below 7 cuts each walk short instead.
    expect(randomWalks(twoCountersModel(3, 4), { walks: 30, depth: 5, seed: 9 }).steps).toBe(150);
  });

  it('maxSeconds 0 stops after the first walk', () => {
    expect(randomWalks(mutexModel('atomic'), { walks: 1000, depth: 10, seed: 1, maxSeconds: 0 })).toMatchObject({ walks: 1, steps: 10, walk: null, violation: null });
  });
});
