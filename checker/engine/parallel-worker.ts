/**
 * One worker thread of the parallel search (see parallel.ts for the scheme): builds its
 * model, runs the shared deterministic prefix, then expands its part of each level when
 * the main thread says `go`, inserting successors into the shared state table.
 */
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { fingerprintOf, IntList, type Fingerprint } from './fingerprint.js';
import type { Model } from './model.js';
import type { DoneReport, HandedState, LevelReport, WorkerCommand, WorkerSetup, WorkerViolation } from './parallel.js';
import { SharedStateTable, tableFull } from './shared-table.js';

interface Item<S> {
  readonly state: S;
  readonly index: number;
  readonly depth: number;
}

interface LevelOutcome<S> {
  readonly next: Item<S>[];
  readonly outbox: HandedState[][];
  readonly violation: WorkerViolation | null;
  readonly bound: string | null;
}

/** How many states of its prefix a worker other than 0 may see (its private table's size). */
const privatePrefixStatesMax = 1 << 16;

export async function runWorker(): Promise<void> {
  const setup = workerData as WorkerSetup;
  const port = parentPort;
  if (port === null) throw new Error('runWorker runs in a worker thread');
  const loaded = (await import(setup.factory.module)) as Record<string, (argument: unknown) => Model<unknown, unknown>>;
  const make = loaded[setup.factory.exportName];
  if (make === undefined) throw new Error(`${setup.factory.module} has no export ${setup.factory.exportName}`);
  const model = make(setup.factory.argument);
  await new Explorer(model, setup, port).run();
}

class Explorer<S, A> {
  private readonly shared: SharedStateTable;
  private readonly fingerprint: (s: S) => Fingerprint;
  private readonly sometimes: NonNullable<Model<S, A>['sometimes']>;
  private covered: boolean[];
  private edges = new IntList(1 << 12);
  private readonly classIds = new Map<string, number>();
  private transitions = 0;
  private expanded = 0;
  private deepest = 0;
  private peakHeap = 0;
  private readonly commands: WorkerCommand[] = [];
  private waiting: ((c: WorkerCommand) => void) | null = null;

  constructor(
    private readonly model: Model<S, A>,
    private readonly setup: WorkerSetup,
    private readonly port: NonNullable<typeof parentPort>,
  ) {
    this.shared = new SharedStateTable(setup.buffers);
    this.fingerprint = model.fingerprint !== undefined ? (s) => (model.fingerprint as (s: S) => Fingerprint)(s) : (s) => fingerprintOf(model.key(s));
    this.sometimes = model.sometimes ?? [];
    this.covered = this.sometimes.map(() => false);
    port.on('message', (c: WorkerCommand) => {
      if (this.waiting !== null) {
        const w = this.waiting;
        this.waiting = null;
        w(c);
      } else this.commands.push(c);
    });
  }

  async run(): Promise<void> {
    const { worker, workers } = this.setup;
    // The prefix: the same sequential BFS in every worker; only worker 0's is shared.
    const prefixTable = worker === 0 ? this.shared : SharedStateTable.allocate(privatePrefixStatesMax);
    const initial = this.model.initialState();
    const fp = this.fingerprint(initial);
    const added = prefixTable.insert(fp.high, fp.low);
    const index = -added - 1;
    this.record(prefixTable, index, -1, -1, 0, initial);
    const initialViolation = this.model.invariants(initial)[0];
    let violation: WorkerViolation | null = initialViolation === undefined ? null : { ...initialViolation, parent: -1, action: -1 };
    let bound: string | null = null;
    let level: Item<S>[] = [{ state: initial, index, depth: 0 }];
    while (violation === null && level.length > 0 && level.length < this.setup.prefixStates) {
      const outcome = this.expand(level, prefixTable, false);
      level = outcome.next;
      violation = outcome.violation;
      if (outcome.bound !== null) bound = outcome.bound;
      if (bound !== null && !bound.startsWith('depth')) break;
    }
    if (worker !== 0) {
      // What the prefix found is reported once, by worker 0.
      this.transitions = 0;
      this.edges = new IntList(1 << 12);
      this.covered = this.sometimes.map(() => false);
      violation = null;
      bound = null;
    }
    let own = level.filter((_, i) => i % workers === worker);
    let outbox: HandedState[][] = [];
    for (;;) {
      this.report(own.length, violation, bound, outbox);
      const command = await this.nextCommand();
      if (command.type === 'finish') break;
      for (const { from, states } of command.inbox)
        for (const handed of states) own.push({ state: this.decode(handed.data, from), index: handed.index, depth: handed.depth });
      this.expanded += own.length;
      const outcome = this.expand(own, this.shared, true);
      own = outcome.next;
      outbox = outcome.outbox;
      violation = outcome.violation;
      bound = outcome.bound;
    }
    const edges = new Int32Array(this.edges.length);
    for (let k = 0; k < edges.length; k++) edges[k] = this.edges.at(k);
    const done: DoneReport = { type: 'done', worker, edges, classes: [...this.classIds.keys()], expanded: this.expanded };
    this.port.postMessage(done, [edges.buffer]);
  }

  private nextCommand(): Promise<WorkerCommand> {
    const queued = this.commands.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  private encode(state: S, peer: number): unknown {
    return this.model.encode !== undefined ? this.model.encode(state, peer) : state;
  }

  private decode(data: unknown, from: number): S {
    return this.model.decode !== undefined ? this.model.decode(data, from) : (data as S);
  }

  private report(next: number, violation: WorkerViolation | null, bound: string | null, outbox: HandedState[][]): void {
    this.peakHeap = Math.max(this.peakHeap, getHeapStatistics().used_heap_size);
    const report: LevelReport = {
      type: 'level',
      worker: this.setup.worker,
      next,
      transitions: this.transitions,
      deepest: this.deepest,
      violation,
      bound,
      sometimes: this.covered,
      peakHeapBytes: this.peakHeap,
      outbox,
    };
    this.transitions = 0;
    this.port.postMessage(report);
  }

  private record(table: SharedStateTable, index: number, parent: number, action: number, depth: number, state: S): void {
    Atomics.store(table.parent, index, parent);
    Atomics.store(table.action, index, action);
    Atomics.store(table.depth, index, depth);
    if (this.setup.liveness) Atomics.store(table.goal, index, this.model.goal?.(state) === true ? 1 : 0);
    if (depth > this.deepest) this.deepest = depth;
  }

  /**
   * Expands the states of one level that this worker owns; returns the next level's that
   * it owns, and (with `handOver`) the others' by owner.
   */
  private expand(level: readonly Item<S>[], table: SharedStateTable, handOver: boolean): LevelOutcome<S> {
    const { model, setup } = this;
    const next: Item<S>[] = [];
    const outbox: HandedState[][] = Array.from({ length: setup.workers }, () => []);
    let bound: string | null = null;
    for (let k = 0; k < level.length; k++) {
      if ((k & 255) === 255) {
        if (Date.now() > setup.deadline) return { next, outbox, violation: null, bound: 'time' };
        const heap = getHeapStatistics().used_heap_size;
        this.peakHeap = Math.max(this.peakHeap, heap);
        if (heap > setup.maxMemoryBytesPerWorker) return { next, outbox, violation: null, bound: `${Math.round((setup.maxMemoryBytesPerWorker * setup.workers) / 2 ** 20)} MiB of memory` };
      }
      const item = level[k] as Item<S>;
      if (item.depth >= setup.maxDepth) {
        bound = `depth ${setup.maxDepth}`;
        continue;
      }
      const actions = model.actions(item.state);
      for (let a = 0; a < actions.length; a++) {
        const action = actions[a] as A;
        const step = model.next(item.state, action);
        this.transitions++;
        for (let p = 0; p < this.sometimes.length; p++) if (this.covered[p] !== true && (this.sometimes[p] as { holds: (s: S, a: A) => boolean }).holds(step.state, action)) this.covered[p] = true;
        const broken = step.violations[0];
        if (broken !== undefined) return { next, outbox, violation: { property: broken.property, message: broken.message, parent: item.index, action: a }, bound };
        const fp = this.fingerprint(step.state);
        const r = table.insert(fp.high, fp.low);
        if (r === tableFull) return { next, outbox, violation: null, bound: `${table.statesMax} states (the shared table is full)` };
        let target = r;
        if (r < 0) {
          target = -r - 1;
          this.record(table, target, item.index, a, item.depth + 1, step.state);
          if (target >= setup.maxStates) return { next, outbox, violation: null, bound: `${setup.maxStates} states` };
          const invariant = model.invariants(step.state)[0];
          if (invariant !== undefined) return { next, outbox, violation: { property: invariant.property, message: invariant.message, parent: item.index, action: a }, bound };
          const owner = handOver ? fp.low % setup.workers : setup.worker;
          if (owner === setup.worker) next.push({ state: step.state, index: target, depth: item.depth + 1 });
          else (outbox[owner] as HandedState[]).push({ index: target, depth: item.depth + 1, data: this.encode(step.state, owner) });
        }
        if (setup.liveness) {
          const fairness = model.fairness(action);
          if (fairness !== null) {
            let id = this.classIds.get(fairness);
            if (id === undefined) {
              id = this.classIds.size;
              this.classIds.set(fairness, id);
            }
            this.edges.push(item.index);
            this.edges.push(target);
            this.edges.push(id);
            this.edges.push(a);
          }
        }
      }
    }
    return { next, outbox, violation: null, bound };
  }
}
