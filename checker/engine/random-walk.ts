/**
 * Random deep exploration beyond exhaustive reach: seeded random walks that check
 * every invariant at every step. A violation names the seed and the walk to replay it.
 */
import { SeededRandom } from '../../simulator/random.js';
import type { Model } from './model.js';
import type { Counterexample } from './search.js';

export interface RandomWalkOptions {
  readonly walks: number;
  readonly depth: number;
  readonly seed: number;
  readonly maxSeconds?: number;
  readonly onProgress?: (done: { walks: number; steps: number; seconds: number }) => void;
}

export interface RandomWalkResult {
  readonly seed: number;
  readonly walks: number;
  readonly steps: number;
  readonly seconds: number;
  /** The walk (0-based) that found the violation. */
  readonly walk: number | null;
  readonly violation: Counterexample | null;
}

export function randomWalks<S, A>(model: Model<S, A>, options: RandomWalkOptions): RandomWalkResult {
  const started = performance.now();
  const random = new SeededRandom(options.seed);
  let steps = 0;
  let lastProgress = started;
  for (let walk = 0; walk < options.walks; walk++) {
    let state = model.initialState();
    const path: number[] = [];
    for (let d = 0; d < options.depth; d++) {
      const actions = model.actions(state);
      if (actions.length === 0) break;
      const index = random.below(actions.length);
      const next = model.next(state, actions[index] as A);
      path.push(index);
      steps++;
      const violation = next.violations[0] ?? model.invariants(next.state)[0];
      if (violation !== undefined) {
        return { seed: options.seed, walks: walk + 1, steps, seconds: (performance.now() - started) / 1000, walk, violation: { ...violation, kind: 'safety', path } };
      }
      state = next.state;
    }
    const now = performance.now();
    if (now - lastProgress > 1000) {
      lastProgress = now;
      options.onProgress?.({ walks: walk + 1, steps, seconds: (now - started) / 1000 });
    }
    if (options.maxSeconds !== undefined && (now - started) / 1000 > options.maxSeconds) {
      return { seed: options.seed, walks: walk + 1, steps, seconds: (now - started) / 1000, walk: null, violation: null };
    }
  }
  return { seed: options.seed, walks: options.walks, steps, seconds: (performance.now() - started) / 1000, walk: null, violation: null };
}
