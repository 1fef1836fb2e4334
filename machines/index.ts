/**
 * The Kubedirect protocol machines: the single source of protocol behaviour. Pure:
 * no I/O, no clocks, no randomness. See machines/README.md for the driver contract.
 */
export * from './core/index.js';
export * from './stages/chain.js';
export * from './stages/config.js';
export * from './stages/views.js';
export * from './stages/lifecycle-states.js';
export { messageIsCurrent, type SessionAtEnd } from './stages/session-current.js';
export {
  convergenceProblemsOf,
  countMismatchesOf,
  functionCountsOf,
  type ChainObservation,
  type CountMismatch,
  type FunctionCounts,
  type ObservedPod,
  type ObservedSession,
  type ObservedStage,
} from './stages/convergence.js';
export { PodCache, type PodEntry, type PodGroup } from './stages/pod-cache.js';
export { SortedMap } from './core/sorted-map.js';
export { clientSessionEpoch, clientWantsSession, type ClientSide, type ServerSide } from './stages/session-sides.js';
export type { ScaleEntry, ScaleTable } from './stages/scale-holder.js';
export type { AutoscalerState } from './stages/autoscaler.js';
export { scalesRequestRefusal } from './stages/autoscaler.js';
export type { DeploymentState } from './stages/deployment.js';
export type { ReplicaSetState } from './stages/replicaset.js';
export type { SchedulerState } from './stages/scheduler.js';
export type { KubeletState, SandboxInventoryItem } from './stages/kubelet.js';
export { sandboxesHeld } from './stages/kubelet.js';
export { capacityUsed } from './decisions/scheduler-decisions.js';
export { machinesFor, type MachineSet } from './stages/machine-set.js';
export * from './catalog.js';
