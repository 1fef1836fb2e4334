/**
 * 64-bit fingerprints of canonical state keys, and a compact open-addressing table from
 * fingerprint to state index. Two independent 32-bit hashes make the 64 bits; with n
 * states the probability of any collision is about n^2 / 2^65 (printed by the checker).
 */

export interface Fingerprint {
  readonly high: number;
  readonly low: number;
}

/** FNV-1a and a multiplicative variant with another seed, over UTF-16 code units. */
export function fingerprintOf(key: string): Fingerprint {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return finish(a, b);
}

/** Final avalanche of both halves. */
function finish(a: number, b: number): Fingerprint {
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  b = Math.imul(b ^ (b >>> 16), 0xc2b2ae35);
  b ^= b >>> 16;
  return { high: a >>> 0, low: b >>> 0 };
}

/** The same two hashes over 32-bit integers (for models that key states by component ids). */
export function fingerprintOfInts(values: Int32Array): Fingerprint {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < values.length; i++) {
    const c = values[i] as number;
    a = Math.imul(a ^ c, 0x01000193);
    a = Math.imul(a ^ (c >>> 16), 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return finish(a, b);
}

export function collisionProbability(states: number): number {
  return (states * states) / 2 ** 65;
}

/** Fingerprint -> state index; grows at half load. */
export class FingerprintTable {
  private capacity = 1 << 16;
  private highs = new Uint32Array(this.capacity);
  private lows = new Uint32Array(this.capacity);
  /** State index + 1; 0 marks an empty slot. */
  private slots = new Int32Array(this.capacity);
  size = 0;

  /** The index stored for `fp`, or -1. */
  get(fp: Fingerprint): number {
    const mask = this.capacity - 1;
    for (let i = (fp.low ^ Math.imul(fp.high, 0x9e3779b1)) & mask; ; i = (i + 1) & mask) {
      const slot = this.slots[i] as number;
      if (slot === 0) return -1;
      if (this.highs[i] === fp.high && this.lows[i] === fp.low) return slot - 1;
    }
  }

  /** Stores `fp` -> `index` if absent; returns the existing index, or -1 when it was added. */
  add(fp: Fingerprint, index: number): number {
    if ((this.size + 1) * 2 > this.capacity) this.grow();
    const mask = this.capacity - 1;
    for (let i = (fp.low ^ Math.imul(fp.high, 0x9e3779b1)) & mask; ; i = (i + 1) & mask) {
      const slot = this.slots[i] as number;
      if (slot === 0) {
        this.highs[i] = fp.high;
        this.lows[i] = fp.low;
        this.slots[i] = index + 1;
        this.size++;
        return -1;
      }
      if (this.highs[i] === fp.high && this.lows[i] === fp.low) return slot - 1;
    }
  }

  /** Bytes held by the table. */
  bytes(): number {
    return this.capacity * 12;
  }

  private grow(): void {
    const { highs, lows, slots } = this;
    this.capacity *= 2;
    this.highs = new Uint32Array(this.capacity);
    this.lows = new Uint32Array(this.capacity);
    this.slots = new Int32Array(this.capacity);
    this.size = 0;
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i] as number;
      if (slot !== 0) this.add({ high: highs[i] as number, low: lows[i] as number }, slot - 1);
    }
  }
}

/** A growable Int32 array (parents, depths, edges). */
export class IntList {
  private data: Int32Array;
  length = 0;

  constructor(initial = 1 << 16) {
    this.data = new Int32Array(initial);
  }

  push(value: number): void {
    if (this.length === this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = value;
  }

  at(i: number): number {
    return this.data[i] as number;
  }

  set(i: number, value: number): void {
    this.data[i] = value;
  }

  bytes(): number {
    return this.data.byteLength;
  }
}
