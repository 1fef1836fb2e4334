/**
 * What symmetry reduction needs besides canonical states (Model.symmetry): the liveness
 * graph of the real model rebuilt from the graph of orbits, and counterexamples
 * translated back into paths of the model itself.
 *
 * Liveness: an edge c -a-> c' of the orbit graph (c canonical, c' the canonical form of
 * a's successor, reached by renaming tau) stands for the edges (c, g) -> (c', tau.g) of
 * the real graph, one per element g, where (c, g) is the real state g^-1(c) and the
 * edge's fairness class is a's class renamed by g^-1. This covering graph has the real
 * graph's paths, dead ends and fairness (every real path lifts to it and every path of it
 * is a real path), so a fair non-goal cycle exists in one iff in the other: the check is
 * as sound as without symmetry (an orbit graph with the canonical states' own classes
 * would not be: a cycle through renamed states can take "the same" class on different
 * links). It costs the orbit graph's fair edges times the group's size.
 */
import { IntList } from './fingerprint.js';
import type { LivenessGraph } from './liveness.js';
import type { Model, ModelSymmetry } from './model.js';

export interface OrbitEdges {
  readonly from: IntList;
  readonly to: IntList;
  readonly cls: IntList;
  readonly action: IntList;
  /** The renaming that took each edge's successor to its canonical form. */
  readonly element: IntList;
  readonly length: number;
}

/** The real liveness graph over (orbit, element) pairs, numbered orbit * size + element. */
export function coveringLivenessGraph<S>(symmetry: ModelSymmetry<S>, orbits: number, edges: OrbitEdges, classNames: readonly string[], isGoal: (orbit: number) => boolean): LivenessGraph {
  const size = symmetry.size;
  const from = new IntList(Math.max(edges.length * size, 1));
  const to = new IntList(Math.max(edges.length * size, 1));
  const cls = new IntList(Math.max(edges.length * size, 1));
  const action = new IntList(Math.max(edges.length * size, 1));
  const classIds = new Map<string, number>();
  // Class ids of the covering graph, per (orbit-graph class, element).
  const renamed: number[][] = classNames.map((name) =>
    Array.from({ length: size }, (_, g) => {
      const real = symmetry.renameFairness(name, symmetry.inverse(g));
      let id = classIds.get(real);
      if (id === undefined) {
        id = classIds.size;
        classIds.set(real, id);
      }
      return id;
    }),
  );
  for (let e = 0; e < edges.length; e++) {
    const f = edges.from.at(e) * size;
    const t = edges.to.at(e) * size;
    const tau = edges.element.at(e);
    const byElement = renamed[edges.cls.at(e)] as number[];
    const a = edges.action.at(e);
    for (let g = 0; g < size; g++) {
      from.push(f + g);
      to.push(t + symmetry.compose(tau, g));
      cls.push(byElement[g] as number);
      action.push(a);
    }
  }
  return { states: orbits * size, edges: { from, to, cls, action, length: from.length }, isGoal: (state) => isGoal(Math.floor(state / size)) };
}

/**
 * A path of action indices over canonical states (what the search records) as a path of
 * the model itself from its initial state: at each step the real state is the canonical
 * one renamed by g^-1, so the real action is the one whose successor is the canonical
 * successor renamed by g^-1 (found by fingerprint among the real state's actions).
 */
export function translatePath<S, A>(model: Model<S, A>, symmetry: ModelSymmetry<S>, path: readonly number[], fingerprint: (state: S) => string): number[] {
  let real = model.initialState();
  let start = symmetry.canonical(real);
  let canonical = start.state;
  let element = start.element;
  const out: number[] = [];
  for (const [step, index] of path.entries()) {
    const action = model.actions(canonical)[index];
    if (action === undefined) throw new Error(`symmetry: step ${step} of the orbit path is not an enabled action`);
    const successor = model.next(canonical, action).state;
    const expected = fingerprint(symmetry.apply(successor, symmetry.inverse(element)));
    const actions = model.actions(real);
    let found = -1;
    let next = real;
    for (let i = 0; i < actions.length && found < 0; i++) {
      const candidate = model.next(real, actions[i] as A).state;
      if (fingerprint(candidate) === expected) {
        found = i;
        next = candidate;
      }
    }
    if (found < 0) throw new Error(`symmetry: no action of the real state matches step ${step} of the orbit path (the model is not symmetric under its renamings)`);
    out.push(found);
    real = next;
    start = symmetry.canonical(successor);
    canonical = start.state;
    element = symmetry.compose(start.element, element);
  }
  return out;
}
