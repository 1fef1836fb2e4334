/**
 * What a counterexample leads to: the damage a user would see, not only the rule that
 * broke. A counterexample stops at the first step that breaks a property (for
 * no-fencing: a stale `scale.set` applied); this module continues the run from that
 * state with the machines' own steps (the chain model, as `kd check` steps it) until a
 * user-visible consequence happens: more sandboxes of a function than its desired count
 * once nothing is left to happen, a node over its capacity, one pod on two nodes, a pod
 * started again after its sandbox ended, or a chain that stops without agreeing.
 *
 * The continuation is a breadth-first search (so the shortest way to the damage) over the
 * protocol's own actions and the rest of the scale script: deliveries (late ones too),
 * connects and sandboxes starting or being killed; no new fault and no sandbox failure,
 * so what follows is caused by the bug, not by a new accident. When no continuation of
 * the counterexample does damage, the same search runs from the initial state (faults of
 * the preset's budget allowed) for the shortest run of this variant that does; when
 * neither finds one within its bound, the page says so.
 */
import { ChainModel, type ChainAction, type ChainState } from '../chain/model.js';
import { buildTrace, type CounterexampleTrace } from '../chain/trace.js';
import { search, walkPath } from '../engine/search.js';
import type { Model, ModelViolation } from '../engine/model.js';
import { isQuiescent, observeWorld } from '../../simulator/convergence.js';
import type { World } from '../../simulator/world.js';
import { convergenceProblemsOf, countMismatchesOf, functionCountsOf, type ChainConfig } from '../../machines/index.js';

/** The states each consequence search may visit before it gives up. */
export const consequenceSearchStatesMax = 200_000;
/** The seconds each consequence search may take before it gives up. */
export const consequenceSearchSecondsMax = 30;

/** The kinds of damage a user can see from outside the control plane. */
export type HarmKind = 'overshoot' | 'undershoot' | 'over-capacity' | 'two-nodes' | 'restart-after-death' | 'stuck';

export interface Harm {
  readonly kind: HarmKind;
  /** One sentence a user would understand: what they see. */
  readonly text: string;
}

export interface Consequence {
  /**
   * `continued`: the counterexample itself, run on until the damage (its steps come first);
   * `extended`: a longer run of the same variant from the start, since no continuation of the
   * shortest one does damage; `none`: no damage found within the bounds.
   */
  readonly found: 'continued' | 'extended' | 'none';
  /** The run to show: the counterexample's steps, then (for `continued`) the steps after them. */
  readonly trace: CounterexampleTrace;
  /** The 1-based step of `trace` where the damage is first seen; null when none was found. */
  readonly harmStep: number | null;
  readonly harms: readonly Harm[];
  /** The step of `trace` where the counterexample's property first breaks (`trace.property`), or null. */
  readonly violationStep: number | null;
  /** What the searches covered, for the page's honesty: states visited and whether a bound stopped them. */
  readonly searches: ReadonlyArray<{ readonly from: 'violation' | 'start'; readonly states: number; readonly seconds: number; readonly bounded: boolean }>;
}

/** The state invariants that are damage a user sees (the rest are rules inside the control plane). */
const visibleInvariants: ReadonlySet<string> = new Set(['INV-CAPACITY', 'INV-UNIQUE-PLACEMENT', 'INV-NO-OVERSHOOT']);

/** Damage seen in a state through the checker's own invariants (sandboxes on nodes: capacity, placement, count). */
function harmsOfInvariants(violations: readonly ModelViolation[]): Harm[] {
  return violations.filter((v) => visibleInvariants.has(v.property)).map((v) => ({ kind: harmKindOf(v.property), text: `${v.message} (${v.property})` }));
}

function harmKindOf(property: string): HarmKind {
  return property === 'INV-CAPACITY' ? 'over-capacity' : property === 'INV-UNIQUE-PLACEMENT' ? 'two-nodes' : property === 'INV-NO-RESTART-AFTER-DEATH' ? 'restart-after-death' : 'overshoot';
}

/** Damage done by a transition itself: a node refusing a pod for want of room, a pod started again after its sandbox ended. */
function harmsOfTransition(violations: readonly ModelViolation[]): Harm[] {
  return violations
    .filter((v) => v.property === 'INV-NO-RESTART-AFTER-DEATH' || v.property === 'INV-CAPACITY')
    .map((v) => ({ kind: harmKindOf(v.property), text: `${v.property === 'INV-CAPACITY' ? 'a pod fails to start' : 'a pod that had ended runs again'}: ${v.message} (${v.property})` }));
}

/**
 * The damage that stays in a settled world (nothing is left to happen without a new
 * request or fault): a function with more or fewer pods than desired, or caches that
 * never agree. Only for a quiescent world.
 */
export function harmsWhenSettled(config: ChainConfig, world: World): Harm[] {
  const observed = observeWorld(config, world);
  const harms: Harm[] = countMismatchesOf(functionCountsOf(observed)).map(({ kind, counts }) => {
    const alive = counts.running + counts.waiting;
    const pods = `${alive} pod${alive === 1 ? '' : 's'} (${counts.running} running${counts.waiting > 0 ? `, ${counts.waiting} waiting for room` : ''})`;
    const never = kind === 'overshoot' ? 'remove the extra' : 'start the missing';
    return { kind, text: `${counts.function} has ${pods} for a desired count of ${counts.desired}, and nothing left to happen will ${never}` };
  });
  if (harms.length === 0) {
    const problems = convergenceProblemsOf(observed);
    if (problems.length > 0) harms.push({ kind: 'stuck', text: `the chain stops without agreeing (kd status reports it not converged): ${problems.join('; ')}` });
  }
  return harms;
}

/** Whether nothing is left to happen but late deliveries (the kinds `isQuiescent` counts), from the model's memoized actions. */
function settled(actions: readonly ChainAction[]): boolean {
  return actions.every((a) => a.kind !== 'deliver' && a.kind !== 'connect' && a.kind !== 'sandboxDone' && a.kind !== 'scale');
}

/** The damage seen in a state of the chain model. */
function harmsOfState(model: ChainModel, state: ChainState): Harm[] {
  const harms = harmsOfInvariants(model.invariants(state));
  if (!settled(model.actions(state))) return harms;
  const world = state.world;
  if (!isQuiescent(model.check.chain, world)) throw new Error('a settled state of the chain model is not quiescent for the simulator');
  return [...harms, ...harmsWhenSettled(model.check.chain, world)];
}

const harmProperty = 'USER-VISIBLE-HARM';

/** Actions that are the protocol and its environment running on, not new accidents. */
function isContinuation(action: ChainAction): boolean {
  switch (action.kind) {
    case 'crash':
    case 'nodeCrash':
    case 'cut':
    case 'dropStale':
      return false;
    case 'sandboxDone':
      return action.outcome !== 'failed';
    default:
      return true;
  }
}

/**
 * The chain model with damage as its only "property": the search engine then finds the
 * shortest path to damage. Actions keep the inner model's order (filtered), so a path maps
 * back to the inner model's indices.
 */
class HarmModel implements Model<ChainState, ChainAction> {
  readonly name: string;
  constructor(
    private readonly inner: ChainModel,
    private readonly start: ChainState,
    private readonly allowFaults: boolean,
  ) {
    this.name = `${inner.name}: consequences`;
  }
  initialState(): ChainState {
    return this.start;
  }
  actions(state: ChainState): readonly ChainAction[] {
    const all = this.inner.actions(state);
    return this.allowFaults ? all : all.filter(isContinuation);
  }
  next(state: ChainState, action: ChainAction): { state: ChainState; violations: readonly ModelViolation[] } {
    const next = this.inner.next(state, action);
    return { state: next.state, violations: harmsOfTransition(next.violations).map(asViolation) };
  }
  key(state: ChainState): string {
    return this.inner.key(state);
  }
  fingerprint(state: ChainState) {
    return this.inner.fingerprint(state);
  }
  get packedWidth(): number {
    return this.inner.packedWidth;
  }
  pack(state: ChainState, into: Int32Array, at: number): void {
    this.inner.pack(state, into, at);
  }
  unpack(from: Int32Array, at: number): ChainState {
    return this.inner.unpack(from, at);
  }
  invariants(state: ChainState): readonly ModelViolation[] {
    return harmsOfState(this.inner, state).map(asViolation);
  }
  fairness(): string | null {
    return null;
  }
  describe(action: ChainAction): string {
    return this.inner.describe(action);
  }
}

const asViolation = (harm: Harm): ModelViolation => ({ property: harmProperty, message: JSON.stringify(harm) });

/** Shortest path (as inner-model action indices from `start`) to damage, with the search's size. */
export function searchHarm(inner: ChainModel, start: ChainState, allowFaults: boolean): { path: number[] | null; states: number; seconds: number; bounded: boolean } {
  const model = new HarmModel(inner, start, allowFaults);
  const result = search(model, { strategy: 'bfs', liveness: false, maxStates: consequenceSearchStatesMax, maxSeconds: consequenceSearchSecondsMax });
  const summary = { states: result.states, seconds: result.seconds, bounded: result.verdict === 'bounded' };
  if (result.violation === null) return { path: null, ...summary };
  // Map the filtered indices back to the inner model's.
  const path: number[] = [];
  let state = start;
  for (const index of result.violation.path) {
    const action = model.actions(state)[index];
    if (action === undefined) throw new Error(`consequence path step ${index} is not enabled`);
    const innerIndex = inner.actions(state).indexOf(action);
    if (innerIndex < 0) throw new Error(`consequence action ${inner.describe(action)} is not an action of the chain model`);
    path.push(innerIndex);
    state = inner.next(state, action).state;
  }
  return { path, ...summary };
}

/** The first step of `trace` (1-based) at which damage is seen, with the damage; from a replay. */
function firstHarm(trace: CounterexampleTrace): { step: number; harms: Harm[] } | null {
  const model = new ChainModel(trace.check);
  const walked = walkPath(model, trace.path);
  for (const [i, w] of walked.entries()) {
    const harms = [...harmsOfTransition(w.violations), ...harmsOfState(model, w.state)];
    const distinct = harms.filter((h, at) => harms.findIndex((other) => other.text === h.text) === at);
    if (distinct.length > 0) return { step: i + 1, harms: distinct };
  }
  return null;
}

function violationStepOf(trace: CounterexampleTrace): number | null {
  return trace.steps.find((s) => s.violations.some((v) => v.property === trace.property))?.step ?? null;
}

/** Runs a counterexample on until a user would see damage (see the module comment). */
export function consequenceOf(trace: CounterexampleTrace): Consequence {
  const already = firstHarm(trace);
  if (already !== null) return { found: 'continued', trace, harmStep: already.step, harms: already.harms, violationStep: violationStepOf(trace), searches: [] };
  const model = new ChainModel(trace.check);
  const walked = walkPath(model, trace.path);
  const last = walked[walked.length - 1]?.state ?? model.initialState();
  const searches: Array<Consequence['searches'][number]> = [];
  const continued = searchHarm(model, last, false);
  searches.push({ from: 'violation', states: continued.states, seconds: continued.seconds, bounded: continued.bounded });
  let shown: CounterexampleTrace | null = null;
  let found: Consequence['found'] = 'none';
  if (continued.path !== null) {
    const whole = buildTrace(trace.check, { property: trace.property, kind: trace.kind, message: trace.message, path: [...trace.path, ...continued.path] });
    shown = { ...whole, ...(trace.cycleStartStep !== undefined ? { cycleStartStep: trace.cycleStartStep } : {}) };
    found = 'continued';
  } else {
    const extended = searchHarm(model, model.initialState(), true);
    searches.push({ from: 'start', states: extended.states, seconds: extended.seconds, bounded: extended.bounded });
    if (extended.path !== null) {
      // Another run: it is titled by what it breaks first (the counterexample's property if it breaks that one).
      const run = buildTrace(trace.check, { property: trace.property, kind: 'safety', message: '', path: extended.path });
      const broken = run.steps.flatMap((s) => s.violations);
      const first = broken.find((v) => v.property === trace.property) ?? broken[0];
      shown = first === undefined ? run : { ...run, property: first.property, message: first.message };
      found = 'extended';
    }
  }
  if (shown === null) return { found: 'none', trace, harmStep: null, harms: [], violationStep: violationStepOf(trace), searches };
  const harm = firstHarm(shown);
  if (harm === null) throw new Error(`the consequence run of ${trace.check.chain.variant} shows no damage on replay`);
  return { found, trace: shown, harmStep: harm.step, harms: harm.harms, violationStep: violationStepOf(shown), searches };
}
