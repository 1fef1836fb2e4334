/**
 * A persistent (immutable) map from string keys to values, kept in key order: a B+tree
 * whose updates copy only the path from the root to one leaf, so `set` and `delete`
 * cost O(log n) and every earlier version stays valid and unchanged. The model checker
 * shares old states between branches; the runtime keeps only the newest. Both need the
 * same map, and a stage holding thousands of pods cannot copy them all on every step.
 *
 * Transient updates: `set` and `delete` given an open {@link TreeEdit} change in place
 * the tree nodes made under that same edit, instead of copying them again, so one step
 * that touches 1,000 entries copies each node at most once. Nodes made before the edit
 * (every earlier version) are copied as always, and closing the edit freezes every node
 * made under it: what a step returns is as immutable as before. While an edit is open,
 * a map it updated is superseded by the next update under it (read only the newest).
 *
 * Key order is JavaScript's string order (UTF-16 code units), the order of
 * `Array.prototype.sort()`. `toJSON()` gives a plain object with the keys in that
 * order, so `JSON.stringify` of a state is a canonical fingerprint input, as it was
 * with plain sorted records (machines/core/sorted.ts).
 */
import { assert } from './assert.js';

/** Entries per tree node at most; a node split in two holds half each. */
export const sortedMapNodeEntriesMax = 32;
/** A node with fewer entries than this is merged with (or borrows from) a neighbour. */
const nodeEntriesMin = sortedMapNodeEntriesMax / 4;

/**
 * An edit of sorted maps (one step of a stage): while open, nodes made under it may be
 * changed in place by later updates under it; `close()` makes them immutable for good.
 */
export class TreeEdit {
  private isOpen = true;

  get open(): boolean {
    return this.isOpen;
  }

  close(): void {
    this.isOpen = false;
  }
}

interface Leaf<V> {
  readonly keys: readonly string[];
  readonly values: readonly V[];
  readonly children: null;
  /** The edit this node was made under (changed in place by it while it is open); null: made outside any edit. */
  readonly owner: TreeEdit | null;
}

interface Branch<V> {
  /** The smallest key under each child. */
  readonly keys: readonly string[];
  readonly children: ReadonlyArray<TreeNode<V>>;
  readonly values: null;
  readonly owner: TreeEdit | null;
}

type TreeNode<V> = Leaf<V> | Branch<V>;

// Leaves and branches are built with their fields in the same order, so that they share
// one hidden class and every read of a tree node stays monomorphic.

function leaf<V>(keys: readonly string[], values: readonly V[], owner: TreeEdit | null): Leaf<V> {
  return { keys, values, children: null, owner };
}

/** A branch whose `keys` are already the smallest key of each child. */
function branchWithKeys<V>(keys: readonly string[], children: ReadonlyArray<TreeNode<V>>, owner: TreeEdit | null): Branch<V> {
  return { keys, values: null, children, owner };
}

function branch<V>(children: ReadonlyArray<TreeNode<V>>, owner: TreeEdit | null): Branch<V> {
  return branchWithKeys(children.map((c) => c.keys[0] as string), children, owner);
}

/** Whether `node` may be changed in place by the update: made under its edit (an open one; see `Update`). */
function owned<V>(node: TreeNode<V>, update: Update<V>): boolean {
  return update.edit !== null && node.owner === update.edit;
}

/** Index of the first key >= `key` in sorted `keys` (binary search, JavaScript string order). */
export function lowerBound(keys: readonly string[], key: string): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((keys[middle] as string) < key) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** The child of a branch whose range holds `key`: the last whose smallest key is <= key (or the first). */
function childIndex(keys: readonly string[], key: string): number {
  const at = lowerBound(keys, key);
  if (at < keys.length && keys[at] === key) return at;
  return at === 0 ? 0 : at - 1;
}

// Copies of an array with one element replaced, inserted or removed: plain loops, the
// hot path of every update (no rest parameters, no intermediate arrays).

function withReplaced<T>(list: readonly T[], at: number, item: T): T[] {
  const copy = list.slice();
  copy[at] = item;
  return copy;
}

function withInserted<T>(list: readonly T[], at: number, item: T): T[] {
  const copy = new Array<T>(list.length + 1);
  for (let i = 0; i < at; i++) copy[i] = list[i] as T;
  copy[at] = item;
  for (let i = at; i < list.length; i++) copy[i + 1] = list[i] as T;
  return copy;
}

function withRemoved<T>(list: readonly T[], at: number): T[] {
  const copy = new Array<T>(list.length - 1);
  for (let i = 0; i < at; i++) copy[i] = list[i] as T;
  for (let i = at + 1; i < list.length; i++) copy[i - 1] = list[i] as T;
  return copy;
}

/** `list` with the element at `at` replaced by `first` and `second` (a child that split in two). */
function withReplacedByTwo<T>(list: readonly T[], at: number, first: T, second: T): T[] {
  const copy = new Array<T>(list.length + 1);
  for (let i = 0; i < at; i++) copy[i] = list[i] as T;
  copy[at] = first;
  copy[at + 1] = second;
  for (let i = at + 1; i < list.length; i++) copy[i + 1] = list[i] as T;
  return copy;
}

/**
 * The branch with its child at `at` replaced by `child` (in place when the branch is
 * owned by the update's edit); the keys are shared when the child's smallest key stayed.
 */
function branchWithChild<V>(node: Branch<V>, at: number, child: TreeNode<V>, update: Update<V>): Branch<V> {
  const smallest = child.keys[0] as string;
  if (owned(node, update)) {
    (node.children as Array<TreeNode<V>>)[at] = child;
    (node.keys as string[])[at] = smallest;
    update.changedInPlace = true;
    return node;
  }
  // A node made under an edit owns its arrays (they change in place): it shares none with an older node.
  const keys = node.keys[at] !== smallest ? withReplaced(node.keys, at, smallest) : update.edit === null ? node.keys : node.keys.slice();
  return branchWithKeys(keys, withReplaced(node.children, at, child), update.edit);
}

/**
 * What one update (`set` or `delete`) reports besides the new node, filled in on the way
 * down: one object per update instead of one result per tree level.
 */
interface Update<V> {
  /** The open edit whose nodes may change in place; null: every node on the path is copied. */
  readonly edit: TreeEdit | null;
  /** Whether the key was new (the size grows). */
  added: boolean;
  /** Whether some node changed in place (a node returned as it was may then still differ). */
  changedInPlace: boolean;
  /** The right half when the returned node split in two; null otherwise. */
  splitOff: TreeNode<V> | null;
}

function updateOf<V>(edit: TreeEdit | null): Update<V> {
  return { edit: edit !== null && edit.open ? edit : null, added: false, changedInPlace: false, splitOff: null };
}

/** A node that grew past the maximum, halved: returns the left half and leaves the right one in `update.splitOff`. */
function splitIfFull<V>(node: TreeNode<V>, update: Update<V>): TreeNode<V> {
  if (node.keys.length <= sortedMapNodeEntriesMax) return node;
  const half = node.keys.length >>> 1;
  if (node.children === null) {
    update.splitOff = leaf(node.keys.slice(half), node.values.slice(half), update.edit);
    return leaf(node.keys.slice(0, half), node.values.slice(0, half), update.edit);
  }
  update.splitOff = branch(node.children.slice(half), update.edit);
  return branch(node.children.slice(0, half), update.edit);
}

/** The leaf with `key` set to `value` (the same leaf when it already held that value, or when changed in place). */
function insertedInLeaf<V>(node: Leaf<V>, key: string, value: V, update: Update<V>): TreeNode<V> {
  const at = lowerBound(node.keys, key);
  const inPlace = owned(node, update);
  if (at < node.keys.length && node.keys[at] === key) {
    if (node.values[at] === value) return node;
    if (!inPlace) return leaf(update.edit === null ? node.keys : node.keys.slice(), withReplaced(node.values, at, value), update.edit);
    (node.values as V[])[at] = value;
    update.changedInPlace = true;
    return node;
  }
  update.added = true;
  if (!inPlace) return splitIfFull(leaf(withInserted(node.keys, at, key), withInserted(node.values, at, value), update.edit), update);
  (node.keys as string[]).splice(at, 0, key);
  (node.values as V[]).splice(at, 0, value);
  update.changedInPlace = true;
  return splitIfFull(node, update);
}

/** The node with `key` set to `value` (the same node when it already held that value, or when changed in place). */
function inserted<V>(node: TreeNode<V>, key: string, value: V, update: Update<V>): TreeNode<V> {
  if (node.children === null) return insertedInLeaf(node, key, value, update);
  const at = childIndex(node.keys, key);
  const child = node.children[at] as TreeNode<V>;
  const next = inserted(child, key, value, update);
  if (next === child && !update.changedInPlace) return node;
  const splitOff = update.splitOff;
  if (splitOff === null) return branchWithChild(node, at, next, update);
  update.splitOff = null;
  if (owned(node, update)) {
    (node.children as Array<TreeNode<V>>).splice(at, 1, next, splitOff);
    (node.keys as string[]).splice(at, 1, next.keys[0] as string, splitOff.keys[0] as string);
    update.changedInPlace = true;
    return splitIfFull(node, update);
  }
  const children = withReplacedByTwo(node.children, at, next, splitOff);
  const keys = withReplacedByTwo(node.keys, at, next.keys[0] as string, splitOff.keys[0] as string);
  return splitIfFull(branchWithKeys(keys, children, update.edit), update);
}

/** Two neighbouring nodes of one level as one or two new nodes, each at least half full when possible. */
function rebalanced<V>(left: TreeNode<V>, right: TreeNode<V>, edit: TreeEdit | null): Array<TreeNode<V>> {
  const joined: TreeNode<V> =
    left.children === null
      ? leaf([...left.keys, ...right.keys], [...left.values, ...(right as Leaf<V>).values], edit)
      : branch([...left.children, ...(right as Branch<V>).children], edit);
  const split = updateOf<V>(edit);
  const first = splitIfFull(joined, split);
  return split.splitOff === null ? [first] : [first, split.splitOff];
}

/** The node without `key`, or null when it became empty; the same node when the key was absent (or when changed in place). */
function removed<V>(node: TreeNode<V>, key: string, update: Update<V>): TreeNode<V> | null {
  if (node.children === null) {
    const at = lowerBound(node.keys, key);
    if (at >= node.keys.length || node.keys[at] !== key) return node;
    if (node.keys.length === 1) return null;
    if (!owned(node, update)) return leaf(withRemoved(node.keys, at), withRemoved(node.values, at), update.edit);
    (node.keys as string[]).splice(at, 1);
    (node.values as V[]).splice(at, 1);
    update.changedInPlace = true;
    return node;
  }
  const at = childIndex(node.keys, key);
  const child = node.children[at] as TreeNode<V>;
  const next = removed(child, key, update);
  if (next === child && !update.changedInPlace) return node;
  if (next === null) {
    if (node.children.length === 1) return null;
    if (!owned(node, update)) return branchWithKeys(withRemoved(node.keys, at), withRemoved(node.children, at), update.edit);
    (node.keys as string[]).splice(at, 1);
    (node.children as Array<TreeNode<V>>).splice(at, 1);
    update.changedInPlace = true;
    return node;
  }
  if (next.keys.length >= nodeEntriesMin || node.children.length === 1) return branchWithChild(node, at, next, update);
  // Underfull: merge with a neighbour (and split again if the two are too many for one node).
  const neighbour = at + 1 < node.children.length ? at + 1 : at - 1;
  const first = Math.min(at, neighbour);
  const merged = neighbour > at ? rebalanced(next, node.children[neighbour] as TreeNode<V>, update.edit) : rebalanced(node.children[neighbour] as TreeNode<V>, next, update.edit);
  const children = [...node.children.slice(0, first), ...merged, ...node.children.slice(first + 2)];
  return branch(children, update.edit);
}

/**
 * Walks the leaves of a tree in key order, one entry at a time, giving `project(leaf, i)`
 * for each: an iterator object with an explicit stack instead of nested generators, whose
 * cost per entry grows with the tree's depth (the stages walk groups on every step).
 */
class TreeWalk<V, R> implements IterableIterator<R> {
  /** The branches above the current leaf, each with the index of the child being walked. */
  private readonly branches: Array<Branch<V>> = [];
  private readonly childIndexes: number[] = [];
  private leaf: Leaf<V> | null;
  private at = 0;

  constructor(
    root: TreeNode<V>,
    private readonly project: (leaf: Leaf<V>, at: number) => R,
  ) {
    this.leaf = this.descend(root);
  }

  /** Goes down the first children from `node` to a leaf, remembering the branches passed. */
  private descend(node: TreeNode<V>): Leaf<V> {
    while (node.children !== null) {
      this.branches.push(node);
      this.childIndexes.push(0);
      node = node.children[0] as TreeNode<V>;
    }
    return node;
  }

  /** The leaf after the current one; null after the last. */
  private nextLeaf(): Leaf<V> | null {
    while (this.branches.length > 0) {
      const top = this.branches.length - 1;
      const branch = this.branches[top] as Branch<V>;
      const next = (this.childIndexes[top] as number) + 1;
      if (next < branch.children.length) {
        this.childIndexes[top] = next;
        return this.descend(branch.children[next] as TreeNode<V>);
      }
      this.branches.pop();
      this.childIndexes.pop();
    }
    return null;
  }

  next(): IteratorResult<R> {
    while (this.leaf !== null) {
      if (this.at < this.leaf.keys.length) return { done: false, value: this.project(this.leaf, this.at++) };
      this.leaf = this.nextLeaf();
      this.at = 0;
    }
    return { done: true, value: undefined };
  }

  [Symbol.iterator](): IterableIterator<R> {
    return this;
  }
}

function entryAt<V>(leaf: Leaf<V>, at: number): [string, V] {
  return [leaf.keys[at] as string, leaf.values[at] as V];
}

function valueAt<V>(leaf: Leaf<V>, at: number): V {
  return leaf.values[at] as V;
}

/** Calls `visit` with every key and value in key order: plain loops, for whole-map passes. */
function forEachEntry<V>(node: TreeNode<V>, visit: (key: string, value: V) => void): void {
  if (node.children === null) {
    for (let i = 0; i < node.keys.length; i++) visit(node.keys[i] as string, node.values[i] as V);
    return;
  }
  for (const child of node.children) forEachEntry(child, visit);
}

const emptyLeaf: Leaf<never> = leaf([], [], null);

export class SortedMap<V> {
  private constructor(
    private readonly root: TreeNode<V>,
    readonly size: number,
  ) {}

  private static readonly emptyMap = new SortedMap<never>(emptyLeaf, 0);

  static empty<V>(): SortedMap<V> {
    return SortedMap.emptyMap as SortedMap<V>;
  }

  /** A map of `entries` (any order; for a repeated key the last wins). */
  static of<V>(entries: Iterable<readonly [string, V]>): SortedMap<V> {
    let map = SortedMap.empty<V>();
    for (const [key, value] of entries) map = map.set(key, value);
    return map;
  }

  get(key: string): V | undefined {
    let node = this.root;
    while (node.children !== null) node = node.children[childIndex(node.keys, key)] as TreeNode<V>;
    const at = lowerBound(node.keys, key);
    return at < node.keys.length && node.keys[at] === key ? node.values[at] : undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /**
   * The map with `key` set to `value`; this same map when it already held that value.
   * With an open `edit`, nodes made under it change in place (this map is then superseded).
   */
  set(key: string, value: V, edit: TreeEdit | null = null): SortedMap<V> {
    assert(value !== undefined, 'a sorted map holds no undefined values');
    const update = updateOf<V>(edit);
    const next = inserted(this.root, key, value, update);
    if (next === this.root && !update.changedInPlace) return this;
    const root = update.splitOff === null ? next : branch([next, update.splitOff], update.edit);
    return new SortedMap(root, this.size + (update.added ? 1 : 0));
  }

  /** The map without `key`; this same map when the key was absent. With an open `edit`, as `set`. */
  delete(key: string, edit: TreeEdit | null = null): SortedMap<V> {
    const update = updateOf<V>(edit);
    let root = removed(this.root, key, update);
    if (root === this.root && !update.changedInPlace) return this;
    if (root === null) return SortedMap.empty<V>();
    while (root.children !== null && root.children.length === 1) root = root.children[0] as TreeNode<V>;
    return new SortedMap(root, this.size - 1);
  }

  /** Entries in key order. */
  entries(): IterableIterator<[string, V]> {
    return new TreeWalk(this.root, entryAt);
  }

  keys(): string[] {
    const keys: string[] = [];
    forEachEntry(this.root, (key) => keys.push(key));
    return keys;
  }

  /** Values in key order. */
  values(): IterableIterator<V> {
    return new TreeWalk(this.root, valueAt);
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }

  /** A plain object with the keys in order: what JSON.stringify prints for the map. */
  toJSON(): Record<string, V> {
    const plain: Record<string, V> = {};
    forEachEntry(this.root, (key, value) => {
      plain[key] = value;
    });
    return plain;
  }

  /** Checks the tree's shape (tests and debug checks): keys ordered, each node within bounds, size right. */
  checkShape(): void {
    let count = 0;
    let last: string | null = null;
    const visit = (node: TreeNode<V>, isRoot: boolean): void => {
      assert(node.keys.length <= sortedMapNodeEntriesMax, 'a node holds at most sortedMapNodeEntriesMax entries');
      assert(isRoot || node.keys.length > 0, 'only the root may be empty');
      if (node.children === null) {
        for (const key of node.keys) {
          assert(last === null || last < key, `keys in order: ${String(last)} before ${key}`);
          last = key;
          count++;
        }
        return;
      }
      node.children.forEach((child, i) => {
        assert(child.keys[0] === node.keys[i], 'a branch key is the smallest key of its child');
        visit(child, false);
      });
    };
    visit(this.root, true);
    assert(count === this.size, `size ${this.size} matches the ${count} entries`);
  }
}
