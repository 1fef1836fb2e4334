/**
 * Fingerprints and the fingerprint table: determinism, sensitivity to near-identical keys,
 * no false negatives through growth and linear probing, and the collision estimate.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../simulator/random.js';
import { collisionProbability, fingerprintOf, FingerprintTable, IntList, type Fingerprint } from '../fingerprint.js';

const asText = (fp: Fingerprint) => `${fp.high}:${fp.low}`;

describe('fingerprintOf', () => {
  it('is deterministic and gives two unsigned 32-bit halves', () => {
    for (const key of ['', 'a', '0,1,0', 'x'.repeat(10_000), 'ünïcödé ✓']) {
      const fp = fingerprintOf(key);
      expect(fingerprintOf(key)).toEqual(fp);
      for (const half of [fp.high, fp.low]) {
        expect(Number.isInteger(half)).toBe(true);
        expect(half).toBeGreaterThanOrEqual(0);
        expect(half).toBeLessThan(2 ** 32);
      }
    }
  });

  it('differs for near-identical keys (swaps, one-character edits, prefixes), in both halves', () => {
    const base = 'pods=[a:Running,b:Pending];nodes=[n1:4,n2:4]';
    const variants = new Set<string>([base, 'ab', 'ba', 'a', 'a ', ' a', '', '\u0000', '\u0000\u0000']);
    for (let i = 0; i < base.length; i++) {
      variants.add(base.slice(0, i) + base.slice(i + 1));
      variants.add(base.slice(0, i) + String.fromCharCode(base.charCodeAt(i) ^ 1) + base.slice(i + 1));
      variants.add(base.slice(0, i));
    }
    const highs = new Set<number>();
    const lows = new Set<number>();
    const both = new Set<string>();
    for (const key of variants) {
      const fp = fingerprintOf(key);
      highs.add(fp.high);
      lows.add(fp.low);
      both.add(asText(fp));
    }
    expect(both.size).toBe(variants.size);
    expect(highs.size).toBe(variants.size);
    expect(lows.size).toBe(variants.size);
  });

  it('gives 200000 distinct fingerprints to 200000 distinct random keys', () => {
    const random = new SeededRandom(7);
    const keys = new Set<string>();
    while (keys.size < 200_000) keys.add(`${random.below(1000)},${random.below(1000)},${random.below(1000)}`);
    expect(new Set([...keys].map((k) => asText(fingerprintOf(k)))).size).toBe(keys.size);
  });
});

describe('collisionProbability', () => {
  it('is n^2 / 2^65', () => {
    expect(collisionProbability(0)).toBe(0);
    expect(collisionProbability(1)).toBe(2 ** -65);
    expect(collisionProbability(2 ** 20)).toBe(2 ** -25);
    expect(collisionProbability(2 ** 32)).toBe(0.5);
    expect(collisionProbability(1000)).toBeCloseTo(1e6 / 3.6893488147419103e19, 30);
  });
});

describe('FingerprintTable', () => {
  it('stores and finds 200000 random fingerprints across growth, with no false negatives', () => {
    const random = new SeededRandom(42);
    const table = new FingerprintTable();
    expect(table.bytes()).toBe(65_536 * 12);
    const stored: Fingerprint[] = [];
    const seen = new Set<string>();
    let falselyKnown = 0;
    while (stored.length < 200_000) {
      const fp = { high: random.below(2 ** 32), low: random.below(2 ** 32) };
      if (seen.has(asText(fp))) continue;
      seen.add(asText(fp));
      if (table.add(fp, stored.length) !== -1) falselyKnown++;
      stored.push(fp);
    }
    expect(falselyKnown).toBe(0);
    expect(table.size).toBe(200_000);
    // Grows at half load: 200000 entries need 2 * 200000 <= capacity = 2^19.
    expect(table.bytes()).toBe(2 ** 19 * 12);
    let lost = 0;
    for (let i = 0; i < stored.length; i++) if (table.get(stored[i] as Fingerprint) !== i) lost++;
    expect(lost).toBe(0);
    // Adding again returns the index already stored and leaves the size alone.
    for (let i = 0; i < stored.length; i += 997) expect(table.add(stored[i] as Fingerprint, 999_999)).toBe(i);
    expect(table.size).toBe(200_000);
    let falsePositives = 0;
    for (let i = 0; i < 10_000; i++) {
      const fp = { high: random.below(2 ** 32), low: random.below(2 ** 32) };
      if (!seen.has(asText(fp)) && table.get(fp) !== -1) falsePositives++;
    }
    expect(falsePositives).toBe(0);
  });

  it('keeps fingerprints that share a home slot apart by linear probing, wrapping past the end', () => {
    const table = new FingerprintTable();
    // With high = 0 the home slot is low & (capacity - 1): these 1000 all start at slot 65535.
    const crowded = Array.from({ length: 1000 }, (_, i) => ({ high: 0, low: 65_535 + i * 2 ** 20 }));
    crowded.forEach((fp, i) => expect(table.add(fp, i)).toBe(-1));
    crowded.forEach((fp, i) => expect(table.get(fp)).toBe(i));
    expect(table.get({ high: 0, low: 65_535 + 1000 * 2 ** 20 })).toBe(-1);
    // The all-zero fingerprint is a fingerprint like any other.
    expect(table.add({ high: 0, low: 0 }, 1000)).toBe(-1);
    expect(table.get({ high: 0, low: 0 })).toBe(1000);
    expect(table.size).toBe(1001);
  });

  it('tells apart fingerprints equal in one half', () => {
    const table = new FingerprintTable();
    table.add({ high: 1, low: 2 }, 0);
    expect(table.get({ high: 1, low: 3 })).toBe(-1);
    expect(table.get({ high: 2, low: 2 })).toBe(-1);
    expect(table.add({ high: 2, low: 2 }, 1)).toBe(-1);
    expect(table.get({ high: 2, low: 2 })).toBe(1);
  });
});

describe('IntList', () => {
  it('grows from any initial size and keeps its values', () => {
    const list = new IntList(1);
    for (let i = 0; i < 100_000; i++) list.push(i * 3 - 7);
    expect(list.length).toBe(100_000);
    expect(list.at(0)).toBe(-7);
    expect(list.at(99_999)).toBe(99_999 * 3 - 7);
    list.set(5, 123);
    expect(list.at(5)).toBe(123);
    expect(list.bytes()).toBe(2 ** 17 * 4);
  });
});
