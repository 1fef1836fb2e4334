/**
 * Parallel breadth-first search on worker threads. Every worker builds its own copy of
 * the model (from a module and a JSON argument: models hold functions and caches, so they
 * are not sent) and they share one state table (shared-table.ts): whoever inserts a
 * fingerprint first owns the state and expands it at the next level. States never move
 * between threads; this needs fingerprints that mean the same in every worker (content
 * hashes, not ids that depend on the order things were seen).
 *
 * How work is split: every worker first runs the same deterministic sequential BFS from
 * the initial state until a level holds at least `prefixStates` states (worker 0 writes
 * those states to the shared table, the others to a private one; both give the same
 * indices), then worker w takes the states of that level whose position is w modulo the
 * worker count. After that the search is level-synchronous: each worker expands its part
 * of a level; a new state is checked (invariants, goal) by the worker that found it and
 * expanded at the next level by its owner, the worker numbered by its fingerprint modulo
 * the worker count, so the work stays even. A state for another owner is handed over in
 * the model's encoding (`Model.encode`/`decode`), relayed by the main thread at the level
 * barrier. A violation found at level d + 1 stops the search after level d, so
 * counterexamples are still shortest.
 * Liveness is checked afterwards on the main thread, on the union of the workers' fair
 * edges (single-threaded).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { repositoryPath } from '../../runtime/repository-paths.js';
import { collisionProbability, IntList } from './fingerprint.js';
import { findLivenessViolation } from './liveness.js';
import type { Model } from './model.js';
import type { Counterexample, SearchOptions, SearchProgress, SearchResult } from './search.js';
import { SharedStateTable, type SharedTableBuffers } from './shared-table.js';

/** Where a worker finds the model: `module`'s export `exportName`, called with `argument` (JSON only). */
export interface ModelFactory {
  readonly module: string;
  readonly exportName: string;
  readonly argument: unknown;
}

export interface ParallelOptions extends Omit<SearchOptions, 'strategy'> {
  readonly workers: number;
  /** The shared prefix ends at the first level with at least this many states (default 64 per worker). */
  readonly prefixStates?: number;
  /** Capacity of the shared state table, in states (default: maxStates, else 2^22). */
  readonly tableStates?: number;
}

/** What the main thread sends a worker at start. */
export interface WorkerSetup {
  readonly factory: ModelFactory;
  readonly buffers: SharedTableBuffers;
  readonly worker: number;
  readonly workers: number;
  readonly maxDepth: number;
  readonly maxStates: number;
  /** Date.now() after which a worker stops its level. */
  readonly deadline: number;
  readonly maxMemoryBytesPerWorker: number;
  readonly liveness: boolean;
  readonly prefixStates: number;
}

/** A safety violation: found on taking `action` from state `parent` (-1, -1 for the initial state). */
export interface WorkerViolation {
  readonly property: string;
  readonly message: string;
  readonly parent: number;
  readonly action: number;
}

export interface LevelReport {
  readonly type: 'level';
  readonly worker: number;
  /** States this worker holds for the next level. */
  readonly next: number;
  readonly transitions: number;
  readonly deepest: number;
  readonly violation: WorkerViolation | null;
  readonly bound: string | null;
  readonly sometimes: readonly boolean[];
  readonly peakHeapBytes: number;
  /** Per worker: the new states this worker found that the other one owns, to expand next. */
  readonly outbox: ReadonlyArray<readonly HandedState[]>;
}

/** A state handed to its owner: its index, depth and the model's encoding. */
export interface HandedState {
  readonly index: number;
  readonly depth: number;
  readonly data: unknown;
}

export interface DoneReport {
  readonly type: 'done';
  readonly worker: number;
  /** Fair edges as [from, to, class, action] quadruples; class ids index `classes`. */
  readonly edges: Int32Array;
  readonly classes: readonly string[];
  /** States this worker expanded after the shared prefix (how evenly the work was split). */
  readonly expanded: number;
}

/** `go` carries the states handed to this worker, by sending worker. */
export type WorkerCommand = { readonly type: 'go'; readonly inbox: ReadonlyArray<{ readonly from: number; readonly states: readonly HandedState[] }> } | { readonly type: 'finish' };

/** The default worker count for `kd check --workers auto`: one per core but one. */
export function autoWorkers(): number {
  return Math.max(1, availableParallelism() - 1);
}

export async function searchParallel<S, A>(model: Model<S, A>, factory: ModelFactory, options: ParallelOptions): Promise<SearchResult> {
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const workers = Math.max(1, Math.floor(options.workers));
  const maxStates = options.maxStates ?? Number.POSITIVE_INFINITY;
  const maxSeconds = options.maxSeconds ?? Number.POSITIVE_INFINITY;
  const maxMemory = options.maxMemoryBytes ?? Number.POSITIVE_INFINITY;
  const liveness = (options.liveness ?? true) && model.goal !== undefined;
  const tableStates = options.tableStates ?? (Number.isFinite(maxStates) ? maxStates + workers : 1 << 22);
  const table = SharedStateTable.allocate(tableStates);
  const setupBase = {
    factory,
    buffers: table.buffers,
    workers,
    maxDepth: options.maxDepth ?? 0x7fffffff,
    maxStates: Number.isFinite(maxStates) ? maxStates : 0x7fffffff,
    deadline: Number.isFinite(maxSeconds) ? Date.now() + maxSeconds * 1000 : Number.MAX_SAFE_INTEGER,
    maxMemoryBytesPerWorker: Number.isFinite(maxMemory) ? maxMemory / workers : Number.MAX_SAFE_INTEGER,
    liveness,
    prefixStates: options.prefixStates ?? 64 * workers,
  };
  const threads = Array.from({ length: workers }, (_, worker) => new Worker(repositoryPath('checker', 'engine', 'parallel-worker.mjs'), { workerData: { ...setupBase, worker } satisfies WorkerSetup }));
  const inboxes = threads.map(() => new Inbox());
  let failure: Error | null = null;
  threads.forEach((thread, i) => {
    thread.on('message', (m: LevelReport | DoneReport) => inboxes[i]?.put(m));
    thread.on('error', (error) => {
      failure = error;
      for (const inbox of inboxes) inbox.fail(error);
    });
  });

  const sometimes = (model.sometimes ?? []).map((p) => ({ id: p.id, description: p.description, covered: false }));
  const peakHeap = new Array<number>(workers).fill(0);
  let transitions = 0;
  let deepest = 0;
  let bound: string | undefined;
  let found: WorkerViolation | null = null;
  const progressInterval = options.progressIntervalMs ?? 1000;
  const progressTimer =
    options.onProgress === undefined
      ? null
      : setInterval(() => {
          const seconds = (performance.now() - started) / 1000;
          (options.onProgress as (p: SearchProgress) => void)({
            states: table.size,
            transitions,
            depth: deepest,
            queued: 0,
            seconds,
            statesPerSecond: table.size / Math.max(seconds, 1e-9),
            memoryBytes: peakHeap.reduce((x, y) => x + y, 0) + table.bytes(),
          });
        }, progressInterval);

  try {
    for (;;) {
      const reports = (await Promise.all(inboxes.map((inbox) => inbox.take()))) as LevelReport[];
      let next = 0;
      for (const r of reports) {
        transitions += r.transitions;
        next += r.next;
        deepest = Math.max(deepest, r.deepest);
        peakHeap[r.worker] = Math.max(peakHeap[r.worker] as number, r.peakHeapBytes);
        r.sometimes.forEach((covered, i) => {
          const p = sometimes[i];
          if (covered && p !== undefined) p.covered = true;
        });
        if (r.bound !== null && bound === undefined) bound = r.bound === 'time' ? `${maxSeconds} s` : r.bound;
        // All violations reported after one level are equally short; take the least (parent, action) for determinism.
        if (r.violation !== null && (found === null || r.violation.parent < found.parent || (r.violation.parent === found.parent && r.violation.action < found.action))) found = r.violation;
      }
      const seconds = (performance.now() - started) / 1000;
      if (found === null && bound === undefined && seconds > maxSeconds) bound = `${maxSeconds} s`;
      const memory = peakHeap.reduce((x, y) => x + y, 0);
      if (found === null && bound === undefined && memory > maxMemory) bound = `${Math.round(maxMemory / 2 ** 20)} MiB of memory`;
      // A depth bound only cuts expansions; any other bound, a violation or an empty frontier ends the search.
      for (const r of reports) for (const handed of r.outbox) next += handed.length;
      const stop = found !== null || next === 0 || (bound !== undefined && !bound.startsWith('depth'));
      threads.forEach((thread, to) => {
        const command: WorkerCommand = stop ? { type: 'finish' } : { type: 'go', inbox: reports.map((r) => ({ from: r.worker, states: r.outbox[to] ?? [] })) };
        thread.postMessage(command);
      });
      if (stop) break;
    }
    const done = (await Promise.all(inboxes.map((inbox) => inbox.take()))) as DoneReport[];
    const states = table.size;
    let violation: Counterexample | null = null;
    const pathTo = (index: number): number[] => {
      const path: number[] = [];
      for (let i = index; (table.parent[i] as number) >= 0; i = table.parent[i] as number) path.push(table.action[i] as number);
      return path.reverse();
    };
    if (found !== null) violation = { property: found.property, message: found.message, kind: 'safety', path: found.parent < 0 ? [] : [...pathTo(found.parent), found.action] };
    const exhaustive = violation === null && bound === undefined;
    let livenessChecked = false;
    if (exhaustive && liveness) {
      livenessChecked = true;
      const edges = mergeEdges(done);
      const lasso = findLivenessViolation({ states, edges, isGoal: (index) => table.goal[index] === 1 });
      if (lasso !== null) {
        const stem = pathTo(lasso.entry);
        violation = {
          property: model.goalProperty ?? 'LIVENESS',
          kind: lasso.kind,
          message:
            lasso.kind === 'deadlock'
              ? 'a state with nothing left to do that is not the goal: the run stops short of convergence'
              : 'a fair cycle that never reaches the goal: every action enabled throughout the cycle is taken, yet it never converges',
          path: [...stem, ...lasso.cycle],
          ...(lasso.kind === 'liveness' ? { cycleStart: stem.length } : {}),
        };
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpuStarted);
    return {
      model: model.name,
      verdict: violation !== null ? 'violated' : exhaustive ? 'verified' : 'bounded',
      ...(bound !== undefined && violation === null ? { bound } : {}),
      states,
      transitions,
      depth: deepest,
      seconds,
      statesPerSecond: states / Math.max(seconds, 1e-9),
      cpuSeconds: (used.user + used.system) / 1e6,
      // Every worker's peak heap, the main thread's heap and the shared table.
      peakMemoryBytes: peakHeap.reduce((x, y) => x + y, 0) + process.memoryUsage().heapUsed + table.bytes(),
      collisionProbability: collisionProbability(states),
      violation,
      livenessChecked,
      sometimes,
      workers,
      expandedPerWorker: done.map((d) => d.expanded),
    };
  } catch (error) {
    // A worker's own error says more than the rejected wait it caused.
    throw failure ?? error;
  } finally {
    if (progressTimer !== null) clearInterval(progressTimer);
    await Promise.all(threads.map((t) => t.terminate()));
  }
}

function mergeEdges(done: readonly DoneReport[]) {
  const classIds = new Map<string, number>();
  const from = new IntList();
  const to = new IntList();
  const cls = new IntList();
  const action = new IntList();
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
    for (let k = 0; k + 3 < e.length; k += 4) {
      from.push(e[k] as number);
      to.push(e[k + 1] as number);
      cls.push(global[e[k + 2] as number] as number);
      action.push(e[k + 3] as number);
    }
  }
  return { from, to, cls, action, length: from.length };
}

/** One worker's messages, taken in order. */
class Inbox {
  private readonly queue: unknown[] = [];
  private waiting: { resolve: (m: unknown) => void; reject: (e: Error) => void } | null = null;
  private error: Error | null = null;

  put(message: unknown): void {
    if (this.waiting !== null) {
      const w = this.waiting;
      this.waiting = null;
      w.resolve(message);
    } else this.queue.push(message);
  }

  fail(error: Error): void {
    this.error = error;
    if (this.waiting !== null) this.waiting.reject(error);
    this.waiting = null;
  }

  take(): Promise<unknown> {
    if (this.queue.length > 0) return Promise.resolve(this.queue.shift());
    if (this.error !== null) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }
}
