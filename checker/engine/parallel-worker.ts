/**
 * One worker thread of the parallel search (see parallel.ts for the scheme): builds its
 * model, runs the shared deterministic prefix, then expands the states it owns level by
 * level, meeting the other workers at a barrier in shared memory after each level. No
 * state moves between threads: a successor is expanded by whoever inserted it first.
 */
import { getHeapStatistics } from 'node:v8';
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { fingerprintOf, IntList, type Fingerprint } from './fingerprint.js';
import { frontierFor, type Frontier } from './frontier.js';
import { LevelControl, levelFlags, rebalancePlan, SearchAborted, stoppingFlags, type Donation } from './level-barrier.js';
import type { Model, ModelSymmetry } from './model.js';
import type { DoneReport, WorkerSetup, WorkerViolation } from './parallel.js';
import { SharedStateTable, tableFull, tableStatesMax, type SharedTableBuffers } from './shared-table.js';

/** How many states of its prefix a worker other than 0 may see (its private table's size). */
const privatePrefixStatesMax = 1 << 16;
/** Expansions between checks of the clock (and additions to the shared transition count). */
const clockEveryExpansions = 256;
/** Expansions between checks of the resident memory. */
const memoryEveryExpansions = 4096;

export async function runWorker(): Promise<void> {
  const setup = workerData as WorkerSetup;
  const port = parentPort;
  if (port === null) throw new Error('runWorker runs in a worker thread');
  const loaded = (await import(setup.factory.module)) as Record<string, (argument: unknown) => Model<unknown, unknown>>;
  const make = loaded[setup.factory.exportName];
  if (make === undefined) throw new Error(`${setup.factory.module} has no export ${setup.factory.exportName}`);
  const model = make(setup.factory.argument);
  const explorer = new Explorer(model, setup);
  try {
    port.postMessage(explorer.run(), explorer.transferables());
  } catch (error) {
    if (!(error instanceof SearchAborted)) throw error;
  }
}

/** An item whose expansion stopped at `action` because the table was full. */
interface Resume<S> {
  readonly state: S;
  readonly index: number;
  readonly action: number;
}

class Explorer<S, A> {
  private table: SharedStateTable;
  private readonly control: LevelControl;
  private readonly fingerprint: (s: S) => Fingerprint;
  private readonly sometimes: NonNullable<Model<S, A>['sometimes']>;
  /** The model's symmetry when the search reduces by it: states are then canonical (one per orbit). */
  private readonly symmetry: ModelSymmetry<S> | undefined;
  private covered: boolean[];
  private edges = new IntList(1 << 12);
  private readonly classIds = new Map<string, number>();
  private transitions = 0;
  private expanded = 0;
  private deepest = 0;
  private peakHeap = 0;
  private peakArrayBuffers = 0;
  private current: Frontier<S>;
  private next: Frontier<S>;
  private resume: Resume<S> | null = null;
  private violation: WorkerViolation | null = null;
  private bound: string | null = null;
  private edgesOut: Int32Array | null = null;

  constructor(
    private readonly model: Model<S, A>,
    private readonly setup: WorkerSetup,
  ) {
    this.table = new SharedStateTable(setup.buffers);
    this.control = new LevelControl(setup.control, setup.workers);
    this.fingerprint = model.fingerprint !== undefined ? (s) => (model.fingerprint as (s: S) => Fingerprint)(s) : (s) => fingerprintOf(model.key(s));
    this.sometimes = model.sometimes ?? [];
    this.symmetry = setup.symmetry && model.symmetry !== undefined && model.symmetry.size > 1 ? model.symmetry : undefined;
    this.covered = this.sometimes.map(() => false);
    // Within a level the order does not matter for shortest paths: take the newest (no compaction).
    this.current = frontierFor(model, 'dfs');
    this.next = frontierFor(model, 'dfs');
  }

  run(): DoneReport {
    const { worker } = this.setup;
    const prefix = this.prefix();
    let depth = prefix.depth;
    let flags = prefix.flags;
    for (;;) {
      this.control.setLevel(depth);
      if ((flags & stoppingFlags) === 0) flags |= this.expandLevel(depth);
      // Grow before the table is full (half its slots used), decided on what every worker saw at its arrival.
      if (this.table.size * 2 > this.table.statesMax) flags |= levelFlags.grow;
      const met = this.control.meet(worker, flags, this.next.size);
      flags = 0;
      if ((met.flags & stoppingFlags) !== 0) break;
      if ((met.flags & levelFlags.grow) !== 0) {
        if (!this.grow()) {
          flags = levelFlags.tableLimit;
          this.bound = `${tableStatesMax} states (the shared table cannot grow further)`;
        }
        // A worker that stopped at the full table finishes the same level now; the others meet again at once.
        continue;
      }
      if (met.nextSize === 0) break;
      const drained = this.current;
      this.current = this.next;
      this.next = drained;
      this.rebalance(rebalancePlan(met.sizes));
      depth++;
    }
    return this.report();
  }

  /**
   * Every worker runs the same sequential BFS from the initial state; only worker 0 writes
   * the shared table. Returns the depth of the level split among workers, and (worker 0)
   * the flags of a violation or bound met in the prefix.
   */
  private prefix(): { depth: number; flags: number } {
    const { worker, workers } = this.setup;
    const prefixTable = worker === 0 ? this.table : SharedStateTable.allocate(privatePrefixStatesMax);
    const initial = this.symmetry === undefined ? this.model.initialState() : this.symmetry.canonical(this.model.initialState()).state;
    const fp = this.fingerprint(initial);
    const index = -prefixTable.insert(fp.high, fp.low) - 1;
    this.record(prefixTable, index, -1, -1, 0, initial);
    const initialViolation = this.model.invariants(initial)[0];
    if (initialViolation !== undefined) this.violation = { ...initialViolation, parent: -1, action: -1 };
    let flags = initialViolation !== undefined ? levelFlags.violation : 0;
    let level: Array<{ state: S; index: number }> = [{ state: initial, index }];
    let depth = 0;
    while (this.violation === null && level.length > 0 && level.length < this.setup.prefixStates && prefixTable.size * 8 < Math.min(privatePrefixStatesMax, this.table.statesMax)) {
      for (const item of level) this.current.push(item.state, item.index);
      flags |= this.expandLevel(depth, prefixTable);
      if ((flags & (stoppingFlags | levelFlags.grow)) !== 0) break;
      level = [];
      for (let item = this.next.take(); item !== undefined; item = this.next.take()) level.push(item);
      level.reverse();
      depth++;
    }
    if ((flags & levelFlags.grow) !== 0) throw new Error('the shared prefix overflowed the shared state table');
    const split = this.violation === null && (flags & stoppingFlags) === 0;
    if (worker !== 0) {
      // What the prefix found is reported once, by worker 0.
      this.transitions = 0;
      this.edges = new IntList(1 << 12);
      this.covered = this.sometimes.map(() => false);
      this.violation = null;
      this.bound = null;
    }
    if (split) level.forEach((item, i) => (i % workers === worker ? this.current.push(item.state, item.index) : undefined));
    // Nobody inserts into the shared table before worker 0 has written the whole prefix (its indices are everyone's).
    this.control.arrive();
    return { depth, flags: worker === 0 ? flags & stoppingFlags : 0 };
  }

  /** Worker 0 copies the table into one twice as large and hands the buffers to the others; all wait until it is done. */
  private grow(): boolean {
    const { worker, ports } = this.setup;
    if (this.table.statesMax >= tableStatesMax) return false;
    if (worker === 0) {
      this.table = SharedStateTable.grown(this.table, this.table.statesMax * 2);
      for (const port of ports) port?.postMessage(this.table.buffers);
    }
    this.control.arrive();
    if (worker !== 0) {
      const message = receiveMessageOnPort(ports[0] as MessagePort);
      if (message === undefined) throw new Error('worker 0 grew the shared table but its buffers did not arrive');
      this.table = new SharedStateTable(message.message as SharedTableBuffers);
    }
    return true;
  }

  /**
   * Evens out the level about to be expanded: a worker with more than its share hands
   * states (in the model's encoding) to one with less, who waits for them. Only the
   * excess moves, usually a small part of a level.
   */
  private rebalance(plan: readonly Donation[]): void {
    const { worker, ports } = this.setup;
    for (const donation of plan) {
      if (donation.from === worker) {
        const batch: Array<{ index: number; data: unknown }> = [];
        for (let k = 0; k < donation.count; k++) {
          const item = this.current.take();
          if (item === undefined) throw new Error('a rebalancing plan asked for more states than this worker holds');
          batch.push({ index: item.index, data: this.model.encode !== undefined ? this.model.encode(item.state, donation.to) : item.state });
        }
        (ports[donation.to] as MessagePort).postMessage(batch);
      }
    }
    for (const donation of plan) {
      if (donation.to !== worker) continue;
      const port = ports[donation.from] as MessagePort;
      let message = receiveMessageOnPort(port);
      for (let spin = 0; message === undefined; spin++) {
        if (this.control.aborted) throw new SearchAborted();
        if (spin > 1000) Atomics.wait(this.idle, 0, 0, 1);
        message = receiveMessageOnPort(port);
      }
      const decode = this.model.decode;
      for (const handed of message.message as Array<{ index: number; data: unknown }>)
        this.current.push(decode !== undefined ? decode.call(this.model, handed.data, donation.from) : (handed.data as S), handed.index);
      this.handedOver += (message.message as unknown[]).length;
    }
  }

  /** Something to sleep on while a hand-over is on its way. */
  private readonly idle = new Int32Array(new SharedArrayBuffer(4));
  private handedOver = 0;

  private report(): DoneReport {
    this.sampleMemory();
    const edges = new Int32Array(this.edges.length);
    for (let k = 0; k < edges.length; k++) edges[k] = this.edges.at(k);
    this.edgesOut = edges;
    return {
      type: 'done',
      worker: this.setup.worker,
      edges,
      classes: [...this.classIds.keys()],
      expanded: this.expanded,
      handedOver: this.handedOver,
      transitions: this.transitions,
      deepest: this.deepest,
      violation: this.violation,
      bound: this.bound,
      sometimes: this.covered,
      peakHeapBytes: this.peakHeap,
      peakArrayBuffersBytes: this.peakArrayBuffers,
      buffers: this.table.buffers,
    };
  }

  transferables(): ArrayBuffer[] {
    return this.edgesOut === null ? [] : [this.edgesOut.buffer as ArrayBuffer];
  }

  private sampleMemory(): number {
    const m = process.memoryUsage();
    this.peakHeap = Math.max(this.peakHeap, getHeapStatistics().used_heap_size);
    this.peakArrayBuffers = Math.max(this.peakArrayBuffers, m.arrayBuffers);
    return m.rss;
  }

  private record(table: SharedStateTable, index: number, parent: number, action: number, depth: number, state: S): void {
    table.parent[index] = parent;
    table.action[index] = action;
    table.depth[index] = depth;
    if (this.setup.liveness) table.goal[index] = this.model.goal?.(state) === true ? 1 : 0;
    if (depth > this.deepest) this.deepest = depth;
  }

  /**
   * Expands this worker's part of the level at `depth` (or what is left of it) into
   * `this.next`; returns the flags to publish. Stops early at a violation, a bound, or a
   * full table (then `this.resume` says where to go on).
   */
  private expandLevel(depth: number, table = this.table): number {
    const { model, setup } = this;
    let flags = 0;
    let count = 0;
    for (;;) {
      const resume = this.resume;
      this.resume = null;
      const item = resume ?? this.current.take();
      if (item === undefined) break;
      if (++count % clockEveryExpansions === 0) {
        this.control.addTransitions(this.transitions - this.reportedTransitions);
        this.reportedTransitions = this.transitions;
        if (this.control.aborted) throw new SearchAborted();
        if (Date.now() > setup.deadline) {
          flags |= levelFlags.time;
          this.bound = 'time';
        }
        if (count % memoryEveryExpansions === 0 && this.sampleMemory() > setup.maxMemoryBytes) {
          flags |= levelFlags.memory;
          this.bound = `${Math.round(setup.maxMemoryBytes / 2 ** 20)} MiB of resident memory`;
        }
        // A time or memory bound ends the search: the item stays unexpanded.
        if (flags !== 0) return flags;
      }
      if (depth >= setup.maxDepth) {
        this.bound = `depth ${setup.maxDepth}`;
        flags |= levelFlags.depth;
        continue;
      }
      if (resume === null) this.expanded++;
      const actions = model.actions(item.state);
      for (let a = resume?.action ?? 0; a < actions.length; a++) {
        const action = actions[a] as A;
        let step = model.next(item.state, action);
        // With symmetry the successor is kept as its orbit's canonical state; `element` renamed it there.
        let element = 0;
        if (this.symmetry !== undefined) {
          const canonical = this.symmetry.canonical(step.state);
          step = { state: canonical.state, violations: step.violations };
          element = canonical.element;
        }
        const fp = this.fingerprint(step.state);
        const r = table.insert(fp.high, fp.low);
        if (r === tableFull) {
          this.resume = { state: item.state, index: item.index, action: a };
          return flags | levelFlags.grow;
        }
        this.transitions++;
        for (let p = 0; p < this.sometimes.length; p++) if (this.covered[p] !== true && (this.sometimes[p] as { holds: (s: S, a: A) => boolean }).holds(step.state, action)) this.covered[p] = true;
        const broken = step.violations[0];
        if (broken !== undefined) {
          this.violation = { property: broken.property, message: broken.message, parent: item.index, action: a };
          return flags | levelFlags.violation;
        }
        let target = r;
        if (r < 0) {
          target = -r - 1;
          this.record(table, target, item.index, a, depth + 1, step.state);
          const invariant = model.invariants(step.state)[0];
          if (invariant !== undefined) {
            this.violation = { property: invariant.property, message: invariant.message, parent: item.index, action: a };
            return flags | levelFlags.violation;
          }
          this.next.push(step.state, target);
          if (target + 1 >= setup.maxStates) {
            this.bound = `${setup.maxStates} states`;
            flags |= levelFlags.states;
          }
        }
        if (setup.liveness) this.recordEdge(item.index, target, a, action, element);
      }
      if ((flags & levelFlags.states) !== 0) return flags;
    }
    return flags;
  }

  private reportedTransitions = 0;

  /** A fair edge as `edgeStride` ints: from, to, fairness class, action index, and the renaming that made `to` canonical (0 without symmetry). */
  private recordEdge(from: number, to: number, a: number, action: A, element: number): void {
    const fairness = this.model.fairness(action);
    if (fairness === null) return;
    let id = this.classIds.get(fairness);
    if (id === undefined) {
      id = this.classIds.size;
      this.classIds.set(fairness, id);
    }
    this.edges.push(from);
    this.edges.push(to);
    this.edges.push(id);
    this.edges.push(a);
    this.edges.push(element);
  }
}
