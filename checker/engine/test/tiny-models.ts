/**
 * Tiny models for the engine's own tests, each small enough that its state count,
 * transition count, depth and shortest counterexample are derived by hand below (and
 * asserted exactly by the tests). "Transitions" is what the engine counts: one per call of
 * `next`, that is, the sum over expanded states of the number of enabled actions.
 */
import type { Model, ModelViolation, SometimesProperty } from '../model.js';

const none: readonly ModelViolation[] = [];

// ---------------------------------------------------------------------------------------
// Counter modulo N: actions [increment, decrement] (indices 0 and 1) in every state.
//   states      = N (0..N-1, all reachable)
//   transitions = 2N (two enabled actions in every state, each counted once)
//   BFS depth   = floor(N / 2) (the distance from 0 to k is min(k, N - k))
//   "x != k" is broken by BFS at depth min(k, N - k): k increments ([0,0,...]) when
//   k <= N / 2, else N - k decrements ([1,1,...]).
//   DFS (the engine pushes increment then decrement and pops the last pushed) runs
//   downwards from 0: it discovers 1 and N-1 from 0, then N-2, N-3, ... 2 by decrements,
//   so its deepest discovery is at depth N - 2 and it reaches k (2 <= k <= N-1) by N - k
//   decrements.
// ---------------------------------------------------------------------------------------
export type CounterAction = 'increment' | 'decrement';

export interface CounterOptions {
  readonly modulus: number;
  /** When set, the invariant "x != forbidden" (ID COUNTER-AVOIDS). */
  readonly forbidden?: number;
  readonly sometimes?: readonly SometimesProperty<number, CounterAction>[];
}

export function counterModel(options: CounterOptions): Model<number, CounterAction> {
  const { modulus, forbidden } = options;
  return {
    name: `counter-mod-${modulus}`,
    initialState: () => 0,
    actions: () => ['increment', 'decrement'],
    next: (x, action) => ({ state: action === 'increment' ? (x + 1) % modulus : (x + modulus - 1) % modulus, violations: none }),
    key: (x) => String(x),
    invariants: (x) => (x === forbidden ? [{ property: 'COUNTER-AVOIDS', message: `x reached ${forbidden}` }] : none),
    fairness: () => 'counter',
    ...(options.sometimes !== undefined ? { sometimes: options.sometimes } : {}),
    describe: (action) => action,
  };
}

// ---------------------------------------------------------------------------------------
// Two independent counters x in 0..a and y in 0..b; actions, in this order, incrementX
// (when x < a) and incrementY (when y < b), so an action's index depends on what is enabled.
//   states      = (a+1)(b+1)
//   transitions = a(b+1) + b(a+1) = 2ab + a + b   (incrementX is enabled in the a(b+1)
//                 states with x < a, incrementY in the b(a+1) states with y < b)
//   depth       = a + b (every step adds 1 to x + y, so every path to (x, y) has length x + y)
//   "x + y < K" (K <= a + b) is broken first at depth K, and EVERY counterexample (BFS
//   or DFS) has length exactly K.
// For a = 3, b = 4: 20 states, 31 transitions, depth 7.
//   BFS with K = 5: depth-d states are discovered in order of decreasing x, so the first
//   depth-4 state expanded is (3,1), whose only action is incrementY -> (3,2): path
//   [0,0,0,0,0] (three incrementX, then incrementY twice at index 0). Discovered before it:
//   all 14 states with x + y <= 4, plus (3,2) = 15 states; transitions = the 19 of the ten
//   states with x + y <= 3 (only (3,0) has one action) + 1 from (3,1) = 20.
//   DFS with K = 5: follows incrementY first: (0,1) .. (0,4), then (0,4)'s only action
//   incrementX -> (1,4): path [1,1,1,1,0]; discovered (0,0), (1,0), (0,1), (1,1), (0,2),
//   (1,2), (0,3), (1,3), (0,4), (1,4) = 10 states; transitions 2+2+2+2+1 = 9.
// ---------------------------------------------------------------------------------------
export interface Pair {
  readonly x: number;
  readonly y: number;
}
export type PairAction = 'incrementX' | 'incrementY';

export function twoCountersModel(a: number, b: number, sumLimit?: number): Model<Pair, PairAction> {
  return {
    name: `two-counters-${a}-${b}`,
    initialState: () => ({ x: 0, y: 0 }),
    actions: ({ x, y }) => [...(x < a ? (['incrementX'] as const) : []), ...(y < b ? (['incrementY'] as const) : [])],
    next: ({ x, y }, action) => ({ state: action === 'incrementX' ? { x: x + 1, y } : { x, y: y + 1 }, violations: none }),
    key: ({ x, y }) => `${x},${y}`,
    invariants: ({ x, y }) =>
      sumLimit !== undefined && x + y >= sumLimit ? [{ property: 'SUM-BELOW-LIMIT', message: `x + y = ${x + y} >= ${sumLimit}` }] : none,
    fairness: (action) => action,
    describe: (action) => action,
  };
}

// ---------------------------------------------------------------------------------------
// A two-process mutex. Each process p has pc[p] in {0 idle, 1 checked, 2 critical} and
// they share `lock`. Actions, process 0's first, at most one per process:
//   buggy (check then set, not atomic):
//     check  pc=0 and lock=0 -> pc=1
//     enter  pc=1            -> pc=2, lock=1
//     exit   pc=2            -> pc=0, lock=0
//   atomic (test-and-set): acquire pc=0 and lock=0 -> pc=2, lock=1; exit as above.
// Invariant MUTEX: not both critical. State written (pc0, pc1, lock).
//
// Buggy, reachable graph (13 states, 24 transitions; every state has 2 actions except
// (2,0,1) and (0,2,1), where the other process is blocked on the lock):
//   d0 (0,0,0) -> (1,0,0) (0,1,0)
//   d1 (1,0,0) -> (2,0,1) (1,1,0)     (0,1,0) -> (1,1,0) (0,2,1)
//   d2 (2,0,1) -> (0,0,0)             (1,1,0) -> (2,1,1) (1,2,1)     (0,2,1) -> (0,0,0)
//   d3 (2,1,1) -> (0,1,0) (2,2,1)     (1,2,1) -> (2,2,1) (1,0,0)
//   d4 (2,2,1) -> (0,2,0) (2,0,0)
//   d5 (0,2,0) -> (1,2,0) (0,0,0)     (2,0,0) -> (0,0,0) (2,1,0)
//   d6 (1,2,0) -> (2,2,1) (1,0,0)     (2,1,0) -> (0,1,0) (2,2,1)
//   ((2,2,0) is unreachable: both processes enter with lock := 1.) Depth 6.
// The shortest MUTEX violation has 4 steps (each process needs check + enter, and both
// must check before either enters).
//   BFS finds it expanding (2,1,1), the first d3 state: path [0,1,0,1] (P0 check,
//   P1 check, P0 enter, P1 enter); 9 states (d0..d3 plus (2,2,1)); transitions
//   2+2+2+1+2+1 (d0..d2) + 2 from (2,1,1) = 12.
//   DFS: (0,0,0) pushes (1,0,0), (0,1,0); pops (0,1,0) -> pushes (1,1,0), (0,2,1); pops
//   (0,2,1) (one action, to a known state); pops (1,1,0) -> pushes (2,1,1), (1,2,1);
//   pops (1,2,1), whose first action P0 enter reaches (2,2,1): path [1,0,1,0]; 8 states;
//   transitions 2+2+1+2+1 = 8.
// Atomic: (0,0,0) -> (2,0,1) (0,2,1), each of which exits back: 3 states, 4 transitions,
//   depth 1, no violation, and no dead end (every walk runs to its full depth).
// ---------------------------------------------------------------------------------------
export interface MutexState {
  readonly pc: readonly [number, number];
  readonly lock: number;
}
export interface MutexAction {
  readonly process: 0 | 1;
  readonly step: 'check' | 'enter' | 'acquire' | 'exit';
}

export function mutexModel(variant: 'buggy' | 'atomic', options: { readonly checkMutex?: boolean } = {}): Model<MutexState, MutexAction> {
  const checkMutex = options.checkMutex ?? true;
  const stepOf = (pc: number, lock: number): MutexAction['step'] | null => {
    if (pc === 2) return 'exit';
    if (variant === 'atomic') return pc === 0 && lock === 0 ? 'acquire' : null;
    if (pc === 1) return 'enter';
    return lock === 0 ? 'check' : null;
  };
  return {
    name: `mutex-${variant}`,
    initialState: () => ({ pc: [0, 0], lock: 0 }),
    actions: ({ pc, lock }) => {
      const actions: MutexAction[] = [];
      for (const process of [0, 1] as const) {
        const step = stepOf(pc[process], lock);
        if (step !== null) actions.push({ process, step });
      }
      return actions;
    },
    next: ({ pc, lock }, { process, step }) => {
      const nextPc: [number, number] = [pc[0], pc[1]];
      let nextLock = lock;
      if (step === 'check') nextPc[process] = 1;
      else if (step === 'enter' || step === 'acquire') {
        nextPc[process] = 2;
        nextLock = 1;
      } else {
        nextPc[process] = 0;
        nextLock = 0;
      }
      return { state: { pc: nextPc, lock: nextLock }, violations: none };
    },
    key: ({ pc, lock }) => `${pc[0]},${pc[1]},${lock}`,
    invariants: ({ pc }) => (checkMutex && pc[0] === 2 && pc[1] === 2 ? [{ property: 'MUTEX', message: 'both processes are critical' }] : none),
    fairness: ({ process }) => `process-${process}`,
    describe: ({ process, step }) => `P${process} ${step}`,
  };
}

// ---------------------------------------------------------------------------------------
// A transition violation vs a state invariant. Counter 0..3; actions, in order,
// increment (x < 3: x+1) and jump (x < 2: x+2). With `jumpIsViolation`, `next` reports
// NO-JUMP on every jump; the invariant NOT-THREE forbids x = 3.
//   jumpIsViolation: BFS expands 0: increment -> 1 (new), jump -> NO-JUMP: path [1],
//     2 states (0, 1; the jump's target is not added), 2 transitions.
//   otherwise: 0 -> 1, 2; expanding 1: increment -> 2 (known), jump -> 3 breaks
//     NOT-THREE: path [0,1], 4 states, 4 transitions.
// ---------------------------------------------------------------------------------------
export type StepAction = 'increment' | 'jump';

export function jumpModel(jumpIsViolation: boolean, options: { readonly initial?: number } = {}): Model<number, StepAction> {
  return {
    name: 'jump',
    initialState: () => options.initial ?? 0,
    actions: (x) => [...(x < 3 ? (['increment'] as const) : []), ...(x < 2 ? (['jump'] as const) : [])],
    next: (x, action) =>
      action === 'increment'
        ? { state: x + 1, violations: none }
        : { state: x + 2, violations: jumpIsViolation ? [{ property: 'NO-JUMP', message: `jumped from ${x}` }] : none },
    key: (x) => String(x),
    invariants: (x) => (x === 3 ? [{ property: 'NOT-THREE', message: 'x = 3' }] : none),
    fairness: () => 'counter',
    describe: (action) => action,
  };
}

// ---------------------------------------------------------------------------------------
// Explicit graphs, for liveness: states are names, actions are the listed edges in order.
// ---------------------------------------------------------------------------------------
export interface GraphEdge {
  readonly label: string;
  readonly to: string;
  /** Fairness class, or null for an environment action. */
  readonly fairness: string | null;
}

export interface GraphSpec {
  readonly name: string;
  readonly initial: string;
  readonly edges: Readonly<Record<string, readonly GraphEdge[]>>;
  /** Goal states; omit to have no liveness goal. */
  readonly goal?: readonly string[];
}

export function graphModel(spec: GraphSpec): Model<string, GraphEdge> {
  const goal = spec.goal;
  return {
    name: spec.name,
    initialState: () => spec.initial,
    actions: (state) => spec.edges[state] ?? [],
    next: (_state, edge) => ({ state: edge.to, violations: none }),
    key: (state) => state,
    invariants: () => none,
    fairness: (edge) => edge.fairness,
    ...(goal !== undefined ? { goal: (state: string) => goal.includes(state), goalProperty: 'EVENTUALLY-GOAL' } : {}),
    describe: (edge) => edge.label,
  };
}

const edge = (label: string, to: string, fairness: string | null): GraphEdge => ({ label, to, fairness });

/**
 * (a) Every fair run reaches the goal: two processes each finish once; goal = both done.
 * 4 states (00, 10, 01, 11), transitions 2+1+1+0 = 4; the only dead end, 11, is the goal.
 */
export const bothFinish = graphModel({
  name: 'both-finish',
  initial: '00',
  edges: {
    '00': [edge('P finishes', '10', 'P'), edge('Q finishes', '01', 'Q')],
    '10': [edge('Q finishes', '11', 'Q')],
    '01': [edge('P finishes', '11', 'P')],
  },
  goal: ['11'],
});

/**
 * (b) A fair cycle that never converges, with no deadlock: after `start`, process T ticks
 * around 0 -> 1 -> 2 -> 0 forever; process F could finish only from 0, so F is not enabled
 * throughout the cycle and weak fairness does not force it. The only dead end, done, is the
 * goal, so a check of quiescent states alone would pass.
 * BFS indices: s=0, z0=1, z1=2, done=3, z2=4; 5 states, transitions 1+2+1+0+1 = 5.
 * Lasso: stem [0] (start), cycle [0,0,0] (tick x3) from z0: path [0,0,0,0], cycleStart 1.
 * (c) `finishEverywhere`: F can finish from every tick state, so it is enabled throughout
 * the cycle yet never taken inside it: the cycle is unfair and the model is verified.
 * 5 states, transitions 1+2+2+2+0 = 7. With `finishClass` 'T' (finishing and ticking are
 * one process) the cycle does take class T, which is all that weak fairness asks: violated.
 */
export function tickerModel(options: { readonly finishEverywhere: boolean; readonly finishClass?: string }): Model<string, GraphEdge> {
  const finishClass = options.finishClass ?? 'F';
  const finish = edge('F finishes', 'done', finishClass);
  return graphModel({
    name: options.finishEverywhere ? 'ticker-unfair-cycle' : 'ticker-fair-cycle',
    initial: 's',
    edges: {
      s: [edge('start', 'z0', 'T')],
      z0: [edge('tick', 'z1', 'T'), finish],
      z1: [edge('tick', 'z2', 'T'), ...(options.finishEverywhere ? [finish] : [])],
      z2: [edge('tick', 'z0', 'T'), ...(options.finishEverywhere ? [finish] : [])],
    },
    goal: ['done'],
  });
}

/**
 * (d) A dead end that is not the goal: from s, `left` reaches the dead end d, `right` the
 * goal g. Indices s=0, d=1, g=2; 3 states, 2 transitions; deadlock at d, path [0].
 */
export const deadEnd = graphModel({
  name: 'dead-end',
  initial: 's',
  edges: { s: [edge('left', 'd', 'P'), edge('right', 'g', 'P')] },
  goal: ['g'],
});

/**
 * (e) The only non-converging cycle a -> b -> a uses an environment action (`disturb`,
 * fairness null): left out of the fair graph, the cycle disappears and the model is
 * verified. Indices a=0, g=1, b=2; 3 states, transitions 2+0+1 = 3. With
 * `disturbClass` set, disturb is fair, and a -> b -> a is a fair cycle (F is enabled in a
 * only, R in a only, P in b only): violated, path [1,0], cycleStart 0.
 */
export function disturbedModel(disturbClass: string | null): Model<string, GraphEdge> {
  return graphModel({
    name: 'disturbed',
    initial: 'a',
    edges: {
      a: [edge('F finishes', 'g', 'F'), edge('disturb', 'b', disturbClass)],
      b: [edge('recover', 'a', 'P')],
    },
    goal: ['g'],
  });
}

/**
 * A non-goal self-loop: `spin` (class S) at s, and with `canFinish` also `finish` (class F)
 * to the goal g. Without finish: 1 state, 1 transition, violated with cycle [0] from s.
 * With finish: F is enabled in s (all of the singleton component) and never taken inside:
 * unfair, verified; 2 states, 2 transitions.
 */
export function spinnerModel(canFinish: boolean): Model<string, GraphEdge> {
  return graphModel({
    name: 'spinner',
    initial: 's',
    edges: { s: [edge('spin', 's', 'S'), ...(canFinish ? [edge('finish', 'g', 'F')] : [])] },
    goal: ['g'],
  });
}

/**
 * Starvation under a test-and-set lock, goal "P0 is critical". States (pc0 pc1 lock):
 * 000 -> 201 (P0 acquires) and 021 (P1 acquires). P1 always exits (021 -> 000); with
 * `p0Exits` P0 does too (201 -> 000), otherwise 201 is absorbing.
 * The run 000 -> 021 -> 000 -> ... starves P0 and is weakly fair: P1 acts in every state,
 * and P0's acquire is enabled in 000 only, not throughout. So "eventually P0 is critical"
 * is violated in both variants, by the lasso [1,0] from 000 (cycleStart 0).
 * 3 states; transitions 2+1+1 = 4 with p0Exits, 3 without.
 * With p0Exits the goal 201 lies in the same strongly connected component as the
 * starving cycle (000 -> 201 -> 000), which the engine skips as a whole (see liveness.test.ts).
 */
export function starvationModel(p0Exits: boolean): Model<string, GraphEdge> {
  return graphModel({
    name: p0Exits ? 'starvation-cyclic' : 'starvation-absorbing',
    initial: '000',
    edges: {
      '000': [edge('P0 acquires', '201', 'P0'), edge('P1 acquires', '021', 'P1')],
      '021': [edge('P1 exits', '000', 'P1')],
      ...(p0Exits ? { '201': [edge('P0 exits', '000', 'P0')] } : {}),
    },
    goal: ['201'],
  });
}

/**
 * A fair component whose shortest cycle is unfair. a: [p -> b, q -> c], b: [p -> a,
 * q -> c], c: [p -> a]; no goal is ever reached. Component {a, b, c}: class P is enabled in
 * all three and taken inside, Q is not enabled in c, so the component is fair: violated.
 * But the cycle a -> b -> a keeps Q enabled in both of its states and never takes it: an
 * unfair lasso. Fair lassos exist: a -> c -> a, or a -> b -> c -> a.
 * Indices a=0, b=1, c=2; 3 states, 5 transitions.
 */
export const unfairShortestCycle = graphModel({
  name: 'unfair-shortest-cycle',
  initial: 'a',
  edges: {
    a: [edge('p', 'b', 'P'), edge('q', 'c', 'Q')],
    b: [edge('p', 'a', 'P'), edge('q', 'c', 'Q')],
    c: [edge('p', 'a', 'P')],
  },
  goal: ['unreachable'],
});
