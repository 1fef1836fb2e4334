/**
 * Parallel breadth-first search on threads that share one state table in shared memory
 * (shared-table.ts): whoever inserts a fingerprint first owns that state and expands it at
 * the next level. This needs fingerprints that mean the same in every thread (content
 * hashes, not ids that depend on the order things were seen).
 *
 * Worker 0 is the main thread (DEC-62): it already holds the model, built and compiled, so
 * `workers: N` starts N - 1 worker threads, each building its own copy of the model (from
 * a module and a JSON argument: models hold functions and caches, so they are not sent).
 * The main thread searches alone from the initial state. At the end of the first level
 * that holds at least `prefixStates` states (by default `joinLevelStatesPerWorkerMin` per
 * worker, DEC-63) it starts the other threads, and at the end of the first such level at
 * which they are all ready it joins them: it sends each the table's buffers and the depth,
 * and the level is split evenly by handing states over (in the model's encoding). A
 * search whose levels all stay narrower than that starts no thread and is the sequential
 * search on the main thread; one that ends before the threads are ready stops them
 * unused. From the join on each worker expands the states it
 * inserted, so its share of a level follows its share of the work of the level before;
 * a level much more uneven than that is evened out by handing over the excess.
 *
 * Levels are synchronized by a barrier in shared memory (level-barrier.ts), where each
 * worker publishes flags (violation, bounds, table full) and the size of its part of the
 * next level. A violation is found while a level d is expanded, so every violation seen at
 * that barrier is d + 1 steps long and the search stops there: counterexamples are
 * shortest, as with one worker; of equally short ones the least (parent index, action) is
 * reported, and which states get which indices depends on the threads' timing, so two runs
 * may show different shortest paths. The table grows at a barrier (worker 0 copies it into
 * one twice as large) when half full, or mid-level when an insert finds it full (the level
 * is then finished after growing). Liveness is checked afterwards on the main thread, on
 * the union of the workers' fair edges (single-threaded). A worker thread that fails sets
 * the abort word, so the main thread stops searching and reports that worker's error. One
 * that dies without running JavaScript (out of heap) cannot, and its error event waits for
 * the main thread's event loop: so the main thread watches the workers' heartbeats while
 * it waits for them and stops with `SearchWorkerSilent` when one has been silent for
 * `workerSilenceMsMax` (level-barrier.ts).
 *
 * Symmetry (DEC-54): with a model's symmetry on, every worker keeps each successor as its
 * orbit's canonical state (canonical states are chosen by content fingerprint, so every
 * worker picks the same one), records the renaming of every fair edge, and the main thread
 * checks liveness on the covering graph and translates counterexamples back into paths of
 * the model, exactly as the sequential search does (symmetry.ts).
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { repositoryPath } from '../../runtime/repository-paths.js';
import { fingerprintOf, IntList, type Fingerprint } from './fingerprint.js';
import { LevelControl, SearchAborted, workerSilenceMsMax } from './level-barrier.js';
import { edgeStride } from './fair-edges.js';
import { Explorer } from './parallel-worker.js';
import type { DoneReport, WorkerSetup, WorkerViolation } from './parallel-setup.js';
import { findLivenessViolation } from './liveness.js';
import { MemoryPeaks } from './memory.js';
import { livenessCounterexample, searchResultOf } from './search-result.js';
import type { Model, ModelSymmetry } from './model.js';
import { workerCodeFor, type ModelFactory } from './worker-bundle.js';
import type { Counterexample, SearchOptions, SearchProgress, SearchResult } from './search.js';
import { SharedStateTable } from './shared-table.js';
import { coveringLivenessGraph, translatePath } from './symmetry.js';

export type { ModelFactory } from './worker-bundle.js';
export type { DoneReport, WorkerSetup, WorkerViolation } from './parallel-setup.js';

export interface ParallelOptions extends Omit<SearchOptions, 'strategy'> {
  readonly workers: number;
  /** The main thread searches alone at least until a level holds this many states (default `joinLevelStatesPerWorkerMin` per worker, DEC-63). */
  readonly prefixStates?: number;
  /**
   * Whether the main thread waits for the other workers at the first level of `prefixStates`
   * states, instead of searching on alone until they are ready (default false; tests use it
   * so that small searches are split too).
   */
  readonly waitForWorkers?: boolean;
  /** How long the main thread lets a joined worker show no sign of life before it stops the search, ms (default workerSilenceMsMax). */
  readonly workerSilenceMs?: number;
  /** Initial capacity of the shared state table, in states (default 2^16); it grows as needed. */
  readonly tableStates?: number;
}

/** The default worker count for `kd check --workers auto`: one per core. */
export function autoWorkers(): number {
  return Math.max(1, availableParallelism());
}

/**
 * The narrowest level, in states per worker, at which the other workers join the main
 * thread's search by default (DEC-63). A joining worker pays a warm-up of its own that
 * the main thread has already paid: V8 compiles the code again for its isolate, and the
 * model fills its own memo tables (about 1 CPU-s on `ci`, measured per thread, which saved
 * the main thread only 0.3 to 0.45 CPU-s there). A search whose levels all stay narrower
 * than this is too small to repay that (on `ci`, 106,509 states in 61 levels, the widest
 * holds 4,650; on `deep` level 8 holds 15,406 orbits and the levels after it double), so it
 * runs on the main thread alone: the same result, at one worker's cost. The figure is a
 * size heuristic, not a prediction of the remaining work; tests pass `prefixStates` to
 * split small searches.
 */
export const joinLevelStatesPerWorkerMin = 4096;

/** Initial capacity of the shared table when not given: it grows by doubling. */
const tableStatesInitial = 1 << 16;

export async function searchParallel<S, A>(model: Model<S, A>, factory: ModelFactory, options: ParallelOptions): Promise<SearchResult> {
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const workers = Math.max(1, Math.floor(options.workers));
  const maxStates = options.maxStates ?? Number.POSITIVE_INFINITY;
  const maxSeconds = options.maxSeconds ?? Number.POSITIVE_INFINITY;
  const maxMemory = options.maxMemoryBytes ?? Number.POSITIVE_INFINITY;
  const liveness = (options.liveness ?? true) && model.goal !== undefined;
  const symmetry = options.symmetry !== false && model.symmetry !== undefined && model.symmetry.size > 1 ? model.symmetry : undefined;
  const initialTable = SharedStateTable.allocate(options.tableStates ?? tableStatesInitial);
  const control = LevelControl.allocate(workers);
  const ports = workerPorts(workers);
  const code = await workerCodeFor(factory);
  const setupBase = {
    factory: code.factory,
    workerBundle: code.workerBundle,
    buffers: initialTable.buffers,
    control: control.buffer,
    workers,
    maxDepth: options.maxDepth ?? 0x7fffffff,
    maxStates: Number.isFinite(maxStates) ? maxStates : 0x7fffffff,
    deadline: Number.isFinite(maxSeconds) ? Date.now() + maxSeconds * 1000 : Number.MAX_SAFE_INTEGER,
    maxMemoryBytes: Number.isFinite(maxMemory) ? maxMemory : Number.MAX_SAFE_INTEGER,
    liveness,
    symmetry: symmetry !== undefined,
    prefixStates: Math.max(1, options.prefixStates ?? joinLevelStatesPerWorkerMin * workers),
    waitForWorkers: options.waitForWorkers === true,
    workerSilenceMs: options.workerSilenceMs ?? workerSilenceMsMax,
  };
  const peaks = new MemoryPeaks();
  const tick = progressTicker(options, started, peaks, control, new Int32Array(initialTable.buffers.counter));
  // Worker 0 is this thread; it starts the others at the first level wide enough to join at (DEC-63), and they load their code and model while it goes on.
  const threads: Worker[] = [];
  const reports: Array<Promise<DoneReport>> = [];
  const startOthers = () => {
    for (let k = 0; k < workers - 1; k++) {
      const thread = new Worker(repositoryPath('checker', 'engine', 'parallel-worker.mjs'), {
        workerData: { ...setupBase, worker: k + 1, ports: ports[k + 1] ?? [] } satisfies WorkerSetup,
        transferList: (ports[k + 1] ?? []).filter((p): p is MessagePort => p !== null),
      });
      const report = doneReportOf(thread, control);
      // Reports of workers that are stopped unused (the search ended before they joined) are never awaited.
      report.catch(() => undefined);
      threads.push(thread);
      reports.push(report);
    }
  };
  try {
    const explorer = new Explorer(model, { ...setupBase, worker: 0, ports: ports[0] ?? [] }, tick, startOthers);
    let mine: DoneReport;
    try {
      mine = explorer.run();
    } catch (error) {
      // A worker thread failed and aborted the search: its own error is the one to report.
      if (error instanceof SearchAborted) await Promise.all(reports);
      throw error;
    }
    if (!explorer.joined) control.abort();
    const done = explorer.joined ? [mine, ...(await Promise.all(reports))] : [mine];
    peaks.sample();
    return resultOf(model, done, { started, cpuStarted, workers, liveness, symmetry, peaks, maxSeconds });
  } finally {
    await Promise.all(threads.map((t) => t.terminate()));
  }
}

/**
 * What worker 0 calls as it searches (the event loop is blocked meanwhile, so no timer
 * runs): samples resident memory (all threads) and reports progress, at most every
 * `progressIntervalMs` and every 200 ms.
 */
function progressTicker(options: ParallelOptions, started: number, peaks: MemoryPeaks, control: LevelControl, sizeOf: Int32Array): () => void {
  const progressInterval = options.progressIntervalMs ?? 1000;
  const sampleInterval = Math.min(progressInterval, 200);
  let lastSample = started;
  let lastProgress = started;
  return () => {
    const now = performance.now();
    if (now - lastSample < sampleInterval) return;
    lastSample = now;
    const figures = peaks.sample();
    if (options.onProgress === undefined || now - lastProgress < progressInterval) return;
    lastProgress = now;
    const seconds = (now - started) / 1000;
    const states = Atomics.load(sizeOf, 0);
    (options.onProgress as (p: SearchProgress) => void)({ states, transitions: control.transitions, depth: control.level, queued: 0, seconds, statesPerSecond: states / Math.max(seconds, 1e-9), memoryBytes: figures.residentBytes });
  };
}

/** Per worker, a port to every other worker by index (null at its own). */
function workerPorts(workers: number): Array<Array<MessagePort | null>> {
  const ports: Array<Array<MessagePort | null>> = Array.from({ length: workers }, () => new Array<MessagePort | null>(workers).fill(null));
  for (let a = 0; a < workers; a++)
    for (let b = a + 1; b < workers; b++) {
      const channel = new MessageChannel();
      (ports[a] as Array<MessagePort | null>)[b] = channel.port1;
      (ports[b] as Array<MessagePort | null>)[a] = channel.port2;
    }
  return ports;
}

/** The worker's final report; a failed worker aborts the others (they stop waiting at their barrier) and rejects with its own error. */
function doneReportOf(thread: Worker, control: LevelControl): Promise<DoneReport> {
  return new Promise((resolve, reject) => {
    thread.once('message', (report: DoneReport) => resolve(report));
    thread.once('error', (error) => {
      control.abort();
      reject(error);
    });
    thread.once('exit', (code) => {
      control.abort();
      reject(new Error(`a search worker exited (code ${code}) without reporting`));
    });
  });
}

interface RunFacts {
  readonly started: number;
  readonly cpuStarted: NodeJS.CpuUsage;
  readonly workers: number;
  readonly liveness: boolean;
  readonly symmetry: ModelSymmetry<unknown> | undefined;
  readonly peaks: MemoryPeaks;
  readonly maxSeconds: number;
}

function resultOf<S, A>(model: Model<S, A>, done: readonly DoneReport[], facts: RunFacts): SearchResult {
  const table = new SharedStateTable((done[0] as DoneReport).buffers);
  const states = table.size;
  const pathTo = (index: number): number[] => {
    const path: number[] = [];
    for (let i = index; (table.parent[i] as number) >= 0; i = table.parent[i] as number) path.push(table.action[i] as number);
    return path.reverse();
  };
  // All violations reported at one barrier are equally short; the least (parent, action) is taken, for determinism.
  let found: WorkerViolation | null = null;
  for (const r of done)
    if (r.violation !== null && (found === null || r.violation.parent < found.parent || (r.violation.parent === found.parent && r.violation.action < found.action))) found = r.violation;
  let violation: Counterexample | null =
    found === null ? null : { property: found.property, message: found.message, kind: 'safety', path: found.parent < 0 ? [] : [...pathTo(found.parent), found.action] };
  const bounds = done.map((r) => r.bound).filter((b): b is string => b !== null);
  // A stopping bound (time, memory, states, table) wins over a depth cut for the report.
  const bound = bounds.find((b) => !b.startsWith('depth')) ?? bounds[0];
  const exhaustive = violation === null && bound === undefined;
  let livenessChecked = false;
  if (exhaustive && facts.liveness) {
    livenessChecked = true;
    violation = livenessViolationOf(model, done, table, facts.symmetry, pathTo);
  }
  if (violation !== null && facts.symmetry !== undefined) violation = { ...violation, path: realPath(model, facts.symmetry as ModelSymmetry<S>, violation.path) };
  const sometimes = (model.sometimes ?? []).map((p, i) => ({ id: p.id, description: p.description, covered: done.some((r) => r.sometimes[i] === true) }));
  const seconds = (performance.now() - facts.started) / 1000;
  const used = process.cpuUsage(facts.cpuStarted);
  const timeBound = bound === 'time' || (bound === undefined && violation === null && seconds > facts.maxSeconds) ? `${facts.maxSeconds} s` : bound;
  return searchResultOf(
    model,
    {
      violation, bound: timeBound, exhaustive, livenessChecked, states,
      transitions: done.reduce((sum, r) => sum + r.transitions, 0),
      depth: done.reduce((deepest, r) => Math.max(deepest, r.deepest), 0),
      seconds, cpuSeconds: (used.user + used.system) / 1e6, peakMemoryBytes: facts.peaks.residentBytes,
      // Every thread's peak heap (worker 0's is the main thread's); the shared table is counted once, in array buffers.
      peakHeapBytes: done.slice(1).reduce((sum, r) => sum + r.peakHeapBytes, 0) + Math.max((done[0] as DoneReport).peakHeapBytes, facts.peaks.heapBytes),
      peakArrayBuffersBytes: done.reduce((sum, r) => Math.max(sum, r.peakArrayBuffersBytes), facts.peaks.arrayBuffersBytes),
      sometimes, workers: facts.workers,
    },
    {
      // Workers stopped before they joined expanded nothing.
      expandedPerWorker: Array.from({ length: facts.workers }, (_, w) => done[w]?.expanded ?? 0),
      statesHandedOver: done.reduce((sum, r) => sum + r.handedOver, 0),
      ...(facts.symmetry !== undefined ? { symmetryGroupSize: facts.symmetry.size } : {}),
    },
  );
}

/**
 * After an exhaustive search: a fair cycle or dead end that never reaches the goal, on the
 * union of the workers' fair edges; with symmetry, on the covering graph of (orbit,
 * renaming) pairs, as the sequential search checks it (symmetry.ts).
 */
function livenessViolationOf<S, A>(model: Model<S, A>, done: readonly DoneReport[], table: SharedStateTable, symmetry: ModelSymmetry<unknown> | undefined, pathTo: (index: number) => number[]): Counterexample | null {
  const isGoal = (index: number) => table.goal[index] === 1;
  const merged = mergeEdges(done);
  const found = findLivenessViolation(
    symmetry === undefined
      ? { states: table.size, edges: merged, isGoal }
      : coveringLivenessGraph(symmetry, table.size, merged, merged.classNames, isGoal),
  );
  if (found === null) return null;
  return livenessCounterexample(model, found, pathTo(symmetry === undefined ? found.entry : Math.floor(found.entry / symmetry.size)));
}

/** A path over canonical states as a path of the model itself (what `kd replay` runs). */
function realPath<S, A>(model: Model<S, A>, symmetry: ModelSymmetry<S>, path: readonly number[]): number[] {
  const fingerprint = model.fingerprint !== undefined ? (s: S) => (model.fingerprint as (s: S) => Fingerprint)(s) : (s: S) => fingerprintOf(model.key(s));
  return translatePath(model, symmetry, path, (state) => {
    const f = fingerprint(state);
    return `${f.high}:${f.low}`;
  });
}

function mergeEdges(done: readonly DoneReport[]) {
  const classIds = new Map<string, number>();
  const from = new IntList();
  const to = new IntList();
  const cls = new IntList();
  const action = new IntList();
  const element = new IntList();
  for (const report of done) {
    const global = report.classes.map((name) => {
      let id = classIds.get(name);
      if (id === undefined) {
        id = classIds.size;
        classIds.set(name, id);
      }
      return id;
    });
    const e = report.edges;
    for (let k = 0; k + edgeStride - 1 < e.length; k += edgeStride) {
      from.push(e[k] as number);
      to.push(e[k + 1] as number);
      cls.push(global[e[k + 2] as number] as number);
      action.push(e[k + 3] as number);
      element.push(e[k + 4] as number);
    }
  }
  return { from, to, cls, action, element, length: from.length, classNames: [...classIds.keys()] };
}
