/** The ReplicaSet's replica decision (spec/05), including the stagePodsMax room (REQ-RS-006). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideReplicas as decideFromCounts, functionPodsOf, mayNeedDecision } from '../decisions/replicaset-decisions.js';
import type { ReplicaSetPodState } from '../pods/replicaset-pod.machine.js';
import type { PodEntry } from '../stages/pod-cache.js';

function entry(name: string, lifecycle: ReplicaSetPodState): PodEntry<ReplicaSetPodState> {
  return { record: { name, function: 'fn', priority: 0, node: null }, lifecycle, origin: null };
}

function decideReplicas(desired: number, entries: readonly PodEntry<ReplicaSetPodState>[], room: number) {
  return decideFromCounts(desired, functionPodsOf(entries), room);
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

  it('terminates the least advanced and newest first, whatever the room', () => {
    const entries = [entry('fn-1-0', 'running'), entry('fn-1-1', 'running'), entry('fn-2-0', 'provisioned')];
    expect(decideReplicas(1, entries, 0)).toEqual({ create: 0, victims: ['fn-2-0', 'fn-1-1'] });
  });
});

describe('mayNeedDecision', () => {
  it('is false only when the decision is "nothing", whatever the room', () => {
    const lifecycles: ReplicaSetPodState[] = ['pending', 'provisioned', 'running', 'terminating.unsent', 'terminating.sent'];
    fc.assert(
      fc.property(fc.nat(6), fc.array(fc.constantFrom(...lifecycles), { maxLength: 8 }), fc.integer({ min: -2, max: 8 }), (desired, states, room) => {
        const entries = states.map((lifecycle, i) => entry(`fn-1-${i}`, lifecycle));
        const pods = functionPodsOf(entries);
        const decision = decideFromCounts(desired, pods, room);
        if (!mayNeedDecision(desired, { alive: pods.alive, tombstones: pods.terminating })) expect(decision).toEqual({ create: 0, victims: [] });
      }),
    );
  });
});
