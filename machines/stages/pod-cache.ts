/**
 * A stage's cache of pods: entries keyed by pod name, each the state of that stage's
 * pod-lifecycle machine plus the compact record. Shared helpers for snapshots and
 * per-session reconciliation (spec/03-write-back-cache.md).
 */
import { podStateHas, stateIsAlive, stateIsClean, stateIsTombstone, type PodMachineName } from './lifecycle-states.js';
import type { Role } from '../core/ids.js';
import type { ProtocolVariant } from '../../spec/variants.js';
import type { AlivePod, PodRecord, TombstoneRecord } from '../core/records.js';
import { assert } from '../core/assert.js';
import { SortedMap, type TreeEdit } from '../core/sorted-map.js';
import type { KubeletPodState } from '../pods/kubelet-pod.machine.js';
import type { ReplicaSetPodState } from '../pods/replicaset-pod.machine.js';
import type { SchedulerPodState } from '../pods/scheduler-pod.machine.js';

/** A state of any stage's pod machine; each stage's cache holds its own machine's states only. */
export type PodLifecycle = ReplicaSetPodState | SchedulerPodState | KubeletPodState;

export interface PodEntry<S extends string = PodLifecycle> {
  readonly record: PodRecord;
  /** State of the stage's pod-lifecycle machine, e.g. `terminating.sent`. */
  readonly lifecycle: S;
  /** For a tombstone: the role that decided the termination; null while alive. */
  readonly origin: Role | null;
}

/** The entries of one group (one lifecycle state, alone or on one node), by pod name. */
export type PodGroup<S extends string = PodLifecycle> = SortedMap<PodEntry<S>>;

/** Any stage's entry, as the cache's own bookkeeping handles it. */
type AnyPodEntry = PodEntry<string>;
type AnyPodGroup = SortedMap<AnyPodEntry>;

/** How many entries of one function are alive (and of them clean: confirmed running) and how many are tombstones. */
export interface FunctionPodCounts {
  readonly alive: number;
  /** Alive entries confirmed running (tag `clean`); `alive - clean` are not confirmed yet (the creation window, REQ-RS-007). */
  readonly clean: number;
  readonly tombstones: number;
}

const noPods: FunctionPodCounts = { alive: 0, clean: 0, tombstones: 0 };

function countsWith(counts: FunctionPodCounts, lifecycle: string, delta: number): FunctionPodCounts {
  if (stateIsTombstone(lifecycle)) return { alive: counts.alive, clean: counts.clean, tombstones: counts.tombstones + delta };
  if (stateIsAlive(lifecycle)) return { alive: counts.alive + delta, clean: stateIsClean(lifecycle) ? counts.clean + delta : counts.clean, tombstones: counts.tombstones };
  return counts;
}

const noEntries: AnyPodGroup = SortedMap.empty<AnyPodEntry>();

/**
 * What a cache keeps besides the entries by name, so that the stages' decisions read
 * only what they act on instead of scanning every entry on every step:
 * - counts per lifecycle state (always), and per node and lifecycle state (`byNode`);
 * - the entries of the `listed` lifecycle states as groups by name: the states a stage
 *   walks on every step (what waits to be placed or forwarded). With `byNode`, a bound
 *   entry of a listed state is kept in its node's group only;
 * - alive and tombstone counts per function (`countsByFunction`).
 * Every kept group costs each update that enters or leaves it a copied path, so a stage
 * lists only the states it walks; the other states are counted only.
 */
export interface PodGrouping<S extends string = string> {
  readonly byNode: boolean;
  readonly countsByFunction: boolean;
  readonly listed: readonly S[];
}

export const podGroupingOf: {
  readonly replicaset: PodGrouping<ReplicaSetPodState>;
  readonly scheduler: PodGrouping<SchedulerPodState>;
  readonly kubelet: PodGrouping<KubeletPodState>;
} = {
  replicaset: { byNode: false, countsByFunction: true, listed: ['pending', 'terminating.unsent'] },
  scheduler: { byNode: true, countsByFunction: false, listed: ['unscheduled', 'pending', 'terminating.unsent'] },
  kubelet: { byNode: false, countsByFunction: false, listed: [] },
};

const everyGrouping: PodGrouping = { byNode: true, countsByFunction: true, listed: ['unscheduled', 'pending', 'terminating.unsent'] };

/**
 * Lifecycle states numbered in the order first seen, to index count arrays: a cache of
 * pure values (like the lifecycle step memo); the states are few. The numbers are never
 * observable: counts are read by state name, and `lifecycles()` sorts.
 */
const lifecycleNumbers = new Map<string, number>();
const lifecycleNames: string[] = [];

function lifecycleNumber(lifecycle: string): number {
  let number = lifecycleNumbers.get(lifecycle);
  if (number === undefined) {
    number = lifecycleNames.length;
    lifecycleNumbers.set(lifecycle, number);
    lifecycleNames.push(lifecycle);
  }
  return number;
}

/** The numbers of a list of lifecycle states, made once per list (the lists a stage asks about are constants). */
const numbersOfLists = new WeakMap<readonly string[], readonly number[]>();

function lifecycleNumbersOf(lifecycles: readonly string[]): readonly number[] {
  let numbers = numbersOfLists.get(lifecycles);
  if (numbers === undefined) {
    numbers = lifecycles.map(lifecycleNumber);
    numbersOfLists.set(lifecycles, numbers);
  }
  return numbers;
}

/** Entries per lifecycle state, by lifecycle number (a state past the end counts none). */
type LifecycleCounts = readonly number[];

function countOf(counts: LifecycleCounts, lifecycle: string): number {
  const number = lifecycleNumbers.get(lifecycle);
  // Checked against the length rather than read past the end: an out-of-bounds read deoptimizes.
  return number === undefined || number >= counts.length ? 0 : (counts[number] as number);
}

function addCount(counts: number[], lifecycle: string, delta: number): void {
  const number = lifecycleNumber(lifecycle);
  while (counts.length <= number) counts.push(0); // stays a dense array
  counts[number] = (counts[number] as number) + delta;
}

/** The counts with one entry moved from state `before` to state `after` (either null for none). */
function countsMoved(counts: LifecycleCounts, before: string | null, after: string | null): LifecycleCounts {
  if (before === after) return counts;
  const next = counts.slice();
  if (before !== null) addCount(next, before, -1);
  if (after !== null) addCount(next, after, 1);
  return next;
}

/** The lifecycle states counted at least once, in order, with their counts. */
function countedStates(counts: LifecycleCounts): Array<[string, number]> {
  const states: Array<[string, number]> = [];
  counts.forEach((n, number) => {
    if (n !== 0) states.push([lifecycleNames[number] as string, n]);
  });
  return states.sort(([a], [b]) => (a < b ? -1 : 1));
}

/** Groups of the listed states, by position in `listed`. */
type ListedGroups = readonly AnyPodGroup[];

/**
 * The groups with entry `name` moved from the group of state `before` to the group of
 * state `after` (null, or a state not listed, for none), holding `entry`. An entry that
 * stays in its group is replaced there: one update instead of a removal and an insertion.
 */
function groupsMoved(groups: ListedGroups, listed: readonly string[], name: string, before: string | null, after: string | null, entry: AnyPodEntry, edit: TreeEdit | null): ListedGroups {
  const from = before === null ? -1 : listed.indexOf(before);
  const to = after === null ? -1 : listed.indexOf(after);
  if (from < 0 && to < 0) return groups;
  const next = groups.slice();
  if (from >= 0 && from !== to) next[from] = (next[from] as AnyPodGroup).delete(name, edit);
  if (to >= 0) next[to] = (next[to] as AnyPodGroup).set(name, entry, edit);
  return next;
}

/** What a cache keeps of the entries bound to one node. */
interface NodeTable {
  readonly counts: LifecycleCounts;
  readonly groups: ListedGroups;
}

/** The node's table with `leaving` taken out and `entering` put in (either null for none). */
function nodeTableWith(table: NodeTable, listed: readonly string[], name: string, leaving: AnyPodEntry | null, entering: AnyPodEntry | null, entry: AnyPodEntry, edit: TreeEdit | null): NodeTable {
  const before = leaving === null ? null : leaving.lifecycle;
  const after = entering === null ? null : entering.lifecycle;
  const counts = countsMoved(table.counts, before, after);
  const groups = groupsMoved(table.groups, listed, name, before, after, entry, edit);
  return counts === table.counts && groups === table.groups ? table : { counts, groups };
}

/** Whether replacing `previous` by `entry` leaves the counts as they are: same function, same class (alive, clean, tombstone or neither). */
function sameCountClass(previous: AnyPodEntry | null, entry: AnyPodEntry): boolean {
  if (previous === null || previous.record.function !== entry.record.function) return false;
  return (
    stateIsTombstone(previous.lifecycle) === stateIsTombstone(entry.lifecycle) &&
    stateIsAlive(previous.lifecycle) === stateIsAlive(entry.lifecycle) &&
    stateIsClean(previous.lifecycle) === stateIsClean(entry.lifecycle)
  );
}

function countedWith(counts: SortedMap<FunctionPodCounts>, entry: AnyPodEntry, delta: number, edit: TreeEdit | null): SortedMap<FunctionPodCounts> {
  const fn = entry.record.function;
  const before = counts.get(fn) ?? noPods;
  const after = countsWith(before, entry.lifecycle, delta);
  if (after === before) return counts;
  return after.alive === 0 && after.tombstones === 0 ? counts.delete(fn, edit) : counts.set(fn, after, edit);
}

/**
 * A stage's cache of pods, immutable: every update returns a new cache and leaves the
 * old one as it was. Entries are kept by name; what else is kept (`PodGrouping`) is
 * derived from the entries and is not part of the state's content: `toJSON()` is the
 * entries by name only, the same JSON as a plain sorted record.
 */
export class PodCache<S extends string = PodLifecycle> {
  private constructor(
    private readonly byName: SortedMap<PodEntry<S>>,
    readonly grouping: PodGrouping<S>,
    /** Entries per lifecycle state. */
    private readonly counts: LifecycleCounts,
    /** The groups of the listed states; with `byNode`, of the entries bound to no node only. */
    private readonly groups: ListedGroups,
    /** Per node, when kept: counts and listed groups of the entries bound to it. */
    private readonly nodes: SortedMap<NodeTable>,
    /** Alive and tombstone counts per function, when kept. */
    private readonly countsByFunction: SortedMap<FunctionPodCounts>,
  ) {}

  /** An empty cache that keeps `grouping` (every index by default). */
  static empty<S extends string = PodLifecycle>(grouping: PodGrouping<S> = everyGrouping as PodGrouping<S>): PodCache<S> {
    return new PodCache<S>(SortedMap.empty(), grouping, [], grouping.listed.map(() => noEntries), SortedMap.empty(), SortedMap.empty());
  }

  /** A cache of these entries (e.g. from a state's JSON). */
  static of<S extends string = PodLifecycle>(entries: Iterable<PodEntry<S>>, grouping: PodGrouping<S> = everyGrouping as PodGrouping<S>): PodCache<S> {
    let cache = PodCache.empty<S>(grouping);
    for (const entry of entries) cache = cache.put(entry);
    return cache;
  }

  /** Revives a cache from its JSON form (`toJSON()`), e.g. a state sent between threads. */
  static fromJSON<S extends string = PodLifecycle>(plain: Readonly<Record<string, PodEntry<S>>>, grouping: PodGrouping<S> = everyGrouping as PodGrouping<S>): PodCache<S> {
    return PodCache.of<S>(Object.values(plain), grouping);
  }

  get size(): number {
    return this.byName.size;
  }

  get(name: string): PodEntry<S> | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Every entry, in pod-name order. */
  entries(): IterableIterator<PodEntry<S>> {
    return this.byName.values();
  }

  /** Every (pod name, entry) pair, in pod-name order. */
  entriesByName(): IterableIterator<[string, PodEntry<S>]> {
    return this.byName.entries();
  }

  names(): string[] {
    return this.byName.keys();
  }

  /**
   * Stores the entry, or removes it when its lifecycle reached `gone`. Each entry is in
   * at most one group (of a listed state, on its node or not); the counts change only
   * when the entry changes state, node, function or class.
   *
   * With an open `edit` (one step's; machines/core/sorted-map.ts), the trees made under it
   * change in place: the cache returned supersedes this one and every group read from it
   * while the edit is open (read groups again after a put; iterate a copy). Closing the
   * edit makes the step's caches immutable; caches from before the edit never change.
   */
  put(entry: PodEntry<S>, edit: TreeEdit | null = null): PodCache<S> {
    const name = entry.record.name;
    const previous = this.byName.get(name);
    if (previous === entry) return this;
    if (previous === undefined && entry.lifecycle === 'gone') return this;
    const leaving = previous ?? null; // never `gone`: gone entries are not stored
    const entering = entry.lifecycle === 'gone' ? null : entry;
    const byName = entering === null ? this.byName.delete(name, edit) : this.byName.set(name, entry, edit);
    const counts = countsMoved(this.counts, leaving === null ? null : leaving.lifecycle, entering === null ? null : entering.lifecycle);
    const groups = groupsMoved(this.groups, this.grouping.listed, name, this.unboundStateOf(leaving), this.unboundStateOf(entering), entry, edit);
    const nodes = this.grouping.byNode ? this.nodesWith(name, leaving, entering, entry, edit) : this.nodes;
    let countsByFunction = this.countsByFunction;
    if (this.grouping.countsByFunction && !sameCountClass(leaving, entry)) {
      if (leaving !== null) countsByFunction = countedWith(countsByFunction, leaving, -1, edit);
      countsByFunction = countedWith(countsByFunction, entry, 1, edit);
    }
    return new PodCache<S>(byName, this.grouping, counts, groups, nodes, countsByFunction);
  }

  /** The state of an entry that the cache-wide groups hold (bound entries are grouped per node when kept); null for none. */
  private unboundStateOf(entry: AnyPodEntry | null): string | null {
    if (entry === null || (this.grouping.byNode && entry.record.node !== null)) return null;
    return entry.lifecycle;
  }

  /** The node tables with `leaving` taken out of its node's table and `entering` put into its own (either null for none). */
  private nodesWith(name: string, leaving: AnyPodEntry | null, entering: AnyPodEntry | null, entry: AnyPodEntry, edit: TreeEdit | null): SortedMap<NodeTable> {
    const nodeBefore = leaving === null ? null : leaving.record.node;
    const nodeAfter = entering === null ? null : entering.record.node;
    let nodes = this.nodes;
    if (nodeBefore !== null) nodes = this.withNodeTable(nodes, nodeBefore, name, leaving, nodeAfter === nodeBefore ? entering : null, entry, edit);
    if (nodeAfter !== null && nodeAfter !== nodeBefore) nodes = this.withNodeTable(nodes, nodeAfter, name, null, entering, entry, edit);
    return nodes;
  }

  private withNodeTable(nodes: SortedMap<NodeTable>, node: string, name: string, leaving: AnyPodEntry | null, entering: AnyPodEntry | null, entry: AnyPodEntry, edit: TreeEdit | null): SortedMap<NodeTable> {
    const table = nodes.get(node) ?? this.emptyNodeTable();
    const next = nodeTableWith(table, this.grouping.listed, name, leaving, entering, entry, edit);
    return next === table ? nodes : nodes.set(node, next, edit);
  }

  private emptyNodeTable(): NodeTable {
    return { counts: [], groups: this.grouping.listed.map(() => noEntries) };
  }

  /** How many entries are in `lifecycle`. */
  countIn(lifecycle: S): number {
    return countOf(this.counts, lifecycle);
  }

  /** How many entries bound to `node` are in one of `lifecycles`. */
  countOnNode(node: string, lifecycles: readonly S[]): number {
    assert(this.grouping.byNode, 'this cache keeps no counts per node');
    const table = this.nodes.get(node);
    if (table === undefined) return 0;
    const counts = table.counts;
    let count = 0;
    for (const number of lifecycleNumbersOf(lifecycles)) if (number < counts.length) count += counts[number] as number;
    return count;
  }

  /**
   * The entries in `lifecycle`, by name: kept for a listed state (unless some are kept
   * per node); otherwise found by a scan of every entry, for rare uses.
   */
  inLifecycle(lifecycle: S): PodGroup<S> {
    const at = this.grouping.listed.indexOf(lifecycle);
    const group = at < 0 ? null : (this.groups[at] as PodGroup<S>);
    if (group !== null && group.size === this.countIn(lifecycle)) return group;
    return this.scan((e) => e.lifecycle === lifecycle);
  }

  /** The entries bound to `node` in `lifecycle`, by name: kept for a listed state; otherwise found by a scan of every entry, for rare uses. */
  onNode(node: string, lifecycle: S): PodGroup<S> {
    assert(this.grouping.byNode, 'this cache keeps no groups per node');
    const table = this.nodes.get(node);
    if (table === undefined || countOf(table.counts, lifecycle) === 0) return noEntries as PodGroup<S>;
    const at = this.grouping.listed.indexOf(lifecycle);
    if (at >= 0) return table.groups[at] as PodGroup<S>;
    return this.scan((e) => e.lifecycle === lifecycle && e.record.node === node);
  }

  private scan(belongs: (entry: PodEntry<S>) => boolean): PodGroup<S> {
    let found = noEntries as PodGroup<S>;
    for (const [name, entry] of this.byName.entries()) if (belongs(entry)) found = found.set(name, entry);
    return found;
  }

  /** How many entries of function `fn` are alive and how many are tombstones. */
  countsOf(fn: string): FunctionPodCounts {
    assert(this.grouping.countsByFunction, 'this cache keeps no counts per function');
    return this.countsByFunction.get(fn) ?? noPods;
  }

  /** The lifecycle states some entry is in, in order. */
  lifecycles(): S[] {
    return countedStates(this.counts).map(([state]) => state as S);
  }

  toJSON(): Record<string, PodEntry<S>> {
    return this.byName.toJSON();
  }

  /** What the cache keeps besides the entries, in a canonical form (to compare with a rebuilt cache). */
  private describeIndex(): unknown {
    const describeGroups = (groups: ListedGroups) => groups.map((g) => g.keys());
    const nodes: unknown[] = [];
    for (const [node, table] of this.nodes.entries()) {
      const counted = countedStates(table.counts);
      if (counted.length > 0) nodes.push([node, counted, describeGroups(table.groups)]);
    }
    return [countedStates(this.counts), describeGroups(this.groups), nodes, this.countsByFunction];
  }

  /** Checks that every count and group matches the entries (tests and debug checks). */
  checkGroups(): void {
    this.byName.checkShape();
    const expected = JSON.stringify(PodCache.of(this.entries(), this.grouping).describeIndex());
    const actual = JSON.stringify(this.describeIndex());
    assert(expected === actual, `pod cache groups match their entries: ${actual} instead of ${expected}`);
  }
}

/** Stores the entry, or removes it when its lifecycle reached `gone`. */
export function putPod<S extends string>(pods: PodCache<S>, entry: PodEntry<S>, edit: TreeEdit | null = null): PodCache<S> {
  return pods.put(entry, edit);
}

/** The snapshot event a pod gets at reconciliation: how the downstream holds it. */
export type SnapshotEvent = 'snapshot.pending' | 'snapshot.running' | 'snapshot.tombstone' | 'snapshot.absent';

export interface SnapshotIndex {
  readonly alive: ReadonlyMap<string, AlivePod>;
  readonly tombstones: ReadonlyMap<string, TombstoneRecord>;
}

/** The tombstones of a snapshot that a stage reconciles with: all of them; none under the known-bad `ignore-snapshot-tombstones`. */
export function reconciledTombstones(variant: ProtocolVariant, tombstones: readonly TombstoneRecord[]): readonly TombstoneRecord[] {
  return variant === 'ignore-snapshot-tombstones' ? [] : tombstones;
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
export function describeCache<S extends string>(
  pods: PodCache<S>,
  machine: PodMachineName,
  withTombstones: boolean,
): { pods: AlivePod[]; tombstones: TombstoneRecord[] } {
  const alive: AlivePod[] = [];
  const tombstones: TombstoneRecord[] = [];
  for (const entry of pods.entries()) {
    if (stateIsTombstone(entry.lifecycle)) {
      if (withTombstones) tombstones.push({ record: entry.record, origin: entry.origin ?? 'kubelet' });
    } else if (stateIsAlive(entry.lifecycle)) {
      // A clean entry is confirmed running; any other alive one is reported pending.
      alive.push({ record: entry.record, phase: podStateHas(machine, entry.lifecycle, 'clean') ? 'running' : 'pending' });
    }
  }
  return { pods: alive, tombstones };
}
