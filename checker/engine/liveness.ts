/**
 * Liveness under weak fairness on the graph of fair transitions (environment actions
 * such as faults are left out: the property is judged after the last one). A run
 * violates "eventually goal" when it can end in a non-goal state with no fair action
 * (deadlock), or stay forever in a strongly connected set of non-goal states in which
 * every fairness class enabled in all of its states is also taken inside it (a fair
 * cycle). Quiescent-state checks alone would miss the second kind.
 */
import type { IntList } from './fingerprint.js';

export interface LivenessGraph {
  readonly states: number;
  readonly edges: { readonly from: IntList; readonly to: IntList; readonly cls: IntList; readonly action: IntList; readonly length: number };
  readonly isGoal: (state: number) => boolean;
}

export interface LivenessViolation {
  readonly kind: 'deadlock' | 'liveness';
  /** The state where the lasso's cycle begins (or the dead end). */
  readonly entry: number;
  /** Action indices of a cycle from `entry` back to it (empty for a deadlock). */
  readonly cycle: readonly number[];
}

export function findLivenessViolation(graph: LivenessGraph): LivenessViolation | null {
  const n = graph.states;
  const { from, to, cls, action, length } = graph.edges;
  // Compressed adjacency: edges grouped by source.
  const start = new Int32Array(n + 1);
  for (let e = 0; e < length; e++) start[from.at(e) + 1] = (start[from.at(e) + 1] as number) + 1;
  for (let i = 0; i < n; i++) start[i + 1] = (start[i + 1] as number) + (start[i] as number);
  const order = new Int32Array(length);
  const fill = start.slice(0, n);
  for (let e = 0; e < length; e++) {
    const f = from.at(e);
    order[fill[f] as number] = e;
    fill[f] = (fill[f] as number) + 1;
  }

  // Dead ends first: the earliest-found one gives the shortest stem.
  for (let s = 0; s < n; s++) if (start[s] === start[s + 1] && !graph.isGoal(s)) return { kind: 'deadlock', entry: s, cycle: [] };

  const component = tarjan(n, start, order, to, graph.isGoal);
  const members = membersByComponent(component);
  // Per fairness class, scratch for one component at a time (no Set or Map per state):
  // in how many of its states the class is enabled, the last state counted (so a state
  // counts a class once), and the last component in which it was taken inside.
  let classes = 0;
  for (let e = 0; e < length; e++) classes = Math.max(classes, cls.at(e) + 1);
  const enabledIn = new Int32Array(classes);
  const countedAt = new Int32Array(classes).fill(-1);
  const takenInside = new Int32Array(classes).fill(-1);
  // Components in the order of their first state (so the first fair one found is the same as ever).
  for (let first = 0; first < n; first++) {
    const c = component[first] as number;
    if (c < 0) continue; // a goal state belongs to no component
    const from = members.start[c] as number;
    const until = members.start[c + 1] as number;
    if ((members.states[from] as number) !== first) continue; // not the component's first state
    const size = until - from;
    /** The classes enabled somewhere in the component, in the order first seen. */
    const enabled: number[] = [];
    let hasCycle = size > 1;
    for (let m = from; m < until; m++) {
      const s = members.states[m] as number;
      for (let k = start[s] as number; k < (start[s + 1] as number); k++) {
        const e = order[k] as number;
        const x = cls.at(e);
        if (countedAt[x] !== s) {
          countedAt[x] = s;
          if (enabledIn[x] === 0) enabled.push(x);
          enabledIn[x] = (enabledIn[x] as number) + 1;
        }
        if (component[to.at(e)] === c) {
          takenInside[x] = c;
          if (to.at(e) === s) hasCycle = true;
        }
      }
    }
    const fair = enabled.every((x) => (enabledIn[x] as number) < size || takenInside[x] === c);
    const required = enabled.filter((x) => enabledIn[x] === size);
    for (const x of enabled) enabledIn[x] = 0;
    if (!hasCycle || !fair) continue;
    const states = Array.from(members.states.subarray(from, until));
    return { kind: 'liveness', entry: first, cycle: fairCycle(first, states, required, c, component, start, order, to, cls, action) };
  }
  return null;
}

/** The states of each component, grouped by component (a counting sort), each group in increasing order. */
function membersByComponent(component: Int32Array): { readonly start: Int32Array; readonly states: Int32Array } {
  let components = 0;
  for (let s = 0; s < component.length; s++) components = Math.max(components, (component[s] as number) + 1);
  const start = new Int32Array(components + 1);
  for (let s = 0; s < component.length; s++) {
    const c = component[s] as number;
    if (c >= 0) start[c + 1] = (start[c + 1] as number) + 1;
  }
  for (let c = 0; c < components; c++) start[c + 1] = (start[c + 1] as number) + (start[c] as number);
  const states = new Int32Array(start[components] as number);
  const fill = start.slice(0, components);
  for (let s = 0; s < component.length; s++) {
    const c = component[s] as number;
    if (c >= 0) {
      states[fill[c] as number] = s;
      fill[c] = (fill[c] as number) + 1;
    }
  }
  return { start, states };
}

/** Strongly connected components of the subgraph of non-goal states (goal states get -1). */
function tarjan(n: number, start: Int32Array, order: Int32Array, to: IntList, isGoal: (state: number) => boolean): Int32Array {
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const component = new Int32Array(n).fill(-1);
  const stack: number[] = [];
  const callStack: Array<{ v: number; k: number }> = [];
  let counter = 0;
  let components = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1 || isGoal(root)) continue;
    callStack.push({ v: root, k: start[root] as number });
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    while (callStack.length > 0) {
      const frame = callStack[callStack.length - 1] as { v: number; k: number };
      const v = frame.v;
      if (frame.k < (start[v + 1] as number)) {
        const w = to.at(order[frame.k++] as number);
        if (isGoal(w)) continue;
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = 1;
          callStack.push({ v: w, k: start[w] as number });
        } else if (onStack[w] === 1) {
          low[v] = Math.min(low[v] as number, index[w] as number);
        }
        continue;
      }
      callStack.pop();
      const parentFrame = callStack[callStack.length - 1];
      if (parentFrame !== undefined) low[parentFrame.v] = Math.min(low[parentFrame.v] as number, low[v] as number);
      if (low[v] === index[v]) {
        for (;;) {
          const w = stack.pop() as number;
          onStack[w] = 0;
          component[w] = components;
          if (w === v) break;
        }
        components++;
      }
    }
  }
  return component;
}

/**
 * A closed walk from `entry` inside its component that visits every state of it and
 * takes one internal edge of every fairness class enabled in all of them: so every
 * class continuously enabled along the walk is taken, and repeating it is a weakly fair
 * run that never reaches the goal.
 */
function fairCycle(
  entry: number,
  states: readonly number[],
  requiredClasses: readonly number[],
  c: number,
  component: Int32Array,
  start: Int32Array,
  order: Int32Array,
  to: IntList,
  cls: IntList,
  action: IntList,
): number[] {
  const inside = (e: number) => component[to.at(e)] === c;
  /** Shortest path of action indices from `from` to `target` inside the component (empty when equal). */
  const path = (from: number, target: number): number[] => {
    if (from === target) return [];
    const previous = new Map<number, { state: number; action: number }>([[from, { state: -1, action: -1 }]]);
    const queue = [from];
    for (let head = 0; head < queue.length; head++) {
      const s = queue[head] as number;
      for (let k = start[s] as number; k < (start[s + 1] as number); k++) {
        const e = order[k] as number;
        const t = to.at(e);
        if (!inside(e) || previous.has(t)) continue;
        previous.set(t, { state: s, action: action.at(e) });
        if (t === target) {
          const steps: number[] = [];
          for (let x = t; x !== from; ) {
            const p = previous.get(x) as { state: number; action: number };
            steps.push(p.action);
            x = p.state;
          }
          return steps.reverse();
        }
        queue.push(t);
      }
    }
    throw new Error('a strongly connected component is connected');
  };
  const walk: number[] = [];
  let current = entry;
  const visited = new Set<number>([entry]);
  const step = (target: number) => {
    walk.push(...path(current, target));
    current = target;
    visited.add(target);
  };
  for (const x of requiredClasses) {
    // One internal edge of class x, from the state nearest in the member list.
    let edge = -1;
    for (const s of states) {
      for (let k = start[s] as number; k < (start[s + 1] as number) && edge < 0; k++) {
        const e = order[k] as number;
        if (cls.at(e) === x && inside(e)) edge = e;
      }
      if (edge >= 0) break;
    }
    if (edge < 0) throw new Error('a required class is taken inside the component');
    const source = states.find((s) => (start[s] as number) <= order.indexOf(edge) && order.indexOf(edge) < (start[s + 1] as number)) as number;
    step(source);
    walk.push(action.at(edge));
    current = to.at(edge);
    visited.add(current);
  }
  for (const s of states) if (!visited.has(s)) step(s);
  step(entry);
  if (walk.length === 0) {
    // A single state with a self-loop: take the loop once.
    for (let k = start[entry] as number; k < (start[entry + 1] as number); k++) {
      const e = order[k] as number;
      if (to.at(e) === entry) return [action.at(e)];
    }
  }
  return walk;
}
