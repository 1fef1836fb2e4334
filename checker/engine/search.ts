/**
 * Explicit-state search: breadth-first (shortest counterexamples) or depth-first, with
 * 64-bit fingerprints, parent links, and bounds on states, depth, time and memory.
 * After an exhaustive search, liveness is checked on the graph of fair transitions.
 */
import { fingerprintOf, FingerprintTable, IntList } from './fingerprint.js';
import { frontierFor } from './frontier.js';
import { findLivenessViolation } from './liveness.js';
import { MemoryPeaks } from './memory.js';
import type { Model, ModelSymmetry, ModelViolation } from './model.js';
import { livenessCounterexample, searchResultOf, type Counterexample, type SearchResult } from './search-result.js';
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

/** The result's types live with the code that builds them (search-result.ts), shared with the parallel search. */
export type { Counterexample, SearchResult, Verdict } from './search-result.js';

/**
 * The states found so far, by index: each one's parent and the action that reached it,
 * its depth, whether it is a liveness goal, and the fair edges between states (recorded
 * only when liveness is checked; with symmetry, the renaming of each edge's successor).
 */
class SearchGraph {
  readonly parent = new IntList();
  readonly parentAction = new IntList();
  readonly depthOf = new IntList();
  /** 1 where the state is a liveness goal (recorded at discovery, only when liveness is checked). */
  readonly goalOf: IntList;
  readonly edgeFrom: IntList;
  readonly edgeTo: IntList;
  readonly edgeClass: IntList;
  readonly edgeAction: IntList;
  readonly edgeElement: IntList;
  readonly classIds = new Map<string, number>();

  constructor(
    readonly liveness: boolean,
    readonly withSymmetry: boolean,
  ) {
    const size = liveness ? 1 << 16 : 1;
    this.goalOf = new IntList(size);
    this.edgeFrom = new IntList(size);
    this.edgeTo = new IntList(size);
    this.edgeClass = new IntList(size);
    this.edgeAction = new IntList(size);
    this.edgeElement = new IntList(liveness && withSymmetry ? 1 << 16 : 1);
  }

  get states(): number {
    return this.parent.length;
  }

  addState(parent: number, action: number, depth: number, goal: boolean): void {
    this.parent.push(parent);
    this.parentAction.push(action);
    this.depthOf.push(depth);
    if (this.liveness) this.goalOf.push(goal ? 1 : 0);
  }

  addFairEdge(from: number, to: number, fairness: string, action: number, element: number): void {
    let id = this.classIds.get(fairness);
    if (id === undefined) {
      id = this.classIds.size;
      this.classIds.set(fairness, id);
    }
    this.edgeFrom.push(from);
    this.edgeTo.push(to);
    this.edgeClass.push(id);
    this.edgeAction.push(action);
    if (this.withSymmetry) this.edgeElement.push(element);
  }

  /** The action indices from the initial state to state `index`. */
  pathTo(index: number): number[] {
    const path: number[] = [];
    for (let i = index; this.parent.at(i) >= 0; i = this.parent.at(i)) path.push(this.parentAction.at(i));
    return path.reverse();
  }

  bytes(): number {
    return [this.parent, this.parentAction, this.depthOf, this.goalOf, this.edgeFrom, this.edgeTo, this.edgeClass, this.edgeAction].reduce((sum, list) => sum + list.bytes(), 0);
  }
}

/** After an exhaustive search: a fair cycle or a dead end that never reaches the goal, as a counterexample; null when there is none. */
function livenessViolationOf<S, A>(model: Model<S, A>, graph: SearchGraph, symmetry: ModelSymmetry<S> | undefined): Counterexample | null {
  const isGoal = (index: number) => graph.goalOf.at(index) === 1;
  const edges = { from: graph.edgeFrom, to: graph.edgeTo, cls: graph.edgeClass, action: graph.edgeAction, length: graph.edgeFrom.length };
  const found = findLivenessViolation(
    symmetry === undefined
      ? { states: graph.states, edges, isGoal }
      : coveringLivenessGraph(symmetry, graph.states, { ...edges, element: graph.edgeElement }, [...graph.classIds.keys()], isGoal),
  );
  if (found === null) return null;
  return livenessCounterexample(model, found, graph.pathTo(symmetry === undefined ? found.entry : Math.floor(found.entry / symmetry.size)));
}

/** The options of a search with their defaults filled in. */
function settingsOf<S, A>(model: Model<S, A>, options: SearchOptions) {
  return {
    strategy: options.strategy ?? 'bfs',
    maxStates: options.maxStates ?? Number.POSITIVE_INFINITY,
    maxDepth: options.maxDepth ?? Number.POSITIVE_INFINITY,
    liveness: (options.liveness ?? true) && model.goal !== undefined,
    progressInterval: options.progressIntervalMs ?? 1000,
    symmetry: options.symmetry !== false && model.symmetry !== undefined && model.symmetry.size > 1 ? model.symmetry : undefined,
  } as const;
}

/**
 * Reports progress and returns the bound in time or memory the search has reached, if any.
 * The memory bound counts the heap and the search's own typed arrays (`searchArraysBytes`:
 * the table, the graph's lists, the frontier).
 */
function reportProgress(options: SearchOptions, peaks: MemoryPeaks, seconds: number, counts: Pick<SearchProgress, 'states' | 'transitions' | 'depth' | 'queued'>, searchArraysBytes: number): string | undefined {
  const figures = peaks.sample();
  options.onProgress?.({ ...counts, seconds, statesPerSecond: counts.states / seconds, memoryBytes: figures.residentBytes });
  const maxSeconds = options.maxSeconds ?? Number.POSITIVE_INFINITY;
  const maxMemory = options.maxMemoryBytes ?? Number.POSITIVE_INFINITY;
  if (seconds > maxSeconds) return `${maxSeconds} s`;
  if (figures.heapBytes + searchArraysBytes > maxMemory) return `${Math.round(maxMemory / 2 ** 20)} MiB of memory`;
  return undefined;
}

export function search<S, A>(model: Model<S, A>, options: SearchOptions = {}): SearchResult {
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const { strategy, maxStates, maxDepth, liveness, progressInterval, symmetry } = settingsOf(model, options);

  const table = new FingerprintTable();
  const graph = new SearchGraph(liveness, symmetry !== undefined);
  const sometimes = (model.sometimes ?? []).map((p) => ({ ...p, covered: false }));

  let transitions = 0;
  let deepest = 0;
  const peaks = new MemoryPeaks();
  let bound: string | undefined;
  let violation: Counterexample | null = null;

  const fingerprint = model.fingerprint !== undefined ? (s: S) => (model.fingerprint as (s: S) => ReturnType<typeof fingerprintOf>)(s) : (s: S) => fingerprintOf(model.key(s));
  const initial = symmetry === undefined ? model.initialState() : symmetry.canonical(model.initialState()).state;
  table.add(fingerprint(initial), 0);
  graph.addState(-1, -1, 0, liveness && model.goal?.(initial) === true);
  const initialViolation = model.invariants(initial)[0];
  if (initialViolation !== undefined) violation = { ...initialViolation, kind: 'safety', path: [] };

  // The frontier holds states with their indices; BFS takes the oldest, DFS the newest.
  const frontier = frontierFor(model, strategy);
  frontier.push(initial, 0);
  let lastProgress = started;

  for (let item = frontier.take(); violation === null && item !== undefined; item = frontier.take()) {
    const depth = graph.depthOf.at(item.index);
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
        violation = { ...transitionViolation, kind: 'safety', path: [...graph.pathTo(item.index), a] };
        break;
      }
      const fp = fingerprint(step.state);
      // One probe of the table: add the state under the next index unless it is known (or the bound is reached).
      let target = graph.states < maxStates ? table.add(fp, graph.states) : table.get(fp);
      if (target < 0) {
        if (graph.states >= maxStates) {
          bound = `${maxStates} states`;
          continue;
        }
        target = graph.states;
        graph.addState(item.index, a, depth + 1, liveness && model.goal?.(step.state) === true);
        if (depth + 1 > deepest) deepest = depth + 1;
        const stateViolation = model.invariants(step.state)[0];
        if (stateViolation !== undefined) {
          violation = { ...stateViolation, kind: 'safety', path: graph.pathTo(target) };
          break;
        }
        frontier.push(step.state, target);
      }
      if (liveness) {
        const fairness = model.fairness(action);
        if (fairness !== null) graph.addFairEdge(item.index, target, fairness, a, element);
      }
    }
    const now = performance.now();
    if (now - lastProgress >= progressInterval) {
      lastProgress = now;
      const stop = reportProgress(options, peaks, (now - started) / 1000, { states: graph.states, transitions, depth: deepest, queued: frontier.size }, table.bytes() + frontier.offHeapBytes() + graph.bytes());
      if (stop !== undefined) {
        bound = stop;
        break;
      }
    }
  }

  const exhaustive = violation === null && bound === undefined;
  const livenessChecked = exhaustive && liveness;
  if (livenessChecked) violation = livenessViolationOf(model, graph, symmetry);
  if (violation !== null && symmetry !== undefined) {
    const fp = (state: S) => {
      const f = fingerprint(state);
      return `${f.high}:${f.low}`;
    };
    violation = { ...violation, path: translatePath(model, symmetry, violation.path, fp) };
  }
  const seconds = (performance.now() - started) / 1000;
  peaks.sample();
  return searchResultOf(
    model,
    {
      violation, bound, exhaustive, livenessChecked, states: graph.states, transitions, depth: deepest, seconds, cpuSeconds: cpuSecondsSince(cpuStarted),
      peakMemoryBytes: peaks.residentBytes, peakHeapBytes: peaks.heapBytes, peakArrayBuffersBytes: peaks.arrayBuffersBytes,
      sometimes: sometimes.map((p) => ({ id: p.id, description: p.description, covered: p.covered })), workers: 1,
    },
    symmetry !== undefined ? { symmetryGroupSize: symmetry.size } : {},
  );
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
