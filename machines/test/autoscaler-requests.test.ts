/** REQ-SCALE-001: the Autoscaler refuses, with no state change, a request the configuration does not allow. */
import { describe, expect, it } from 'vitest';
import { desiredMax } from '../../spec/limits.js';
import { initStage, stepStage, type ChainConfig } from '../index.js';

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
