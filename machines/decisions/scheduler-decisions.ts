/**
 * The Scheduler's decisions (spec/05-stage-decisions.md): placement within capacity,
 * and preemption of lower-priority pods when a higher-priority pod cannot be placed.
 */
import type { ProtocolVariant } from '../../spec/variants.js';
import { ChoiceCursor } from '../core/choices.js';
import { podStatesWith, stateIsTombstone } from '../stages/lifecycle-states.js';
import type { PodCache, PodEntry } from '../stages/pod-cache.js';
import type { SchedulerPodState } from '../pods/scheduler-pod.machine.js';
import { compareNewestFirst } from './replicaset-decisions.js';

export interface PlacementInput {
  readonly variant: ProtocolVariant;
  /** Nodes whose view is warm (their link has synced in this incarnation), with capacity. */
  readonly nodes: ReadonlyArray<{ readonly name: string; readonly capacity: number }>;
  readonly pods: PodCache<SchedulerPodState>;
  /**
   * How ties are broken (DEC-52): absent, the spec's rule (the first node by name among
   * the most free, REQ-SCHED-002; the newest among the lowest-priority victims,
   * REQ-SCHED-006); the model checker passes a cursor to explore every alternative.
   */
  readonly choices?: ChoiceCursor;
}

export interface PlacementDecision {
  /** Unscheduled pod name -> node. */
  readonly placements: ReadonlyArray<{ readonly pod: string; readonly node: string }>;
  /** Pods to preempt (bound or running, lower priority). */
  readonly preemptions: readonly string[];
}

/** The Scheduler pod states that hold capacity on the pod's node, and those of them that are tombstones (tags of the machine). */
const holdsCapacity = podStatesWith('scheduler-pod', 'holdsCapacity');
const tombstoneStates = holdsCapacity.filter(stateIsTombstone);

/**
 * Capacity used on a node: every pod bound to it, tombstones included until the
 * Kubelet reports the kill. The `free-capacity-on-preempt` variant stops counting a
 * pod as soon as the Scheduler preempts it.
 */
export function capacityUsed(variant: ProtocolVariant, pods: PodCache<SchedulerPodState>, node: string): number {
  let used = pods.countOnNode(node, holdsCapacity);
  if (variant === 'free-capacity-on-preempt')
    for (const state of tombstoneStates) for (const e of pods.onNode(node, state).values()) if (e.origin === 'scheduler') used--;
  return used;
}

/** Pods waiting for a node, highest priority first, then by name. */
function waitingPods(pods: PodCache<SchedulerPodState>): PodEntry<SchedulerPodState>[] {
  return [...pods.inLifecycle('unscheduled').values()].sort((a, b) => b.record.priority - a.record.priority || (a.record.name < b.record.name ? -1 : 1));
}

type NodeCapacity = PlacementInput['nodes'][number];

/** The nodes in name order: the same list when it is in order already (the configuration's usually is). */
function inNameOrder(nodes: readonly NodeCapacity[]): readonly NodeCapacity[] {
  for (let i = 1; i < nodes.length; i++)
    if ((nodes[i - 1] as NodeCapacity).name > (nodes[i] as NodeCapacity).name) return [...nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return nodes;
}

export function decidePlacement(input: PlacementInput): PlacementDecision {
  const waitingCount = input.pods.countIn('unscheduled');
  if (waitingCount === 0) return { placements: [], preemptions: [] };
  // Nodes in name order, so that ties go to the first name (mostFree).
  const nodes = inNameOrder(input.nodes);
  const free = nodes.map((n) => n.capacity - capacityUsed(input.variant, input.pods, n.name));
  // No node has room (the usual case while a desired count exceeds capacity, DEC-42): no
  // pod is placed, so the waiting pods are ranked only if a preemption is possible at all.
  // The same decision as below (no choice is taken either), without a sort of every
  // waiting pod on every step.
  if (free.every((f) => f <= 0) && !preemptionPossible(input, waitingCount)) return { placements: [], preemptions: [] };
  const waiting = waitingPods(input.pods);
  const choices = input.choices ?? new ChoiceCursor();
  const placements: Array<{ pod: string; node: string }> = [];
  const unplaced: PodEntry<SchedulerPodState>[] = [];
  for (const pod of waiting) {
    const at = mostFree(free, choices);
    if (at < 0) {
      unplaced.push(pod);
      continue;
    }
    placements.push({ pod: pod.record.name, node: (nodes[at] as NodeCapacity).name });
    free[at] = (free[at] as number) - 1;
  }
  return { placements, preemptions: choosePreemptions(input, unplaced, choices) };
}

/**
 * The index of a node with the most free capacity, -1 when none has any. Among equally
 * free nodes the cursor picks (DEC-52); with no digits, the first (name order).
 */
function mostFree(free: readonly number[], choices: ChoiceCursor): number {
  let bestFree = 0;
  for (const f of free) if (f > bestFree) bestFree = f;
  if (bestFree === 0) return -1;
  let tied = 0;
  for (const f of free) if (f === bestFree) tied++;
  let skip = choices.pick(tied);
  for (let at = 0; at < free.length; at++) if (free[at] === bestFree && skip-- === 0) return at;
  return -1;
}

/** Tombstones on the warm nodes: terminations under way, each of which will free a slot. */
function terminationsUnderWay(input: PlacementInput): number {
  let underWay = 0;
  for (const node of input.nodes) underWay += input.pods.countOnNode(node.name, tombstoneStates);
  return underWay;
}

/**
 * Whether `choosePreemptions` can choose anything when all `unplaced` waiting pods stay
 * unplaced: some are not covered by terminations under way, and a bound or running pod
 * on a warm node has a lower priority than the highest waiting pod. Reads each waiting
 * pod and each entry once, with no sort.
 */
function preemptionPossible(input: PlacementInput, unplaced: number): boolean {
  if (terminationsUnderWay(input) >= unplaced) return false;
  let highest = -Infinity;
  for (const pod of input.pods.inLifecycle('unscheduled').values()) highest = Math.max(highest, pod.record.priority);
  return preemptionCandidates(input).some((c) => c.record.priority < highest);
}

/**
 * Terminations already under way on warm nodes will free capacity: each covers one
 * waiting pod, so no needless preemption is issued. For each remaining waiting pod,
 * the lowest-priority (then newest) bound or running pod of strictly lower priority is preempted.
 */
function choosePreemptions(input: PlacementInput, unplaced: readonly PodEntry<SchedulerPodState>[], choices: ChoiceCursor): string[] {
  if (unplaced.length === 0) return [];
  let underWay = terminationsUnderWay(input);
  if (underWay >= unplaced.length) return [];
  // `unplaced` is ranked highest priority first: a candidate must be below its first pod.
  const highest = (unplaced[0] as PodEntry<SchedulerPodState>).record.priority;
  const lower = preemptionCandidates(input).filter((c) => c.record.priority < highest);
  if (lower.length === 0) return [];
  const candidates = lower.sort((a, b) => a.record.priority - b.record.priority || compareNewestFirst(a.record.name, b.record.name));
  const preemptions: string[] = [];
  for (const pod of unplaced) {
    if (underWay > 0) {
      underWay--;
      continue;
    }
    const eligible = candidates.filter((c) => c.record.priority < pod.record.priority && !preemptions.includes(c.record.name));
    const lowest = eligible[0];
    if (lowest === undefined) continue;
    // Among the lowest-priority victims the cursor picks (DEC-52); with no digits, the newest.
    const tied = eligible.filter((c) => c.record.priority === lowest.record.priority);
    preemptions.push((tied[choices.pick(tied.length)] as PodEntry<SchedulerPodState>).record.name);
  }
  return preemptions;
}

/** The bound and running pods on the warm nodes: one scan of the cache (they are most of it). */
function preemptionCandidates(input: PlacementInput): PodEntry<SchedulerPodState>[] {
  const warm = new Set(input.nodes.map((n) => n.name));
  const candidates: PodEntry<SchedulerPodState>[] = [];
  for (const e of input.pods.entries())
    if ((e.lifecycle === 'bound' || e.lifecycle === 'running') && e.record.node !== null && warm.has(e.record.node)) candidates.push(e);
  return candidates;
}
