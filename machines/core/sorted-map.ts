/**
 * A persistent (immutable) map from string keys to values, kept in key order: a B+tree
 * whose updates copy only the path from the root to one leaf, so `set` and `delete`
 * cost O(log n) and every earlier version stays valid and unchanged. The model checker
 * shares old states between branches; the runtime keeps only the newest. Both need the
 * same map, and a stage holding thousands of pods cannot copy them all on every step.
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

interface Leaf<V> {
  readonly keys: readonly string[];
  readonly values: readonly V[];
  readonly children: null;
}

interface Branch<V> {
  /** The smallest key under each child. */
  readonly keys: readonly string[];
  readonly children: ReadonlyArray<TreeNode<V>>;
  readonly values: null;
}

type TreeNode<V> = Leaf<V> | Branch<V>;

function leaf<V>(keys: readonly string[], values: readonly V[]): Leaf<V> {
  return { keys, values, children: null };
}

function branch<V>(children: ReadonlyArray<TreeNode<V>>): Branch<V> {
  return { keys: children.map((c) => c.keys[0] as string), children, values: null };
}

/** The branch with its children from `at` (`deleteCount` of them) replaced by `nodes`; keys spliced, not recomputed. */
function branchReplacing<V>(node: Branch<V>, at: number, deleteCount: number, nodes: ReadonlyArray<TreeNode<V>>): Branch<V> {
  return {
    keys: spliced(node.keys, at, deleteCount, ...nodes.map((n) => n.keys[0] as string)),
    children: spliced(node.children, at, deleteCount, ...nodes),
    values: null,
  };
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

/** A copy of `list` with `deleteCount` elements at `start` replaced by `items` (a plain loop: the hot path of every update). */
function spliced<T>(list: readonly T[], start: number, deleteCount: number, ...items: T[]): T[] {
  const length = list.length - deleteCount + items.length;
  const copy = new Array<T>(length);
  for (let i = 0; i < start; i++) copy[i] = list[i] as T;
  for (let i = 0; i < items.length; i++) copy[start + i] = items[i] as T;
  for (let i = start + deleteCount, j = start + items.length; j < length; i++, j++) copy[j] = list[i] as T;
  return copy;
}

/** A node, or the two halves it split into when it grew past the maximum. */
function splitIfFull<V>(node: TreeNode<V>): Array<TreeNode<V>> {
  if (node.keys.length <= sortedMapNodeEntriesMax) return [node];
  const half = node.keys.length >>> 1;
  if (node.children === null) return [leaf(node.keys.slice(0, half), node.values.slice(0, half)), leaf(node.keys.slice(half), node.values.slice(half))];
  return [branch(node.children.slice(0, half)), branch(node.children.slice(half))];
}

function inserted<V>(node: TreeNode<V>, key: string, value: V): { nodes: Array<TreeNode<V>>; added: boolean } {
  if (node.children === null) {
    const at = lowerBound(node.keys, key);
    if (at < node.keys.length && node.keys[at] === key) {
      if (node.values[at] === value) return { nodes: [node], added: false };
      return { nodes: [leaf(node.keys, spliced(node.values, at, 1, value))], added: false };
    }
    return { nodes: splitIfFull(leaf(spliced(node.keys, at, 0, key), spliced(node.values, at, 0, value))), added: true };
  }
  const at = childIndex(node.keys, key);
  const child = node.children[at] as TreeNode<V>;
  const result = inserted(child, key, value);
  if (result.nodes.length === 1 && result.nodes[0] === child) return { nodes: [node], added: false };
  return { nodes: splitIfFull(branchReplacing(node, at, 1, result.nodes)), added: result.added };
}

/** Two neighbouring nodes of one level as one or two nodes, each at least half full when possible. */
function rebalanced<V>(left: TreeNode<V>, right: TreeNode<V>): Array<TreeNode<V>> {
  const joined: TreeNode<V> =
    left.children === null
      ? leaf([...left.keys, ...right.keys], [...left.values, ...(right as Leaf<V>).values])
      : branch([...left.children, ...(right as Branch<V>).children]);
  return splitIfFull(joined);
}

/** The node without `key`, or null when it became empty; the same node when the key was absent. */
function removed<V>(node: TreeNode<V>, key: string): TreeNode<V> | null {
  if (node.children === null) {
    const at = lowerBound(node.keys, key);
    if (at >= node.keys.length || node.keys[at] !== key) return node;
    if (node.keys.length === 1) return null;
    return leaf(spliced(node.keys, at, 1), spliced(node.values, at, 1));
  }
  const at = childIndex(node.keys, key);
  const child = node.children[at] as TreeNode<V>;
  const next = removed(child, key);
  if (next === child) return node;
  if (next === null) return node.children.length === 1 ? null : branchReplacing(node, at, 1, []);
  if (next.keys.length >= nodeEntriesMin || node.children.length === 1) return branchReplacing(node, at, 1, [next]);
  // Underfull: merge with a neighbour (and split again if the two are too many for one node).
  const neighbour = at + 1 < node.children.length ? at + 1 : at - 1;
  const [first, second] = neighbour > at ? [next, node.children[neighbour] as TreeNode<V>] : [node.children[neighbour] as TreeNode<V>, next];
  return branchReplacing(node, Math.min(at, neighbour), 2, rebalanced(first, second));
}

function* walk<V>(node: TreeNode<V>): Generator<[string, V]> {
  if (node.children === null) {
    for (let i = 0; i < node.keys.length; i++) yield [node.keys[i] as string, node.values[i] as V];
    return;
  }
  for (const child of node.children) yield* walk(child);
}

function* walkValues<V>(node: TreeNode<V>): Generator<V> {
  if (node.children === null) {
    yield* node.values;
    return;
  }
  for (const child of node.children) yield* walkValues(child);
}

const emptyLeaf: Leaf<never> = leaf([], []);

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

  /** The map with `key` set to `value`; this same map when it already held that value. */
  set(key: string, value: V): SortedMap<V> {
    assert(value !== undefined, 'a sorted map holds no undefined values');
    const result = inserted(this.root, key, value);
    if (result.nodes.length === 1 && result.nodes[0] === this.root) return this;
    const root = result.nodes.length === 1 ? (result.nodes[0] as TreeNode<V>) : branch(result.nodes);
    return new SortedMap(root, this.size + (result.added ? 1 : 0));
  }

  /** The map without `key`; this same map when the key was absent. */
  delete(key: string): SortedMap<V> {
    let root = removed(this.root, key);
    if (root === this.root) return this;
    if (root === null) return SortedMap.empty<V>();
    while (root.children !== null && root.children.length === 1) root = root.children[0] as TreeNode<V>;
    return new SortedMap(root, this.size - 1);
  }

  /** Entries in key order. */
  entries(): IterableIterator<[string, V]> {
    return walk(this.root);
  }

  keys(): string[] {
    const keys: string[] = [];
    for (const [key] of walk(this.root)) keys.push(key);
    return keys;
  }

  /** Values in key order. */
  values(): IterableIterator<V> {
    return walkValues(this.root);
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }

  /** A plain object with the keys in order: what JSON.stringify prints for the map. */
  toJSON(): Record<string, V> {
    const plain: Record<string, V> = {};
    for (const [key, value] of walk(this.root)) plain[key] = value;
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
