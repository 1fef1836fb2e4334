/** The ReplicaSet's replica decision (spec/05), including the stagePodsMax room (REQ-RS-006) and the creation window (REQ-RS-007). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideReplicas as decideFromCounts, functionPodsOf, mayNeedDecision } from '../decisions/replicaset-decisions.js';
import type { ReplicaSetPodState } from '../pods/replicaset-pod.machine.js';
import type { PodEntry } from '../stages/pod-cache.js';

function entry(name: string, lifecycle: ReplicaSetPodState): PodEntry<ReplicaSetPodState> {
  return { record: { name, function: 'fn', priority: 0, node: null }, lifecycle, origin: null };
}

/** A window wider than any test's pods: the decision without flow control. */
const noWindow = 1_000;

function decideReplicas(desired: number, entries: readonly PodEntry<ReplicaSetPodState>[], room: number, window = noWindow) {
  return decideFromCounts(desired, functionPodsOf(entries), room, window);
}

describe('decideReplicas', () => {
  it('creates what is missing when there is room', () => {
    expect(decideReplicas(5, [entry('fn-1-0', 'running')], 100)).toEqual({ create: 4, victims: [] });
  });

  it('counts terminating pods against creation', () => {
    expect(decideReplicas(2, [entry('fn-1-0', 'running'), entry('fn-1-1', 'terminating.sent')], 100)).toEqual({ create: 0, victims: [] });
  });

  it('creates at most the room left (REQ-RS-006) and the rest later', () => {
    expect(decideReplicas(10, [], 3)).toEqual({ create: 3, victims: [] });
    expect(decideReplicas(10, [], 0)).toEqual({ create: 0, victims: [] });
  });

  it('fills the creation window and no more: pods not confirmed running count against it (REQ-RS-007)', () => {
    expect(decideReplicas(99_999, [], 100, 4)).toEqual({ create: 4, victims: [] });
    const twoUnconfirmed = [entry('fn-1-0', 'pending'), entry('fn-1-1', 'provisioned'), entry('fn-1-2', 'running'), entry('fn-1-3', 'running')];
    expect(decideReplicas(99_999, twoUnconfirmed, 100, 4)).toEqual({ create: 2, victims: [] });
    expect(decideReplicas(99_999, twoUnconfirmed, 100, 2)).toEqual({ create: 0, victims: [] });
    // Tombstones do not fill the window (they count against creation, REQ-RS-004).
    expect(decideReplicas(6, [...twoUnconfirmed, entry('fn-1-4', 'terminating.sent')], 100, 3)).toEqual({ create: 1, victims: [] });
  });

  it('terminates beyond the desired count whatever the window holds', () => {
    const entries = [entry('fn-1-0', 'running'), entry('fn-1-1', 'provisioned'), entry('fn-1-2', 'provisioned'), entry('fn-1-3', 'pending')];
    expect(decideReplicas(1, entries, 100, 1)).toEqual({ create: 0, victims: ['fn-1-3', 'fn-1-2', 'fn-1-1'] });
  });

  it('terminates the least advanced and newest first, whatever the room', () => {
    const entries = [entry('fn-1-0', 'running'), entry('fn-1-1', 'running'), entry('fn-2-0', 'provisioned')];
    expect(decideReplicas(1, entries, 0)).toEqual({ create: 0, victims: ['fn-2-0', 'fn-1-1'] });
  });
});

describe('mayNeedDecision', () => {
  it('is false only when the decision is "nothing", whatever the room and the window', () => {
    const lifecycles: ReplicaSetPodState[] = ['pending', 'provisioned', 'running', 'terminating.unsent', 'terminating.sent'];
    fc.assert(
      fc.property(
        fc.nat(6),
        fc.array(fc.constantFrom(...lifecycles), { maxLength: 8 }),
        fc.integer({ min: -2, max: 8 }),
        fc.integer({ min: 1, max: 4 }),
        (desired, states, room, window) => {
          const entries = states.map((lifecycle, i) => entry(`fn-1-${i}`, lifecycle));
          const pods = functionPodsOf(entries);
          const decision = decideFromCounts(desired, pods, room, window);
          const counts = { alive: pods.alive, clean: pods.clean, tombstones: pods.terminating };
          if (!mayNeedDecision(desired, counts, window)) expect(decision).toEqual({ create: 0, victims: [] });
          // and the creation never overfills the window
          expect(pods.alive - pods.clean + decision.create).toBeLessThanOrEqual(Math.max(window, pods.alive - pods.clean));
        },
      ),
    );
  });
});
