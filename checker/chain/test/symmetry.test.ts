/**
 * Symmetry reduction over identical Kubelets (checker/chain/node-symmetry.ts) with the
 * Scheduler's ties explored (DEC-52): the renamings act on states exactly, the model's
 * transitions are equivariant under them (which is what makes the reduction sound, and
 * what the spec's name-order tie-break breaks), and the reduced search gives the full
 * search's verdict, with counterexamples that are paths of the model itself.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runReplay } from '../../../cli/replay-command.js';
import { variants } from '../../../spec/variants.js';
import type { ModelSymmetry } from '../../engine/model.js';
import { search, stateAt, type SearchResult } from '../../engine/search.js';
import type { ChainState } from '../chain-state.js';
import { loadCheckConfig } from '../config-file.js';
import { ChainModel } from '../model.js';
import type { CheckConfig } from '../presets.js';
import { buildTrace } from '../trace.js';
import { pair, trio } from './alike-kubelets.js';
import { propertiesBrokenInSimulator } from './simulator-replay.js';

const exhaustiveRunMs = 900_000;

const key = (model: ChainModel, state: ChainState) => {
  const fp = model.fingerprint(state);
  return `${fp.high}:${fp.low}`;
};

/** Up to `limit` states in breadth-first order (no reduction). */
function someStates(model: ChainModel, limit: number): ChainState[] {
  const seen = new Set<string>();
  const queue = [model.initialState()];
  const states: ChainState[] = [];
  while (queue.length > 0 && states.length < limit) {
    const state = queue.shift() as ChainState;
    if (seen.has(key(model, state))) continue;
    seen.add(key(model, state));
    states.push(state);
    for (const action of model.actions(state)) queue.push(model.next(state, action).state);
  }
  return states;
}

/** The canonical forms of a state's successors, sorted (a multiset). */
function successorOrbits(model: ChainModel, symmetry: ModelSymmetry<ChainState>, state: ChainState): string[] {
  return model
    .actions(state)
    .map((action) => key(model, symmetry.canonical(model.next(state, action).state).state))
    .sort();
}

describe('renamings of identical Kubelets', () => {
  for (const config of [pair, trio]) {
    it(`${config.name}: act on states exactly and commute with every transition`, () => {
      const model = new ChainModel(config);
      const symmetry = model.symmetry as ModelSymmetry<ChainState>;
      expect(symmetry.size).toBe(config.chain.nodes.length === 2 ? 2 : 6);
      let renamedDiffers = 0;
      for (const state of someStates(model, 400)) {
        const orbit = key(model, symmetry.canonical(state).state);
        const successors = successorOrbits(model, symmetry, state);
        for (let g = 1; g < symmetry.size; g++) {
          const renamed = symmetry.apply(state, g);
          if (key(model, renamed) !== key(model, state)) renamedDiffers++;
          // A group action: renaming back gives the state, renamings compose.
          expect(key(model, symmetry.apply(renamed, symmetry.inverse(g)))).toBe(key(model, state));
          for (let h = 1; h < symmetry.size; h++) expect(key(model, symmetry.apply(renamed, h))).toBe(key(model, symmetry.apply(state, symmetry.compose(h, g))));
          // Canonical forms name orbits, and a renamed state has the renamed successors.
          expect(key(model, symmetry.canonical(renamed).state)).toBe(orbit);
          expect(successorOrbits(model, symmetry, renamed)).toEqual(successors);
        }
      }
      expect(renamedDiffers).toBeGreaterThan(100);
    }, exhaustiveRunMs);
  }

  it("with the spec's name-order tie-break the transitions are not equivariant (why ties are explored first)", () => {
    const model = new ChainModel(pair);
    const symmetry = model.symmetry as ModelSymmetry<ChainState>;
    // The spec's rule is the alternative without digits: the model with ties explored, restricted to those actions.
    const ruledOrbits = (state: ChainState) =>
      model
        .actions(state)
        .filter((a) => a.choices === undefined)
        .map((a) => key(model, symmetry.canonical(model.next(state, a).state).state))
        .sort();
    const asymmetric = someStates(model, 400).filter((s) => JSON.stringify(ruledOrbits(s)) !== JSON.stringify(ruledOrbits(symmetry.apply(s, 1))));
    expect(asymmetric.length).toBeGreaterThan(0);
    // Each such state is one where the Scheduler meets a tie.
    for (const state of asymmetric) expect(model.actions(state).some((a) => a.choices !== undefined)).toBe(true);
  });
});

function verdictOf(config: CheckConfig, symmetry: boolean): SearchResult {
  return search(new ChainModel(config), { maxSeconds: 800, symmetry });
}

describe('symmetry reduction gives the full search\'s verdict', () => {
  for (const config of [pair, trio]) {
    it(`${config.name}: correct protocol verified either way, with fewer states`, () => {
      const full = verdictOf(config, false);
      const reduced = verdictOf(config, true);
      expect(full.verdict).toBe('verified');
      expect(reduced.verdict).toBe(full.verdict);
      expect(reduced.livenessChecked).toBe(true);
      expect(reduced.symmetryGroupSize).toBe(config.chain.nodes.length === 2 ? 2 : 6);
      expect(reduced.states).toBeLessThan(full.states);
      // An orbit holds at most one state per renaming.
      expect(reduced.states * (reduced.symmetryGroupSize ?? 1)).toBeGreaterThanOrEqual(full.states);
      expect(reduced.depth).toBe(full.depth);
    }, exhaustiveRunMs);
  }

  for (const variant of variants) {
    it(`pair, ${variant.name}: the same verdict and property either way; the reduced counterexample is a path of the model that replays`, () => {
      const config = { ...pair, chain: { ...pair.chain, variant: variant.name } };
      const full = verdictOf(config, false);
      const reduced = verdictOf(config, true);
      expect(reduced.verdict).toBe(full.verdict);
      expect(reduced.violation?.property).toBe(full.violation?.property);
      expect(reduced.violation?.kind).toBe(full.violation?.kind);
      // Breadth-first: the shortest counterexample is as short in the orbits as in the states.
      if (full.violation?.kind === 'safety') expect(reduced.violation?.path.length).toBe(full.violation.path.length);
      if (reduced.violation !== null) expectReplays(config, reduced);
    }, exhaustiveRunMs);
  }
});

/** A counterexample found with symmetry is a path of the model: a safety one replays in the simulator, a lasso closes. */
function expectReplays(config: CheckConfig, result: SearchResult): void {
  const violation = result.violation;
  if (violation === null) throw new Error('no violation');
  const model = new ChainModel(config);
  const trace = buildTrace(config, violation);
  expect(trace.steps.length).toBe(violation.path.length);
  // kd replay, as a user runs it on the written trace.
  const file = join(mkdtempSync(join(tmpdir(), 'kd-symmetry-')), 'trace.json');
  writeFileSync(file, JSON.stringify(trace));
  const printed: string[] = [];
  const code = runReplay([file, '--quiet'], (line) => printed.push(line));
  expect(code).toBe(1);
  if (violation.kind === 'safety') {
    expect(printed.join('\n')).toContain(`reproduced ${violation.property}`);
    expect(propertiesBrokenInSimulator(config, trace.steps)).toContain(violation.property);
  } else if (violation.kind === 'liveness') {
    const start = violation.cycleStart ?? 0;
    expect(key(model, stateAt(model, violation.path))).toBe(key(model, stateAt(model, violation.path.slice(0, start))));
  }
}

describe('every known-bad variant is caught on ci with ties explored and symmetry on', () => {
  for (const variant of variants) {
    it(`${variant.name}: violated, naming a property it breaks, with a counterexample that replays`, () => {
      const config: CheckConfig = { ...loadCheckConfig('ci', variant.name), ties: 'explore' };
      const result = verdictOf(config, true);
      expect(result.symmetryGroupSize).toBe(2);
      expect(result.verdict).toBe('violated');
      expect([...variant.breaks, 'LIVE-CONVERGENCE']).toContain(result.violation?.property);
      expectReplays(config, result);
    }, exhaustiveRunMs);
  }
});

describe('tie alternatives in the packed model', () => {
  it('each alternative equals the simulator\'s applyAction with the same choices (debugChecks), and some states offer several', () => {
    const model = new ChainModel({ ...pair, debugChecks: true });
    const result = search(model, { maxStates: 4000, symmetry: false, liveness: false });
    expect(result.violation).toBeNull();
    const explored = new ChainModel(pair);
    const withTies = someStates(explored, 1500).filter((s) => explored.actions(s).some((a) => a.choices !== undefined));
    expect(withTies.length).toBeGreaterThan(0);
  });
});
