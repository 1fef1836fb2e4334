/**
 * Memo tables keyed by component ids, for the packed chain model's hot path: no string
 * keys, and no composite number keys beyond the small-integer range (those make V8 box
 * every key it hashes).
 */

/** Numeric memo keys pair a core id with another id below this (asserted when ids are made). */
export const idSpan = 2 ** 26;

/**
 * The links of a chain the packed model handles at most: a delivery's memo key holds the
 * link's index below this (checked when a plan is made, action-plans.ts).
 */
export const memoLinksMax = 64;

/**
 * The event keys of the compiled stage steps (packed-transitions.ts), one number per
 * distinct event a stage can receive: a delivery's key is even (`deliveryKeyOf`), any
 * other event's odd (`eventKeyOf`), so the two never meet.
 */
export function deliveryKeyOf(messageId: number, link: number): number {
  return messageId * (2 * memoLinksMax) + link * 2;
}

/** The key of the `n`-th distinct event text (connects, sandbox reports, scale requests): odd. */
export function eventKeyOf(n: number): number {
  return n * 2 + 1;
}

/** A memo key of a component (by its interned id) and an event key below `idSpan`: the sandboxes of a node, the ghost. */
export function componentEventKeyOf(componentId: number, eventKey: number): number {
  return componentId * idSpan + eventKey;
}

/** A copy of `bytes` long enough to hold index `index` (at least twice as long). */
export function growBytes(bytes: Uint8Array, index: number): Uint8Array {
  const larger = new Uint8Array(Math.max(bytes.length * 2, index + 1));
  larger.set(bytes);
  return larger;
}

/**
 * Interning of fixed-width tuples of small non-negative integers (component ids read at
 * given positions of a state's id vector) into dense ids 0, 1, 2, ...: the memo keys of
 * the packed chain model's state-level verdicts. An open-addressing table over typed
 * arrays: no string key is built and nothing is allocated per lookup.
 */
export class TupleTable {
  /** The tuples, `width` ints each, in id order. */
  private tuples: Int32Array;
  /** Per slot: tuple id + 1, 0 when empty. */
  private slots: Int32Array;
  private mask: number;
  size = 0;

  constructor(
    /** The positions of the id vector that make a tuple. */
    private readonly positions: Int32Array,
  ) {
    this.tuples = new Int32Array(positions.length * 1024);
    this.slots = new Int32Array(2048);
    this.mask = this.slots.length - 1;
  }

  /** The id of the tuple `ids[positions[0]], ids[positions[1]], ...` (a new id when first seen). */
  idOf(ids: readonly number[]): number {
    const positions = this.positions;
    const width = positions.length;
    let hash = 0x811c9dc5;
    for (let i = 0; i < width; i++) hash = Math.imul(hash ^ (ids[positions[i] as number] as number), 0x01000193);
    for (let slot = (hash ^ (hash >>> 15)) & this.mask; ; slot = (slot + 1) & this.mask) {
      const entry = this.slots[slot] as number;
      if (entry === 0) {
        const id = this.size++;
        this.store(id, ids);
        this.slots[slot] = id + 1;
        if (this.size * 2 > this.slots.length) this.grow();
        return id;
      }
      if (this.matches(entry - 1, ids)) return entry - 1;
    }
  }

  private matches(id: number, ids: readonly number[]): boolean {
    const positions = this.positions;
    const at = id * positions.length;
    for (let i = 0; i < positions.length; i++) if (this.tuples[at + i] !== ids[positions[i] as number]) return false;
    return true;
  }

  private store(id: number, ids: readonly number[]): void {
    const width = this.positions.length;
    if ((id + 1) * width > this.tuples.length) {
      const larger = new Int32Array(this.tuples.length * 2);
      larger.set(this.tuples);
      this.tuples = larger;
    }
    for (let i = 0; i < width; i++) this.tuples[id * width + i] = ids[this.positions[i] as number] as number;
  }

  /** Doubles the slots and re-inserts every tuple (by its stored content). */
  private grow(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    this.mask = this.slots.length - 1;
    const width = this.positions.length;
    for (let id = 0; id < this.size; id++) {
      let hash = 0x811c9dc5;
      for (let i = 0; i < width; i++) hash = Math.imul(hash ^ (this.tuples[id * width + i] as number), 0x01000193);
      let slot = (hash ^ (hash >>> 15)) & this.mask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
      this.slots[slot] = id + 1;
    }
  }
}

/** Values keyed by a pair of ids whose first is dense (e.g. a TupleTable id): an array of small maps. */
export class PairMemo<V> {
  private readonly byFirst: Array<Map<number, V> | undefined> = [];

  get(first: number, second: number): V | undefined {
    return this.byFirst[first]?.get(second);
  }

  set(first: number, second: number, value: V): void {
    // Filled in order, so that the array stays a plain (not sparse) one.
    while (this.byFirst.length <= first) this.byFirst.push(undefined);
    let bySecond = this.byFirst[first];
    if (bySecond === undefined) {
      bySecond = new Map();
      this.byFirst[first] = bySecond;
    }
    bySecond.set(second, value);
  }
}
