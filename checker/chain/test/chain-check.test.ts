/**
 * The model checker on the chain: the correct protocol verifies on `smoke` and `ci`
 * (safety in every state, convergence under weak fairness), every known-bad variant is
 * caught on `ci` with a property it is specified to break, and a counterexample replays
 * in the simulator.
 */
import { describe, expect, it } from 'vitest';

/** Exhaustive runs take tens of seconds on a quiet machine; a shared one may be several times slower. */
const exhaustiveRunMs = 600_000;
import { variants } from '../../../spec/variants.js';
import { search } from '../../engine/search.js';
import { loadCheckConfig } from '../config-file.js';
import { ChainModel } from '../model.js';
import { buildTrace } from '../trace.js';
import { propertiesBrokenInSimulator } from './simulator-replay.js';

function check(preset: string, variant: Parameters<typeof loadCheckConfig>[1]) {
  const config = loadCheckConfig(preset, variant);
  return { config, result: search(new ChainModel(config), { maxSeconds: 540 }) };
}

describe('kd check on the correct protocol', () => {
  it('smoke: verified, liveness checked, with every boot order explored', () => {
    const { result } = check('smoke', 'correct');
    expect(result.verdict).toBe('verified');
    expect(result.livenessChecked).toBe(true);
    expect(result.states).toBeGreaterThan(500);
    expect(result.sometimes.find((s) => s.id === 'SOMETIMES-SCALE-DOWN-DONE')?.covered).toBe(true);
  });

  it('ci: verified exhaustively, every sometimes property covered', () => {
    const { result } = check('ci', 'correct');
    expect(result.verdict).toBe('verified');
    expect(result.livenessChecked).toBe(true);
    expect(result.violation).toBeNull();
    for (const s of result.sometimes) expect(s.covered, s.id).toBe(true);
  }, exhaustiveRunMs);
});

describe('kd check with a creation window of one pod (REQ-RS-007)', () => {
  it('ci-window: verified exhaustively, every sometimes property covered', () => {
    const { config, result } = check('ci-window', 'correct');
    expect(config.chain.creationWindowPodsMax).toBe(1);
    expect(result.verdict).toBe('verified');
    expect(result.livenessChecked).toBe(true);
    for (const s of result.sometimes) expect(s.covered, s.id).toBe(true);
  }, exhaustiveRunMs);
});

describe('kd check catches every known-bad variant on ci', () => {
  for (const variant of variants) {
    it(`${variant.name}: violated, naming a property it breaks, with a counterexample that replays`, () => {
      const { config, result } = check('ci', variant.name);
      expect(result.verdict).toBe('violated');
      const violation = result.violation;
      expect(violation).not.toBeNull();
      if (violation === null) return;
      expect([...variant.breaks, 'LIVE-CONVERGENCE']).toContain(violation.property);
      const trace = buildTrace(config, violation);
      expect(trace.steps.length).toBe(violation.path.length);
      if (violation.kind === 'safety') {
        // The same actions, re-executed by the simulator from the same boot, break the same property.
        expect(propertiesBrokenInSimulator(config, trace.steps)).toContain(violation.property);
        expect(trace.steps[trace.steps.length - 1]?.violations.map((v) => v.property)).toContain(violation.property);
      }
    }, exhaustiveRunMs);
  }
});
