/**
 * The parallel search on worker threads gives the same exploration as the sequential one:
 * the same distinct states, transitions and depth on tiny models with hand-derived counts
 * (tiny-models.ts), shortest counterexamples of the same length, and the same liveness
 * verdicts. A prefix of 1 or 2 states forces the workers to share the table from the
 * second level on.
 */
import { describe, expect, it } from 'vitest';
import { joinLevelStatesPerWorkerMin, searchParallel } from '../parallel.js';
import { search, stateAt, type SearchResult } from '../search.js';
import { SharedStateTable, tableFull } from '../shared-table.js';
import { tinyFactory, tinyModel, type TinySpec } from './tiny-factories.js';

const counts = (r: SearchResult) => ({ verdict: r.verdict, states: r.states, transitions: r.transitions, depth: r.depth });

async function both(spec: TinySpec, workers = 2, prefixStates = 2) {
  const model = tinyModel(spec);
  const sequential = search(model);
  const parallel = await searchParallel(model, tinyFactory(spec), { workers, prefixStates, waitForWorkers: true });
  return { model, sequential, parallel };
}

describe('SharedStateTable', () => {
  it('adds a fingerprint once, finds it again, and reports a full table', () => {
    const table = SharedStateTable.allocate(4);
    expect(table.statesMax).toBe(512);
    expect(table.insert(1, 2)).toBe(-1);
    expect(table.insert(1, 2)).toBe(0);
    expect(table.insert(2, 1)).toBe(-2);
    expect(table.insert(1, 3)).toBe(-3);
    expect(table.size).toBe(3);
    for (let i = 3; i < 512; i++) expect(table.insert(i, i + 1000)).toBe(-(i + 1));
    expect(table.insert(5000, 1)).toBe(tableFull);
    expect(table.insert(1, 2)).toBe(0);
  });

  it('grows into a table twice as large with every state at its index, the overflowed one left out', () => {
    const table = SharedStateTable.allocate(4);
    for (let i = 0; i < 512; i++) {
      expect(table.insert(i, i * 7 + 1)).toBe(-(i + 1));
      table.parent[i] = i - 1;
      table.depth[i] = i;
    }
    expect(table.insert(9999, 1)).toBe(tableFull);
    const grown = SharedStateTable.grown(table, 1024);
    expect(grown.statesMax).toBe(1024);
    expect(grown.size).toBe(512);
    for (let i = 0; i < 512; i++) expect(grown.insert(i, i * 7 + 1)).toBe(i);
    expect(Array.from(grown.depth.subarray(0, 512))).toEqual(Array.from(table.depth.subarray(0, 512)));
    expect(grown.insert(9999, 1)).toBe(-513);
  });
});

describe('parallel search on tiny models (2 workers)', () => {
  it('counter mod 1000: 1000 states, 2000 transitions, depth 500, as sequential', async () => {
    const { sequential, parallel } = await both({ name: 'counter', args: [{ modulus: 1000 }] });
    expect(counts(parallel)).toEqual({ verdict: 'verified', states: 1000, transitions: 2000, depth: 500 });
    expect(counts(parallel)).toEqual(counts(sequential));
    expect(parallel.workers).toBe(2);
    expect(parallel.livenessChecked).toBe(sequential.livenessChecked);
  }, 60_000);

  it('two counters 0..30 x 0..40: (a+1)(b+1) = 1271 states, 2ab + a + b = 2470 transitions, depth 70', async () => {
    const { sequential, parallel } = await both({ name: 'twoCounters', args: [30, 40] }, 2, 1);
    expect(counts(parallel)).toEqual({ verdict: 'verified', states: 1271, transitions: 2470, depth: 70 });
    expect(counts(parallel)).toEqual(counts(sequential));
  }, 60_000);

  it('the shared table grows at barriers and mid-level from 512 states to hold 61 x 81 = 4941, counts as sequential', async () => {
    const spec: TinySpec = { name: 'twoCounters', args: [60, 80] };
    const model = tinyModel(spec);
    const parallel = await searchParallel(model, tinyFactory(spec), { workers: 2, prefixStates: 1, tableStates: 512, waitForWorkers: true });
    expect(counts(parallel)).toEqual({ verdict: 'verified', states: 4941, transitions: 2 * 60 * 80 + 140, depth: 140 });
    expect(counts(parallel)).toEqual(counts(search(model)));
  }, 60_000);

  it('three workers give the same counts', async () => {
    const { sequential, parallel } = await both({ name: 'twoCounters', args: [20, 25] }, 3, 1);
    expect(counts(parallel)).toEqual({ verdict: 'verified', states: 546, transitions: 1045, depth: 45 });
    expect(counts(parallel)).toEqual(counts(sequential));
  }, 60_000);

  it('shortest counterexamples have the sequential length and replay to the violation', async () => {
    const counter = await both({ name: 'counter', args: [{ modulus: 1000, forbidden: 300 }] });
    expect(counter.parallel.violation?.property).toBe('COUNTER-AVOIDS');
    expect(counter.parallel.violation?.path.length).toBe(300);
    expect(counter.parallel.violation?.path.length).toBe(counter.sequential.violation?.path.length);
    expect(stateAt(counter.model, counter.parallel.violation?.path ?? [])).toBe(300);

    const sum = await both({ name: 'twoCounters', args: [30, 40, 50] }, 2, 1);
    expect(sum.parallel.violation).toMatchObject({ property: 'SUM-BELOW-LIMIT', kind: 'safety' });
    expect(sum.parallel.violation?.path.length).toBe(50);
    const reached = stateAt(sum.model, sum.parallel.violation?.path ?? []) as { x: number; y: number };
    expect(reached.x + reached.y).toBe(50);

    const mutex = await both({ name: 'mutex', args: ['buggy'] }, 2, 1);
    expect(mutex.parallel.violation?.path.length).toBe(4);
    expect(mutex.parallel.violation?.path.length).toBe(mutex.sequential.violation?.path.length);
  }, 60_000);

  it('a violation in the initial state or the shared prefix is found too', async () => {
    const { sequential, parallel } = await both({ name: 'counter', args: [{ modulus: 10, forbidden: 0 }] }, 2, 64);
    expect(parallel.violation).toMatchObject({ property: 'COUNTER-AVOIDS', path: [] });
    expect(sequential.violation?.path).toEqual([]);
    const early = await both({ name: 'counter', args: [{ modulus: 1000, forbidden: 2 }] }, 2, 64);
    expect(early.parallel.violation?.path).toEqual(early.sequential.violation?.path);
  }, 60_000);

  it('liveness is checked after the parallel search: a fair starving cycle, and a fair exit', async () => {
    const starving = await both({ name: 'starvation', args: [false] }, 2, 1);
    expect(starving.parallel).toMatchObject({ verdict: 'violated', states: 3, transitions: 3, livenessChecked: true });
    expect(starving.parallel.violation).toMatchObject({ kind: 'liveness', cycleStart: 0 });
    expect(starving.parallel.violation?.path.length).toBe(starving.sequential.violation?.path.length);
    const exits = await both({ name: 'spinner', args: [true] }, 2, 1);
    expect(exits.parallel).toMatchObject({ verdict: 'verified', states: 2, transitions: 2, violation: null });
  }, 60_000);

  it('stops at a state bound with exit status bounded', async () => {
    const spec: TinySpec = { name: 'counter', args: [{ modulus: 1000 }] };
    const result = await searchParallel(tinyModel(spec), tinyFactory(spec), { workers: 2, prefixStates: 2, maxStates: 100, waitForWorkers: true });
    expect(result.verdict).toBe('bounded');
    expect(result.bound).toBe('100 states');
    expect(result.states).toBeGreaterThanOrEqual(100);
    expect(result.states).toBeLessThanOrEqual(102);
  }, 60_000);
});

describe('worker 0 is the main thread (DEC-62)', () => {
  it('every worker expands part of the search once the main thread joins them', async () => {
    // The join is at the first level of at least one state after the initial one: (1, 0) and (0, 1), one for each worker.
    const { sequential, parallel } = await both({ name: 'twoCounters', args: [30, 40] }, 2, 1);
    expect(counts(parallel)).toEqual(counts(sequential));
    expect(parallel.expandedPerWorker).toHaveLength(2);
    for (const expanded of parallel.expandedPerWorker ?? []) expect(expanded).toBeGreaterThan(0);
    expect((parallel.expandedPerWorker ?? []).reduce((a, b) => a + b, 0)).toBe(1271);
  }, 60_000);

  it('a search that does not wait for the workers gives the sequential counts whether or not they joined', async () => {
    const spec: TinySpec = { name: 'twoCounters', args: [60, 80] };
    const model = tinyModel(spec);
    const parallel = await searchParallel(model, tinyFactory(spec), { workers: 2, prefixStates: 1 });
    expect(counts(parallel)).toEqual(counts(search(model)));
    expect((parallel.expandedPerWorker ?? []).reduce((a, b) => a + b, 0)).toBe(4941);
  }, 60_000);

  it('by default a search whose levels all stay narrower than joinLevelStatesPerWorkerMin per worker runs on the main thread alone (DEC-63), with the sequential counts', async () => {
    // Levels of up to 201 states: split under the old default join width (64 per worker), not under 2,048 per worker.
    const spec: TinySpec = { name: 'twoCounters', args: [200, 200] };
    const model = tinyModel(spec);
    const parallel = await searchParallel(model, tinyFactory(spec), { workers: 2, waitForWorkers: true });
    expect(counts(parallel)).toEqual(counts(search(model)));
    expect(parallel.expandedPerWorker).toEqual([201 * 201, 0]);
    expect(201).toBeLessThan(joinLevelStatesPerWorkerMin * 2);
  }, 60_000);

  it('a worker thread that fails to build its model stops the main thread with the error of that worker', async () => {
    const spec: TinySpec = { name: 'counter', args: [{ modulus: 1000 }] };
    const broken = { ...tinyFactory(spec), exportName: 'noSuchFactory' };
    await expect(searchParallel(tinyModel(spec), broken, { workers: 2, prefixStates: 1, waitForWorkers: true })).rejects.toThrow(/has no export noSuchFactory/);
  }, 60_000);

  it('a worker thread that stops running JavaScript (as one out of heap) stops the search with a clear error, not a hang', async () => {
    const spec: TinySpec = { name: 'twoCounters', args: [30, 30] };
    const frozen = { ...tinyFactory(spec), exportName: 'tinyModelFrozenInWorker' };
    const started = Date.now();
    await expect(searchParallel(tinyModel(spec), frozen, { workers: 2, prefixStates: 1, waitForWorkers: true, workerSilenceMs: 1_500 })).rejects.toThrow(
      /search worker 1 has shown no sign of life for \d+ s \(out of memory, or killed\)/,
    );
    expect(Date.now() - started).toBeLessThan(50_000);
  }, 60_000);
});
