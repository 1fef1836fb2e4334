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
  const members = new Map<number, number[]>();
  for (let s = 0; s < n; s++) {
    const c = component[s] as number;
    if (c < 0) continue; // a goal state belongs to no component
    const list = members.get(c);
    if (list === undefined) members.set(c, [s]);
    else list.push(s);
  }
  for (const states of members.values()) {
    const c = component[states[0] as number] as number;
    /** For each fairness class, in how many of the component's states it is enabled. */
    const enabledIn = new Map<number, number>();
    const inside = new Set<number>();
    let hasCycle = states.length > 1;
    for (const s of states) {
      const here = new Set<number>();
      for (let k = start[s] as number; k < (start[s + 1] as number); k++) {
        const e = order[k] as number;
        here.add(cls.at(e));
        if (component[to.at(e)] === c) {
          inside.add(cls.at(e));
          if (to.at(e) === s) hasCycle = true;
        }
      }
      for (const x of here) enabledIn.set(x, (enabledIn.get(x) ?? 0) + 1);
    }
    if (!hasCycle) continue;
    const fair = [...enabledIn.entries()].every(([x, count]) => count < states.length || inside.has(x));
    if (!fair) continue;
    const entry = Math.min(...states);
    const required = [...enabledIn.entries()].filter(([, count]) => count === states.length).map(([x]) => x);
    return { kind: 'liveness', entry, cycle: fairCycle(entry, states, required, c, component, start, order, to, cls, action) };
  }
  return null;
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
