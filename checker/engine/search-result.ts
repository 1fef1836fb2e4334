/**
 * What a search reports, built in one place for the sequential search (search.ts) and the
 * parallel one (parallel.ts): the liveness counterexample from a lasso or a dead end, and
 * the result's figures from what the search measured.
 */
import { collisionProbability } from './fingerprint.js';
import type { LivenessViolation } from './liveness.js';
import type { Model, ModelViolation } from './model.js';

export type Verdict = 'verified' | 'violated' | 'bounded';

export interface Counterexample extends ModelViolation {
  readonly kind: 'safety' | 'liveness' | 'deadlock';
  /** Action indices from the initial state (each an index into model.actions of the state it leaves). */
  readonly path: readonly number[];
  /** For a liveness lasso: the step at which the repeated cycle begins. */
  readonly cycleStart?: number;
}

export interface SearchResult {
  readonly model: string;
  readonly verdict: Verdict;
  /** Which bound stopped the search, when bounded. */
  readonly bound?: string;
  readonly states: number;
  readonly transitions: number;
  readonly depth: number;
  readonly seconds: number;
  readonly statesPerSecond: number;
  /** CPU time of this process during the search (user + system): steadier than wall time on a shared machine. */
  readonly cpuSeconds: number;
  /** Peak resident memory of the process (RSS), sampled at every progress report and at the end: heap, the fingerprint table, parent and edge arrays, the frontier, and with worker threads every thread. */
  readonly peakMemoryBytes: number;
  /** Peak JavaScript heap in use (with worker threads: the largest sum of the threads' heaps seen). */
  readonly peakHeapBytes: number;
  /** Peak bytes of ArrayBuffers and SharedArrayBuffers outside the heap (fingerprint table, parent, depth and edge arrays, packed frontier). */
  readonly peakArrayBuffersBytes: number;
  readonly collisionProbability: number;
  readonly violation: Counterexample | null;
  readonly livenessChecked: boolean;
  readonly sometimes: ReadonlyArray<{ readonly id: string; readonly description: string; readonly covered: boolean }>;
  /** Worker threads that searched (1: this thread, sequentially). */
  readonly workers: number;
  /** With worker threads: the states each expanded after the shared prefix. */
  readonly expandedPerWorker?: readonly number[];
  /** With worker threads: states handed from one worker to another to even out levels. */
  readonly statesHandedOver?: number;
  /** With symmetry reduction: the number of renamings (states then counts orbits, one canonical state each). */
  readonly symmetryGroupSize?: number;
}

/** A fair cycle or a dead end found after an exhaustive search, as a counterexample whose path starts with `stem`. */
export function livenessCounterexample<S, A>(model: Model<S, A>, found: LivenessViolation, stem: readonly number[]): Counterexample {
  return {
    property: model.goalProperty ?? 'LIVENESS',
    kind: found.kind,
    message:
      found.kind === 'deadlock'
        ? 'a state with nothing left to do that is not the goal: the run stops short of convergence'
        : 'a fair cycle that never reaches the goal: every action enabled throughout the cycle is taken, yet it never converges',
    path: [...stem, ...found.cycle],
    ...(found.kind === 'liveness' ? { cycleStart: stem.length } : {}),
  };
}

/** What a search measured and found; the result's derived fields (verdict, rate, collision odds) follow from it. */
export interface SearchOutcome {
  readonly violation: Counterexample | null;
  /** Which bound stopped the search; ignored in the result once a violation is found. */
  readonly bound: string | undefined;
  readonly exhaustive: boolean;
  readonly livenessChecked: boolean;
  readonly states: number;
  readonly transitions: number;
  readonly depth: number;
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly peakMemoryBytes: number;
  readonly peakHeapBytes: number;
  readonly peakArrayBuffersBytes: number;
  readonly sometimes: SearchResult['sometimes'];
  readonly workers: number;
}

export function searchResultOf<S, A>(model: Model<S, A>, outcome: SearchOutcome, extra: Pick<SearchResult, 'expandedPerWorker' | 'statesHandedOver' | 'symmetryGroupSize'> = {}): SearchResult {
  const { violation, bound, exhaustive, states, seconds } = outcome;
  return {
    model: model.name,
    verdict: violation !== null ? 'violated' : exhaustive ? 'verified' : 'bounded',
    ...(bound !== undefined && violation === null ? { bound } : {}),
    states,
    transitions: outcome.transitions,
    depth: outcome.depth,
    seconds,
    statesPerSecond: states / Math.max(seconds, 1e-9),
    cpuSeconds: outcome.cpuSeconds,
    peakMemoryBytes: outcome.peakMemoryBytes,
    peakHeapBytes: outcome.peakHeapBytes,
    peakArrayBuffersBytes: outcome.peakArrayBuffersBytes,
    collisionProbability: collisionProbability(states),
    violation,
    livenessChecked: outcome.livenessChecked,
    sometimes: outcome.sometimes,
    workers: outcome.workers,
    ...extra,
  };
}
