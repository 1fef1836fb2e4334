/**
 * TwoPhase (checker/engine/models/two-phase.ts) against TLC's published counts and against
 * an independent brute force written here straight from TwoPhase.tla: states as plain
 * records with strings and sets, keyed by JSON, explored by a plain breadth-first search
 * with a Set, sharing no code with the engine or the packed model.
 */
import { describe, expect, it } from 'vitest';
import { twoPhaseModel } from '../models/two-phase.js';
import { searchParallel } from '../parallel.js';
import { search } from '../search.js';

interface Plain {
  rmState: string[];
  tmState: 'init' | 'committed' | 'aborted';
  tmPrepared: number[];
  msgs: string[];
}

function bruteForce(n: number): { states: number; transitions: number; consistent: boolean } {
  const rms = Array.from({ length: n }, (_, i) => i);
  const canonical = (s: Plain): Plain => ({ ...s, tmPrepared: [...new Set(s.tmPrepared)].sort(), msgs: [...new Set(s.msgs)].sort() });
  const successors = (s: Plain): Plain[] => {
    const out: Plain[] = [];
    const setRm = (r: number, v: string) => ({ ...s, rmState: s.rmState.map((x, i) => (i === r ? v : x)) });
    for (const r of rms) {
      if (s.tmState === 'init' && s.msgs.includes(`Prepared:${r}`)) out.push({ ...s, tmPrepared: [...s.tmPrepared, r] });
      if (s.rmState[r] === 'working') out.push({ ...setRm(r, 'prepared'), msgs: [...s.msgs, `Prepared:${r}`] });
      if (s.rmState[r] === 'working') out.push(setRm(r, 'aborted'));
      if (s.msgs.includes('Commit')) out.push(setRm(r, 'committed'));
      if (s.msgs.includes('Abort')) out.push(setRm(r, 'aborted'));
    }
    if (s.tmState === 'init' && rms.every((r) => s.tmPrepared.includes(r))) out.push({ ...s, tmState: 'committed', msgs: [...s.msgs, 'Commit'] });
    if (s.tmState === 'init') out.push({ ...s, tmState: 'aborted', msgs: [...s.msgs, 'Abort'] });
    return out.map(canonical);
  };
  const initial: Plain = { rmState: rms.map(() => 'working'), tmState: 'init', tmPrepared: [], msgs: [] };
  const seen = new Set([JSON.stringify(initial)]);
  let queue = [initial];
  let transitions = 0;
  let consistent = true;
  while (queue.length > 0) {
    const next: Plain[] = [];
    for (const s of queue) {
      if (s.rmState.includes('committed') && s.rmState.includes('aborted')) consistent = false;
      for (const t of successors(s)) {
        transitions++;
        const key = JSON.stringify(t);
        if (!seen.has(key)) {
          seen.add(key);
          next.push(t);
        }
      }
    }
    queue = next;
  }
  return { states: seen.size, transitions, consistent };
}

describe('TwoPhase on the engine', () => {
  it('N = 3..6: the same states and transitions as the brute force, TCConsistent holds', () => {
    const found: number[] = [];
    for (const n of [3, 4, 5, 6]) {
      const engine = search(twoPhaseModel(n));
      const brute = bruteForce(n);
      expect(brute.consistent).toBe(true);
      expect(engine.verdict).toBe('verified');
      expect({ states: engine.states, transitions: engine.transitions }).toEqual({ states: brute.states, transitions: brute.transitions });
      found.push(engine.states);
    }
    // TLC's count for N = 3 is 288; the others as computed (and cross-checked above).
    expect(found).toEqual([288, 1568, 8832, 50816]);
  }, 120_000);

  it("N = 7: TLC's 296,448 distinct states", () => {
    const result = search(twoPhaseModel(7));
    expect(result).toMatchObject({ verdict: 'verified', states: 296_448, transitions: 2_744_705, depth: 22 });
  }, 120_000);

  it('reports resident memory, which holds the fingerprint table and parent arrays outside the heap', () => {
    const result = search(twoPhaseModel(7));
    // 296,448 states: a table of 2^20 slots of 12 bytes, and parent, action and depth lists of 2^19 int32 each.
    const typedArraysBytes = 12 * 2 ** 20 + 3 * 4 * 2 ** 19;
    expect(result.peakArrayBuffersBytes).toBeGreaterThanOrEqual(typedArraysBytes);
    expect(result.peakMemoryBytes).toBeGreaterThanOrEqual(result.peakHeapBytes + typedArraysBytes);
  }, 120_000);

  it('the parallel search gives the same counts from a 1,024-state table that must grow at barriers and in mid-level', async () => {
    const factory = { module: new URL('../models/two-phase.ts', import.meta.url).href, exportName: 'twoPhaseModelOf', argument: 6 };
    // A join at the first level of 128 states, so that both workers grow the table (by default they would join later, DEC-63).
    const parallel = await searchParallel(twoPhaseModel(6), factory, { workers: 2, tableStates: 1024, waitForWorkers: true, prefixStates: 128 });
    expect(parallel).toMatchObject({ verdict: 'verified', states: 50_816, transitions: 402_305, depth: 19, workers: 2 });
    expect(parallel.expandedPerWorker?.every((expanded) => expanded > 0)).toBe(true);
  }, 120_000);

  it('by default the second worker joins a search whose levels grow past joinLevelStatesPerWorkerMin per worker (N = 7), with the same counts', async () => {
    const factory = { module: new URL('../models/two-phase.ts', import.meta.url).href, exportName: 'twoPhaseModelOf', argument: 7 };
    const parallel = await searchParallel(twoPhaseModel(7), factory, { workers: 2, waitForWorkers: true });
    expect(parallel).toMatchObject({ verdict: 'verified', states: 296_448, workers: 2 });
    const sequential = search(twoPhaseModel(7), { liveness: false });
    expect({ transitions: parallel.transitions, depth: parallel.depth }).toEqual({ transitions: sequential.transitions, depth: sequential.depth });
    const [main, other] = parallel.expandedPerWorker ?? [];
    expect(main).toBeGreaterThan(0);
    expect(other).toBeGreaterThan(0);
    // Every state is expanded once, by one worker or the other.
    expect((main as number) + (other as number)).toBe(296_448);
  }, 120_000);
});
