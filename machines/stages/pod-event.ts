/**
 * The pod-event core every pod-holding stage (ReplicaSet, Scheduler, Kubelet) shares:
 * step the entry's pod machine, record the transition in the step's trace, and keep the
 * entry's `origin` (spec/03-write-back-cache.md: a tombstone remembers who decided the
 * termination). Storing the entry and carrying out the machine's actions stay with the
 * stage: those differ (what each action sends, in which order with the cache update).
 */
import type { Role } from '../core/ids.js';
import { stepLifecycle, type LifecycleMachine } from '../core/lifecycle.js';
import type { EffectList } from './effects-builder.js';
import { stateIsTombstone, type PodMachineName } from './lifecycle-states.js';
import type { PodEntry } from './pod-cache.js';

/** A pod event that changed the entry: its next form and the actions the machine asked for. */
export interface PodEventStep<S extends string, A extends string> {
  readonly next: PodEntry<S>;
  readonly actions: readonly A[];
}

/**
 * Applies `event` to `entry` (which may not be cached yet: a new pod is an entry in its
 * machine's initial state) and returns the changed entry with its actions, or null when
 * the machine takes no transition. The origin: an entry that becomes a tombstone takes
 * `tombstoneOrigin` (the role that decided it); one that stays a tombstone keeps its own;
 * an alive entry has none.
 */
export function stepPodEntry<S extends string, E extends string, A extends string>(
  machine: LifecycleMachine<S, E, A>,
  machineName: PodMachineName,
  entry: PodEntry<S>,
  event: NoInfer<E>,
  tombstoneOrigin: Role | null,
  out: EffectList,
): PodEventStep<S, A> | null {
  const step = stepLifecycle(machine, entry.lifecycle, event);
  if (!step.changed) return null;
  out.record(machineName, entry.record.name, event, entry.lifecycle, step.state);
  let origin: Role | null = null;
  if (stateIsTombstone(step.state)) origin = stateIsTombstone(entry.lifecycle) ? entry.origin : tombstoneOrigin;
  return { next: { record: entry.record, lifecycle: step.state, origin }, actions: step.actions };
}
