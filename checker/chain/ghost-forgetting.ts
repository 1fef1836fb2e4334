/**
 * DEC-58: the ghost forgets the pods that nothing else in the world names any more: their
 * tombstone histories, placements and deaths (never their creation, which
 * INV-NAME-UNIQUE reads). Part of the exact state abstraction (`abstraction`, DEC-56).
 *
 * Exact because of INV-NO-INVENTED-POD (invented-pods.ts, judged on every distinct
 * machine step, with or without the abstraction): a pod name enters the world only where
 * the ReplicaSet creates it (a `decide.create` trace point) or as a forged pod (the
 * forgedPod fault, never forgotten). A forgotten name can then only come back by being
 * created again, which INV-NAME-UNIQUE reports at that step, before any check of the
 * forgotten history could; a step that names a pod its input did not name is reported as
 * INV-NO-INVENTED-POD at that step, before any state after it is judged.
 */
import type { ChainConfig } from '../../machines/index.js';
import { isForgedPodName } from '../../simulator/forged-pods.js';
import type { Ghost } from '../../simulator/ghost.js';
import type { StateLayout } from './state-layout.js';
import type { WorldPacking } from './world-packing.js';
import { PodNames } from './invented-pods.js';

const noNames: ReadonlySet<string> = new Set();

/** The most pod names of one ghost that forgetting considers (a bit each in a memo key). */
const forgettableNamesMax = 20;

export class GhostForgetting {
  private readonly podNames: PodNames;
  /** Per interned part id and per message list id: the pod names its JSON holds. */
  private readonly partNames: Array<ReadonlySet<string>> = [];
  private readonly listNames: Array<ReadonlySet<string>> = [];
  /** Per ghost id: the pod names it could forget (not forged, not only created). */
  private readonly forgettable: Array<readonly string[]> = [];
  /** (ghost id, mask of the forgettable names still named elsewhere) -> the ghost id without the others. */
  private readonly forgotten = new Map<number, number>();

  constructor(
    config: ChainConfig,
    private readonly layout: StateLayout,
    private readonly packing: WorldPacking,
  ) {
    this.podNames = new PodNames(config);
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
      names = this.podNames.inText(JSON.stringify(values[id]));
      cache[id] = names;
    }
    return names;
  }
}
