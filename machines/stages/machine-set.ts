/** The lifecycle machines of one protocol variant, built once and shared. */
import type { ProtocolVariant } from '../../spec/variants.js';
import { createKubeletPodMachine } from '../pods/kubelet-pod.machine.js';
import { createReplicaSetPodMachine } from '../pods/replicaset-pod.machine.js';
import { createSchedulerPodMachine } from '../pods/scheduler-pod.machine.js';
import { createScaleEntryMachine } from '../scale/scale-entry.machine.js';
import { createDownstreamSessionMachine } from '../session/downstream-session.machine.js';
import { createUpstreamSessionMachine } from '../session/upstream-session.machine.js';

function build(variant: ProtocolVariant) {
  return {
    replicaSetPod: createReplicaSetPodMachine(variant),
    schedulerPod: createSchedulerPodMachine(variant),
    kubeletPod: createKubeletPodMachine(),
    scaleEntry: createScaleEntryMachine(),
    upstreamSession: createUpstreamSessionMachine(),
    downstreamSession: createDownstreamSessionMachine(variant),
  };
}

export type MachineSet = ReturnType<typeof build>;

const built = new Map<ProtocolVariant, MachineSet>();

export function machinesFor(variant: ProtocolVariant): MachineSet {
  let set = built.get(variant);
  if (set === undefined) {
    set = build(variant);
    built.set(variant, set);
  }
  return set;
}
