/**
 * A stage's cache of pods: entries keyed by pod name, each the state of that stage's
 * pod-lifecycle machine plus the compact record. Shared helpers for snapshots and
 * per-session reconciliation (spec/03-write-back-cache.md).
 */
import { stateIsAlive, stateIsTombstone } from './lifecycle-states.js';
import type { Role } from '../core/ids.js';
import type { AlivePod, PodRecord, TombstoneRecord } from '../core/records.js';
import { assert } from '../core/assert.js';
import { SortedMap } from '../core/sorted-map.js';

export interface PodEntry {
  readonly record: PodRecord;
  /** State of the stage's pod-lifecycle machine, e.g. `terminating.sent`. */
  readonly lifecycle: string;
  /** For a tombstone: the role that decided the termination; null while alive. */
  readonly origin: Role | null;
}

/** The entries of one group (one lifecycle state, alone or on one node), by pod name. */
export type PodGroup = SortedMap<PodEntry>;

/** How many entries of one function are alive and how many are tombstones. */
export interface FunctionPodCounts {
  readonly alive: number;
  readonly tombstones: number;
}

const noPods: FunctionPodCounts = { alive: 0, tombstones: 0 };

function countsWith(counts: FunctionPodCounts, lifecycle: string, delta: number): FunctionPodCounts {
  if (stateIsTombstone(lifecycle)) return { alive: counts.alive, tombstones: counts.tombstones + delta };
  if (stateIsAlive(lifecycle)) return { alive: counts.alive + delta, tombstones: counts.tombstones };
  return counts;
}

const noEntries: PodGroup = SortedMap.empty<PodEntry>();

/**
 * Group keys, built once per lifecycle state (and node) and reused: every update names
 * several groups, and a reused string is neither rebuilt nor re-hashed. Caches of pure
 * values (like the lifecycle step memo); nodes and states are few, so they stay small.
 */
const lifecycleGroupKeys = new Map<string, string>();
const nodeGroupKeys = new Map<string, Map<string, string>>();

function lifecycleGroup(lifecycle: string): string {
  let key = lifecycleGroupKeys.get(lifecycle);
  if (key === undefined) {
    key = `lifecycle:${lifecycle}`;
    lifecycleGroupKeys.set(lifecycle, key);
  }
  return key;
}

function nodeGroup(node: string, lifecycle: string): string {
  let keys = nodeGroupKeys.get(node);
  if (keys === undefined) {
    keys = new Map();
    nodeGroupKeys.set(node, keys);
  }
  let key = keys.get(lifecycle);
  if (key === undefined) {
    key = `node:${node}/${lifecycle}`;
    keys.set(lifecycle, key);
  }
  return key;
}

/**
 * What a cache keeps besides the groups per lifecycle state: groups per node (the
 * Scheduler places and forwards per node) and counts per function (the ReplicaSet
 * decides per function on every step; it reads a function's entries only to choose
 * victims, and then filters the lifecycle groups). Each kept index costs every update
 * a little, so a stage keeps only those it reads.
 */
export interface PodGrouping {
  readonly byNode: boolean;
  readonly countsByFunction: boolean;
}

export const podGroupingOf = {
  replicaset: { byNode: false, countsByFunction: true },
  scheduler: { byNode: true, countsByFunction: false },
  kubelet: { byNode: false, countsByFunction: false },
} as const satisfies Record<string, PodGrouping>;

const everyGrouping: PodGrouping = { byNode: true, countsByFunction: true };

/** The lifecycle group an entry belongs to; null for none (absent or gone). */
function lifecycleGroupOf(entry: PodEntry | undefined): string | null {
  return entry === undefined || entry.lifecycle === 'gone' ? null : lifecycleGroup(entry.lifecycle);
}

/** The node group an entry belongs to; null for none (absent, gone, not bound, or no groups per node kept). */
function nodeGroupOf(entry: PodEntry | undefined, grouping: PodGrouping): string | null {
  if (!grouping.byNode || entry === undefined || entry.lifecycle === 'gone' || entry.record.node === null) return null;
  return nodeGroup(entry.record.node, entry.lifecycle);
}

/** The groups with `name` moved from group `before` to group `after` (either null for none), holding `entry`. */
function moved(groups: SortedMap<PodGroup>, before: string | null, after: string | null, name: string, entry: PodEntry): SortedMap<PodGroup> {
  const without = before !== null && before !== after ? withoutMember(groups, before, name) : groups;
  return after === null ? without : without.set(after, (without.get(after) ?? noEntries).set(name, entry));
}

function withoutMember(groups: SortedMap<PodGroup>, group: string, name: string): SortedMap<PodGroup> {
  const members = (groups.get(group) ?? noEntries).delete(name);
  return members.size === 0 ? groups.delete(group) : groups.set(group, members);
}

/** Whether replacing `previous` by `entry` leaves the counts as they are: same function, same class (alive, tombstone or neither). */
function sameCountClass(previous: PodEntry | undefined, entry: PodEntry): boolean {
  if (previous === undefined || previous.record.function !== entry.record.function) return false;
  return stateIsTombstone(previous.lifecycle) === stateIsTombstone(entry.lifecycle) && stateIsAlive(previous.lifecycle) === stateIsAlive(entry.lifecycle);
}

function countedWith(counts: SortedMap<FunctionPodCounts>, entry: PodEntry, delta: number): SortedMap<FunctionPodCounts> {
  const fn = entry.record.function;
  const before = counts.get(fn) ?? noPods;
  const after = countsWith(before, entry.lifecycle, delta);
  if (after === before) return counts;
  return after.alive === 0 && after.tombstones === 0 ? counts.delete(fn) : counts.set(fn, after);
}

/**
 * A stage's cache of pods, immutable: every update returns a new cache and leaves the
 * old one as it was. Entries are kept by pod name, and also by lifecycle state (alone,
 * and per node when kept), so that the stages' decisions read only the entries
 * they act on instead of scanning the whole cache on every step. The groups are
 * derived from the entries and are not part of the state's content: `toJSON()` is the
 * entries by name only, the same JSON as a plain sorted record.
 */
export class PodCache {
  private constructor(
    private readonly byName: SortedMap<PodEntry>,
    private readonly groups: SortedMap<PodGroup>,
    readonly grouping: PodGrouping,
    /** Alive and tombstone counts per function, when kept. */
    private readonly countsByFunction: SortedMap<FunctionPodCounts>,
  ) {}

  /** An empty cache that keeps `grouping` (every group by default). */
  static empty(grouping: PodGrouping = everyGrouping): PodCache {
    return new PodCache(SortedMap.empty(), SortedMap.empty(), grouping, SortedMap.empty());
  }

  /** A cache of these entries (e.g. from a state's JSON). */
  static of(entries: Iterable<PodEntry>, grouping: PodGrouping = everyGrouping): PodCache {
    let cache = PodCache.empty(grouping);
    for (const entry of entries) cache = cache.put(entry);
    return cache;
  }

  /** Revives a cache from its JSON form (`toJSON()`), e.g. a state sent between threads. */
  static fromJSON(plain: Readonly<Record<string, PodEntry>>, grouping: PodGrouping = everyGrouping): PodCache {
    return PodCache.of(Object.values(plain), grouping);
  }

  get size(): number {
    return this.byName.size;
  }

  get(name: string): PodEntry | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Every entry, in pod-name order. */
  entries(): IterableIterator<PodEntry> {
    return this.byName.values();
  }

  /** Every (pod name, entry) pair, in pod-name order. */
  entriesByName(): IterableIterator<[string, PodEntry]> {
    return this.byName.entries();
  }

  names(): string[] {
    return this.byName.keys();
  }

  /**
   * Stores the entry, or removes it when its lifecycle reached `gone`. Each entry is in
   * at most two groups (its lifecycle state, and on its node); a group the entry stays
   * in gets the new entry in place (one update instead of a removal and an insertion),
   * and the counts change only when the entry changes function or class.
   */
  put(entry: PodEntry): PodCache {
    const name = entry.record.name;
    const previous = this.byName.get(name);
    if (previous === entry) return this;
    if (previous === undefined && entry.lifecycle === 'gone') return this;
    let groups = moved(this.groups, lifecycleGroupOf(previous), lifecycleGroupOf(entry), name, entry);
    groups = moved(groups, nodeGroupOf(previous, this.grouping), nodeGroupOf(entry, this.grouping), name, entry);
    let counts = this.countsByFunction;
    if (this.grouping.countsByFunction && !sameCountClass(previous, entry)) {
      if (previous !== undefined) counts = countedWith(counts, previous, -1);
      counts = countedWith(counts, entry, 1);
    }
    const byName = entry.lifecycle === 'gone' ? this.byName.delete(name) : this.byName.set(name, entry);
    return new PodCache(byName, groups, this.grouping, counts);
  }

  /** The entries in `lifecycle`, by name. */
  inLifecycle(lifecycle: string): PodGroup {
    return this.groups.get(lifecycleGroup(lifecycle)) ?? noEntries;
  }

  /** The entries bound to `node` in `lifecycle`, by name. */
  onNode(node: string, lifecycle: string): PodGroup {
    assert(this.grouping.byNode, 'this cache keeps no groups per node');
    return this.groups.get(nodeGroup(node, lifecycle)) ?? noEntries;
  }

  /** How many entries of function `fn` are alive and how many are tombstones. */
  countsOf(fn: string): FunctionPodCounts {
    assert(this.grouping.countsByFunction, 'this cache keeps no counts per function');
    return this.countsByFunction.get(fn) ?? noPods;
  }

  /** The lifecycle states some entry is in, in order. */
  lifecycles(): string[] {
    const prefix = lifecycleGroup('');
    const states: string[] = [];
    for (const group of this.groups.keys()) if (group.startsWith(prefix)) states.push(group.slice(prefix.length));
    return states;
  }

  toJSON(): Record<string, PodEntry> {
    return this.byName.toJSON();
  }

  /** Checks that every group holds exactly the entries that belong to it (tests and debug checks). */
  checkGroups(): void {
    this.byName.checkShape();
    const rebuilt = PodCache.of(this.entries(), this.grouping);
    const expected = JSON.stringify([[...rebuilt.groups.entries()].map(([group, members]) => [group, members.keys()]), rebuilt.countsByFunction]);
    const actual = JSON.stringify([[...this.groups.entries()].map(([group, members]) => [group, members.keys()]), this.countsByFunction]);
    assert(expected === actual, `pod cache groups match their entries: ${actual} instead of ${expected}`);
  }
}

/** Stores the entry, or removes it when its lifecycle reached `gone`. */
export function putPod(pods: PodCache, entry: PodEntry): PodCache {
  return pods.put(entry);
}

/** The snapshot event a pod gets at reconciliation: how the downstream holds it. */
export type SnapshotEvent = 'snapshot.pending' | 'snapshot.running' | 'snapshot.tombstone' | 'snapshot.absent';

export interface SnapshotIndex {
  readonly alive: ReadonlyMap<string, AlivePod>;
  readonly tombstones: ReadonlyMap<string, TombstoneRecord>;
}

export function indexSnapshot(pods: readonly AlivePod[], tombstones: readonly TombstoneRecord[]): SnapshotIndex {
  return {
    alive: new Map(pods.map((p) => [p.record.name, p])),
    tombstones: new Map(tombstones.map((t) => [t.record.name, t])),
  };
}

export function snapshotEventFor(index: SnapshotIndex, name: string): SnapshotEvent {
  const tombstone = index.tombstones.get(name);
  if (tombstone !== undefined) return 'snapshot.tombstone';
  const alive = index.alive.get(name);
  if (alive === undefined) return 'snapshot.absent';
  return alive.phase === 'running' ? 'snapshot.running' : 'snapshot.pending';
}

/** Names in the snapshot (alive or tombstones), sorted, for deterministic reconciliation. */
export function snapshotNames(index: SnapshotIndex): string[] {
  return [...new Set([...index.alive.keys(), ...index.tombstones.keys()])].sort();
}

export function snapshotRecord(index: SnapshotIndex, name: string): { record: PodRecord; origin: Role | null } | undefined {
  const tombstone = index.tombstones.get(name);
  if (tombstone !== undefined) return { record: tombstone.record, origin: tombstone.origin };
  const alive = index.alive.get(name);
  return alive === undefined ? undefined : { record: alive.record, origin: null };
}

/** The alive pods and tombstones of a cache, as a snapshot carries them. */
export function describeCache(
  pods: PodCache,
  phaseOf: (lifecycle: string) => 'pending' | 'running',
  withTombstones: boolean,
): { pods: AlivePod[]; tombstones: TombstoneRecord[] } {
  const alive: AlivePod[] = [];
  const tombstones: TombstoneRecord[] = [];
  for (const entry of pods.entries()) {
    if (stateIsTombstone(entry.lifecycle)) {
      if (withTombstones) tombstones.push({ record: entry.record, origin: entry.origin ?? 'kubelet' });
    } else if (stateIsAlive(entry.lifecycle)) {
      alive.push({ record: entry.record, phase: phaseOf(entry.lifecycle) });
    }
  }
  return { pods: alive, tombstones };
}
