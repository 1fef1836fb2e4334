/** REQ-SCALE-001: the Autoscaler refuses, with no state change, a request the configuration does not allow. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { desiredMax, scaleSetsEntriesMax } from '../../spec/limits.js';
import { chainLinks, initStage, stepStage, type AutoscalerState, type ChainConfig, type StageState } from '../index.js';

const config: ChainConfig = { functions: [{ name: 'fn', priority: 0 }], nodes: [{ name: 'n1', capacity: 4 }], variant: 'correct' };
const start = initStage(config, 'autoscaler', { incarnation: 1 });

describe('Autoscaler requests (REQ-SCALE-001)', () => {
  it('refuses a function that is not configured, naming the configured ones, with no state change and no effect', () => {
    const result = stepStage(config, 'autoscaler', start, { type: 'scale.requested', function: 'other', desired: 3 });
    expect(result.disposition).toBe('rejected');
    expect(result.rejection?.reason).toBe('unknown-function');
    expect(result.rejection?.message).toContain('configured: fn');
    expect(result.state).toBe(start);
    expect(result.effects).toEqual([]);
  });

  it.each([-1, 1.5, desiredMax + 1, Number.NaN])('refuses desired %s as malformed', (desired) => {
    const result = stepStage(config, 'autoscaler', start, { type: 'scale.requested', function: 'fn', desired });
    expect(result.disposition).toBe('rejected');
    expect(result.rejection?.reason).toBe('malformed');
    expect(result.state).toBe(start);
    expect(result.effects).toEqual([]);
  });

  it('takes a valid request: durable first, no rejection', () => {
    const result = stepStage(config, 'autoscaler', start, { type: 'scale.requested', function: 'fn', desired: desiredMax });
    expect(result.disposition).toBe('none');
    expect(result.rejection).toBeUndefined();
    expect(result.effects).toEqual([{ type: 'store.persist', function: 'fn', desired: desiredMax }]);
  });
});

/**
 * REQ-SCALE-007, REQ-SCALE-008: `scales.requested` (Scaler.SetScales) is judged whole by
 * the Autoscaler machine. Generated requests over a synced Autoscaler: a refused one
 * changes nothing and gives the reason the rules name; a taken one ends in the state the
 * entries give one `scale.requested` at a time, with every `store.persist` before any send.
 */
describe('Autoscaler requests of several counts (REQ-SCALE-007, REQ-SCALE-008)', () => {
  const functions = ['a', 'b', 'c'];
  const several: ChainConfig = { functions: functions.map((name) => ({ name, priority: 0 })), nodes: [{ name: 'n1', capacity: 4 }], variant: 'correct' };
  const entry = fc.record({
    function: fc.constantFrom('a', 'b', 'c', 'ghost'),
    desired: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 1, arbitrary: fc.constantFrom(-1, 1.5, desiredMax + 1) }),
  });

  /** The reason REQ-SCALE-007 gives `scales`, or null when it is taken. */
  function expectedRefusal(scales: ReadonlyArray<{ function: string; desired: number }>): 'malformed' | 'unknown-function' | null {
    if (scales.length === 0 || scales.length > scaleSetsEntriesMax) return 'malformed';
    if (new Set(scales.map((s) => s.function)).size !== scales.length) return 'malformed';
    for (const s of scales) {
      if (!functions.includes(s.function)) return 'unknown-function';
      if (!Number.isInteger(s.desired) || s.desired < 0 || s.desired > desiredMax) return 'malformed';
    }
    return null;
  }

  /** An Autoscaler whose link to the Deployment is synced (so a taken count is also sent), with `a` at 1. */
  function syncedAutoscaler(): StageState {
    let state = initStage(several, 'autoscaler', { incarnation: 1, durableDesired: { a: 1 } });
    const link = chainLinks.autoscalerToDeployment;
    state = stepStage(several, 'autoscaler', state, { type: 'link.connected', link }).state;
    const epoch = (state as AutoscalerState).toDeployment.epoch;
    state = stepStage(several, 'autoscaler', state, { type: 'message.received', link, message: { type: 'session.snapshot', epoch, scales: [], pods: [], tombstones: [] } }).state;
    expect((state as AutoscalerState).toDeployment.session).toBe('synced');
    return state;
  }

  it('takes all entries or none, as the single requests one after another would', () => {
    const start = syncedAutoscaler();
    let taken = 0;
    let refused = 0;
    let sentAfterPersist = 0;
    fc.assert(
      fc.property(fc.array(entry, { minLength: 0, maxLength: 5 }), (scales) => {
        const result = stepStage(several, 'autoscaler', start, { type: 'scales.requested', scales });
        const expected = expectedRefusal(scales);
        if (expected !== null) {
          refused++;
          expect(result.disposition).toBe('rejected');
          expect(result.rejection?.reason).toBe(expected);
          expect(result.state).toBe(start);
          expect(result.effects).toEqual([]);
          return;
        }
        taken++;
        expect(result.rejection).toBeUndefined();
        let one = start;
        const persists: unknown[] = [];
        for (const s of scales) {
          const single = stepStage(several, 'autoscaler', one, { type: 'scale.requested', function: s.function, desired: s.desired });
          persists.push(...single.effects.filter((e) => e.type === 'store.persist'));
          one = single.state;
        }
        expect(result.state).toEqual(one);
        expect(result.effects.filter((e) => e.type === 'store.persist')).toEqual(persists);
        const firstSend = result.effects.findIndex((e) => e.type === 'message.send');
        const lastPersist = result.effects.findLastIndex((e) => e.type === 'store.persist');
        if (persists.length > 0) {
          sentAfterPersist++;
          expect(lastPersist).toBeLessThan(firstSend);
        }
      }),
      { numRuns: 300 },
    );
    expect(taken).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    expect(sentAfterPersist).toBeGreaterThan(0);
  });

  it(`refuses more than scaleSetsEntriesMax (${scaleSetsEntriesMax}) entries and names the limit`, () => {
    const scales = Array.from({ length: scaleSetsEntriesMax + 1 }, (_, i) => ({ function: `f${i}`, desired: 1 }));
    const result = stepStage(several, 'autoscaler', syncedAutoscaler(), { type: 'scales.requested', scales });
    expect(result.rejection?.reason).toBe('malformed');
    expect(result.rejection?.message).toContain('scaleSetsEntriesMax');
  });

  it('names the first bad entry; a duplicate is judged before an unknown function', () => {
    const start = syncedAutoscaler();
    const unknown = stepStage(several, 'autoscaler', start, { type: 'scales.requested', scales: [{ function: 'a', desired: 2 }, { function: 'ghost', desired: 1 }] });
    expect(unknown.rejection).toEqual({ reason: 'unknown-function', message: expect.stringContaining('entry 1: function "ghost" is not configured') });
    const twice = stepStage(several, 'autoscaler', start, { type: 'scales.requested', scales: [{ function: 'ghost', desired: 1 }, { function: 'b', desired: 1 }, { function: 'b', desired: 2 }] });
    expect(twice.rejection).toEqual({ reason: 'malformed', message: expect.stringContaining('entry 2: function "b" appears twice') });
  });
});
