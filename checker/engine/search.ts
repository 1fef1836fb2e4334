/**
 * Explicit-state search: breadth-first (shortest counterexamples) or depth-first, with
 * 64-bit fingerprints, parent links, and bounds on states, depth, time and memory.
 * After an exhaustive search, liveness is checked on the graph of fair transitions.
 */
import { collisionProbability, fingerprintOf, FingerprintTable, IntList } from './fingerprint.js';
import { frontierFor } from './frontier.js';
import { findLivenessViolation } from './liveness.js';
import { MemoryPeaks } from './memory.js';
import type { Model, ModelViolation } from './model.js';
import { coveringLivenessGraph, translatePath } from './symmetry.js';

export interface SearchOptions {
  readonly strategy?: 'bfs' | 'dfs';
  readonly maxStates?: number;
  readonly maxDepth?: number;
  readonly maxSeconds?: number;
  readonly maxMemoryBytes?: number;
  /** Record fair edges and check liveness after an exhaustive search (default true when the model has a goal). */
  readonly liveness?: boolean;
  readonly onProgress?: (progress: SearchProgress) => void;
  readonly progressIntervalMs?: number;
  /** Use the model's symmetry reduction when it has one (default true). */
  readonly symmetry?: boolean;
}

export interface SearchProgress {
  readonly states: number;
  readonly transitions: number;
  readonly depth: number;
  readonly queued: number;
  readonly seconds: number;
  readonly statesPerSecond: number;
  /** Resident memory of the process (RSS: heap, typed arrays, every thread). */
  readonly memoryBytes: number;
}

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

export function search<S, A>(model: Model<S, A>, options: SearchOptions = {}): SearchResult {
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const strategy = options.strategy ?? 'bfs';
  const maxStates = options.maxStates ?? Number.POSITIVE_INFINITY;
  const maxDepth = options.maxDepth ?? Number.POSITIVE_INFINITY;
  const maxSeconds = options.maxSeconds ?? Number.POSITIVE_INFINITY;
  const maxMemory = options.maxMemoryBytes ?? Number.POSITIVE_INFINITY;
  const liveness = (options.liveness ?? true) && model.goal !== undefined;
  const progressInterval = options.progressIntervalMs ?? 1000;
  const symmetry = options.symmetry !== false && model.symmetry !== undefined && model.symmetry.size > 1 ? model.symmetry : undefined;

  const table = new FingerprintTable();
  const parent = new IntList();
  const parentAction = new IntList();
  const depthOf = new IntList();
  /** 1 where the state is a liveness goal (recorded at discovery, only when liveness is checked). */
  const goalOf = new IntList(liveness ? 1 << 16 : 1);
  const edgeFrom = new IntList(liveness ? 1 << 16 : 1);
  const edgeTo = new IntList(liveness ? 1 << 16 : 1);
  const edgeClass = new IntList(liveness ? 1 << 16 : 1);
  const edgeAction = new IntList(liveness ? 1 << 16 : 1);
  /** With symmetry: the renaming that took each edge's successor to its canonical form. */
  const edgeElement = new IntList(liveness && symmetry !== undefined ? 1 << 16 : 1);
  const classIds = new Map<string, number>();
  const sometimes = (model.sometimes ?? []).map((p) => ({ ...p, covered: false }));

  let transitions = 0;
  let deepest = 0;
  const peaks = new MemoryPeaks();
  let bound: string | undefined;
  let violation: Counterexample | null = null;

  const pathTo = (index: number): number[] => {
    const path: number[] = [];
    for (let i = index; parent.at(i) >= 0; i = parent.at(i)) path.push(parentAction.at(i));
    return path.reverse();
  };

  const fingerprint = model.fingerprint !== undefined ? (s: S) => (model.fingerprint as (s: S) => ReturnType<typeof fingerprintOf>)(s) : (s: S) => fingerprintOf(model.key(s));
  const initial = symmetry === undefined ? model.initialState() : symmetry.canonical(model.initialState()).state;
  table.add(fingerprint(initial), 0);
  parent.push(-1);
  parentAction.push(-1);
  depthOf.push(0);
  if (liveness) goalOf.push(model.goal?.(initial) === true ? 1 : 0);
  const initialViolation = model.invariants(initial)[0];
  if (initialViolation !== undefined) violation = { ...initialViolation, kind: 'safety', path: [] };

  // The frontier holds states with their indices; BFS takes the oldest, DFS the newest.
  const frontier = frontierFor(model, strategy);
  frontier.push(initial, 0);
  let lastProgress = started;
  /** What the memory bound is checked against: the heap and the search's own typed arrays (the table, parent, depth, goal and edge lists, the frontier). */
  const searchBytes = (heapBytes: number) =>
    heapBytes + table.bytes() + frontier.offHeapBytes() + [parent, parentAction, depthOf, goalOf, edgeFrom, edgeTo, edgeClass, edgeAction].reduce((sum, list) => sum + list.bytes(), 0);

  for (let item = frontier.take(); violation === null && item !== undefined; item = frontier.take()) {
    const depth = depthOf.at(item.index);
    if (depth >= maxDepth) {
      bound = `depth ${maxDepth}`;
      continue;
    }
    const actions = model.actions(item.state);
    for (let a = 0; a < actions.length; a++) {
      const action = actions[a] as A;
      const raw = model.next(item.state, action);
      transitions++;
      let step = raw;
      let element = 0;
      if (symmetry !== undefined) {
        const canonical = symmetry.canonical(raw.state);
        step = { state: canonical.state, violations: raw.violations };
        element = canonical.element;
      }
      for (const p of sometimes) if (!p.covered && p.holds(step.state, action)) p.covered = true;
      const transitionViolation = step.violations[0];
      if (transitionViolation !== undefined) {
        violation = { ...transitionViolation, kind: 'safety', path: [...pathTo(item.index), a] };
        break;
      }
      const fp = fingerprint(step.state);
      // One probe of the table: add the state under the next index unless it is known (or the bound is reached).
      let target = parent.length < maxStates ? table.add(fp, parent.length) : table.get(fp);
      if (target < 0) {
        if (parent.length >= maxStates) {
          bound = `${maxStates} states`;
          continue;
        }
        target = parent.length;
        parent.push(item.index);
        parentAction.push(a);
        depthOf.push(depth + 1);
        if (liveness) goalOf.push(model.goal?.(step.state) === true ? 1 : 0);
        if (depth + 1 > deepest) deepest = depth + 1;
        const stateViolation = model.invariants(step.state)[0];
        if (stateViolation !== undefined) {
          violation = { ...stateViolation, kind: 'safety', path: pathTo(target) };
          break;
        }
        frontier.push(step.state, target);
      }
      if (liveness) {
        const fairness = model.fairness(action);
        if (fairness !== null) {
          let id = classIds.get(fairness);
          if (id === undefined) {
            id = classIds.size;
            classIds.set(fairness, id);
          }
          edgeFrom.push(item.index);
          edgeTo.push(target);
          edgeClass.push(id);
          edgeAction.push(a);
          if (symmetry !== undefined) edgeElement.push(element);
        }
      }
    }
    const now = performance.now();
    if (now - lastProgress >= progressInterval) {
      lastProgress = now;
      const figures = peaks.sample();
      const memory = searchBytes(figures.heapBytes);
      const seconds = (now - started) / 1000;
      options.onProgress?.({
        states: parent.length,
        transitions,
        depth: deepest,
        queued: frontier.size,
        seconds,
        statesPerSecond: parent.length / seconds,
        memoryBytes: figures.residentBytes,
      });
      if (seconds > maxSeconds) {
        bound = `${maxSeconds} s`;
        break;
      }
      if (memory > maxMemory) {
        bound = `${Math.round(maxMemory / 2 ** 20)} MiB of memory`;
        break;
      }
    }
  }

  const exhaustive = violation === null && bound === undefined;
  let livenessChecked = false;
  if (exhaustive && liveness) {
    livenessChecked = true;
    const isGoal = (index: number) => goalOf.at(index) === 1;
    const edges = { from: edgeFrom, to: edgeTo, cls: edgeClass, action: edgeAction, length: edgeFrom.length };
    const found = findLivenessViolation(
      symmetry === undefined
        ? { states: parent.length, edges, isGoal }
        : coveringLivenessGraph(symmetry, parent.length, { ...edges, element: edgeElement }, [...classIds.keys()], isGoal),
    );
    if (found !== null) {
      const stem = pathTo(symmetry === undefined ? found.entry : Math.floor(found.entry / symmetry.size));
      violation = {
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
  }
  if (violation !== null && symmetry !== undefined) {
    const fp = (state: S) => {
      const f = fingerprint(state);
      return `${f.high}:${f.low}`;
    };
    violation = { ...violation, path: translatePath(model, symmetry, violation.path, fp) };
  }
  const seconds = (performance.now() - started) / 1000;
  peaks.sample();
  return {
    model: model.name,
    verdict: violation !== null ? 'violated' : exhaustive ? 'verified' : 'bounded',
    ...(bound !== undefined && violation === null ? { bound } : {}),
    states: parent.length,
    transitions,
    depth: deepest,
    seconds,
    statesPerSecond: parent.length / Math.max(seconds, 1e-9),
    cpuSeconds: cpuSecondsSince(cpuStarted),
    peakMemoryBytes: peaks.residentBytes,
    peakHeapBytes: peaks.heapBytes,
    peakArrayBuffersBytes: peaks.arrayBuffersBytes,
    collisionProbability: collisionProbability(parent.length),
    violation,
    livenessChecked,
    sometimes: sometimes.map((p) => ({ id: p.id, description: p.description, covered: p.covered })),
    workers: 1,
    ...(symmetry !== undefined ? { symmetryGroupSize: symmetry.size } : {}),
  };
}

/** Replays a path of action indices from the initial state. */
export function stateAt<S, A>(model: Model<S, A>, path: readonly number[]): S {
  let state = model.initialState();
  for (const index of path) {
    const action = model.actions(state)[index];
    if (action === undefined) throw new Error(`path step ${index} is not an enabled action`);
    state = model.next(state, action).state;
  }
  return state;
}

/** The actions and states along a path, for printing and replay. */
export function walkPath<S, A>(model: Model<S, A>, path: readonly number[]): Array<{ action: A; state: S; violations: readonly ModelViolation[] }> {
  let state = model.initialState();
  const steps: Array<{ action: A; state: S; violations: readonly ModelViolation[] }> = [];
  for (const index of path) {
    const action = model.actions(state)[index];
    if (action === undefined) throw new Error(`path step ${index} is not an enabled action`);
    const next = model.next(state, action);
    state = next.state;
    steps.push({ action, state, violations: [...next.violations, ...model.invariants(state)] });
  }
  return steps;
}

function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}
