/**
 * A worker of the parallel search (see parallel.ts for the scheme). Worker 0 is the main
 * thread: it searches alone from the initial state, on the model it already built, until
 * the other workers have loaded theirs; then it sends them the shared table and the depth
 * (the join) and hands them part of the level. From then on every worker expands the
 * states it inserted, level by level, meeting the others at a barrier in shared memory
 * after each level; only a level's excess over the mean moves between threads.
 */
import { getHeapStatistics } from 'node:v8';
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { fingerprintOf, IntList, type Fingerprint } from './fingerprint.js';
import { frontierFor, type Frontier } from './frontier.js';
import { LevelControl, levelFlags, rebalancePlan, SearchAborted, stoppingFlags, type Donation } from './level-barrier.js';
import type { Model, ModelSymmetry } from './model.js';
import type { DoneReport, WorkerSetup, WorkerViolation } from './parallel-setup.js';
import { SharedStateTable, tableFull, tableStatesMax, type SharedTableBuffers } from './shared-table.js';

/** Expansions between checks of the clock (and additions to the shared transition count). */
const clockEveryExpansions = 256;
/** Expansions between checks of the resident memory. */
const memoryEveryExpansions = 4096;

/** What worker 0 sends every other worker when they join: the table as it is now, and the depth of the level just expanded. */
interface JoinMessage {
  readonly type: 'join';
  readonly buffers: SharedTableBuffers;
  readonly depth: number;
}

/** Entry of a worker thread other than worker 0: builds the model, joins the search when worker 0 says so, and reports. */
export async function runWorker(): Promise<void> {
  const setup = workerData as WorkerSetup;
  const port = parentPort;
  if (port === null) throw new Error('runWorker runs in a worker thread');
  const control = new LevelControl(setup.control, setup.workers);
  try {
    const loaded = (await import(setup.factory.module)) as Record<string, (argument: unknown) => Model<unknown, unknown>>;
    const make = loaded[setup.factory.exportName];
    if (make === undefined) throw new Error(`${setup.factory.module} has no export ${setup.factory.exportName}`);
    const explorer = new Explorer(make(setup.factory.argument), setup);
    port.postMessage(explorer.run(), explorer.transferables());
  } catch (error) {
    if (error instanceof SearchAborted) return;
    // Worker 0 runs on the main thread and cannot see this thread's error event while it searches: stop it through shared memory.
    control.abort();
    throw error;
  }
}

/** Called by worker 0 (the main thread) every `clockEveryExpansions` expansions: progress and memory sampling. */
export type Tick = () => void;

/** An item whose expansion stopped at `action` because the table was full. */
interface Resume<S> {
  readonly state: S;
  readonly index: number;
  readonly action: number;
}

export class Explorer<S, A> {
  /** Worker 0: whether the other workers have joined (the others join before their first level). */
  joined: boolean;
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
    private readonly tick: Tick = () => undefined,
    /** Worker 0: starts the other workers' threads; called once, at the first level wide enough to join at (DEC-63). */
    private readonly startOthers: () => void = () => undefined,
  ) {
    this.joined = setup.worker !== 0 || setup.workers === 1;
    this.table = new SharedStateTable(setup.buffers);
    this.control = new LevelControl(setup.control, setup.workers, setup.worker, setup.workerSilenceMs);
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
    const start = worker === 0 ? this.start() : this.awaitJoin();
    let depth = start.depth;
    let flags = start.flags;
    let joining = worker !== 0;
    for (;;) {
      this.control.setLevel(depth);
      if ((flags & stoppingFlags) === 0) flags |= this.expandLevel(depth);
      // Grow before the table is full (half its slots used), decided on what every worker saw at its arrival.
      if (this.table.size * 2 > this.table.statesMax) flags |= levelFlags.grow;
      if (!this.joined && this.join(depth, flags)) joining = true;
      const met = this.joined ? this.control.meet(worker, flags, this.next.size) : { flags, nextSize: this.next.size, sizes: [this.next.size] };
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
      // At the join every level is split, however small; later only a large uneven one.
      if (this.joined) this.rebalance(joining ? rebalancePlan(met.sizes, 0) : rebalancePlan(met.sizes));
      joining = false;
      depth++;
    }
    return this.report();
  }

  /** Worker 0: the initial state, in the shared table, as the level to expand first. */
  private start(): { depth: number; flags: number } {
    const initial = this.symmetry === undefined ? this.model.initialState() : this.symmetry.canonical(this.model.initialState()).state;
    const fp = this.fingerprint(initial);
    const index = -this.table.insert(fp.high, fp.low) - 1;
    this.record(this.table, index, -1, -1, 0, initial);
    const initialViolation = this.model.invariants(initial)[0];
    if (initialViolation !== undefined) this.violation = { ...initialViolation, parent: -1, action: -1 };
    this.current.push(initial, index);
    return { depth: 0, flags: initialViolation !== undefined ? levelFlags.violation : 0 };
  }

  /**
   * Worker 0, at the end of a level it expanded alone: joins the other workers when they
   * are ready (waits for them with `waitForWorkers`), the level holds at least
   * `prefixStates` states and the search goes on without growing the table first. The
   * first such level starts their threads (DEC-63): a search that never has one never
   * pays for them.
   */
  private join(depth: number, flags: number): boolean {
    if ((flags & (stoppingFlags | levelFlags.grow)) !== 0 || this.next.size === 0 || this.next.size < this.setup.prefixStates) return false;
    if (!this.othersStarted) {
      this.othersStarted = true;
      this.startOthers();
    }
    if (this.setup.waitForWorkers) this.control.awaitAllReady();
    else if (!this.control.allReady) return false;
    const message: JoinMessage = { type: 'join', buffers: this.table.buffers, depth };
    for (const port of this.setup.ports) port?.postMessage(message);
    this.joined = true;
    return true;
  }

  /** A worker other than 0: says it is ready, then waits for worker 0's join message; it starts with an empty level at that depth. */
  private awaitJoin(): { depth: number; flags: number } {
    this.control.markReady();
    const message = this.receiveFrom(0) as JoinMessage;
    if (message.type !== 'join') throw new Error(`worker 0 sent ${String(message.type)} before the join`);
    this.table = new SharedStateTable(message.buffers);
    return { depth: message.depth, flags: 0 };
  }

  /** The next message from worker `from`, waiting for it (spinning briefly, then sleeping); throws `SearchAborted` when the search was aborted. */
  private receiveFrom(from: number): unknown {
    const port = this.setup.ports[from] as MessagePort;
    let message = receiveMessageOnPort(port);
    for (let spin = 0; message === undefined; spin++) {
      if (this.control.aborted) throw new SearchAborted();
      if (spin > 1000) {
        if (spin % 20 === 0) this.control.waiting();
        Atomics.wait(this.idle, 0, 0, 1);
      }
      message = receiveMessageOnPort(port);
    }
    return message.message;
  }

  /** Worker 0 copies the table into one twice as large and hands the buffers to the others; all wait until it is done. */
  private grow(): boolean {
    const { worker, ports } = this.setup;
    if (this.table.statesMax >= tableStatesMax) return false;
    if (worker === 0) {
      this.table = SharedStateTable.grown(this.table, this.table.statesMax * 2);
      if (!this.joined) return true;
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
      const batch = this.receiveFrom(donation.from) as Array<{ index: number; data: unknown }>;
      const decode = this.model.decode;
      for (const handed of batch) this.current.push(decode !== undefined ? decode.call(this.model, handed.data, donation.from) : (handed.data as S), handed.index);
      this.handedOver += batch.length;
    }
  }

  /** Worker 0: whether `startOthers` was called. */
  private othersStarted = false;

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
        this.control.beat();
        this.tick();
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
