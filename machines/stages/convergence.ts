/**
 * Convergence (LIVE-CONVERGENCE, spec/07-properties.md) as one rule over what an observer
 * sees of the chain, and the counts a user sees per function. The simulator and the
 * checker observe a world (simulator/convergence.ts), `kd status` observes the stages'
 * Inspect answers (runtime/cluster/status.ts), the checker's consequence pages ask the
 * same counts (checker/render/consequence.ts): all three build a `ChainObservation` and
 * ask this module, so they cannot disagree on what "converged" or "bound" means.
 */
import { describeEpoch } from '../core/epoch.js';
import { kubeletId, linkEnds, roleOf, type StageId } from '../core/ids.js';
import { linksOf, type ChainConfig } from './config.js';
import { podStateHas, schedulerPodSentToNode, schedulerPodWaitsForNode, stateIsAlive, stateIsTombstone } from './lifecycle-states.js';
import type { DesiredCountView } from './views.js';

/** One end of a link's session as observed: the session machine's state and the epoch (0: none). */
export interface ObservedSession {
  readonly session: string;
  readonly epoch: number;
}

export interface ObservedPod {
  readonly name: string;
  readonly function: string;
  readonly node: string | null;
  /** The state of the stage's pod machine. */
  readonly lifecycle: string;
}

export interface ObservedStage {
  readonly pods: readonly ObservedPod[];
  readonly scales: readonly DesiredCountView[];
  /** This stage's ends of its links, by link. */
  readonly sessions: ReadonlyMap<string, ObservedSession>;
}

export interface ChainObservation {
  readonly config: ChainConfig;
  /** The stages observed; a stage that could not be observed is absent. */
  readonly stages: ReadonlyMap<StageId, ObservedStage>;
  /** The desired count of each function: what the Autoscaler holds as the truth. */
  readonly desired: Readonly<Record<string, number>>;
  /** Sandboxes running per function, as the observer knows them (the nodes themselves, or the Kubelets' reports). */
  readonly running: Readonly<Record<string, number>>;
  /** Free sandbox slots over all nodes. */
  readonly freeCapacity: number;
  /** Whether nothing is left to happen without a new request or fault; null when an observer from outside cannot tell. */
  readonly quiescent: boolean | null;
}

/** What a user sees of one function: its desired count, sandboxes running, pods waiting at the Scheduler for room. */
export interface FunctionCounts {
  readonly function: string;
  readonly desired: number;
  readonly running: number;
  /** Pods waiting at the Scheduler for capacity. */
  readonly waiting: number;
}

export function functionCountsOf(observed: ChainObservation): FunctionCounts[] {
  const schedulerPods = observed.stages.get('scheduler')?.pods ?? [];
  return observed.config.functions.map((f) => ({
    function: f.name,
    desired: observed.desired[f.name] ?? 0,
    running: observed.running[f.name] ?? 0,
    waiting: schedulerPods.filter((p) => p.function === f.name && schedulerPodWaitsForNode(p.lifecycle)).length,
  }));
}

/** More or fewer pods than desired (running or waiting for room): what a settled chain must never show a user. */
export interface CountMismatch {
  readonly kind: 'overshoot' | 'undershoot';
  readonly counts: FunctionCounts;
}

export function countMismatchesOf(counts: readonly FunctionCounts[]): CountMismatch[] {
  const mismatches: CountMismatch[] = [];
  for (const c of counts) {
    const alive = c.running + c.waiting;
    if (alive > c.desired) mismatches.push({ kind: 'overshoot', counts: c });
    else if (alive < c.desired) mismatches.push({ kind: 'undershoot', counts: c });
  }
  return mismatches;
}

function sessionText(s: ObservedSession): string {
  return s.epoch === 0 ? s.session : `${s.session}, epoch ${describeEpoch(s.epoch)}`;
}

/** Why the observed chain has not converged, in the order a reader should fix them; empty when it has. */
export function convergenceProblemsOf(observed: ChainObservation): string[] {
  const problems: string[] = [];
  if (observed.quiescent === false) problems.push('not quiescent: messages or sandbox operations are still under way');
  for (const link of linksOf(observed.config)) {
    const { upstream, downstream } = linkEnds(link);
    const up = observed.stages.get(upstream)?.sessions.get(link);
    const down = observed.stages.get(downstream)?.sessions.get(link);
    if (up === undefined || down === undefined) continue;
    if (up.session !== 'synced' || down.session !== 'synced' || up.epoch !== down.epoch)
      problems.push(`link ${link} is not synced (upstream ${sessionText(up)}; downstream ${sessionText(down)})`);
  }
  for (const [stage, s] of observed.stages) {
    const tombstones = s.pods.filter((p) => stateIsTombstone(p.lifecycle)).map((p) => p.name);
    if (tombstones.length > 0) problems.push(`${stage} holds ${tombstones.length} tombstone(s): ${namesText(tombstones)}`);
    for (const scale of s.scales) if (!scale.clean) problems.push(`${stage}: desired count of ${scale.function} not yet acknowledged below`);
  }
  const counts = functionCountsOf(observed);
  for (const c of counts) if (c.running + c.waiting !== c.desired) problems.push(`${c.function}: ${c.running} running + ${c.waiting} waiting, desired ${c.desired}`);
  if (counts.some((c) => c.waiting > 0) && observed.freeCapacity > 0) problems.push(`pods wait although ${observed.freeCapacity} slot(s) are free`);
  problems.push(...cacheProblems(observed));
  return problems;
}

/** The caches agree: the ReplicaSet's pods are the Scheduler's, each node's pods the Kubelet's, and every entry is settled. */
function cacheProblems(observed: ChainObservation): string[] {
  const problems: string[] = [];
  for (const [stage, s] of observed.stages) {
    if (roleOf(stage) !== 'kubelet') continue;
    for (const p of s.pods) if (!podStateHas('kubelet-pod', p.lifecycle, 'clean')) problems.push(`${stage} holds ${p.name} as ${p.lifecycle}`);
  }
  const replicaset = observed.stages.get('replicaset');
  const scheduler = observed.stages.get('scheduler');
  if (replicaset === undefined || scheduler === undefined) return problems;
  sameNames('replicaset', alive(replicaset.pods), 'scheduler', alive(scheduler.pods), problems);
  for (const node of observed.config.nodes) {
    const kubelet = observed.stages.get(kubeletId(node.name));
    if (kubelet === undefined) continue;
    const sent = scheduler.pods.filter((p) => p.node === node.name && schedulerPodSentToNode(p.lifecycle)).map((p) => p.name);
    sameNames('scheduler', sent, kubeletId(node.name), kubelet.pods.map((p) => p.name), problems);
  }
  for (const p of scheduler.pods)
    if (!podStateHas('scheduler-pod', p.lifecycle, 'clean') && !schedulerPodWaitsForNode(p.lifecycle)) problems.push(`scheduler holds ${p.name} as ${p.lifecycle}`);
  const schedulerLifecycle = new Map(scheduler.pods.map((p) => [p.name, p.lifecycle]));
  for (const p of replicaset.pods)
    if (stateIsAlive(p.lifecycle) && !podStateHas('replicaset-pod', p.lifecycle, 'clean') && !schedulerPodWaitsForNode(schedulerLifecycle.get(p.name) ?? 'unknown'))
      problems.push(`replicaset holds ${p.name} as ${p.lifecycle}`);
  return problems;
}

/** Names for a problem line: the first few, then how many more. */
function namesText(names: readonly string[]): string {
  const shownMax = 5;
  return names.length <= shownMax ? names.join(', ') : `${names.slice(0, shownMax).join(', ')} and ${names.length - shownMax} more`;
}

const alive = (pods: readonly ObservedPod[]): string[] => pods.filter((p) => stateIsAlive(p.lifecycle)).map((p) => p.name);

function sameNames(aName: string, a: readonly string[], bName: string, b: readonly string[], problems: string[]): void {
  const aSet = new Set(a);
  const bSet = new Set(b);
  for (const name of a) if (!bSet.has(name)) problems.push(`${aName} holds ${name}, ${bName} does not`);
  for (const name of b) if (!aSet.has(name)) problems.push(`${bName} holds ${name}, ${aName} does not`);
}
