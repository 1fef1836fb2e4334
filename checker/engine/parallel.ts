/**
 * Parallel breadth-first search on worker threads. Every worker builds its own copy of
 * the model (from a module and a JSON argument: models hold functions and caches, so they
 * are not sent) and they share one state table in shared memory (shared-table.ts):
 * whoever inserts a fingerprint first owns that state and expands it at the next level.
 * States never move between threads, so nothing is encoded, cloned or relayed; this needs
 * fingerprints that mean the same in every worker (content hashes, not ids that depend on
 * the order things were seen).
 *
 * How work is split: every worker first runs the same deterministic sequential BFS from
 * the initial state until a level holds at least `prefixStates` states (worker 0 writes
 * those states to the shared table, the others to a private one; both give the same
 * indices), then worker w takes the states of that level whose position is w modulo the
 * worker count. From then on each worker expands the states it inserted, so its share of
 * a level follows its share of the work of the level before.
 *
 * Levels are synchronized by a barrier in shared memory (level-barrier.ts), where each
 * worker publishes flags (violation, bounds, table full) and the size of its part of the
 * next level: no main-thread round trip. A violation is found while a level d is
 * expanded, so every violation seen at that barrier is d + 1 steps long and the search
 * stops there: counterexamples are shortest, as with one worker; of equally short ones
 * the least (parent index, action) is reported, and which states get which indices
 * depends on the threads' timing, so two runs may show different shortest paths. The
 * table grows at a barrier (worker 0 copies it into one twice as large) when half full,
 * or mid-level when an insert finds it full (the level is then finished after growing).
 * Liveness is checked afterwards on the main thread, on the union of the workers' fair
 * edges (single-threaded). The main thread only waits and samples memory.
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
import { LevelControl } from './level-barrier.js';
import { edgeStride } from './fair-edges.js';
import { findLivenessViolation } from './liveness.js';
import { MemoryPeaks } from './memory.js';
import { livenessCounterexample, searchResultOf } from './search-result.js';
import type { Model, ModelSymmetry } from './model.js';
import { workerCodeFor, type ModelFactory } from './worker-bundle.js';
import type { Counterexample, SearchOptions, SearchProgress, SearchResult } from './search.js';
import { SharedStateTable, type SharedTableBuffers } from './shared-table.js';
import { coveringLivenessGraph, translatePath } from './symmetry.js';

export type { ModelFactory } from './worker-bundle.js';

export interface ParallelOptions extends Omit<SearchOptions, 'strategy'> {
  readonly workers: number;
  /** The shared prefix ends at the first level with at least this many states (default 64 per worker). */
  readonly prefixStates?: number;
  /** Initial capacity of the shared state table, in states (default 2^16); it grows as needed. */
  readonly tableStates?: number;
}

/** What the main thread sends a worker at start. */
export interface WorkerSetup {
  readonly factory: ModelFactory;
  /** The bundled worker code (worker-bundle.ts), or null to load the sources through tsx. */
  readonly workerBundle: string | null;
  readonly buffers: SharedTableBuffers;
  readonly control: SharedArrayBuffer;
  /** A port to each other worker, by its index (none at this worker's own): the grown table, rebalancing hand-overs. */
  readonly ports: ReadonlyArray<MessagePort | null>;
  readonly worker: number;
  readonly workers: number;
  readonly maxDepth: number;
  readonly maxStates: number;
  /** Date.now() after which a worker stops its level. */
  readonly deadline: number;
  /** Resident memory of the process above which the search stops. */
  readonly maxMemoryBytes: number;
  readonly liveness: boolean;
  /** Reduce by the model's symmetry (canonical states in the shared table), as the sequential search does. */
  readonly symmetry: boolean;
  readonly prefixStates: number;
}

/** A safety violation: found on taking `action` from state `parent` (-1, -1 for the initial state). */
export interface WorkerViolation {
  readonly property: string;
  readonly message: string;
  readonly parent: number;
  readonly action: number;
}

export interface DoneReport {
  readonly type: 'done';
  readonly worker: number;
  /** Fair edges, `edgeStride` ints each: from, to, class, action, renaming of `to` (0 without symmetry); class ids index `classes`. */
  readonly edges: Int32Array;
  readonly classes: readonly string[];
  /** States this worker expanded (how evenly the work was split). */
  readonly expanded: number;
  /** States this worker received from others to even out a level. */
  readonly handedOver: number;
  readonly transitions: number;
  readonly deepest: number;
  readonly violation: WorkerViolation | null;
  readonly bound: string | null;
  readonly sometimes: readonly boolean[];
  readonly peakHeapBytes: number;
  readonly peakArrayBuffersBytes: number;
  /** The table's buffers as this worker last saw them (worker 0's are the newest). */
  readonly buffers: SharedTableBuffers;
}

/** The default worker count for `kd check --workers auto`: one per core. */
export function autoWorkers(): number {
  return Math.max(1, availableParallelism());
}

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
    prefixStates: options.prefixStates ?? 64 * workers,
  };
  const peaks = new MemoryPeaks();
  const sizeOf = new Int32Array(initialTable.buffers.counter);
  const progressInterval = options.progressIntervalMs ?? 1000;
  let lastProgress = started;
  // The main thread is idle: it samples resident memory (all threads) and reports progress.
  const sampler = setInterval(() => {
    const figures = peaks.sample();
    const now = performance.now();
    if (options.onProgress === undefined || now - lastProgress < progressInterval) return;
    lastProgress = now;
    const seconds = (now - started) / 1000;
    const states = Atomics.load(sizeOf, 0);
    (options.onProgress as (p: SearchProgress) => void)({ states, transitions: control.transitions, depth: control.level, queued: 0, seconds, statesPerSecond: states / Math.max(seconds, 1e-9), memoryBytes: figures.residentBytes });
  }, Math.min(progressInterval, 200));

  const threads = Array.from(
    { length: workers },
    (_, worker) =>
      new Worker(repositoryPath('checker', 'engine', 'parallel-worker.mjs'), {
        workerData: { ...setupBase, worker, ports: ports[worker] ?? [] } satisfies WorkerSetup,
        transferList: (ports[worker] ?? []).filter((p): p is MessagePort => p !== null),
      }),
  );
  try {
    const done = await Promise.all(threads.map((thread) => doneReportOf(thread, control)));
    peaks.sample();
    return resultOf(model, done, { started, cpuStarted, workers, liveness, symmetry, peaks, maxSeconds });
  } finally {
    clearInterval(sampler);
    await Promise.all(threads.map((t) => t.terminate()));
  }
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
      // Every worker's peak heap plus the main thread's; the shared table is counted once, in array buffers.
      peakHeapBytes: done.reduce((sum, r) => sum + r.peakHeapBytes, 0) + facts.peaks.heapBytes,
      peakArrayBuffersBytes: done.reduce((sum, r) => Math.max(sum, r.peakArrayBuffersBytes), 0) + facts.peaks.arrayBuffersBytes,
      sometimes, workers: facts.workers,
    },
    {
      expandedPerWorker: done.map((d) => d.expanded),
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
