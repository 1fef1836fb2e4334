/**
 * The frequent actions (deliveries, drops, connects, sandbox reports, scale requests) on
 * the ids of a packed state, mirroring the simulator's `applyAction` step for step: a
 * stage step is compiled once per (stage state, event) into the component updates of its
 * effects, each update memoized per input component, and the ghost's observation per
 * ghost. Misses call the simulator's and the machines' own functions.
 */
import { InvariantViolation, linkEnds, nodeOfKubelet, type ChainConfig, type Effect, type LinkMessage, type StageEvent, type StageId, type StageState, type StepResult } from '../../machines/index.js';
import { asStepAssertion } from './step-assertions.js';
import { observeStep, type Ghost, type Violation } from '../../simulator/ghost.js';
import { addName, sandboxesAfterDone, sandboxesAfterEffect, storeAfterEffect, type Sandbox } from '../../simulator/world.js';
import type { ActionPlan, ActionPlans } from './action-plans.js';
import type { PackedAction } from './chain-actions.js';
import type { Interner, MemoStepper } from './interning.js';
import { componentEventKeyOf, deliveryKeyOf } from './memo-tables.js';
import type { MessageLists } from './message-lists.js';
import type { StateLayout } from './state-layout.js';
import type { WorldPacking } from './world-packing.js';

interface AppendOp {
  readonly kind: 'append';
  readonly pos: number;
  readonly messageId: number;
  readonly memo: Map<number, number>;
}

interface ComponentOp {
  readonly kind: 'sandboxes' | 'store';
  readonly pos: number;
  readonly node: string;
  readonly effect: Effect;
  readonly memo: Map<number, number>;
}

/** A stage step compiled once per (stage state, event): the next stage state and its effects as component updates. */
interface CompiledStep {
  readonly after: number;
  readonly ops: ReadonlyArray<AppendOp | ComponentOp>;
  readonly stage: StageId;
  readonly event: StageEvent;
  readonly before: StageState;
  readonly result: StepResult<StageState>;
  /** The ghost's update by ghost id. */
  readonly observed: Map<number, { readonly ghost: number; readonly violations: readonly Violation[] }>;
}

const noViolations: readonly Violation[] = Object.freeze([]);
const noRadices: readonly number[] = Object.freeze([]);

export class PackedTransitions {
  /** Per stage position: stage id -> event code -> compiled step. */
  private readonly compiled: Array<Map<number, Map<number, CompiledStep>>>;
  /** (sandboxes id, event code) -> sandboxes id after the report. */
  private readonly sandboxDoneMemo = new Map<number, number>();
  /** (ghost id, event code of a sandbox's death) -> ghost id with the pod dead. */
  private readonly deadMemo = new Map<number, number>();
  /** Steps taken with tie choices (DEC-52), by stage position, stage id, event code and digits. */
  private readonly compiledWithChoices = new Map<string, CompiledStep>();
  /** How often a compiled step was reused. */
  compiledHits = 0;
  /** The packing's tables and the ghost's position, kept here for the hot path. */
  private readonly parts: Interner;
  private readonly lists: MessageLists;
  private readonly ghostAt: number;
  private readonly schedulerPos: number;

  constructor(
    private readonly config: ChainConfig,
    private readonly stepper: MemoStepper,
    private readonly layout: StateLayout,
    private readonly packing: WorldPacking,
    private readonly plans: ActionPlans,
    /** Called once per compiled step with its input and result (INV-NO-INVENTED-POD, invented-pods.ts). */
    private readonly onStep?: (stage: StageId, before: StageState, event: StageEvent, result: StepResult<StageState>) => void,
  ) {
    this.compiled = layout.stages.map(() => new Map());
    this.parts = packing.parts;
    this.lists = packing.lists;
    this.ghostAt = layout.ghostAt;
    this.schedulerPos = layout.stagePos.get('scheduler') ?? -1;
  }

  /**
   * Takes `action` on `ids` (in place). Mirrors `applyAction` (simulator/world.ts) step for
   * step. Returns the violations the transition observed (a memoized array: read only).
   */
  apply(ids: number[], action: PackedAction): readonly Violation[] {
    const plan = this.plans.planOf(action);
    switch (action.kind) {
      case 'deliver':
      case 'deliverStale': {
        const list = ids[plan.pos] as number;
        const messageId = this.lists.messageIds[list]?.[0];
        if (messageId === undefined) throw new InvariantViolation(`no message to deliver on ${action.link} ${action.direction}`);
        ids[plan.pos] = this.lists.tailOf(list);
        return this.receive(ids, plan, deliveryKeyOf(messageId, plan.code), messageId, action.choices);
      }
      case 'dropStale': {
        if (ids[plan.pos] === 0) throw new InvariantViolation(`no stale message on ${action.link} ${action.direction}`);
        ids[plan.pos] = this.lists.tailOf(ids[plan.pos] as number);
        return noViolations;
      }
      case 'sandboxDone': {
        const parts = this.parts;
        const ghostAt = this.ghostAt;
        const doneKey = componentEventKeyOf(ids[plan.pos] as number, plan.code);
        let sandboxes = this.sandboxDoneMemo.get(doneKey);
        if (sandboxes === undefined) {
          try {
            sandboxes = parts.idOf(sandboxesAfterDone(parts.values[ids[plan.pos] as number] as Record<string, Sandbox>, action.node, action.pod, action.outcome));
          } catch (error) {
            throw asStepAssertion(error, `the sandbox runtime of ${action.node}`);
          }
          this.sandboxDoneMemo.set(doneKey, sandboxes);
        }
        ids[plan.pos] = sandboxes;
        if (action.outcome !== 'started') {
          const deadKey = componentEventKeyOf(ids[ghostAt] as number, plan.code);
          let ghost = this.deadMemo.get(deadKey);
          if (ghost === undefined) {
            const before = parts.values[ids[ghostAt] as number] as Ghost;
            ghost = this.packing.ghostId({ ...before, dead: addName(before.dead, action.pod) });
            this.deadMemo.set(deadKey, ghost);
          }
          ids[ghostAt] = ghost;
        }
        return this.receive(ids, plan, plan.code, -1, undefined);
      }
      case 'connect':
      case 'scale':
        return this.receive(ids, plan, plan.code, -1, action.choices);
    }
  }

  /**
   * The ties (DEC-52) the stage step of `action` meets in the state `ids` when taken with
   * `choices` (none: the spec's rule): the number of alternatives of each, in order.
   * Only deliveries and connects reach the Scheduler; other actions meet no tie.
   */
  choiceRadicesOf(ids: readonly number[], action: PackedAction, choices: readonly number[] | undefined): readonly number[] {
    const plan = this.plans.planOf(action);
    if (plan.receiverPos !== this.schedulerPos) return noRadices;
    if (action.kind === 'connect') return this.compiledStep(ids, plan, plan.code, -1, choices).result.choiceRadices ?? noRadices;
    if (action.kind !== 'deliver' && action.kind !== 'deliverStale') return noRadices;
    const messageId = this.lists.messageIds[ids[plan.pos] as number]?.[0];
    if (messageId === undefined) return noRadices;
    return this.compiledStep(ids, plan, deliveryKeyOf(messageId, plan.code), messageId, choices).result.choiceRadices ?? noRadices;
  }

  /**
   * One stage step on the ids, then its effects in order, then the ghost's observation (as
   * `deliverEvent` does). `code` identifies the event; a delivery's event (its message,
   * `messageId`) is built only when the step is compiled.
   */
  private receive(ids: number[], plan: ActionPlan, code: number, messageId: number, choices: readonly number[] | undefined): readonly Violation[] {
    const step = this.compiledStep(ids, plan, code, messageId, choices);
    ids[plan.receiverPos] = step.after;
    const ops = step.ops;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as AppendOp | ComponentOp;
      const current = ids[op.pos] as number;
      let updated = op.memo.get(current);
      if (updated === undefined) {
        updated = this.applyOp(op, current);
        op.memo.set(current, updated);
      }
      ids[op.pos] = updated;
    }
    const ghostAt = this.ghostAt;
    const ghost = ids[ghostAt] as number;
    let observed = step.observed.get(ghost);
    if (observed === undefined) {
      const before = this.parts.values[ghost] as Ghost;
      const { result } = step;
      const out = observeStep(this.config, before, { stage: step.stage, event: step.event, before: step.before, after: result.state, effects: result.effects, trace: result.trace, disposition: result.disposition });
      observed = { ghost: out.ghost === before ? ghost : this.packing.ghostId(out.ghost), violations: out.violations.length === 0 ? noViolations : out.violations };
      step.observed.set(ghost, observed);
    }
    ids[ghostAt] = observed.ghost;
    return observed.violations;
  }

  /** The stage step of an action on `ids`, compiled once per (stage state, event, choices). */
  private compiledStep(ids: readonly number[], plan: ActionPlan, code: number, messageId: number, choices: readonly number[] | undefined): CompiledStep {
    const stagePos = plan.receiverPos;
    if (stagePos < 0) throw new InvariantViolation(`no stage for ${plan.event?.type ?? 'a delivery'}`);
    const stageId = ids[stagePos] as number;
    if (choices !== undefined && choices.length > 0) {
      const key = `${stagePos}|${stageId}|${code}|${choices.join('.')}`;
      let chosen = this.compiledWithChoices.get(key);
      if (chosen === undefined) {
        chosen = this.compile(this.layout.stages[stagePos] as StageId, stageId, this.eventOf(plan, messageId), choices);
        this.compiledWithChoices.set(key, chosen);
      }
      return chosen;
    }
    const byState = this.compiled[stagePos] as Map<number, Map<number, CompiledStep>>;
    let byEvent = byState.get(stageId);
    if (byEvent === undefined) {
      byEvent = new Map();
      byState.set(stageId, byEvent);
    }
    let step = byEvent.get(code);
    if (step === undefined) {
      step = this.compile(this.layout.stages[stagePos] as StageId, stageId, this.eventOf(plan, messageId), undefined);
      byEvent.set(code, step);
    } else this.compiledHits++;
    return step;
  }

  /** An action's event: a delivery's is its message, the head of the queue. */
  private eventOf(plan: ActionPlan, messageId: number): StageEvent {
    return plan.event ?? { type: 'message.received', link: plan.link, message: this.stepper.messages.values[messageId] as LinkMessage };
  }

  private compile(stage: StageId, stageId: number, event: StageEvent, choices: readonly number[] | undefined): CompiledStep {
    const layout = this.layout;
    const before = this.parts.values[stageId] as StageState;
    const result = this.stepper.step(this.config, stage, before, event, choices);
    this.onStep?.(stage, before, event, result);
    const ops = result.effects.map((effect): AppendOp | ComponentOp => {
      switch (effect.type) {
        case 'message.send': {
          const direction = linkEnds(effect.link).upstream === stage ? 'down' : 'up';
          const messageId = this.stepper.messages.idOf(effect.message);
          return { kind: 'append', pos: layout.channelPos(layout.linkOf(effect.link), direction, false), messageId, memo: new Map() };
        }
        case 'sandbox.start':
        case 'sandbox.kill': {
          const node = nodeOfKubelet(stage);
          return { kind: 'sandboxes', pos: layout.sandboxesAt + (layout.nodeIndex.get(node) ?? -1), node, effect, memo: new Map() };
        }
        case 'store.persist':
          return { kind: 'store', pos: layout.storeAt, node: '', effect, memo: new Map() };
      }
    });
    return { after: this.parts.idOf(result.state), ops, stage, event, before, result, observed: new Map() };
  }

  private applyOp(op: AppendOp | ComponentOp, current: number): number {
    const lists = this.lists;
    if (op.kind === 'append') return lists.idOfMessageIds([...(lists.messageIds[current] as number[]), op.messageId]);
    const parts = this.parts;
    const value = parts.values[current] as Record<string, never>;
    const effect = op.effect;
    if (op.kind === 'sandboxes' && (effect.type === 'sandbox.start' || effect.type === 'sandbox.kill')) {
      try {
        return parts.idOf(sandboxesAfterEffect(value, op.node, effect));
      } catch (error) {
        throw asStepAssertion(error, `the sandbox runtime of ${op.node}`);
      }
    }
    if (op.kind === 'store' && effect.type === 'store.persist') return parts.idOf(storeAfterEffect(value, effect));
    throw new InvariantViolation(`no component update for ${effect.type}`);
  }
}
