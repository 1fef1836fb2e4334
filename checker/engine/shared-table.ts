/**
 * The state table of the parallel search, in shared memory: an open-addressing set of
 * 64-bit fingerprints that several worker threads insert into at once (a slot is claimed
 * with a compare-and-swap), with the parent, action, depth and goal flag of every state.
 * Whoever inserts a fingerprint first owns that state and expands it.
 *
 * The table grows: when an insert finds it full (half its slots used) it answers
 * `tableFull`, the workers meet at a barrier and worker 0 copies everything into a table
 * of twice the size (`SharedStateTable.grown`), so no capacity has to be guessed up front.
 * The state count lives in a buffer of its own that every generation of the table shares.
 */

/** Marks a slot whose fingerprint is being written. */
const claimed = -1;
/** Marks a slot claimed when the table was already full. */
const overflow = -2;

/** The most states a table may hold (indices are int32; 2^28 states need 6 GiB of table). */
export const tableStatesMax = 1 << 28;

export interface SharedTableBuffers {
  /** Per slot: fingerprint high half, low half, and state index + 1 (0 empty, -1 claimed, -2 overflow). */
  readonly high: SharedArrayBuffer;
  readonly low: SharedArrayBuffer;
  readonly tag: SharedArrayBuffer;
  /** Per state index: parent index, action index, depth, goal flag. */
  readonly parent: SharedArrayBuffer;
  readonly action: SharedArrayBuffer;
  readonly depth: SharedArrayBuffer;
  readonly goal: SharedArrayBuffer;
  /** [0]: states allocated (shared by every generation of the table). */
  readonly counter: SharedArrayBuffer;
}

/** Result of `insert` when the table is full (more than `statesMax` states). */
export const tableFull = -0x7fffffff;

export class SharedStateTable {
  readonly high: Int32Array;
  readonly low: Int32Array;
  readonly tag: Int32Array;
  readonly parent: Int32Array;
  readonly action: Int32Array;
  readonly depth: Int32Array;
  readonly goal: Uint8Array;
  private readonly counter: Int32Array;
  private readonly mask: number;
  /** The most states the table holds (half its slots). */
  readonly statesMax: number;

  constructor(readonly buffers: SharedTableBuffers) {
    this.high = new Int32Array(buffers.high);
    this.low = new Int32Array(buffers.low);
    this.tag = new Int32Array(buffers.tag);
    this.parent = new Int32Array(buffers.parent);
    this.action = new Int32Array(buffers.action);
    this.depth = new Int32Array(buffers.depth);
    this.goal = new Uint8Array(buffers.goal);
    this.counter = new Int32Array(buffers.counter);
    this.mask = this.tag.length - 1;
    this.statesMax = this.parent.length;
  }

  /** Buffers for a table of at least `states` states (slots: the next power of two at or above twice that). */
  static allocate(states: number, counter = new SharedArrayBuffer(8)): SharedStateTable {
    if (states > tableStatesMax) throw new RangeError(`a shared state table holds at most ${tableStatesMax} states, not ${states}`);
    let slots = 1 << 10;
    while (slots < states * 2) slots *= 2;
    const perState = slots / 2;
    return new SharedStateTable({
      high: new SharedArrayBuffer(slots * 4),
      low: new SharedArrayBuffer(slots * 4),
      tag: new SharedArrayBuffer(slots * 4),
      parent: new SharedArrayBuffer(perState * 4),
      action: new SharedArrayBuffer(perState * 4),
      depth: new SharedArrayBuffer(perState * 4),
      goal: new SharedArrayBuffer(perState),
      counter,
    });
  }

  /**
   * A table of at least `states` states holding everything `old` holds, with the same
   * indices. Only while no thread inserts (the workers wait at a barrier).
   */
  static grown(old: SharedStateTable, states: number): SharedStateTable {
    const table = SharedStateTable.allocate(Math.min(tableStatesMax, Math.max(states, old.statesMax)), old.buffers.counter);
    const size = old.size;
    table.parent.set(old.parent.subarray(0, size));
    table.action.set(old.action.subarray(0, size));
    table.depth.set(old.depth.subarray(0, size));
    table.goal.set(old.goal.subarray(0, size));
    let moved = 0;
    for (let i = 0; i < old.tag.length; i++) {
      const t = old.tag[i] as number;
      if (t <= 0) continue; // empty, or claimed when the table was full (that state was not recorded)
      table.insert(old.high[i] as number, old.low[i] as number, t - 1);
      moved++;
    }
    if (moved !== size) throw new Error(`growing the shared state table moved ${moved} states of ${size}`);
    return table;
  }

  get size(): number {
    return Atomics.load(this.counter, 0);
  }

  /** Sets the number of states (after the shared prefix is written with known indices). */
  setSize(n: number): void {
    Atomics.store(this.counter, 0, n);
  }

  bytes(): number {
    return this.tag.length * 12 + this.parent.length * 13;
  }

  /**
   * Inserts a fingerprint. Returns the existing state's index (>= 0), or -(index + 1) when
   * this call added it with a fresh index, or `tableFull`. With `index` given, the new state
   * gets that index instead of a fresh one (for the prefix every worker computed alike, and
   * when the table grows).
   */
  insert(high: number, low: number, index = -1): number {
    const h = high | 0;
    const l = low | 0;
    for (let i = (low ^ Math.imul(high, 0x9e3779b1)) & this.mask; ; i = (i + 1) & this.mask) {
      let t = Atomics.load(this.tag, i);
      if (t === 0) {
        if (Atomics.compareExchange(this.tag, i, 0, claimed) === 0) {
          // Plain writes: the atomic store of the tag below publishes them (a reader loads the tag atomically first).
          this.high[i] = h;
          this.low[i] = l;
          let fresh = index;
          if (fresh < 0) {
            fresh = Atomics.add(this.counter, 0, 1);
            if (fresh >= this.statesMax) {
              // The workers grow the table; whoever probes this slot learns it is full too.
              Atomics.sub(this.counter, 0, 1);
              Atomics.store(this.tag, i, overflow);
              return tableFull;
            }
          }
          Atomics.store(this.tag, i, fresh + 1);
          return -(fresh + 1);
        }
        t = Atomics.load(this.tag, i);
      }
      while (t === claimed) t = Atomics.load(this.tag, i);
      if (t === overflow) return tableFull;
      // Plain reads suffice: the atomic load of the tag above orders them after the writer's stores.
      if (this.high[i] === h && this.low[i] === l) return t - 1;
    }
  }
}
