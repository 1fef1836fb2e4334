/**
 * The ReplicaSet's decisions (spec/05-stage-decisions.md): how many pods to create
 * and which to terminate so that a function reaches its desired count.
 */
import type { ProtocolVariant } from '../../spec/variants.js';
import { stateIsAlive, stateIsClean, stateIsTombstone } from '../stages/lifecycle-states.js';
import type { FunctionPodCounts, PodCache, PodEntry } from '../stages/pod-cache.js';
import type { ReplicaSetPodState } from '../pods/replicaset-pod.machine.js';

export interface ReplicaDecision {
  /** How many new pods to create. */
  readonly create: number;
  /** Names of the pods to terminate, in order. */
  readonly victims: readonly string[];
}

/** Lower is terminated first: never-forwarded, then not yet running, then running. */
const victimPreference: Readonly<Partial<Record<ReplicaSetPodState, number>>> = { pending: 0, provisioned: 1, running: 2 };

/**
 * Terminating pods count against creation: a replacement is created only when the
 * pod it replaces is dead below, so pods at Kubelets never exceed the desired count.
 * At most `room` pods are created (the entries the stage may still hold,
 * REQ-RS-006), and at most enough to fill the creation window: `window` alive pods
 * not yet confirmed running (REQ-RS-007, DEC-42). The rest are postponed to a later
 * step: after entries are removed, or after earlier pods are confirmed running.
 */
export function decideReplicas(desired: number, pods: FunctionPods, room: number, window: number): ReplicaDecision {
  if (pods.alive > desired) {
    // Each name is parsed once, not at every comparison (a scale-down ranks thousands).
    const ranked = pods.aliveEntries().map((e) => ({ name: e.record.name, preference: victimPreference[e.lifecycle] ?? 9, order: nameOrder(e.record.name) }));
    ranked.sort((a, b) => a.preference - b.preference || compareOrdersNewestFirst(a.name, a.order, b.name, b.order));
    return { create: 0, victims: ranked.slice(0, pods.alive - desired).map((e) => e.name) };
  }
  const missing = desired - pods.alive - pods.terminating;
  const windowLeft = window - (pods.alive - pods.clean);
  return { create: Math.max(0, Math.min(room, missing, windowLeft)), victims: [] };
}

/**
 * Whether `decideReplicas` can decide anything for a function: only when more pods are
 * alive than desired (victims), or fewer are alive and terminating than desired and the
 * creation window has room (creations, room of the stage permitting). Otherwise the
 * function is balanced and its decision is "nothing"; a pod confirmed running, removed or
 * rolled back changes the counts, and the function is decided again.
 */
export function mayNeedDecision(desired: number, counts: FunctionPodCounts, window: number): boolean {
  return counts.alive > desired || (counts.alive + counts.tombstones < desired && counts.alive - counts.clean < window);
}

/** What the replica decision reads of one function's entries. */
export interface FunctionPods {
  readonly alive: number;
  /** Alive pods confirmed running (`running`); the others fill the creation window. */
  readonly clean: number;
  readonly terminating: number;
  /** The alive entries; read only when some are to be terminated. */
  aliveEntries(): readonly PodEntry<ReplicaSetPodState>[];
}

/** A function's entries given as a list (tests, small inputs). */
export function functionPodsOf(entries: readonly PodEntry<ReplicaSetPodState>[]): FunctionPods {
  const alive = entries.filter((e) => stateIsAlive(e.lifecycle));
  return {
    alive: alive.length,
    clean: alive.filter((e) => stateIsClean(e.lifecycle)).length,
    terminating: entries.filter((e) => stateIsTombstone(e.lifecycle)).length,
    aliveEntries: () => alive,
  };
}

/**
 * A function's entries in a cache, counted by the cache itself: no scan unless some are
 * to be terminated. A class rather than an object with a closure: the ReplicaSet builds
 * one per function it decides, on every step.
 */
class CachedFunctionPods implements FunctionPods {
  readonly alive: number;
  readonly clean: number;
  readonly terminating: number;

  constructor(
    private readonly pods: PodCache<ReplicaSetPodState>,
    private readonly fn: string,
  ) {
    const counts = pods.countsOf(fn);
    this.alive = counts.alive;
    this.clean = counts.clean;
    this.terminating = counts.tombstones;
  }

  /** One scan of the cache: alive entries are most of it, and the cache keeps no group of them. */
  aliveEntries(): readonly PodEntry<ReplicaSetPodState>[] {
    const alive: PodEntry<ReplicaSetPodState>[] = [];
    for (const e of this.pods.entries()) if (e.record.function === this.fn && stateIsAlive(e.lifecycle)) alive.push(e);
    return alive;
  }
}

export function functionPodsIn(pods: PodCache<ReplicaSetPodState>, fn: string): FunctionPods {
  return new CachedFunctionPods(pods, fn);
}

/** Pod names end in `-<incarnation>-<ordinal>`: newer incarnations and higher ordinals are newer. */
export function compareNewestFirst(a: string, b: string): number {
  return compareOrdersNewestFirst(a, nameOrder(a), b, nameOrder(b));
}

/** `compareNewestFirst` given each name's `nameOrder`. */
function compareOrdersNewestFirst(a: string, ka: readonly number[], b: string, kb: readonly number[]): number {
  for (let i = 0; i < Math.max(ka.length, kb.length); i++) {
    const d = (kb[i] ?? -1) - (ka[i] ?? -1);
    if (d !== 0) return d;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function nameOrder(name: string): number[] {
  return name
    .split('-')
    .slice(-2)
    .map((part) => (/^\d+$/.test(part) ? Number(part) : -1));
}

/**
 * The name of a new pod. Correct: `<function>-<incarnation>-<ordinal>`, unique forever
 * because incarnations strictly increase. The `reuse-pod-name` variant takes the lowest
 * ordinal not currently in the cache, as a StatefulSet would.
 */
export function newPodName(
  variant: ProtocolVariant,
  fn: string,
  incarnation: number,
  ordinal: number,
  inCache: (name: string) => boolean,
): string {
  if (variant === 'reuse-pod-name') {
    let k = 0;
    while (inCache(`${fn}-${k}`)) k++;
    return `${fn}-${k}`;
  }
  return `${fn}-${incarnation}-${ordinal}`;
}
