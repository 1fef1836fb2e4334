/**
 * DEC-50 in the simulator: an assertion that fails inside a step of `kd simulate` stops the
 * run with a violation of the property it states (with its step and action), as in the
 * checker, never with an exception. The Kubelet is broken on purpose here (its step wrapped
 * by vi.mock; machines/ itself is unchanged).
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { KubeletState } from '../../machines/stages/kubelet.js';

const broken = vi.hoisted(() => ({ mutation: 'none' as 'none' | 'kill-after-killed' | 'assert-on-tombstone' }));

vi.mock('../../machines/stages/kubelet.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../machines/stages/kubelet.js')>();
  const { InvariantViolation } = await import('../../machines/core/assert.js');
  return {
    ...original,
    stepKubelet: (...args: Parameters<typeof original.stepKubelet>) => {
      const [, state, event] = args;
      const result = original.stepKubelet(...args);
      if (broken.mutation === 'kill-after-killed' && event.type === 'sandbox.killed') {
        // A Kubelet that kills again a sandbox that is already gone: the world's assertion fires.
        const record = (state as KubeletState).pods.get(event.pod)?.record;
        if (record !== undefined) return { ...result, effects: [...result.effects, { type: 'sandbox.kill' as const, pod: record }] };
      }
      if (broken.mutation === 'assert-on-tombstone' && event.type === 'message.received' && event.message.type === 'pod.tombstone')
        throw new InvariantViolation('a made-up assertion of the Kubelet on tombstones');
      return result;
    },
  };
});

const { simulate } = await import('../simulate.js');

const config = { functions: [{ name: 'fn', priority: 0 }], nodes: [{ name: 'n1', capacity: 2 }], variant: 'correct' as const };
const upThenDown = [{ op: 'scale', function: 'fn', desired: 2 }, { op: 'run' }, { op: 'scale', function: 'fn', desired: 0 }] as const;

describe('kd simulate: assertions failed in a step are named violations', () => {
  beforeEach(() => {
    broken.mutation = 'none';
  });

  it('the unbroken chain converges (the scenario itself is fine)', () => {
    const result = simulate({ config, seed: 1, scenario: upThenDown });
    expect(result.violation).toBeNull();
    expect(result.converged).toBe(true);
  });

  it('a kill of a sandbox that is gone is INV-SANDBOX-HELD at the step that did it', () => {
    broken.mutation = 'kill-after-killed';
    const result = simulate({ config, seed: 1, scenario: upThenDown });
    expect(result.violation?.property).toBe('INV-SANDBOX-HELD');
    expect(result.violation?.message).toMatch(/assertion failed: /);
    expect(result.violation?.action).toMatchObject({ kind: 'sandboxDone', outcome: 'killed' });
    expect(result.converged).toBe(false);
  });

  it('any other assertion is INV-STEP-ASSERTION, with the action that hit it', () => {
    broken.mutation = 'assert-on-tombstone';
    const result = simulate({ config, seed: 3, scenario: upThenDown });
    expect(result.violation?.property).toBe('INV-STEP-ASSERTION');
    expect(result.violation?.message).toMatch(/"kind":"deliver".*a made-up assertion of the Kubelet on tombstones/);
    expect(result.trace.at(-1)).toEqual(result.violation?.action);
  });
});
