import type { Fingerprint } from './fingerprint.js';

/**
 * What the search engine explores: any finite transition system. The Kubedirect chain
 * is one model (checker/chain/); the engine's own tests use tiny ones with known counts.
 */

export interface ModelViolation {
  /** A property ID of spec/properties.ts, or a model's own ID in tests. */
  readonly property: string;
  readonly message: string;
}

export interface SometimesProperty<S, A> {
  readonly id: string;
  readonly description: string;
  /** Checked on every transition (action and the state it leads to). */
  readonly holds: (next: S, action: A) => boolean;
}

export interface Model<S, A> {
  readonly name: string;
  initialState(): S;
  /** The enabled actions, in a deterministic order (counterexamples refer to them by index). */
  actions(state: S): readonly A[];
  /** The successor, with any property broken by the transition itself. */
  next(state: S, action: A): { readonly state: S; readonly violations: readonly ModelViolation[] };
  /** A canonical key: two states are the same iff their keys are equal. */
  key(state: S): string;
  /** Optional fast path: the 64-bit fingerprint of `key(state)`'s content, without building the key. */
  fingerprint?(state: S): Fingerprint;
  /** State invariants. */
  invariants(state: S): readonly ModelViolation[];
  /**
   * Liveness: the fairness class of an action, or null for an environment action (fault,
   * scale request) that is never owed fairness and is left out of the liveness graph:
   * liveness is judged after the last environment action.
   */
  fairness(action: A): string | null;
  /** Liveness goal (e.g. converged). Omit to skip liveness. */
  readonly goal?: (state: S) => boolean;
  /** The liveness property the goal stands for (for reports). */
  readonly goalProperty?: string;
  readonly sometimes?: readonly SometimesProperty<S, A>[];
  describe(action: A): string;
  /**
   * Optional compact storage: a state as `packedWidth` int32 words (`pack` writes them at
   * `at`, `unpack` rebuilds an equal state). With these the sequential search keeps the
   * states waiting to be expanded in one typed array instead of as objects.
   */
  readonly packedWidth?: number;
  pack?(state: S, into: Int32Array, at: number): void;
  unpack?(from: Int32Array, at: number): S;
  /**
   * Parallel search: a state as structured-clonable data for worker `peer`, and back
   * (`decode` gets the sending worker's index). Calls between one pair of workers arrive
   * in order, so a model may send what the peer has not seen once and refer to it later.
   * Without these the state itself is sent (it must then be plain data).
   */
  encode?(state: S, peer: number): unknown;
  decode?(data: unknown, peer: number): S;
  /**
   * Optional symmetry reduction: a group of renamings under which the model's transitions,
   * invariants, goal and fairness classes are equivariant (a renamed state behaves as the
   * state, renamed). The search then keeps one state per orbit (`canonical`), checks
   * liveness on the orbits annotated with the renaming of every edge, and translates
   * counterexamples back into paths of the model itself (checker/engine/symmetry.ts).
   */
  readonly symmetry?: ModelSymmetry<S>;
}

export interface ModelSymmetry<S> {
  /** The number of group elements; 0 is the identity. */
  readonly size: number;
  /** The orbit's representative, and the element that maps `state` onto it. */
  canonical(state: S): { readonly state: S; readonly element: number };
  /** `state` renamed by `element`. */
  apply(state: S, element: number): S;
  /** The element `outer` after `inner`. */
  compose(outer: number, inner: number): number;
  inverse(element: number): number;
  /** A fairness class renamed by `element`. */
  renameFairness(fairnessClass: string, element: number): string;
}
