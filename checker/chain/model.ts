/**
 * The Kubedirect chain as a model for the search engine: the simulator's world
 * (simulator/world.ts) stepped through the same machines, plus the environment (scale
 * script, fault budgets). No protocol decision is made here.
 *
 * States are packed: a state is a vector of component ids (each stage, the four message
 * queues of each link, each node's sandboxes, the store, incarnations, budgets, ghost,
 * scale-script position: state-layout.ts), every component hash-consed (interning.ts,
 * message-lists.ts, world-packing.ts), so a successor copies a small array and replaces
 * the ids of the components that changed. The frequent actions (deliveries, connects,
 * sandbox reports, scale requests) run on the ids through memo tables whose misses call
 * the simulator's own functions (the machines' step, `sandboxesAfterEffect`,
 * `observeStep`, ...): a stage step is compiled once per (stage state, event) into the
 * component updates of its effects, and each update is memoized per input component
 * (packed-transitions.ts, with the per-action plans of action-plans.ts). Faults (cuts,
 * crashes) take the simulator's `applyAction` on the materialized world. The invariants,
 * the protocol's enabled actions and convergence are memoized by the ids of exactly the
 * components they read (state-verdicts.ts, enabled-actions.ts, component-groups.ts).
 * `debugChecks` re-runs every packed transition through `applyAction` and compares.
 *
 * This file wires those parts into the engine's `Model` and is the module worker threads
 * load (`chainModelOf`).
 */
import { InvariantViolation, type ChainConfig, type StageEvent, type StageId, type StageState, type StepResult } from '../../machines/index.js';
import type { Violation } from '../../simulator/ghost.js';
import { repositoryModuleUrl } from '../../runtime/repository-paths.js';
import { applyAction, bootSequence, initialWorld, type World } from '../../simulator/world.js';
import type { Fingerprint } from '../engine/fingerprint.js';
import type { Model, ModelSymmetry, SometimesProperty } from '../engine/model.js';
import { ActionPlans } from './action-plans.js';
import { budgetKind, describeAction, type ChainAction } from './chain-actions.js';
import { ChainState } from './chain-state.js';
import { ComponentGroups } from './component-groups.js';
import { EnabledActions } from './enabled-actions.js';
import { MemoStepper } from './interning.js';
import { NodeSymmetry } from './node-symmetry.js';
import { PackedTransitions } from './packed-transitions.js';
import type { CheckConfig, FaultBudgets } from './presets.js';
import { chainSometimes } from './sometimes.js';
import { StateLayout } from './state-layout.js';
import { asStepAssertion, StepAssertionFailed } from './step-assertions.js';
import { StateTransfer } from './state-transfer.js';
import { StateVerdicts } from './state-verdicts.js';
import { TieChoices } from './tie-choices.js';
import { canonicalBudgets, WorldPacking } from './world-packing.js';
import { GhostForgetting } from './ghost-forgetting.js';
import { InventedPodCheck } from './invented-pods.js';

export { describeAction, type ChainAction } from './chain-actions.js';
export { ChainState } from './chain-state.js';
export { chainSometimes, type StageTest } from './sometimes.js';

export class ChainModel implements Model<ChainState, ChainAction> {
  readonly name: string;
  readonly goalProperty = 'LIVE-CONVERGENCE';
  readonly sometimes: readonly SometimesProperty<ChainState, ChainAction>[];
  /** Converged (simulator/convergence.ts), memoized (StateVerdicts.goal). */
  readonly goal: (state: ChainState) => boolean;
  private readonly config: ChainConfig;
  private readonly stepper: MemoStepper;
  private readonly layout: StateLayout;
  private readonly packing: WorldPacking;
  private readonly plans: ActionPlans;
  private readonly transitions: PackedTransitions;
  private readonly enabled: EnabledActions;
  private readonly verdicts: StateVerdicts;
  private readonly transfer: StateTransfer;
  private readonly ties: TieChoices;
  private booted: World | null = null;
  /** Exact state abstraction (DEC-56: canonical fault budgets and ghost); off with `abstraction: false`. */
  private readonly abstraction: boolean;
  /** DEC-58 (part of the abstraction): the ghost forgets pods nothing else names; null with the abstraction off. */
  private readonly forgetting: GhostForgetting | null;
  /** The memoized machine step, checked by the ghost forgetting when it is on. */
  private readonly step: MemoStepper['step'];
  /** An assertion broken while booting the chain (startSynced): the initial state's violation. */
  private bootFailure: Violation | null = null;
  private bootFailureKey = '';
  /** Symmetry over identical Kubelets (node-symmetry.ts): only with ties explored (DEC-52) and at least two alike nodes. */
  readonly symmetry?: ModelSymmetry<ChainState>;

  constructor(readonly check: CheckConfig) {
    this.name = `${check.name} (${check.chain.variant})`;
    this.config = check.chain;
    this.stepper = new MemoStepper(check.chain);
    this.layout = new StateLayout(check.chain);
    this.abstraction = check.abstraction !== false;
    this.packing = new WorldPacking(this.layout, this.stepper.messages, this.abstraction);
    this.forgetting = this.abstraction ? new GhostForgetting(check.chain, this.layout, this.packing) : null;
    this.plans = new ActionPlans(this.layout);
    // INV-NO-INVENTED-POD is judged on every distinct machine step, with or without the abstraction (which relies on it).
    const invented = new InventedPodCheck(check.chain);
    const checkStep = (stage: StageId, before: StageState, event: StageEvent, result: StepResult<StageState>) => {
      try {
        invented.checkStep(before, event, result);
      } catch (error) {
        throw asStepAssertion(error, stage);
      }
    };
    this.step = (config, stage, state, event, choices) => {
      const result = this.stepper.step(config, stage, state, event, choices);
      checkStep(stage, state, event, result);
      return result;
    };
    this.transitions = new PackedTransitions(this.config, this.stepper, this.layout, this.packing, this.plans, checkStep);
    const groups = new ComponentGroups(this.layout);
    this.enabled = new EnabledActions(check, this.layout, this.packing.parts, this.plans, groups);
    this.verdicts = new StateVerdicts(check, this.layout, this.packing, groups);
    this.transfer = new StateTransfer(this.layout, this.packing, this.stepper);
    this.ties = new TieChoices(this.plans, this.transitions, (state, action) => applyAction(this.config, state.world, action, this.step));
    this.goal = this.verdicts.goal;
    if (check.symmetry !== false && check.ties === 'explore') {
      const nodes = new NodeSymmetry(check.chain, this.layout, this.packing, this.stepper.messages);
      if (nodes.size > 1) this.symmetry = this.symmetryOf(nodes);
    }
    this.sometimes = chainSometimes(check, this.goal, (stage, test) => this.verdicts.stageTest(stage, test));
  }

  initialState(): ChainState {
    if (this.booted === null) this.booted = this.check.startSynced === true ? this.bootedWorld() : initialWorld(this.config);
    return this.packing.stateOfWorld(this.booted, 0, this.budgetsOf(this.check.budgets));
  }

  private budgetsOf(budgets: FaultBudgets): FaultBudgets {
    return this.abstraction ? canonicalBudgets(budgets) : budgets;
  }

  /**
   * The chain after its boot (startSynced). A step that breaks an assertion during the boot
   * is reported as a violation of the initial state (the unbooted chain), not thrown.
   */
  private bootedWorld(): World {
    try {
      return bootSequence(this.config, this.step).world;
    } catch (error) {
      if (!(error instanceof StepAssertionFailed)) throw error;
      this.bootFailure = { ...error.violation, message: `during the boot (startSynced): ${error.violation.message}` };
      const world = initialWorld(this.config);
      this.bootFailureKey = this.packing.stateOfWorld(world, 0, this.budgetsOf(this.check.budgets)).ids.join(',');
      return world;
    }
  }

  /** The enabled actions: the protocol's (memoized by what they read), then the environment's. The list is shared: read only. */
  actions(state: ChainState): readonly ChainAction[] {
    const base = this.enabled.actions(state);
    return this.check.ties === 'explore' ? this.ties.expand(state, base) : base;
  }

  /**
   * The successor. A step that breaks an internal assertion (of a machine, or of the world
   * it acts on) is a violation of a named property (step-assertions.ts): the state is left
   * as it was and the search reports the counterexample that leads there.
   */
  next(state: ChainState, action: ChainAction): { state: ChainState; violations: readonly Violation[] } {
    let outcome: { state: ChainState; violations: readonly Violation[] };
    try {
      outcome = this.successor(state, action);
    } catch (error) {
      if (error instanceof StepAssertionFailed) return { state, violations: [error.violation] };
      throw error;
    }
    if (this.check.debugChecks === true) this.crossCheck(state, action, outcome.state, outcome.violations);
    return outcome;
  }

  private successor(state: ChainState, action: ChainAction): { state: ChainState; violations: readonly Violation[] } {
    const kind = budgetKind(action);
    const budgets = kind === null ? state.budgets : this.budgetsOf({ ...state.budgets, total: state.budgets.total - 1, [kind]: (state.budgets[kind] ?? 0) - 1 });
    const scaled = action.kind === 'scale' ? state.scaled + 1 : state.scaled;
    if (action.kind === 'crash' || action.kind === 'nodeCrash' || action.kind === 'cut' || action.kind === 'forgeHello' || action.kind === 'forgePod') {
      let outcome;
      try {
        outcome = this.ties.faultOutcome(state, action);
      } catch (error) {
        throw asStepAssertion(error, describeAction(action));
      }
      const next = this.packing.stateOfWorld(outcome.world, scaled, budgets);
      this.forgetting?.forget(next.ids);
      return { state: next, violations: outcome.violations };
    }
    const ids = state.ids.slice();
    const violations = this.transitions.apply(ids, action);
    if (budgets !== state.budgets) ids[this.layout.budgetsAt] = this.packing.parts.idOf(budgets);
    ids[this.layout.scaledAt] = scaled;
    this.forgetting?.forget(ids);
    return { state: new ChainState(this.packing, ids, scaled, budgets), violations };
  }

  private symmetryOf(nodes: NodeSymmetry): ModelSymmetry<ChainState> {
    const packing = this.packing;
    const fingerprint = (ids: readonly number[]) => packing.fingerprint(ids);
    return {
      size: nodes.size,
      canonical: (state) => {
        const { ids, element } = nodes.canonical(state, fingerprint);
        return { state: element === 0 ? state : packing.stateOfIds(ids), element };
      },
      apply: (state, element) => (element === 0 ? state : packing.stateOfIds(nodes.applyToIds(state.ids, element))),
      compose: (outer, inner) => nodes.compose(outer, inner),
      inverse: (element) => nodes.inverse(element),
      renameFairness: (fairnessClass, element) => nodes.renameText(fairnessClass, element),
    };
  }

  /** Debug: the packed transition must equal the simulator's `applyAction` on the world. */
  private crossCheck(state: ChainState, action: ChainAction, next: ChainState, violations: readonly Violation[]): void {
    const outcome = applyAction(this.config, state.world, action, this.step);
    const expected = this.packing.stateOfWorld(outcome.world, next.scaled, next.budgets);
    this.forgetting?.forget(expected.ids);
    const same = expected.ids.every((id, i) => id === next.ids[i]);
    const sameViolations = JSON.stringify(outcome.violations) === JSON.stringify(violations);
    if (!same || !sameViolations) throw new InvariantViolation(`packed transition differs from applyAction for ${describeAction(action)}`);
  }

  /** Parallel search: see state-transfer.ts. */
  encode(state: ChainState, peer: number): unknown {
    return this.transfer.encode(state, peer);
  }

  decode(data: unknown, from: number): ChainState {
    return this.transfer.decode(data, from);
  }

  /** A state is its id vector (the scale-script position and the budgets are in it too). */
  get packedWidth(): number {
    return this.layout.componentCount;
  }

  pack(state: ChainState, into: Int32Array, at: number): void {
    const ids = state.ids;
    for (let i = 0; i < ids.length; i++) into[at + i] = ids[i] as number;
  }

  unpack(from: Int32Array, at: number): ChainState {
    const ids: number[] = [];
    for (let i = 0; i < this.layout.componentCount; i++) ids.push(from[at + i] as number);
    return this.packing.stateOfIds(ids);
  }

  key(state: ChainState): string {
    return state.ids.join(',');
  }

  /** The state's 64-bit fingerprint, from content hashes: the same in every process and worker thread (WorldPacking.fingerprint). */
  fingerprint(state: ChainState): Fingerprint {
    return this.packing.fingerprint(state.ids);
  }

  /** The state invariants (simulator/invariants.ts), memoized (StateVerdicts.invariants). */
  invariants(state: ChainState): readonly Violation[] {
    if (this.bootFailure !== null && state.ids.join(',') === this.bootFailureKey) return [this.bootFailure];
    return this.verdicts.invariants(state);
  }

  /** The fairness class of an action (worked out once per action object: ActionPlans.fairness). */
  fairness(action: ChainAction): string | null {
    return this.plans.fairness(action);
  }

  describe(action: ChainAction): string {
    return describeAction(action);
  }

  /** How often the machines really ran, against how often a memoized step was reused. */
  memoStats(): { stageSteps: number; reused: number; distinctStageStates: number } {
    return { stageSteps: this.stepper.misses, reused: this.stepper.hits + this.transitions.compiledHits, distinctStageStates: this.stepper.stages.size };
  }
}

/** The chain model of a JSON-only config: how a worker thread of the parallel search (checker/engine/parallel.ts) builds its copy. */
export function chainModelOf(check: CheckConfig): ChainModel {
  return new ChainModel(check);
}

/**
 * This module's source, for `chainModelOf` in worker threads: they load it through tsx
 * (checker/engine/parallel-worker.mjs), also when `kd` itself runs from its bundle.
 */
export const chainModelModule = repositoryModuleUrl('checker', 'chain', 'model.ts');
