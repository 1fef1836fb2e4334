/**
 * Symmetry reduction in the parallel search (DEC-54): with two worker threads the shared
 * table holds canonical states, so two workers explore the same orbits, transitions and
 * depth as one worker with symmetry; liveness is checked on the covering graph; and a
 * counterexample found on the orbits is translated back into a path of the model itself,
 * which replays in the simulator as `kd replay` runs it.
 */
import { describe, expect, it } from 'vitest';
import { variants } from '../../../spec/variants.js';
import { searchParallel } from '../../engine/parallel.js';
import { search, stateAt, type SearchResult } from '../../engine/search.js';
import { ChainModel, chainModelModule } from '../model.js';
import type { CheckConfig } from '../presets.js';
import { buildTrace } from '../trace.js';
import { loadCheckConfig } from '../config-file.js';
import { pair, trio } from './alike-kubelets.js';
import { propertiesBrokenInSimulator } from './simulator-replay.js';

const exhaustiveRunMs = 900_000;

const counts = (r: SearchResult) => ({ verdict: r.verdict, states: r.states, transitions: r.transitions, depth: r.depth, symmetryGroupSize: r.symmetryGroupSize, livenessChecked: r.livenessChecked });

function searchBoth(config: CheckConfig) {
  const sequential = search(new ChainModel(config), { maxSeconds: 800 });
  const parallel = searchParallel(new ChainModel(config), { module: chainModelModule, exportName: 'chainModelOf', argument: config }, { workers: 2, prefixStates: 4, waitForWorkers: true, maxSeconds: 800 });
  return { sequential, parallel };
}

/**
 * The counterexample is a path of the unreduced model: a safety one replays in the
 * simulator to its property, a lasso closes on its cycle, a dead end ends in a state that
 * is not converged and has no fair action left.
 */
function expectRealPath(config: CheckConfig, result: SearchResult): void {
  const violation = result.violation;
  if (violation === null) throw new Error('no violation');
  const trace = buildTrace(config, violation);
  expect(trace.steps.length).toBe(violation.path.length);
  if (violation.kind === 'safety') {
    expect(propertiesBrokenInSimulator(config, trace.steps)).toContain(violation.property);
    return;
  }
  const model = new ChainModel(config);
  const end = stateAt(model, violation.path);
  if (violation.kind === 'liveness') {
    const fingerprint = (path: readonly number[]) => JSON.stringify(model.fingerprint(stateAt(model, path)));
    expect(violation.cycleStart).toBeDefined();
    expect(fingerprint(violation.path)).toBe(fingerprint(violation.path.slice(0, violation.cycleStart)));
  } else {
    expect(violation.kind).toBe('deadlock');
    expect(model.goal(end)).toBe(false);
    expect(model.actions(end).filter((action) => model.fairness(action) !== null)).toEqual([]);
  }
}

describe('parallel search with symmetry over identical Kubelets (2 workers)', () => {
  for (const config of [pair, trio]) {
    it(`${config.name}: the same orbits, transitions, depth and verdict as one worker with symmetry`, async () => {
      const { sequential, parallel } = searchBoth(config);
      const two = await parallel;
      expect(sequential.symmetryGroupSize).toBe(config.chain.nodes.length === 2 ? 2 : 6);
      expect(counts(two)).toEqual(counts(sequential));
      expect(two.workers).toBe(2);
      expect(two.verdict).toBe('verified');
    }, exhaustiveRunMs);
  }

  it('ci with ties explored: the same orbits, transitions, depth and verdict as one worker', async () => {
    const config: CheckConfig = { ...loadCheckConfig('ci', 'correct'), ties: 'explore' };
    const { sequential, parallel } = searchBoth(config);
    const two = await parallel;
    expect(sequential.symmetryGroupSize).toBe(2);
    expect(counts(two)).toEqual(counts(sequential));
  }, exhaustiveRunMs);

  for (const variant of variants) {
    it(`pair, ${variant.name}: the same verdict and property as one worker, a shortest counterexample that is a real path`, async () => {
      const config: CheckConfig = { ...pair, chain: { ...pair.chain, variant: variant.name } };
      const { sequential, parallel } = searchBoth(config);
      const two = await parallel;
      expect(two.symmetryGroupSize).toBe(2);
      expect(two.verdict).toBe(sequential.verdict);
      expect(two.violation?.property).toBe(sequential.violation?.property);
      expect(two.violation?.kind).toBe(sequential.violation?.kind);
      if (sequential.violation?.kind === 'safety') expect(two.violation?.path.length).toBe(sequential.violation.path.length);
      if (two.violation !== null) expectRealPath(config, two);
    }, exhaustiveRunMs);
  }
});

describe('every known-bad variant on smoke with 2 workers', () => {
  for (const variant of variants) {
    it(`${variant.name}: the same verdict, property and counterexample length as one worker`, async () => {
      const config = loadCheckConfig('smoke', variant.name);
      const { sequential, parallel } = searchBoth(config);
      const two = await parallel;
      expect(two.verdict).toBe(sequential.verdict);
      expect(two.violation?.property).toBe(sequential.violation?.property);
      expect(two.violation?.kind).toBe(sequential.violation?.kind);
      if (sequential.violation?.kind === 'safety') expect(two.violation?.path.length).toBe(sequential.violation.path.length);
      if (sequential.verdict === 'verified') expect(counts(two)).toEqual(counts(sequential));
      if (two.violation !== null) expectRealPath(config, two);
    }, exhaustiveRunMs);
  }
});
