/**
 * DEC-58: the ghost forgets the pods that nothing else in the world names any more: their
 * tombstone histories, placements and deaths (never their creation, which
 * INV-NAME-UNIQUE reads). Part of the exact state abstraction (`abstraction`, DEC-56).
 *
 * Exact under one assumption, checked here on every distinct machine step
 * (`checkStep`): a pod name enters the world only where the ReplicaSet creates it (a
 * `decide.create` trace point) or as a forged pod (the forgedPod fault, never forgotten).
 * A forgotten name can then only come back by being created again, which INV-NAME-UNIQUE
 * reports at that step, before any check of the forgotten history could; every other
 * step names only pods already named in its input, so no check reads the forgotten part.
 */
import { type ChainConfig, type StageEvent, type StageState, type StepResult } from '../../machines/index.js';
import { isForgedPodName } from '../../simulator/forged-pods.js';
import type { Ghost } from '../../simulator/ghost.js';
import type { StateLayout } from './state-layout.js';
import type { WorldPacking } from './world-packing.js';

const noNames: ReadonlySet<string> = new Set();

/**
 * A machine step broke the assumption that makes forgetting exact. The checker's own
 * error (exit 3), not an InvariantViolation: those are the machines' assertions, which
 * the model reports as property violations (step-assertions.ts).
 */
export class ForgettingAssumptionBroken extends Error {
  override readonly name = 'ForgettingAssumptionBroken';
}
/** The most pod names of one ghost that forgetting considers (a bit each in a memo key). */
const forgettableNamesMax = 20;

export class GhostForgetting {
  private readonly podName: RegExp;
  /** Per interned part id and per message list id: the pod names its JSON holds. */
  private readonly partNames: Array<ReadonlySet<string>> = [];
  private readonly listNames: Array<ReadonlySet<string>> = [];
  /** Per ghost id: the pod names it could forget (not forged, not only created). */
  private readonly forgettable: Array<readonly string[]> = [];
  /** (ghost id, mask of the forgettable names still named elsewhere) -> the ghost id without the others. */
  private readonly forgotten = new Map<number, number>();
  /** Step results whose names were checked (each distinct step once). */
  private readonly checked = new WeakSet<object>();

  constructor(
    config: ChainConfig,
    private readonly layout: StateLayout,
    private readonly packing: WorldPacking,
  ) {
    const functions = config.functions.map((f) => f.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
    this.podName = new RegExp(`^(?:${functions})-\\d+-\\d+$`);
  }

  /** Replaces the ghost id in `ids` by that of the ghost without the pods no other component names. */
  forget(ids: number[]): void {
    const layout = this.layout;
    const ghostId = ids[layout.ghostAt] as number;
    const names = this.forgettableOf(ghostId);
    if (names.length === 0) return;
    let mask = 0;
    for (let n = 0; n < names.length; n++) if (this.namedElsewhere(ids, names[n] as string)) mask |= 1 << n;
    if (mask === (1 << names.length) - 1) return;
    const key = ghostId * 2 ** forgettableNamesMax + mask;
    let id = this.forgotten.get(key);
    if (id === undefined) {
      const kept = new Set(names.filter((_, n) => (mask & (1 << n)) !== 0));
      const keep = (pod: string) => !names.includes(pod) || kept.has(pod);
      const ghost = this.packing.parts.values[ghostId] as Ghost;
      const tombstoned: Record<string, readonly string[]> = {};
      for (const [stage, pods] of Object.entries(ghost.tombstoned)) {
        const left = pods.filter(keep);
        if (left.length > 0) tombstoned[stage] = left;
      }
      const placement: Record<string, string> = {};
      for (const [pod, node] of Object.entries(ghost.placement)) if (keep(pod)) placement[pod] = node;
      id = this.packing.ghostId({ ...ghost, tombstoned, placement, dead: ghost.dead.filter(keep) });
      this.forgotten.set(key, id);
    }
    ids[layout.ghostAt] = id;
  }

  /**
   * The assumption that makes forgetting exact: a step's result names no pod that its
   * state and event did not name, except those it creates (`decide.create`) and forged
   * ones. Checked once per distinct step result; a machine that breaks it stops the
   * search as the checker's own error, with the fix.
   */
  checkStep(before: StageState, event: StageEvent, result: StepResult<StageState>): void {
    if (this.checked.has(result)) return;
    const known = this.namesOfText(JSON.stringify([before, event]));
    const created = new Set<string>();
    for (const point of result.trace) if (point.event === 'decide.create') created.add(point.pod);
    for (const name of this.namesOfText(JSON.stringify([result.state, result.effects, result.links])))
      if (!known.has(name) && !created.has(name) && !isForgedPodName(name))
        throw new ForgettingAssumptionBroken(`a ${before.role} step on ${event.type} names pod ${name}, which neither its input named nor it created: the ghost may not forget pods (DEC-58); run with --no-abstraction`);
    // Marked only once it passed: a caller that swallows the error (tie-choices.ts) must not make the next call pass.
    this.checked.add(result);
  }

  private forgettableOf(ghostId: number): readonly string[] {
    let names = this.forgettable[ghostId];
    if (names === undefined) {
      const ghost = this.packing.parts.values[ghostId] as Ghost;
      const all = new Set<string>([...Object.values(ghost.tombstoned).flat(), ...Object.keys(ghost.placement), ...ghost.dead]);
      names = [...all].filter((pod) => !isForgedPodName(pod)).sort();
      // The mask of named pods is part of one number in a memo key: beyond forgettableNamesMax names, none is forgotten.
      if (names.length > forgettableNamesMax) names = [];
      this.forgettable[ghostId] = names;
    }
    return names;
  }

  /** Whether a component other than the ghost (a stage, a queue, a node's sandboxes) names `pod`. */
  private namedElsewhere(ids: readonly number[], pod: string): boolean {
    const layout = this.layout;
    for (let pos = 0; pos < layout.sandboxesAt + layout.nodes.length; pos++) {
      const id = ids[pos] as number;
      const names = layout.kinds[pos] === 1 ? this.namesOfList(id) : this.namesOfPart(id);
      if (names.has(pod)) return true;
    }
    return false;
  }

  private namesOfPart(id: number): ReadonlySet<string> {
    return this.namesOfInterned(this.partNames, this.packing.parts.values, id);
  }

  private namesOfList(id: number): ReadonlySet<string> {
    return id === 0 ? noNames : this.namesOfInterned(this.listNames, this.packing.lists.values, id);
  }

  /** The pod names an interned component (`values[id]`) holds, found once per id and kept in `cache`. */
  private namesOfInterned(cache: Array<ReadonlySet<string>>, values: readonly unknown[], id: number): ReadonlySet<string> {
    let names = cache[id];
    if (names === undefined) {
      names = this.namesOfText(JSON.stringify(values[id]));
      cache[id] = names;
    }
    return names;
  }

  /** The pod names among the strings (keys and values) of a JSON text. */
  private namesOfText(text: string): Set<string> {
    const names = new Set<string>();
    for (const match of text.matchAll(/"((?:[^"\\]|\\.)*)"/g)) if (this.podName.test(match[1] as string)) names.add(match[1] as string);
    return names;
  }
}
