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

  const component = tarjan(n, start, order, to);
  const members = new Map<number, number[]>();
  for (let s = 0; s < n; s++) {
    const c = component[s] as number;
    const list = members.get(c);
    if (list === undefined) members.set(c, [s]);
    else list.push(s);
  }
  for (const states of members.values()) {
    if (states.some((s) => graph.isGoal(s))) continue;
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
    return { kind: 'liveness', entry, cycle: cycleThrough(entry, c, component, start, order, to, action) };
  }
  return null;
}

function tarjan(n: number, start: Int32Array, order: Int32Array, to: IntList): Int32Array {
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const component = new Int32Array(n).fill(-1);
  const stack: number[] = [];
  const callStack: Array<{ v: number; k: number }> = [];
  let counter = 0;
  let components = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    callStack.push({ v: root, k: start[root] as number });
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    while (callStack.length > 0) {
      const frame = callStack[callStack.length - 1] as { v: number; k: number };
      const v = frame.v;
      if (frame.k < (start[v + 1] as number)) {
        const w = to.at(order[frame.k++] as number);
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

/** Shortest cycle from `entry` back to itself inside its component, as action indices. */
function cycleThrough(entry: number, c: number, component: Int32Array, start: Int32Array, order: Int32Array, to: IntList, action: IntList): number[] {
  const previous = new Map<number, { state: number; action: number }>();
  const queue = [entry];
  for (let head = 0; head < queue.length; head++) {
    const s = queue[head] as number;
    for (let k = start[s] as number; k < (start[s + 1] as number); k++) {
      const e = order[k] as number;
      const t = to.at(e);
      if (component[t] !== c) continue;
      if (t === entry) {
        const cycle = [action.at(e)];
        for (let x = s; x !== entry; ) {
          const p = previous.get(x) as { state: number; action: number };
          cycle.push(p.action);
          x = p.state;
        }
        return cycle.reverse();
      }
      if (!previous.has(t) && t !== entry) {
        previous.set(t, { state: s, action: action.at(e) });
        queue.push(t);
      }
    }
  }
  return [];
}
