/**
 * The Kubedirect chain as a model for the search engine: the simulator's world
 * (simulator/world.ts) stepped through the same machines, plus the environment (scale
 * script, fault budgets). No protocol decision is made here.
 *
 * States are packed: a state is a vector of component ids (each stage, the four message
 * queues of each link, each node's sandboxes, the store, incarnations, budgets, ghost,
 * scale-script position), every component hash-consed (interning.ts), so a successor
 * copies a small array and replaces the ids of the components that changed. The
 * frequent actions (deliveries, connects, sandbox reports, scale requests) run on the
 * ids through memo tables whose misses call the simulator's own functions (the
 * machines' step, `sandboxesAfterEffect`, `observeStep`, ...): a stage step is compiled
 * once per (stage state, event) into the component updates of its effects, and each
 * update is memoized per input component. Faults (cuts, crashes) take the simulator's
 * `applyAction` on the materialized world. The invariants, the protocol's enabled
 * actions and convergence are memoized by the ids of exactly the components they read.
 * `debugChecks` re-runs every packed transition through `applyAction` and compares.
 */
import { match } from 'ts-pattern';
import {
  clientSideOf,
  linkEnds,
  linksOf,
  nodeOfKubelet,
  roleOf,
  serverSide,
  stagesOf,
  stateIsTombstone,
  podCacheOf,
  reviveStageState,
  InvariantViolation,
  type ChainConfig,
  type Effect,
  type LinkId,
  type LinkMessage,
  type StageEvent,
  type StageId,
  type StageState,
  type StepResult,
} from '../../machines/index.js';
import { isConverged } from '../../simulator/convergence.js';
import { observeStep, type Ghost, type Violation } from '../../simulator/ghost.js';
import { checkInvariants } from '../../simulator/invariants.js';
import {
  addName,
  applyAction,
  bootSequence,
  initialWorld,
  linkIsOpen,
  protocolActions,
  sandboxesAfterDone,
  sandboxesAfterEffect,
  storeAfterEffect,
  type LinkChannels,
  type Sandbox,
  type World,
  type WorldAction,
} from '../../simulator/world.js';
import { fingerprintOf, type Fingerprint } from '../engine/fingerprint.js';
import type { Model, SometimesProperty } from '../engine/model.js';
import { Interner, MemoStepper } from './interning.js';
import { PairMemo, TupleTable } from './memo-tables.js';
import type { CheckConfig, FaultBudgets } from './presets.js';

/** A copy of `bytes` long enough to hold index `index` (at least twice as long). */
function growBytes(bytes: Uint8Array, index: number): Uint8Array {
  const larger = new Uint8Array(Math.max(bytes.length * 2, index + 1));
  larger.set(bytes);
  return larger;
}

/** A packed array of `length` zeros (pushed, so that V8 keeps it packed rather than holey). */
function zeros(length: number): number[] {
  const array: number[] = [];
  for (let i = 0; i < length; i++) array.push(0);
  return array;
}

/** A packed state: component ids; the world object is built only when something asks for it. */
export class ChainState {
  private materialized: World | undefined;
  /**
   * Interned ids of groups of components (-1 until asked), for memo keys: 0 every stage
   * and the sandboxes, 1 the stages that hold pods and the sandboxes, 2 the sandboxes.
   */
  group0 = -1;
  group1 = -1;
  group2 = -1;

  /**
   * The content ids of the components, in the model's fixed order. A plain array of small
   * integers, not an Int32Array: every transition copies it, and V8 allocates a small-integer
   * array on its young heap, where a typed array this long gets an off-heap buffer that is
   * costly to allocate and to free (it was the largest single cost of a transition).
   */
  readonly ids: number[];

  constructor(
    private readonly model: ChainModel,
    /** Component ids (an Int32Array when decoded from another worker thread: copied into a plain array). */
    ids: ArrayLike<number>,
    /** Scale-script steps taken. */
    readonly scaled: number,
    /** Faults left, per kind. */
    readonly budgets: FaultBudgets,
  ) {
    this.ids = Array.isArray(ids) ? (ids as number[]) : Array.from(ids);
  }

  /** The world this state stands for (built on first use, from canonical components). */
  get world(): World {
    if (this.materialized === undefined) this.materialized = this.model.worldOf(this.ids);
    return this.materialized;
  }

  /** One stage's state, without building the world. */
  stage(stage: StageId): StageState {
    return this.model.stageOf(this.ids, stage);
  }
}

export type ChainAction = WorldAction;

const emptyListHash = fingerprintOf('[]');

/** Numeric memo keys pair a core id with another id below this (asserted when ids are made). */
const idSpan = 2 ** 26;

const controllerStages: readonly StageId[] = ['autoscaler', 'deployment', 'replicaset', 'scheduler'];

function budgetKind(action: WorldAction): keyof FaultBudgets | null {
  switch (action.kind) {
    case 'crash':
      return roleOf(action.stage) === 'kubelet' ? 'kubeletRestart' : 'controllerCrash';
    case 'nodeCrash':
      return 'nodeCrash';
    case 'cut':
      return 'linkCut';
    case 'sandboxDone':
      return action.outcome === 'failed' ? 'sandboxFailure' : null;
    default:
      return null;
  }
}

export function describeAction(action: WorldAction): string {
  return match(action)
    .with({ kind: 'deliver' }, (a) => `deliver ${a.direction} ${a.link}`)
    .with({ kind: 'deliverStale' }, (a) => `deliver stale ${a.direction} ${a.link}`)
    .with({ kind: 'dropStale' }, (a) => `drop stale ${a.direction} ${a.link}`)
    .with({ kind: 'connect' }, (a) => `connect ${a.link}`)
    .with({ kind: 'sandboxDone' }, (a) => `sandbox ${a.pod} on ${a.node} ${a.outcome}`)
    .with({ kind: 'scale' }, (a) => `scale ${a.function} to ${a.desired}`)
    .with({ kind: 'cut' }, (a) => `cut ${a.link}`)
    .with({ kind: 'crash' }, (a) => `crash ${a.stage}`)
    .with({ kind: 'nodeCrash' }, (a) => `crash node ${a.node}`)
    .exhaustive();
}


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

interface ProtocolInfo {
  readonly actions: readonly WorldAction[];
  /** Per link: whether a cut means something (some session open or being opened). */
  readonly open: readonly boolean[];
  /** The model's whole action lists built on these (ChainModel.actions), by budgets id and scale-script position. */
  readonly enabled: Map<number, readonly ChainAction[]>;
}

/** A state in transit between worker threads (see ChainModel.encode). */
interface EncodedState {
  readonly ids: Int32Array;
  readonly parts: ReadonlyArray<readonly [number, string]>;
  readonly lists: ReadonlyArray<readonly [number, readonly number[]]>;
  readonly messages: ReadonlyArray<readonly [number, string]>;
}

/** The protocol's actions on one link, each made once (see ChainModel.composeProtocolInfo). */
interface LinkActions {
  readonly down: { readonly deliver: ChainAction; readonly deliverStale: ChainAction; readonly dropStale: ChainAction };
  readonly up: { readonly deliver: ChainAction; readonly deliverStale: ChainAction; readonly dropStale: ChainAction };
  readonly connect: ChainAction;
}

/** What a packed action touches (see ChainModel.planOf). */
interface ActionPlan {
  /** Deliveries and drops: the queue's position; sandbox reports: the node's sandboxes; -1 otherwise. */
  readonly pos: number;
  /** The position of the stage that receives the event. */
  readonly receiverPos: number;
  /** Deliveries and drops: the link's index; other actions: their event's code. */
  readonly code: number;
  /** The event, except for deliveries (their message is the head of the queue). */
  readonly event: StageEvent | null;
  /** Deliveries: their link. */
  readonly link: LinkId;
  /** ChainModel.fairness. */
  readonly fairness: string | null;
}

const noViolations: readonly Violation[] = Object.freeze([]);

type PackedAction = Extract<WorldAction, { kind: 'deliver' | 'deliverStale' | 'dropStale' | 'connect' | 'sandboxDone' | 'scale' }>;

export class ChainModel implements Model<ChainState, ChainAction> {
  readonly name: string;
  readonly goalProperty = 'LIVE-CONVERGENCE';
  readonly sometimes: readonly SometimesProperty<ChainState, ChainAction>[];
  private readonly config: ChainConfig;
  private readonly stepper: MemoStepper;
  private readonly parts = new Interner();
  private readonly links: readonly LinkId[];
  private readonly stages: readonly StageId[];
  private readonly nodes: readonly string[];

  // Layout of the id vector.
  private readonly stagePos = new Map<StageId, number>();
  private readonly linkIndex = new Map<LinkId, number>();
  private readonly nodeIndex = new Map<string, number>();
  private readonly channelsAt: number;
  private readonly sandboxesAt: number;
  private readonly storeAt: number;
  private readonly incarnationsAt: number;
  private readonly budgetsAt: number;
  private readonly ghostAt: number;
  private readonly scaledAt: number;
  private readonly componentCount: number;
  /** Per position: 0 an interned part, 1 a message list, 2 a plain number. */
  private readonly kinds: Uint8Array;
  /** Per link: the positions of its upstream and downstream stage. */
  private readonly upstreamPos: Int32Array;
  private readonly downstreamPos: Int32Array;

  // Message lists, hash-consed: id 0 is the empty list. Content hashes as int32 (see Interner.hashHigh).
  private readonly listValues: Array<readonly LinkMessage[]> = [[]];
  private readonly listMessageIds: number[][] = [[]];
  private readonly listTail: number[] = [-1];
  private readonly listByKey = new Map<string, number>([['', 0]]);
  private readonly listHashHigh: number[] = [emptyListHash.high | 0];
  private readonly listHashLow: number[] = [emptyListHash.low | 0];

  // Memo tables.
  /** Per stage position: stage id -> event code -> compiled step. */
  private readonly compiled: Array<Map<number, Map<number, CompiledStep>>>;
  private readonly eventCodes = new Map<string, number>();
  /** (sandboxes id, event code) -> sandboxes id after the report. */
  private readonly sandboxDoneMemo = new Map<number, number>();
  /** (ghost id, event code of a sandbox's death) -> ghost id with the pod dead. */
  private readonly deadMemo = new Map<number, number>();
  /**
   * Equal actions of the protocol as one object each (few distinct, made afresh by every
   * `protocolActions` call), so that an action's plan is found by identity.
   */
  private readonly canonicalActions = new Map<string, ChainAction>();
  private readonly plans = new Map<PackedAction, ActionPlan>();
  /** Per link: its deliveries, stale deliveries and drops per direction, and its connect. */
  private readonly linkActions: readonly LinkActions[];
  /** Per node: sandboxes id -> the sandbox reports enabled. */
  private readonly sandboxActionsMemo: ReadonlyArray<Map<number, readonly ChainAction[]>>;
  /** Ghost id -> id of its highest desired counts (what the invariants read of it). */
  private readonly maxDesiredOf: number[] = [];
  private compiledHits = 0;
  private booted: World | null = null;
  /** Actions are immutable values: the environment's are made once. */
  private readonly scaleActions: readonly ChainAction[];
  private readonly controllerCrashes: readonly ChainAction[];
  private readonly nodeFaults: ReadonlyArray<{ readonly restart: ChainAction; readonly crash: ChainAction }>;
  private readonly cuts: readonly ChainAction[];
  /** Per component group (see ChainState.group0): the table of its distinct id tuples. */
  private readonly groupTables: readonly TupleTable[];
  /** Per link: stage id -> its `clientStatus` + 1 (0: not yet worked out). */
  private readonly clientStatusMemo: Uint8Array[];
  /** (sandboxes group, queue emptiness and client statuses) -> the protocol's enabled actions. */
  private readonly protocolBySandboxes = new PairMemo<ProtocolInfo>();
  /** (pod-holding group, highest desired counts id) -> the state invariants' verdict. */
  private readonly invariantsByGroup = new PairMemo<readonly Violation[]>();
  /** (group of every stage and the sandboxes, store id) -> converged. */
  private readonly goalByGroup = new PairMemo<boolean>();

  constructor(readonly check: CheckConfig) {
    this.name = `${check.name} (${check.chain.variant})`;
    this.config = check.chain;
    this.stepper = new MemoStepper(check.chain);
    this.links = linksOf(check.chain);
    this.stages = stagesOf(check.chain);
    this.nodes = check.chain.nodes.map((n) => n.name);
    // The emptiness of every message queue and each link's client status make one number in a memo key (exact below 2^53).
    if (this.links.length > 9) throw new InvariantViolation('the packed chain model supports at most 9 links (8 Kubelets)');
    this.stages.forEach((stage, i) => this.stagePos.set(stage, i));
    this.links.forEach((link, i) => this.linkIndex.set(link, i));
    this.nodes.forEach((node, i) => this.nodeIndex.set(node, i));
    this.channelsAt = this.stages.length;
    this.sandboxesAt = this.channelsAt + this.links.length * 4;
    this.storeAt = this.sandboxesAt + this.nodes.length;
    this.incarnationsAt = this.storeAt + 1;
    this.budgetsAt = this.storeAt + 2;
    this.ghostAt = this.storeAt + 3;
    this.scaledAt = this.storeAt + 4;
    this.componentCount = this.storeAt + 5;
    this.kinds = new Uint8Array(this.componentCount);
    this.kinds.fill(1, this.channelsAt, this.sandboxesAt);
    this.kinds[this.scaledAt] = 2;
    this.upstreamPos = Int32Array.from(this.links, (l) => this.stagePos.get(linkEnds(l).upstream) ?? -1);
    this.downstreamPos = Int32Array.from(this.links, (l) => this.stagePos.get(linkEnds(l).downstream) ?? -1);
    this.compiled = this.stages.map(() => new Map());
    this.scaleActions = check.scaleScript.map((s) => ({ kind: 'scale', function: s.function, desired: s.desired }));
    this.controllerCrashes = (check.crashable ?? controllerStages).map((stage) => ({ kind: 'crash', stage }));
    this.nodeFaults = this.nodes.map((node) => ({ restart: { kind: 'crash', stage: `kubelet:${node}` }, crash: { kind: 'nodeCrash', node } }));
    this.cuts = this.links.map((link) => ({ kind: 'cut', link }));
    const directionActions = (link: LinkId, direction: 'down' | 'up') => ({
      deliver: this.canonicalAction({ kind: 'deliver', link, direction }),
      deliverStale: this.canonicalAction({ kind: 'deliverStale', link, direction }),
      dropStale: this.canonicalAction({ kind: 'dropStale', link, direction }),
    });
    this.linkActions = this.links.map((link) => ({ down: directionActions(link, 'down'), up: directionActions(link, 'up'), connect: this.canonicalAction({ kind: 'connect', link }) }));
    this.sandboxActionsMemo = this.nodes.map(() => new Map());
    const sandboxPositions = this.nodes.map((_, n) => this.sandboxesAt + n);
    // The state invariants read only the stages that hold pods (links that carry pods start at the ReplicaSet or the Scheduler).
    const podStages = this.stages.map((stage, i) => ({ stage, i })).filter(({ stage }) => roleOf(stage) === 'replicaset' || roleOf(stage) === 'scheduler' || roleOf(stage) === 'kubelet');
    this.groupTables = [
      new TupleTable(Int32Array.from([...this.stages.map((_, i) => i), ...sandboxPositions])),
      new TupleTable(Int32Array.from([...podStages.map(({ i }) => i), ...sandboxPositions])),
      new TupleTable(Int32Array.from(sandboxPositions)),
    ];
    this.clientStatusMemo = this.links.map(() => new Uint8Array(1024));
    this.sometimes = chainSometimes(check, (s) => this.goal(s), (stage, test) => this.stageTest(stage, test));
  }

  initialState(): ChainState {
    if (this.booted === null) this.booted = this.check.startSynced === true ? bootSequence(this.config, this.stepper.step).world : initialWorld(this.config);
    return this.stateOfWorld(this.booted, 0, this.check.budgets);
  }

  /** The enabled actions: the protocol's (memoized by what they read), then the environment's. The list is shared: read only. */
  actions(state: ChainState): readonly ChainAction[] {
    const info = this.protocolInfo(state);
    // What is added to the protocol's actions depends only on the budgets and the scale-script position.
    const key = (state.ids[this.budgetsAt] as number) * (this.scaleActions.length + 1) + state.scaled;
    let actions = info.enabled.get(key);
    if (actions === undefined) {
      actions = this.withEnvironment(info, state.budgets, state.scaled);
      info.enabled.set(key, actions);
    }
    return actions;
  }

  private withEnvironment(info: ProtocolInfo, b: FaultBudgets, scaled: number): readonly ChainAction[] {
    const actions: ChainAction[] = [];
    let quiescent = true;
    for (const action of info.actions) {
      if (action.kind === 'sandboxDone' && action.outcome === 'failed' && (b.sandboxFailure <= 0 || b.total <= 0)) continue;
      if (action.kind !== 'deliverStale' && action.kind !== 'dropStale') quiescent = false;
      actions.push(action);
    }
    const next = this.scaleActions[scaled];
    if (next !== undefined && (this.check.scaleWhen !== 'quiescent' || quiescent)) actions.push(next);
    if (b.total > 0) {
      if (b.controllerCrash > 0) for (const crash of this.controllerCrashes) actions.push(crash);
      for (const node of this.nodeFaults) {
        if (b.kubeletRestart > 0) actions.push(node.restart);
        if (b.nodeCrash > 0) actions.push(node.crash);
      }
      if (b.linkCut > 0) for (let l = 0; l < this.links.length; l++) if (info.open[l] === true) actions.push(this.cuts[l] as ChainAction);
    }
    return actions;
  }

  next(state: ChainState, action: ChainAction): { state: ChainState; violations: readonly Violation[] } {
    const kind = budgetKind(action);
    const budgets = kind === null ? state.budgets : { ...state.budgets, total: state.budgets.total - 1, [kind]: state.budgets[kind] - 1 };
    const scaled = action.kind === 'scale' ? state.scaled + 1 : state.scaled;
    if (action.kind === 'crash' || action.kind === 'nodeCrash' || action.kind === 'cut') {
      const outcome = applyAction(this.config, state.world, action, this.stepper.step);
      return { state: this.stateOfWorld(outcome.world, scaled, budgets), violations: outcome.violations };
    }
    const ids = state.ids.slice();
    const violations = this.applyPacked(ids, action);
    if (budgets !== state.budgets) ids[this.budgetsAt] = this.parts.idOf(budgets);
    ids[this.scaledAt] = scaled;
    const next = new ChainState(this, ids, scaled, budgets);
    if (this.check.debugChecks === true) this.crossCheck(state, action, next, violations);
    return { state: next, violations };
  }

  /** Debug: the packed transition must equal the simulator's `applyAction` on the world. */
  private crossCheck(state: ChainState, action: ChainAction, next: ChainState, violations: readonly Violation[]): void {
    const outcome = applyAction(this.config, state.world, action, this.stepper.step);
    const expected = this.stateOfWorld(outcome.world, next.scaled, next.budgets);
    const same = expected.ids.every((id, i) => id === next.ids[i]);
    const sameViolations = JSON.stringify(outcome.violations) === JSON.stringify(violations);
    if (!same || !sameViolations) throw new InvariantViolation(`packed transition differs from applyAction for ${describeAction(action)}`);
  }

  /**
   * The frequent actions, on the ids. Mirrors `applyAction` (simulator/world.ts) step for
   * step. Returns the violations the transition observed (a memoized array: read only).
   */
  private applyPacked(ids: number[], action: PackedAction): readonly Violation[] {
    const plan = this.planOf(action);
    switch (action.kind) {
      case 'deliver':
      case 'deliverStale': {
        const list = ids[plan.pos] as number;
        const messageId = this.listMessageIds[list]?.[0];
        if (messageId === undefined) throw new InvariantViolation(`no message to deliver on ${action.link} ${action.direction}`);
        ids[plan.pos] = this.tailOf(list);
        return this.receive(ids, plan, messageId * 128 + plan.code * 2, messageId);
      }
      case 'dropStale': {
        if (ids[plan.pos] === 0) throw new InvariantViolation(`no stale message on ${action.link} ${action.direction}`);
        ids[plan.pos] = this.tailOf(ids[plan.pos] as number);
        return noViolations;
      }
      case 'sandboxDone': {
        const doneKey = (ids[plan.pos] as number) * idSpan + plan.code;
        let sandboxes = this.sandboxDoneMemo.get(doneKey);
        if (sandboxes === undefined) {
          sandboxes = this.parts.idOf(sandboxesAfterDone(this.parts.values[ids[plan.pos] as number] as Record<string, Sandbox>, action.node, action.pod, action.outcome));
          this.sandboxDoneMemo.set(doneKey, sandboxes);
        }
        ids[plan.pos] = sandboxes;
        if (action.outcome !== 'started') {
          const deadKey = (ids[this.ghostAt] as number) * idSpan + plan.code;
          let ghost = this.deadMemo.get(deadKey);
          if (ghost === undefined) {
            const before = this.parts.values[ids[this.ghostAt] as number] as Ghost;
            ghost = this.ghostId({ ...before, dead: addName(before.dead, action.pod) });
            this.deadMemo.set(deadKey, ghost);
          }
          ids[this.ghostAt] = ghost;
        }
        return this.receive(ids, plan, plan.code, -1);
      }
      case 'connect':
      case 'scale':
        return this.receive(ids, plan, plan.code, -1);
    }
  }

  private canonicalAction(action: ChainAction): ChainAction {
    const key = JSON.stringify(action);
    let canonical = this.canonicalActions.get(key);
    if (canonical === undefined) {
      canonical = action;
      this.canonicalActions.set(key, canonical);
    }
    return canonical;
  }

  /** What `action` touches, worked out on its first use (actions are immutable objects, reused from the memo tables). */
  private planOf(action: PackedAction): ActionPlan {
    let plan = this.plans.get(action);
    if (plan === undefined) {
      plan = this.makePlan(action);
      this.plans.set(action, plan);
    }
    return plan;
  }

  private makePlan(action: PackedAction): ActionPlan {
    switch (action.kind) {
      case 'deliver':
      case 'deliverStale':
      case 'dropStale': {
        const l = this.linkOf(action.link);
        const receiverPos = action.direction === 'down' ? (this.downstreamPos[l] as number) : (this.upstreamPos[l] as number);
        return { pos: this.channelPos(l, action.direction, action.kind !== 'deliver'), receiverPos, code: l, event: null, link: action.link, fairness: this.fairnessClass(action) };
      }
      case 'connect': {
        const l = this.linkOf(action.link);
        const event: StageEvent = { type: 'link.connected', link: action.link };
        return { pos: -1, receiverPos: this.upstreamPos[l] as number, code: this.eventCode(`connect ${action.link}`), event, link: action.link, fairness: this.fairnessClass(action) };
      }
      case 'sandboxDone': {
        const event: StageEvent = { type: `sandbox.${action.outcome}`, pod: action.pod };
        const code = this.eventCode(`sandbox.${action.outcome} ${action.pod}`);
        return { pos: this.sandboxesAt + (this.nodeIndex.get(action.node) ?? -1), receiverPos: this.stagePos.get(`kubelet:${action.node}`) ?? -1, code, event, link: '', fairness: this.fairnessClass(action) };
      }
      case 'scale': {
        const event: StageEvent = { type: 'scale.requested', function: action.function, desired: action.desired };
        return { pos: -1, receiverPos: this.stagePos.get('autoscaler') ?? -1, code: this.eventCode(`scale ${action.function} ${action.desired}`), event, link: '', fairness: null };
      }
    }
  }

  /**
   * One stage step on the ids, then its effects in order, then the ghost's observation (as
   * `deliverEvent` does). `code` identifies the event; a delivery's event (its message,
   * `messageId`) is built only when the step is compiled.
   */
  private receive(ids: number[], plan: ActionPlan, code: number, messageId: number): readonly Violation[] {
    const stagePos = plan.receiverPos;
    if (stagePos < 0) throw new InvariantViolation(`no stage for ${plan.event?.type ?? 'a delivery'}`);
    const stageId = ids[stagePos] as number;
    const byState = this.compiled[stagePos] as Map<number, Map<number, CompiledStep>>;
    let byEvent = byState.get(stageId);
    if (byEvent === undefined) {
      byEvent = new Map();
      byState.set(stageId, byEvent);
    }
    let step = byEvent.get(code);
    if (step === undefined) {
      const event = plan.event ?? { type: 'message.received', link: plan.link, message: this.stepper.messages.values[messageId] as LinkMessage };
      step = this.compile(this.stages[stagePos] as StageId, stageId, event);
      byEvent.set(code, step);
    } else this.compiledHits++;
    ids[stagePos] = step.after;
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
    const ghost = ids[this.ghostAt] as number;
    let observed = step.observed.get(ghost);
    if (observed === undefined) {
      const before = this.parts.values[ghost] as Ghost;
      const { result } = step;
      const out = observeStep(this.config, before, { stage: step.stage, event: step.event, before: step.before, after: result.state, effects: result.effects, trace: result.trace, disposition: result.disposition });
      observed = { ghost: out.ghost === before ? ghost : this.ghostId(out.ghost), violations: out.violations.length === 0 ? noViolations : out.violations };
      step.observed.set(ghost, observed);
    }
    ids[this.ghostAt] = observed.ghost;
    return observed.violations;
  }

  private compile(stage: StageId, stageId: number, event: StageEvent): CompiledStep {
    const before = this.parts.values[stageId] as StageState;
    const result = this.stepper.step(this.config, stage, before, event);
    const ops = result.effects.map((effect): AppendOp | ComponentOp => {
      switch (effect.type) {
        case 'message.send': {
          const direction = linkEnds(effect.link).upstream === stage ? 'down' : 'up';
          const messageId = this.stepper.messages.idOf(effect.message);
          return { kind: 'append', pos: this.channelPos(this.linkOf(effect.link), direction, false), messageId, memo: new Map() };
        }
        case 'sandbox.start':
        case 'sandbox.kill': {
          const node = nodeOfKubelet(stage);
          return { kind: 'sandboxes', pos: this.sandboxesAt + (this.nodeIndex.get(node) ?? -1), node, effect, memo: new Map() };
        }
        case 'store.persist':
          return { kind: 'store', pos: this.storeAt, node: '', effect, memo: new Map() };
      }
    });
    return { after: this.parts.idOf(result.state), ops, stage, event, before, result, observed: new Map() };
  }

  private applyOp(op: AppendOp | ComponentOp, current: number): number {
    if (op.kind === 'append') return this.listOfIds([...(this.listMessageIds[current] as number[]), op.messageId]);
    const value = this.parts.values[current] as Record<string, never>;
    const effect = op.effect;
    if (op.kind === 'sandboxes' && (effect.type === 'sandbox.start' || effect.type === 'sandbox.kill')) return this.parts.idOf(sandboxesAfterEffect(value, op.node, effect));
    if (op.kind === 'store' && effect.type === 'store.persist') return this.parts.idOf(storeAfterEffect(value, effect));
    throw new InvariantViolation(`no component update for ${effect.type}`);
  }

  private eventCode(text: string): number {
    let code = this.eventCodes.get(text);
    if (code === undefined) {
      code = this.eventCodes.size * 2 + 1;
      this.eventCodes.set(text, code);
    }
    return code;
  }

  private linkOf(link: LinkId): number {
    const l = this.linkIndex.get(link);
    if (l === undefined) throw new InvariantViolation(`unknown link ${link}`);
    return l;
  }

  private channelPos(link: number, direction: 'down' | 'up', stale: boolean): number {
    return this.channelsAt + link * 4 + (direction === 'down' ? 0 : 2) + (stale ? 1 : 0);
  }

  private ghostId(ghost: Ghost): number {
    const id = this.parts.idOf(ghost);
    if (this.maxDesiredOf[id] === undefined) this.maxDesiredOf[id] = this.parts.idOf(ghost.maxDesired);
    if (id >= idSpan) throw new InvariantViolation('more interned components than the packed model\'s memo keys allow');
    return id;
  }

  private listOf(messages: readonly LinkMessage[]): number {
    if (messages.length === 0) return 0;
    return this.listOfIds(messages.map((m) => this.stepper.messages.idOf(m)));
  }

  private listOfIds(messageIds: number[]): number {
    const key = messageIds.join('.');
    let id = this.listByKey.get(key);
    if (id === undefined) {
      id = this.listValues.length;
      this.listByKey.set(key, id);
      const messages = this.stepper.messages;
      this.listValues.push(messageIds.map((m) => messages.values[m] as LinkMessage));
      this.listMessageIds.push(messageIds);
      this.listTail.push(-1);
      // The list's content hash, from its messages' content hashes in order.
      let a = 0x6a09e667;
      let b = 0xbb67ae85;
      for (const m of messageIds) {
        a = Math.imul(a ^ (messages.hashHigh[m] as number), 0x01000193);
        a ^= a >>> 13;
        b = Math.imul(b ^ (messages.hashLow[m] as number), 0x5bd1e995);
        b ^= b >>> 15;
      }
      this.listHashHigh.push(a | 0);
      this.listHashLow.push(b | 0);
    }
    return id;
  }

  private tailOf(list: number): number {
    let tail = this.listTail[list] as number;
    if (tail < 0) {
      tail = this.listOfIds((this.listMessageIds[list] as number[]).slice(1));
      this.listTail[list] = tail;
    }
    return tail;
  }

  /** Packs a world (the initial one, or one after a fault taken by `applyAction`). */
  private stateOfWorld(world: World, scaled: number, budgets: FaultBudgets): ChainState {
    const ids = zeros(this.componentCount);
    this.stages.forEach((stage, i) => {
      ids[i] = this.parts.idOf(world.stages[stage] as object);
    });
    this.links.forEach((link, l) => {
      const c = world.links[link] as LinkChannels;
      ids[this.channelPos(l, 'down', false)] = this.listOf(c.down.current);
      ids[this.channelPos(l, 'down', true)] = this.listOf(c.down.stale);
      ids[this.channelPos(l, 'up', false)] = this.listOf(c.up.current);
      ids[this.channelPos(l, 'up', true)] = this.listOf(c.up.stale);
    });
    this.nodes.forEach((node, n) => {
      ids[this.sandboxesAt + n] = this.parts.idOf(world.sandboxes[node] as object);
    });
    ids[this.storeAt] = this.parts.idOf(world.store);
    ids[this.incarnationsAt] = this.parts.idOf(world.incarnations);
    ids[this.budgetsAt] = this.parts.idOf(budgets);
    ids[this.ghostAt] = this.ghostId(world.ghost);
    ids[this.scaledAt] = scaled;
    return new ChainState(this, ids, scaled, budgets);
  }

  /** The world of a packed state, from canonical components (for ChainState.world). */
  worldOf(ids: readonly number[]): World {
    const values = this.parts.values;
    const lists = this.listValues;
    const stages: Record<StageId, StageState> = {};
    for (let i = 0; i < this.stages.length; i++) stages[this.stages[i] as StageId] = values[ids[i] as number] as StageState;
    const links: Record<LinkId, LinkChannels> = {};
    for (let l = 0; l < this.links.length; l++) {
      const at = this.channelsAt + l * 4;
      links[this.links[l] as LinkId] = {
        down: { current: lists[ids[at] as number] as readonly LinkMessage[], stale: lists[ids[at + 1] as number] as readonly LinkMessage[] },
        up: { current: lists[ids[at + 2] as number] as readonly LinkMessage[], stale: lists[ids[at + 3] as number] as readonly LinkMessage[] },
      };
    }
    const sandboxes: Record<string, Readonly<Record<string, Sandbox>>> = {};
    for (let n = 0; n < this.nodes.length; n++) sandboxes[this.nodes[n] as string] = values[ids[this.sandboxesAt + n] as number] as Record<string, Sandbox>;
    return {
      stages,
      incarnations: values[ids[this.incarnationsAt] as number] as Record<StageId, number>,
      store: values[ids[this.storeAt] as number] as Record<string, number>,
      links,
      sandboxes,
      ghost: values[ids[this.ghostAt] as number] as Ghost,
    };
  }

  stageOf(ids: readonly number[], stage: StageId): StageState {
    const pos = this.stagePos.get(stage);
    if (pos === undefined) throw new InvariantViolation(`unknown stage ${stage}`);
    return this.parts.values[ids[pos] as number] as StageState;
  }

  /** The id of a group of a state's components (see ChainState.group0), interned, computed once per state. */
  private groupOf(state: ChainState, group: 0 | 1 | 2): number {
    const known = group === 0 ? state.group0 : group === 1 ? state.group1 : state.group2;
    if (known >= 0) return known;
    const table = this.groupTables[group] as TupleTable;
    const id = table.idOf(state.ids);
    if (id >= idSpan) throw new InvariantViolation('more distinct component groups than the packed model\'s memo keys allow');
    if (group === 0) state.group0 = id;
    else if (group === 1) state.group1 = id;
    else state.group2 = id;
    return id;
  }

  /** `test` of a stage's state as a test of chain states, memoized by the stage's component id. */
  private stageTest(stage: StageId, test: (state: StageState) => boolean): (s: ChainState) => boolean {
    const pos = this.stagePos.get(stage);
    if (pos === undefined) throw new InvariantViolation(`unknown stage ${stage}`);
    /** Per stage id: 0 not yet tested, 1 false, 2 true. */
    let verdicts: Uint8Array = new Uint8Array(1024);
    return (s) => {
      const stageId = s.ids[pos] as number;
      if (stageId >= verdicts.length) verdicts = growBytes(verdicts, stageId);
      let verdict = verdicts[stageId] as number;
      if (verdict === 0 || this.check.debugChecks === true) {
        const fresh = test(this.parts.values[stageId] as StageState) ? 2 : 1;
        if (verdict !== 0 && verdict !== fresh) throw new InvariantViolation(`memoized test of ${stage} differs`);
        verdict = fresh;
        verdicts[stageId] = verdict;
      }
      return verdict === 2;
    };
  }

  /** How a link's upstream stage stands for `protocolActions`: 0 no client side, 1 disconnected, 2 in a session. */
  private clientStatus(link: number, stageId: number): number {
    let byStage = this.clientStatusMemo[link] as Uint8Array;
    if (stageId >= byStage.length) {
      byStage = growBytes(byStage, stageId);
      this.clientStatusMemo[link] = byStage;
    }
    // Stored as status + 1, so that 0 means not worked out yet.
    let stored = byStage[stageId] as number;
    if (stored === 0) {
      const client = clientSideOf(this.parts.values[stageId] as StageState, this.links[link] as LinkId);
      stored = 1 + (client === undefined ? 0 : client.session === 'disconnected' ? 1 : 2);
      byStage[stageId] = stored;
    }
    return stored - 1;
  }

  /**
   * The protocol's enabled actions (`protocolActions`, and `linkIsOpen` per link),
   * memoized by what they read: which queues are empty, each link's client session
   * status, and the sandboxes.
   */
  private protocolInfo(state: ChainState): ProtocolInfo {
    const ids = state.ids;
    let key = 0;
    for (let i = this.channelsAt; i < this.sandboxesAt; i++) key = key * 2 + (ids[i] !== 0 ? 1 : 0);
    for (let l = 0; l < this.links.length; l++) key = key * 3 + this.clientStatus(l, ids[this.upstreamPos[l] as number] as number);
    const sandboxes = this.groupOf(state, 2);
    let info = this.protocolBySandboxes.get(sandboxes, key);
    if (info === undefined) {
      info = this.composeProtocolInfo(ids);
      this.protocolBySandboxes.set(sandboxes, key, info);
    }
    if (this.check.debugChecks === true) {
      const world = state.world;
      const expected = JSON.stringify([protocolActions(this.config, world), this.links.map((link) => linkIsOpen(world, link))]);
      if (JSON.stringify([info.actions, info.open]) !== expected) throw new InvariantViolation('memoized enabled actions differ from protocolActions');
    }
    return info;
  }

  /**
   * The protocol's enabled actions from the components they read, without building the
   * world: mirrors `protocolActions` and `linkIsOpen` (simulator/world.ts), in their order
   * (`debugChecks` compares). Every action is one of the model's canonical objects.
   */
  private composeProtocolInfo(ids: readonly number[]): ProtocolInfo {
    const actions: ChainAction[] = [];
    const open: boolean[] = [];
    for (let l = 0; l < this.links.length; l++) {
      const onLink = this.linkActions[l] as LinkActions;
      for (const [d, direction] of [onLink.down, onLink.up].entries()) {
        const at = this.channelsAt + l * 4 + d * 2;
        if (ids[at] !== 0) actions.push(direction.deliver);
        if (ids[at + 1] !== 0) actions.push(direction.deliverStale, direction.dropStale);
      }
      const status = this.clientStatus(l, ids[this.upstreamPos[l] as number] as number);
      if (status === 1) actions.push(onLink.connect);
      open.push(status === 2);
    }
    for (let n = 0; n < this.nodes.length; n++) for (const action of this.sandboxActions(n, ids[this.sandboxesAt + n] as number)) actions.push(action);
    return { actions, open, enabled: new Map() };
  }

  /** The sandbox reports enabled on node `n` with sandboxes `sandboxesId` (as `protocolActions` lists them). */
  private sandboxActions(n: number, sandboxesId: number): readonly ChainAction[] {
    const byId = this.sandboxActionsMemo[n] as Map<number, readonly ChainAction[]>;
    let actions = byId.get(sandboxesId);
    if (actions === undefined) {
      const node = this.nodes[n] as string;
      const listed: ChainAction[] = [];
      for (const [pod, sandbox] of Object.entries(this.parts.values[sandboxesId] as Record<string, Sandbox>)) {
        if (sandbox.state === 'starting') {
          listed.push(this.canonicalAction({ kind: 'sandboxDone', node, pod, outcome: 'started' }));
          listed.push(this.canonicalAction({ kind: 'sandboxDone', node, pod, outcome: 'failed' }));
        } else if (sandbox.state === 'killing') listed.push(this.canonicalAction({ kind: 'sandboxDone', node, pod, outcome: 'killed' }));
      }
      actions = listed;
      byId.set(sandboxesId, actions);
    }
    return actions;
  }

  // Handing states to other worker threads (parallel search): ids are local to a worker,
  // so a state travels as the sender's ids plus the content of every component the peer
  // has not been sent before; the peer keeps a translation of the sender's ids to its own.
  private readonly sentTo = new Map<number, { parts: Set<number>; lists: Set<number>; messages: Set<number> }>();
  private readonly receivedFrom = new Map<number, { parts: number[]; lists: number[]; messages: number[] }>();

  encode(state: ChainState, peer: number): EncodedState {
    let sent = this.sentTo.get(peer);
    if (sent === undefined) {
      sent = { parts: new Set(), lists: new Set(), messages: new Set() };
      this.sentTo.set(peer, sent);
    }
    const parts: Array<[number, string]> = [];
    const lists: Array<[number, number[]]> = [];
    const messages: Array<[number, string]> = [];
    const ids = state.ids;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      const kind = this.kinds[i];
      if (kind === 0 && !sent.parts.has(id)) {
        sent.parts.add(id);
        parts.push([id, JSON.stringify(this.parts.values[id])]);
      } else if (kind === 1 && !sent.lists.has(id)) {
        sent.lists.add(id);
        const messageIds = this.listMessageIds[id] as number[];
        for (const m of messageIds)
          if (!sent.messages.has(m)) {
            sent.messages.add(m);
            messages.push([m, JSON.stringify(this.stepper.messages.values[m])]);
          }
        lists.push([id, messageIds]);
      }
    }
    return { ids: Int32Array.from(ids), parts, lists, messages };
  }

  decode(data: unknown, from: number): ChainState {
    const encoded = data as EncodedState;
    let known = this.receivedFrom.get(from);
    if (known === undefined) {
      known = { parts: [], lists: [], messages: [] };
      this.receivedFrom.set(from, known);
    }
    for (const [m, json] of encoded.messages) known.messages[m] = this.stepper.messages.idOf(JSON.parse(json) as object);
    const messages = known.messages;
    for (const [list, messageIds] of encoded.lists) known.lists[list] = this.listOfIds(messageIds.map((m) => messages[m] as number));
    // A stage state's pod cache is a class (machines/README.md, "Canonical state"): revive it.
    const stageParts = new Set(encoded.ids.slice(0, this.stages.length));
    for (const [part, json] of encoded.parts) {
      const value = JSON.parse(json) as object;
      known.parts[part] = this.parts.idOf(stageParts.has(part) ? reviveStageState(value) : value);
    }
    const ids = new Int32Array(encoded.ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = encoded.ids[i] as number;
      const kind = this.kinds[i];
      const local = kind === 0 ? known.parts[id] : kind === 1 ? known.lists[id] : id;
      if (local === undefined) throw new InvariantViolation(`worker ${from} sent component ${id} at position ${i} without its content`);
      ids[i] = local;
    }
    this.ghostId(this.parts.values[ids[this.ghostAt] as number] as Ghost);
    return new ChainState(this, ids, ids[this.scaledAt] as number, this.parts.values[ids[this.budgetsAt] as number] as FaultBudgets);
  }

  /** A state is its id vector (the scale-script position and the budgets are in it too). */
  get packedWidth(): number {
    return this.componentCount;
  }

  pack(state: ChainState, into: Int32Array, at: number): void {
    const ids = state.ids;
    for (let i = 0; i < ids.length; i++) into[at + i] = ids[i] as number;
  }

  unpack(from: Int32Array, at: number): ChainState {
    const ids: number[] = [];
    for (let i = 0; i < this.componentCount; i++) ids.push(from[at + i] as number);
    return new ChainState(this, ids, ids[this.scaledAt] as number, this.parts.values[ids[this.budgetsAt] as number] as FaultBudgets);
  }

  key(state: ChainState): string {
    return state.ids.join(',');
  }

  /**
   * The state's 64-bit fingerprint, from its components' content hashes in position
   * order (not from the ids, which depend on the order components were first seen): the
   * same state has the same fingerprint in every process and worker thread.
   */
  fingerprint(state: ChainState): Fingerprint {
    const ids = state.ids;
    const kinds = this.kinds;
    const partsHigh = this.parts.hashHigh;
    const partsLow = this.parts.hashLow;
    let a = 0x811c9dc5;
    let b = 0x9747b28c;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      const kind = kinds[i];
      const h = kind === 0 ? (partsHigh[id] as number) : kind === 1 ? (this.listHashHigh[id] as number) : id;
      const l = kind === 0 ? (partsLow[id] as number) : kind === 1 ? (this.listHashLow[id] as number) : id;
      a = Math.imul(a ^ h, 0x01000193);
      a ^= a >>> 15;
      b = Math.imul(b ^ l, 0x5bd1e995);
      b ^= b >>> 13;
    }
    a ^= a >>> 16;
    a = Math.imul(a, 0x85ebca6b);
    a ^= a >>> 13;
    b = Math.imul(b ^ (b >>> 16), 0xc2b2ae35);
    b ^= b >>> 16;
    return { high: a >>> 0, low: b >>> 0 };
  }

  /**
   * The state invariants (simulator/invariants.ts), memoized by the ids of what they
   * read: the stages that hold pods, every node's sandboxes and the ghost's highest
   * desired counts. `debugChecks` recomputes every time and fails on a difference.
   */
  invariants(state: ChainState): readonly Violation[] {
    const group = this.groupOf(state, 1);
    const maxDesired = this.maxDesiredOf[state.ids[this.ghostAt] as number] as number;
    let found = this.invariantsByGroup.get(group, maxDesired);
    if (found === undefined || this.check.debugChecks === true) {
      const fresh = checkInvariants(this.config, state.world);
      if (found !== undefined && JSON.stringify(found) !== JSON.stringify(fresh)) throw new InvariantViolation('memoized invariant verdict differs from checkInvariants');
      found = fresh;
      this.invariantsByGroup.set(group, maxDesired, found);
    }
    return found;
  }

  /** The fairness class of an action (worked out once per action object: see planOf). */
  fairness(action: ChainAction): string | null {
    switch (action.kind) {
      case 'crash':
      case 'nodeCrash':
      case 'cut':
      case 'scale':
        return null;
      default:
        return this.planOf(action).fairness;
    }
  }

  private fairnessClass(action: ChainAction): string | null {
    switch (action.kind) {
      case 'deliver':
        return `deliver ${action.direction} ${action.link}`;
      case 'deliverStale':
      case 'dropStale':
        return `stale ${action.direction} ${action.link}`;
      case 'connect':
        return `connect ${action.link}`;
      case 'sandboxDone':
        return action.outcome === 'failed' ? null : `sandbox ${action.node} ${action.pod}`;
      default:
        return null;
    }
  }

  /** Converged (simulator/convergence.ts), memoized by what it reads once nothing is in flight: stages, sandboxes, store. */
  readonly goal = (state: ChainState): boolean => {
    const ids = state.ids;
    // Cheap necessary condition first: nothing in flight in any current session.
    for (let l = 0; l < this.links.length; l++) if (ids[this.channelPos(l, 'down', false)] !== 0 || ids[this.channelPos(l, 'up', false)] !== 0) return false;
    const group = this.groupOf(state, 0);
    const store = ids[this.storeAt] as number;
    let converged = this.goalByGroup.get(group, store);
    if (converged === undefined || this.check.debugChecks === true) {
      const fresh = isConverged(this.config, state.world);
      if (converged !== undefined && converged !== fresh) throw new InvariantViolation('memoized convergence differs from isConverged');
      converged = fresh;
      this.goalByGroup.set(group, store, converged);
    }
    return converged;
  };

  describe(action: ChainAction): string {
    return describeAction(action);
  }

  /** How often the machines really ran, against how often a memoized step was reused. */
  memoStats(): { stageSteps: number; reused: number; distinctStageStates: number } {
    return { stageSteps: this.stepper.misses, reused: this.stepper.hits + this.compiledHits, distinctStageStates: this.stepper.stages.size };
  }
}

/** The chain model of a JSON-only config: how a worker thread of the parallel search (checker/engine/parallel.ts) builds its copy. */
export function chainModelOf(check: CheckConfig): ChainModel {
  return new ChainModel(check);
}

/** This module, for `chainModelOf` in worker threads. */
export const chainModelModule = import.meta.url;

function anyTombstone(state: ChainState, stage: StageId): boolean {
  return [...podCacheOf(state.stage(stage)).entries()].some((e) => stateIsTombstone(e.lifecycle));
}

/** A test of one stage's state, as a test of chain states (see ChainModel.stageTest). */
export type StageTest = (stage: StageId, test: (state: StageState) => boolean) => (s: ChainState) => boolean;

const unmemoizedStageTest: StageTest = (stage, test) => (s) => test(s.stage(stage));

/**
 * Reachability checks, so that a pass is not vacuous: each should be covered by a run.
 * `converged` may be a memoized form of `isConverged` (the model's goal), `stageTest` a
 * memoized form of testing a stage's state (they are checked on every transition until covered).
 */
export function chainSometimes(
  check: CheckConfig,
  converged: (s: ChainState) => boolean = (s) => isConverged(check.chain, s.world),
  stageTest: StageTest = unmemoizedStageTest,
): readonly SometimesProperty<ChainState, ChainAction>[] {
  const stages = stagesOf(check.chain);
  const schedulerPreempted = stageTest('scheduler', (scheduler) => [...podCacheOf(scheduler).entries()].some((e) => stateIsTombstone(e.lifecycle) && e.origin === 'scheduler'));
  const helloDeferred = stages.map((st) => stageTest(st, (state) => serverSide(state)?.session === 'helloDeferred'));
  return [
    {
      id: 'SOMETIMES-PREEMPTION',
      description: 'the Scheduler preempted a pod',
      holds: schedulerPreempted,
    },
    {
      id: 'SOMETIMES-TOMBSTONE-ACROSS-CRASH',
      description: 'a tombstone was held by a stage right after another stage crashed',
      holds: (s, a) => (a.kind === 'crash' || a.kind === 'nodeCrash' ? ['replicaset', 'scheduler'].some((st) => anyTombstone(s, st)) : false),
    },
    {
      id: 'SOMETIMES-STALE-DELIVERED',
      description: 'a message of an ended session arrived late (and had to be fenced)',
      holds: (_s, a) => a.kind === 'deliverStale',
    },
    {
      id: 'SOMETIMES-SCALE-DOWN-DONE',
      description: 'a termination completed: a sandbox was killed',
      holds: (_s, a) => a.kind === 'sandboxDone' && a.outcome === 'killed',
    },
    {
      id: 'SOMETIMES-DEFERRED-HELLO',
      description: 'a restarted stage deferred its upstream hello while cold',
      holds: (s) => helloDeferred.some((deferred) => deferred(s)),
    },
    {
      id: 'SOMETIMES-CONVERGED-AFTER-FAULT',
      description: 'the chain converged after a fault',
      holds: (s) => s.budgets.total < check.budgets.total && converged(s),
    },
  ];
}
