/**
 * The search's frontier: the states found but not yet expanded, each with its index in
 * the state table. Breadth-first search takes the oldest, depth-first the newest.
 */
import type { Model } from './model.js';

export interface FrontierItem<S> {
  readonly state: S;
  readonly index: number;
}

export interface Frontier<S> {
  push(state: S, index: number): void;
  /** The next state to expand, or undefined when none is left. */
  take(): FrontierItem<S> | undefined;
  /** States waiting. */
  readonly size: number;
  /** Bytes held outside the JavaScript heap (which the search's memory figure adds to the heap's). */
  offHeapBytes(): number;
}

/** The frontier for `model`: packed rows in a typed array when the model packs its states, objects otherwise. */
export function frontierFor<S, A>(model: Model<S, A>, strategy: 'bfs' | 'dfs'): Frontier<S> {
  const { packedWidth, pack, unpack } = model;
  if (packedWidth !== undefined && pack !== undefined && unpack !== undefined)
    return new PackedFrontier(strategy, packedWidth, (state, into, at) => pack.call(model, state, into, at), (from, at) => unpack.call(model, from, at));
  return new ObjectFrontier(strategy);
}

class ObjectFrontier<S> implements Frontier<S> {
  private items: Array<FrontierItem<S>> = [];
  private head = 0;

  constructor(private readonly strategy: 'bfs' | 'dfs') {}

  get size(): number {
    return this.items.length - this.head;
  }

  push(state: S, index: number): void {
    this.items.push({ state, index });
  }

  offHeapBytes(): number {
    return 0;
  }

  take(): FrontierItem<S> | undefined {
    if (this.head >= this.items.length) return undefined;
    if (this.strategy === 'dfs') return this.items.pop();
    const item = this.items[this.head++];
    // Drop the taken prefix now and then, so that expanded states can be collected.
    if (this.head > 65536 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    return item;
  }
}

/**
 * States as rows of `width` int32 words plus their index, in one growable typed array:
 * a waiting state costs the garbage collector nothing (as objects, every state outlived
 * the young generation and was copied and promoted before it was expanded).
 */
class PackedFrontier<S> implements Frontier<S> {
  private readonly stride: number;
  private rows: Int32Array;
  /** First waiting row and one past the last, in rows. */
  private head = 0;
  private tail = 0;

  constructor(
    private readonly strategy: 'bfs' | 'dfs',
    private readonly width: number,
    private readonly pack: (state: S, into: Int32Array, at: number) => void,
    private readonly unpack: (from: Int32Array, at: number) => S,
  ) {
    this.stride = width + 1;
    this.rows = new Int32Array(this.stride * 4096);
  }

  get size(): number {
    return this.tail - this.head;
  }

  offHeapBytes(): number {
    return this.rows.byteLength;
  }

  push(state: S, index: number): void {
    if ((this.tail + 1) * this.stride > this.rows.length) this.makeRoom();
    const at = this.tail * this.stride;
    this.pack(state, this.rows, at);
    this.rows[at + this.width] = index;
    this.tail++;
  }

  take(): FrontierItem<S> | undefined {
    if (this.head >= this.tail) return undefined;
    const row = this.strategy === 'bfs' ? this.head++ : --this.tail;
    const at = row * this.stride;
    return { state: this.unpack(this.rows, at), index: this.rows[at + this.width] as number };
  }

  /** Moves the waiting rows to the front when that frees at least half, else doubles the array. */
  private makeRoom(): void {
    const waiting = this.tail - this.head;
    if (waiting * 2 <= this.tail) {
      this.rows.copyWithin(0, this.head * this.stride, this.tail * this.stride);
    } else {
      const larger = new Int32Array(this.rows.length * 2);
      larger.set(this.rows.subarray(this.head * this.stride, this.tail * this.stride));
      this.rows = larger;
    }
    this.head = 0;
    this.tail = waiting;
  }
}
