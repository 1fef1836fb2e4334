/**
 * Classification of pod-lifecycle states shared by the stages, the drivers and the
 * invariants. The classes are the tags of the pod machines (pods/pod-tags.ts); this file
 * only asks them. One definition, used everywhere.
 */
import { lifecycleStatesOf, lifecycleTagsOf } from '../core/lifecycle.js';
import { podTags, type PodTag } from '../pods/pod-tags.js';
import { machinesFor } from './machine-set.js';
import { assert } from '../core/assert.js';
import type { Role } from '../core/ids.js';
import type { KubeletPodState } from '../pods/kubelet-pod.machine.js';
import type { ReplicaSetPodState } from '../pods/replicaset-pod.machine.js';
import type { SchedulerPodState } from '../pods/scheduler-pod.machine.js';

/** The pod machines, by the name trace points carry. */
export type PodMachineName = 'replicaset-pod' | 'scheduler-pod' | 'kubelet-pod';

const podMachines = (() => {
  const machines = machinesFor('correct');
  return { 'replicaset-pod': machines.replicaSetPod, 'scheduler-pod': machines.schedulerPod, 'kubelet-pod': machines.kubeletPod } as const;
})();

/** Tag bits per state, per machine: the hot paths (cache counts) ask with a map look-up. */
const tagBits = new Map<PodMachineName, Map<string, number>>();

function bitsOf(machine: PodMachineName, state: string): number {
  let byState = tagBits.get(machine);
  if (byState === undefined) {
    byState = new Map();
    tagBits.set(machine, byState);
  }
  let bits = byState.get(state);
  if (bits === undefined) {
    // A name the machine does not have (e.g. read from another process) has no class.
    if (!lifecycleStatesOf(podMachines[machine]).includes(state)) return 0;
    const tags = lifecycleTagsOf(podMachines[machine], state);
    bits = 0;
    podTags.forEach((tag, i) => {
      if (tags.has(tag)) bits = (bits as number) | (1 << i);
    });
    byState.set(state, bits);
  }
  return bits;
}

const bitOf = new Map<PodTag, number>(podTags.map((tag, i) => [tag, 1 << i]));

/** Whether `state` of the pod machine `machine` carries `tag`. */
export function podStateHas(machine: PodMachineName, state: string, tag: PodTag): boolean {
  return (bitsOf(machine, state) & (bitOf.get(tag) as number)) !== 0;
}

/**
 * `alive`, `tombstone` and `clean` mean the same for a state name in every pod machine
 * (checked here at load), so these three may be asked of a state without its machine.
 */
const aliveByName = new Map<string, boolean>();
const tombstoneByName = new Map<string, boolean>();
const cleanByName = new Map<string, boolean>();
for (const machine of Object.keys(podMachines) as PodMachineName[]) {
  for (const state of lifecycleStatesOf(podMachines[machine])) {
    for (const [tag, byName] of [['alive', aliveByName], ['tombstone', tombstoneByName], ['clean', cleanByName]] as const) {
      const has = podStateHas(machine, state, tag);
      const known = byName.get(state);
      assert(known === undefined || known === has, `state ${state} is ${tag} in one pod machine and not in another`);
      byName.set(state, has);
    }
  }
}

/** Tombstone states of every stage's pod machine (tag `tombstone`). */
export function stateIsTombstone(lifecycle: string): boolean {
  return tombstoneByName.get(lifecycle) === true;
}

/** Alive states: in the cache and not a tombstone (tag `alive`). */
export function stateIsAlive(lifecycle: string): boolean {
  return aliveByName.get(lifecycle) === true;
}

/** Clean states: alive and confirmed running by the Kubelet (tag `clean`). */
export function stateIsClean(lifecycle: string): boolean {
  return cleanByName.get(lifecycle) === true;
}

/** The pod machine of a role's stage; null for the roles that hold no pods. */
export function podMachineOfRole(role: Role): PodMachineName | null {
  switch (role) {
    case 'replicaset':
      return 'replicaset-pod';
    case 'scheduler':
      return 'scheduler-pod';
    case 'kubelet':
      return 'kubelet-pod';
    default:
      return null;
  }
}

/** The states of each pod machine, as types. */
export interface PodStateOfMachine {
  readonly 'replicaset-pod': ReplicaSetPodState;
  readonly 'scheduler-pod': SchedulerPodState;
  readonly 'kubelet-pod': KubeletPodState;
}

const statesWithMemo = new Map<string, readonly string[]>();

/** The states of `machine` that carry `tag`, in definition order; the same array on every call (a constant). */
export function podStatesWith<M extends PodMachineName>(machine: M, tag: PodTag): readonly PodStateOfMachine[M][] {
  const key = `${machine}|${tag}`;
  let states = statesWithMemo.get(key);
  if (states === undefined) {
    states = lifecycleStatesOf(podMachines[machine]).filter((state) => podStateHas(machine, state, tag));
    statesWithMemo.set(key, states);
  }
  return states as readonly PodStateOfMachine[M][];
}

/**
 * The cache class of a pod entry, one word for the metrics, `kd status` and the
 * simulator's summaries: `waiting` (alive, never forwarded), `dirty` (forwarded, not
 * confirmed running), `clean` (running), `tombstone`; null for a state that is none
 * (`unknown`, `gone`, or a name the machine does not have).
 */
export type PodCacheClass = 'waiting' | 'dirty' | 'clean' | 'tombstone';

export function podCacheClassOf(machine: PodMachineName, state: string): PodCacheClass | null {
  if (podStateHas(machine, state, 'tombstone')) return 'tombstone';
  if (podStateHas(machine, state, 'clean')) return 'clean';
  if (podStateHas(machine, state, 'waiting')) return 'waiting';
  return podStateHas(machine, state, 'alive') ? 'dirty' : null;
}

/** A Scheduler pod that waits for a node: alive and not placed (`unscheduled`); never an error (no churn). */
export function schedulerPodWaitsForNode(state: string): boolean {
  return podStateHas('scheduler-pod', state, 'alive') && !podStateHas('scheduler-pod', state, 'placed');
}

/** A Scheduler pod that was sent to its node's Kubelet: placed and no longer waiting (`bound`, `running`, its tombstones). */
export function schedulerPodSentToNode(state: string): boolean {
  return podStateHas('scheduler-pod', state, 'placed') && !podStateHas('scheduler-pod', state, 'waiting');
}
