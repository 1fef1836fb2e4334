/**
 * The state classes of the pod machines (tags, pods/pod-tags.ts) against what
 * spec/04-lifecycles.md says of each machine's states: which are alive, which count
 * against capacity. The drivers' classes (cache class, waiting for a node) follow.
 */
import { describe, expect, it } from 'vitest';
import { podCacheClassOf, podStatesWith, schedulerPodSentToNode, schedulerPodWaitsForNode, stateIsAlive, stateIsTombstone, type PodMachineName } from '../stages/lifecycle-states.js';

describe('pod machine tags match spec 04', () => {
  it('alive and tombstone states of each machine ("States ... Alive: ..." of each table)', () => {
    expect(podStatesWith('replicaset-pod', 'alive')).toEqual(['pending', 'provisioned', 'running']);
    expect(podStatesWith('scheduler-pod', 'alive')).toEqual(['unscheduled', 'pending', 'bound', 'running']);
    expect(podStatesWith('kubelet-pod', 'alive')).toEqual(['starting', 'running']);
    expect(podStatesWith('replicaset-pod', 'tombstone')).toEqual(['terminating.unsent', 'terminating.sent']);
    expect(podStatesWith('scheduler-pod', 'tombstone')).toEqual(['terminating.unsent', 'terminating.sent']);
    expect(podStatesWith('kubelet-pod', 'tombstone')).toEqual(['killing']);
  });

  it('capacity: the Scheduler counts placed pods and their tombstones (REQ-SCHED-003), a Kubelet every held sandbox (REQ-TOMB-007)', () => {
    expect(podStatesWith('scheduler-pod', 'holdsCapacity')).toEqual(['pending', 'bound', 'running', 'terminating.unsent', 'terminating.sent']);
    expect(podStatesWith('scheduler-pod', 'placed')).toEqual(podStatesWith('scheduler-pod', 'holdsCapacity'));
    expect(podStatesWith('kubelet-pod', 'holdsCapacity')).toEqual(['starting', 'running', 'killing']);
    expect(podStatesWith('replicaset-pod', 'holdsCapacity')).toEqual([]);
  });

  it('unsent entries are those a forward step sends', () => {
    expect(podStatesWith('replicaset-pod', 'unsent')).toEqual(['pending', 'terminating.unsent']);
    expect(podStatesWith('scheduler-pod', 'unsent')).toEqual(['pending', 'terminating.unsent']);
  });

  it('cache classes, and no class for unknown, gone or a name the machine lacks', () => {
    const classes = (machine: PodMachineName, states: string[]) => states.map((s) => podCacheClassOf(machine, s));
    expect(classes('replicaset-pod', ['pending', 'provisioned', 'running', 'terminating.sent', 'unknown', 'gone', 'bound'])).toEqual(['waiting', 'dirty', 'clean', 'tombstone', null, null, null]);
    expect(classes('scheduler-pod', ['unscheduled', 'pending', 'bound', 'running', 'terminating.unsent'])).toEqual(['waiting', 'waiting', 'dirty', 'clean', 'tombstone']);
    expect(classes('kubelet-pod', ['starting', 'running', 'killing', 'no-such-state'])).toEqual(['dirty', 'clean', 'tombstone', null]);
    expect(['unscheduled', 'pending', 'bound', 'gone'].map(schedulerPodWaitsForNode)).toEqual([true, false, false, false]);
    expect(['unscheduled', 'pending', 'bound', 'running', 'terminating.unsent', 'terminating.sent', 'gone'].map(schedulerPodSentToNode)).toEqual([false, false, true, true, true, true, false]);
    expect([stateIsAlive('unknown'), stateIsAlive('gone'), stateIsTombstone('killing'), stateIsAlive('no-such-state')]).toEqual([false, false, true, false]);
  });
});
