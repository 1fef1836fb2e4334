/**
 * The Scheduler's decisions (spec/05-stage-decisions.md): placement within capacity,
 * and preemption of lower-priority pods when a higher-priority pod cannot be placed.
 */
import type { ProtocolVariant } from '../../spec/variants.js';
import { stateIsTombstone } from '../stages/lifecycle-states.js';
import type { PodEntry } from '../stages/pod-cache.js';
import { compareNewestFirst } from './replicaset-decisions.js';

export interface PlacementInput {
  readonly variant: ProtocolVariant;
  /** Nodes whose view is warm (their link has synced in this incarnation), with capacity. */
  readonly nodes: ReadonlyArray<{ readonly name: string; readonly capacity: number }>;
  readonly pods: readonly PodEntry[];
}

export interface PlacementDecision {
  /** Unscheduled pod name -> node. */
  readonly placements: ReadonlyArray<{ readonly pod: string; readonly node: string }>;
  /** Pods to preempt (bound or running, lower priority). */
  readonly preemptions: readonly string[];
}

const holdsCapacity = new Set(['pending', 'bound', 'running', 'terminating.unsent', 'terminating.sent']);

/**
 * Capacity used on a node: every pod bound to it, tombstones included until the
 * Kubelet reports the kill. The `free-capacity-on-preempt` variant stops counting a
 * pod as soon as the Scheduler preempts it.
 */
export function capacityUsed(variant: ProtocolVariant, pods: readonly PodEntry[], node: string): number {
  let used = 0;
  for (const e of pods) {
    if (e.record.node !== node || !holdsCapacity.has(e.lifecycle)) continue;
    if (variant === 'free-capacity-on-preempt' && stateIsTombstone(e.lifecycle) && e.origin === 'scheduler') continue;
    used++;
  }
  return used;
}

/** `capacityUsed` of every node in one pass over the pods. */
function capacityUsedByNode(variant: ProtocolVariant, pods: readonly PodEntry[]): Map<string, number> {
  const used = new Map<string, number>();
  for (const e of pods) {
    if (e.record.node === null || !holdsCapacity.has(e.lifecycle)) continue;
    if (variant === 'free-capacity-on-preempt' && stateIsTombstone(e.lifecycle) && e.origin === 'scheduler') continue;
    used.set(e.record.node, (used.get(e.record.node) ?? 0) + 1);
  }
  return used;
}

export function decidePlacement(input: PlacementInput): PlacementDecision {
  const used = capacityUsedByNode(input.variant, input.pods);
  // Nodes in name order, so that ties go to the first name (mostFree).
  const free = new Map(
    [...input.nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((n) => [n.name, n.capacity - (used.get(n.name) ?? 0)]),
  );
  const waiting = input.pods
    .filter((e) => e.lifecycle === 'unscheduled')
    .sort((a, b) => b.record.priority - a.record.priority || (a.record.name < b.record.name ? -1 : 1));
  const placements: Array<{ pod: string; node: string }> = [];
  const unplaced: PodEntry[] = [];
  for (const pod of waiting) {
    const node = mostFree(free);
    if (node === null) {
      unplaced.push(pod);
      continue;
    }
    placements.push({ pod: pod.record.name, node });
    free.set(node, (free.get(node) ?? 0) - 1);
  }
  return { placements, preemptions: choosePreemptions(input, unplaced) };
}

/** The node with the most free capacity; ties go to the first in `free`'s order (name order). */
function mostFree(free: ReadonlyMap<string, number>): string | null {
  let best: string | null = null;
  let bestFree = 0;
  for (const [node, n] of free) {
    if (n > bestFree) {
      best = node;
      bestFree = n;
    }
  }
  return best;
}

/**
 * Terminations already under way on warm nodes will free capacity: each covers one
 * waiting pod, so no needless preemption is issued. For each remaining waiting pod,
 * the lowest-priority (then newest) bound or running pod of strictly lower priority is preempted.
 */
function choosePreemptions(input: PlacementInput, unplaced: readonly PodEntry[]): string[] {
  if (unplaced.length === 0) return [];
  const warm = new Set(input.nodes.map((n) => n.name));
  let underWay = input.pods.filter((e) => stateIsTombstone(e.lifecycle) && e.record.node !== null && warm.has(e.record.node)).length;
  const candidates = input.pods
    .filter((e) => (e.lifecycle === 'bound' || e.lifecycle === 'running') && e.record.node !== null && warm.has(e.record.node))
    .sort((a, b) => a.record.priority - b.record.priority || compareNewestFirst(a.record.name, b.record.name));
  const preemptions: string[] = [];
  for (const pod of unplaced) {
    if (underWay > 0) {
      underWay--;
      continue;
    }
    const victim = candidates.find((c) => c.record.priority < pod.record.priority && !preemptions.includes(c.record.name));
    if (victim === undefined) continue;
    preemptions.push(victim.record.name);
  }
  return preemptions;
}
