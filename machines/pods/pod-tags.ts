/**
 * The classes of pod-lifecycle states, declared as XState tags on the states of the
 * three pod machines (spec/04-lifecycles.md) and asked everywhere else
 * (`podStateHas`, machines/stages/lifecycle-states.ts) instead of lists of state names.
 */
export const podTags = [
  /** In the cache and not a tombstone: counts as a pod of its function. */
  'alive',
  /** A termination held until the stage below confirms it (REQ-TOMB-001). */
  'tombstone',
  /** Alive and never forwarded down: nothing below knows it yet. */
  'waiting',
  /** Confirmed running by the Kubelet: a clean cache entry; a snapshot reports it `running`. */
  'clean',
  /** Scheduler: bound to a node (the binding is decided; `record.node` is set). */
  'placed',
  /** Counted against its node's capacity (Scheduler: REQ-SCHED-003; Kubelet: REQ-TOMB-007, REQ-POD-012). */
  'holdsCapacity',
  /** Forwarded by the stage's next forward step, once the link is synced. */
  'unsent',
] as const;

export type PodTag = (typeof podTags)[number];
