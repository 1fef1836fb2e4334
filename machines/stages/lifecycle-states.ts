/**
 * Classification of pod-lifecycle states shared by the stages, the drivers and the
 * invariants. The classes are the tags of the pod machines (pods/pod-tags.ts); this file
 * only asks them. One definition, used everywhere.
 */
import { lifecycleStatesOf, lifecycleTagsOf } from '../core/lifecycle.js';
import { podTags, type PodTag } from '../pods/pod-tags.js';
import { machinesFor } from './machine-set.js';
import { assert } from '../core/assert.js';

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
 * `alive` and `tombstone` mean the same for a state name in every pod machine (checked
 * here at load), so these two may be asked of a state without its machine.
 */
const aliveByName = new Map<string, boolean>();
const tombstoneByName = new Map<string, boolean>();
for (const machine of Object.keys(podMachines) as PodMachineName[]) {
  for (const state of lifecycleStatesOf(podMachines[machine])) {
    for (const [tag, byName] of [['alive', aliveByName], ['tombstone', tombstoneByName]] as const) {
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
