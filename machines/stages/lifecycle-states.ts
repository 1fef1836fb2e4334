/**
 * Classification of pod-lifecycle states shared by the stages, the drivers and the
 * invariants: which states are alive, which are tombstones. One definition, used everywhere.
 */

/** Tombstone states of every stage's pod machine. */
export function stateIsTombstone(lifecycle: string): boolean {
  return lifecycle.startsWith('terminating') || lifecycle === 'killing';
}

/** Alive states: in the cache and not a tombstone. */
export function stateIsAlive(lifecycle: string): boolean {
  return lifecycle !== 'unknown' && lifecycle !== 'gone' && !stateIsTombstone(lifecycle);
}

/** Whether the entry has been forwarded downstream in some session (it may exist below). */
export function stateWasForwarded(lifecycle: string): boolean {
  return lifecycle !== 'pending' && lifecycle !== 'unscheduled' && lifecycle !== 'unknown';
}
