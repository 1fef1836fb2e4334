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

/** Final avalanche of both halves (shared by every fingerprint function, so their outputs mix alike). */
export function finish(a: number, b: number): Fingerprint {
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  b = Math.imul(b ^ (b >>> 16), 0xc2b2ae35);
  b ^= b >>> 16;
  return { high: a >>> 0, low: b >>> 0 };
}


export function collisionProbability(states: number): number {
  return (states * states) / 2 ** 65;
}

/**
 * Fingerprint -> state index; grows at half load. Open addressing with linear probing
 * over one array of (high, low, index + 1) triples, so that a probe reads one cache line
 * rather than one in each of three arrays (the table outgrows the caches; most lookups
 * are of states already seen).
 */
export class FingerprintTable {
  private capacity = 1 << 16;
  /** Per slot: high half, low half, state index + 1 (0 marks an empty slot). */
  private entries = new Uint32Array(this.capacity * 3);
  size = 0;

  /** The index stored for `fp`, or -1. */
  get(fp: Fingerprint): number {
    const { high, low } = fp;
    const mask = this.capacity - 1;
    const entries = this.entries;
    for (let i = (low ^ Math.imul(high, 0x9e3779b1)) & mask; ; i = (i + 1) & mask) {
      const at = i * 3;
      const slot = entries[at + 2] as number;
      if (slot === 0) return -1;
      if (entries[at] === high && entries[at + 1] === low) return slot - 1;
    }
  }

  /** Stores `fp` -> `index` if absent; returns the existing index, or -1 when it was added. */
  add(fp: Fingerprint, index: number): number {
    if ((this.size + 1) * 2 > this.capacity) this.grow();
    const { high, low } = fp;
    const mask = this.capacity - 1;
    const entries = this.entries;
    for (let i = (low ^ Math.imul(high, 0x9e3779b1)) & mask; ; i = (i + 1) & mask) {
      const at = i * 3;
      const slot = entries[at + 2] as number;
      if (slot === 0) {
        entries[at] = high;
        entries[at + 1] = low;
        entries[at + 2] = index + 1;
        this.size++;
        return -1;
      }
      if (entries[at] === high && entries[at + 1] === low) return slot - 1;
    }
  }

  /** Bytes held by the table. */
  bytes(): number {
    return this.entries.byteLength;
  }

  private grow(): void {
    const old = this.entries;
    this.capacity *= 2;
    this.entries = new Uint32Array(this.capacity * 3);
    this.size = 0;
    for (let at = 0; at < old.length; at += 3) {
      const slot = old[at + 2] as number;
      if (slot !== 0) this.add({ high: old[at] as number, low: old[at + 1] as number }, slot - 1);
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
