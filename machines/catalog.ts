/**
 * Every lifecycle machine with its events and actions, for the docs, the diagrams and
 * the coverage tests. Built with the correct protocol (no variant).
 */
import { kubeletPodActions, kubeletPodEvents } from './pods/kubelet-pod.machine.js';
import { replicaSetPodActions, replicaSetPodEvents } from './pods/replicaset-pod.machine.js';
import { schedulerPodActions, schedulerPodEvents } from './pods/scheduler-pod.machine.js';
import { scaleEntryActions, scaleEntryEvents } from './scale/scale-entry.machine.js';
import { downstreamSessionActions, downstreamSessionEvents } from './session/downstream-session.machine.js';
import { upstreamSessionActions, upstreamSessionEvents } from './session/upstream-session.machine.js';
import { machinesFor, type MachineSet } from './stages/machine-set.js';

export interface LifecycleMachineEntry {
  readonly key: keyof MachineSet;
  readonly title: string;
  /** Stages that run this machine. */
  readonly stages: readonly string[];
  readonly events: readonly string[];
  readonly actions: readonly string[];
}

export const lifecycleCatalog: readonly LifecycleMachineEntry[] = [
  { key: 'replicaSetPod', title: 'ReplicaSet pod lifecycle', stages: ['replicaset'], events: replicaSetPodEvents, actions: replicaSetPodActions },
  { key: 'schedulerPod', title: 'Scheduler pod lifecycle', stages: ['scheduler'], events: schedulerPodEvents, actions: schedulerPodActions },
  { key: 'kubeletPod', title: 'Kubelet sandbox lifecycle', stages: ['kubelet'], events: kubeletPodEvents, actions: kubeletPodActions },
  { key: 'scaleEntry', title: 'Desired-count entry lifecycle', stages: ['autoscaler', 'deployment'], events: scaleEntryEvents, actions: scaleEntryActions },
  { key: 'upstreamSession', title: 'Session, upstream (client) side', stages: ['autoscaler', 'deployment', 'replicaset', 'scheduler'], events: upstreamSessionEvents, actions: upstreamSessionActions },
  { key: 'downstreamSession', title: 'Session, downstream (server) side', stages: ['deployment', 'replicaset', 'scheduler', 'kubelet'], events: downstreamSessionEvents, actions: downstreamSessionActions },
];

export function correctMachines(): MachineSet {
  return machinesFor('correct');
}
