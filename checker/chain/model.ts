/**
 * The Kubedirect chain as a model for the search engine: the simulator's world
 * (simulator/world.ts) stepped through the same machines, plus the environment (scale
 * script, fault budgets). No protocol decision is made here.
 *
 * States are packed: a state is a vector of component ids (each stage, the four message
 * queues of each link, each node's sandboxes, the store, incarnations, budgets, ghost,
 * scale-script position), every component hash-consed (interning.ts), so a successor
 * copies a small Int32Array and replaces the ids of the components that changed. The
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
import type { CheckConfig, FaultBudgets } from './presets.js';

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

  constructor(
    private readonly model: ChainModel,
    /** The content ids of the components, in the model's fixed order. */
    readonly ids: Int32Array,
    /** Scale-script steps taken. */
    readonly scaled: number,
    /** Faults left, per kind. */
    readonly budgets: FaultBudgets,
  ) {}

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
}

/** A state in transit between worker threads (see ChainModel.encode). */
interface EncodedState {
  readonly ids: Int32Array;
  readonly parts: ReadonlyArray<readonly [number, string]>;
  readonly lists: ReadonlyArray<readonly [number, readonly number[]]>;
  readonly messages: ReadonlyArray<readonly [number, string]>;
}

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

  // Message lists, hash-consed: id 0 is the empty list.
  private readonly listValues: Array<readonly LinkMessage[]> = [[]];
  private readonly listMessageIds: number[][] = [[]];
  private readonly listTail: number[] = [-1];
  private readonly listByKey = new Map<string, number>([['', 0]]);
  private readonly listHashHigh: number[] = [emptyListHash.high];
  private readonly listHashLow: number[] = [emptyListHash.low];

  // Memo tables.
  /** Per stage position: stage id -> event code -> compiled step. */
  private readonly compiled: Array<Map<number, Map<number, CompiledStep>>>;
  private readonly eventCodes = new Map<string, number>();
  private readonly sandboxDoneMemo = new Map<string, number>();
  private readonly deadMemo = new Map<string, number>();
  /** Ghost id -> id of its highest desired counts (what the invariants read of it). */
  private readonly maxDesiredOf: number[] = [];
  private compiledHits = 0;
  private booted: World | null = null;
  /** Actions are immutable values: the environment's are made once. */
  private readonly scaleActions: readonly ChainAction[];
  private readonly controllerCrashes: readonly ChainAction[];
  private readonly nodeFaults: ReadonlyArray<{ readonly restart: ChainAction; readonly crash: ChainAction }>;
  private readonly cuts: readonly ChainAction[];
  /** Per component group (see ChainState.group0): its positions, and key -> group id. */
  private readonly groupPositions: readonly Int32Array[];
  private readonly groupIds = [new Map<string, number>(), new Map<string, number>(), new Map<string, number>()];
  private readonly clientStatusMemo: ReadonlyArray<Map<number, number>>;
  private readonly protocolBySandboxes = new Map<number, Map<number, ProtocolInfo>>();
  private readonly invariantsByGroup = new Map<number, readonly Violation[]>();
  private readonly goalByGroup = new Map<number, boolean>();

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
    const sandboxPositions = this.nodes.map((_, n) => this.sandboxesAt + n);
    // The state invariants read only the stages that hold pods (links that carry pods start at the ReplicaSet or the Scheduler).
    const podStages = this.stages.map((stage, i) => ({ stage, i })).filter(({ stage }) => roleOf(stage) === 'replicaset' || roleOf(stage) === 'scheduler' || roleOf(stage) === 'kubelet');
    this.groupPositions = [
      Int32Array.from([...this.stages.map((_, i) => i), ...sandboxPositions]),
      Int32Array.from([...podStages.map(({ i }) => i), ...sandboxPositions]),
      Int32Array.from(sandboxPositions),
    ];
    this.clientStatusMemo = this.links.map(() => new Map());
    this.sometimes = chainSometimes(check, (s) => this.goal(s));
  }

  initialState(): ChainState {
    if (this.booted === null) this.booted = this.check.startSynced === true ? bootSequence(this.config, this.stepper.step).world : initialWorld(this.config);
    return this.stateOfWorld(this.booted, 0, this.check.budgets);
  }

  actions(state: ChainState): readonly ChainAction[] {
    const info = this.protocolInfo(state);
    const actions: ChainAction[] = [];
    const b = state.budgets;
    let quiescent = true;
    for (const action of info.actions) {
      if (action.kind === 'sandboxDone' && action.outcome === 'failed' && (b.sandboxFailure <= 0 || b.total <= 0)) continue;
      if (action.kind !== 'deliverStale' && action.kind !== 'dropStale') quiescent = false;
      actions.push(action);
    }
    const next = this.scaleActions[state.scaled];
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
    const violations: Violation[] = [];
    this.applyPacked(ids, action, violations);
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

  /** The frequent actions, on the ids. Mirrors `applyAction` (simulator/world.ts) step for step. */
  private applyPacked(ids: Int32Array, action: PackedAction, violations: Violation[]): void {
    switch (action.kind) {
      case 'deliver':
      case 'deliverStale': {
        const l = this.linkOf(action.link);
        const pos = this.channelPos(l, action.direction, action.kind === 'deliverStale');
        const list = ids[pos] as number;
        const messageId = this.listMessageIds[list]?.[0];
        if (messageId === undefined) throw new InvariantViolation(`no message to deliver on ${action.link} ${action.direction}`);
        ids[pos] = this.tailOf(list);
        const message = this.stepper.messages.values[messageId] as LinkMessage;
        const receiverPos = action.direction === 'down' ? (this.downstreamPos[l] as number) : (this.upstreamPos[l] as number);
        this.receive(ids, receiverPos, { type: 'message.received', link: action.link, message }, messageId * 128 + l * 2, violations);
        return;
      }
      case 'dropStale': {
        const pos = this.channelPos(this.linkOf(action.link), action.direction, true);
        if (ids[pos] === 0) throw new InvariantViolation(`no stale message on ${action.link} ${action.direction}`);
        ids[pos] = this.tailOf(ids[pos] as number);
        return;
      }
      case 'connect': {
        const l = this.linkOf(action.link);
        this.receive(ids, this.upstreamPos[l] as number, { type: 'link.connected', link: action.link }, this.eventCode(`connect ${action.link}`), violations);
        return;
      }
      case 'sandboxDone': {
        const pos = this.sandboxesAt + (this.nodeIndex.get(action.node) ?? -1);
        const doneKey = `${ids[pos]} ${action.pod} ${action.outcome}`;
        let sandboxes = this.sandboxDoneMemo.get(doneKey);
        if (sandboxes === undefined) {
          sandboxes = this.parts.idOf(sandboxesAfterDone(this.parts.values[ids[pos] as number] as Record<string, Sandbox>, action.node, action.pod, action.outcome));
          this.sandboxDoneMemo.set(doneKey, sandboxes);
        }
        ids[pos] = sandboxes;
        if (action.outcome !== 'started') {
          const deadKey = `${ids[this.ghostAt]} ${action.pod}`;
          let ghost = this.deadMemo.get(deadKey);
          if (ghost === undefined) {
            const before = this.parts.values[ids[this.ghostAt] as number] as Ghost;
            ghost = this.ghostId({ ...before, dead: addName(before.dead, action.pod) });
            this.deadMemo.set(deadKey, ghost);
          }
          ids[this.ghostAt] = ghost;
        }
        const kubelet = this.stagePos.get(`kubelet:${action.node}`) ?? -1;
        this.receive(ids, kubelet, { type: `sandbox.${action.outcome}`, pod: action.pod }, this.eventCode(`sandbox.${action.outcome} ${action.pod}`), violations);
        return;
      }
      case 'scale':
        this.receive(
          ids,
          this.stagePos.get('autoscaler') ?? -1,
          { type: 'scale.requested', function: action.function, desired: action.desired },
          this.eventCode(`scale ${action.function} ${action.desired}`),
          violations,
        );
        return;
    }
  }

  /** One stage step on the ids, then its effects in order, then the ghost's observation (as `deliverEvent` does). */
  private receive(ids: Int32Array, stagePos: number, event: StageEvent, code: number, violations: Violation[]): void {
    if (stagePos < 0) throw new InvariantViolation(`no stage for ${event.type}`);
    const stageId = ids[stagePos] as number;
    const byState = this.compiled[stagePos] as Map<number, Map<number, CompiledStep>>;
    let byEvent = byState.get(stageId);
    if (byEvent === undefined) {
      byEvent = new Map();
      byState.set(stageId, byEvent);
    }
    let step = byEvent.get(code);
    if (step === undefined) {
      step = this.compile(this.stages[stagePos] as StageId, stageId, event);
      byEvent.set(code, step);
    } else this.compiledHits++;
    ids[stagePos] = step.after;
    for (const op of step.ops) {
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
      observed = { ghost: out.ghost === before ? ghost : this.ghostId(out.ghost), violations: out.violations };
      step.observed.set(ghost, observed);
    }
    ids[this.ghostAt] = observed.ghost;
    for (const v of observed.violations) violations.push(v);
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
      this.listHashHigh.push(a >>> 0);
      this.listHashLow.push(b >>> 0);
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
    const ids = new Int32Array(this.componentCount);
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
  worldOf(ids: Int32Array): World {
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

  stageOf(ids: Int32Array, stage: StageId): StageState {
    const pos = this.stagePos.get(stage);
    if (pos === undefined) throw new InvariantViolation(`unknown stage ${stage}`);
    return this.parts.values[ids[pos] as number] as StageState;
  }

  /** The id of a group of a state's components (see ChainState.group0), interned, computed once per state. */
  private groupOf(state: ChainState, group: 0 | 1 | 2): number {
    const known = group === 0 ? state.group0 : group === 1 ? state.group1 : state.group2;
    if (known >= 0) return known;
    const ids = state.ids;
    const positions = this.groupPositions[group] as Int32Array;
    let key = '';
    for (let i = 0; i < positions.length; i++) key += `${ids[positions[i] as number]},`;
    const table = this.groupIds[group] as Map<string, number>;
    let id = table.get(key);
    if (id === undefined) {
      id = table.size;
      if (id >= idSpan) throw new InvariantViolation('more distinct component groups than the packed model\'s memo keys allow');
      table.set(key, id);
    }
    if (group === 0) state.group0 = id;
    else if (group === 1) state.group1 = id;
    else state.group2 = id;
    return id;
  }

  /** How a link's upstream stage stands for `protocolActions`: 0 no client side, 1 disconnected, 2 in a session. */
  private clientStatus(link: number, stageId: number): number {
    const byStage = this.clientStatusMemo[link] as Map<number, number>;
    let status = byStage.get(stageId);
    if (status === undefined) {
      const client = clientSideOf(this.parts.values[stageId] as StageState, this.links[link] as LinkId);
      status = client === undefined ? 0 : client.session === 'disconnected' ? 1 : 2;
      byStage.set(stageId, status);
    }
    return status;
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
    let byKey = this.protocolBySandboxes.get(sandboxes);
    if (byKey === undefined) {
      byKey = new Map();
      this.protocolBySandboxes.set(sandboxes, byKey);
    }
    let info = byKey.get(key);
    if (info === undefined || this.check.debugChecks === true) {
      const world = state.world;
      const fresh = { actions: protocolActions(this.config, world), open: this.links.map((link) => linkIsOpen(world, link)) };
      if (info !== undefined && JSON.stringify(info) !== JSON.stringify(fresh)) throw new InvariantViolation('memoized enabled actions differ from protocolActions');
      info = fresh;
      byKey.set(key, info);
    }
    return info;
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
    return { ids, parts, lists, messages };
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
    const key = this.groupOf(state, 1) * idSpan + (this.maxDesiredOf[state.ids[this.ghostAt] as number] as number);
    let found = this.invariantsByGroup.get(key);
    if (found === undefined || this.check.debugChecks === true) {
      const fresh = checkInvariants(this.config, state.world);
      if (found !== undefined && JSON.stringify(found) !== JSON.stringify(fresh)) throw new InvariantViolation('memoized invariant verdict differs from checkInvariants');
      found = fresh;
      this.invariantsByGroup.set(key, found);
    }
    return found;
  }

  fairness(action: ChainAction): string | null {
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
    const key = this.groupOf(state, 0) * idSpan + (ids[this.storeAt] as number);
    let converged = this.goalByGroup.get(key);
    if (converged === undefined || this.check.debugChecks === true) {
      const fresh = isConverged(this.config, state.world);
      if (converged !== undefined && converged !== fresh) throw new InvariantViolation('memoized convergence differs from isConverged');
      converged = fresh;
      this.goalByGroup.set(key, converged);
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

/**
 * Reachability checks, so that a pass is not vacuous: each should be covered by a run.
 * `converged` may be a memoized form of `isConverged` (the model's goal).
 */
export function chainSometimes(check: CheckConfig, converged: (s: ChainState) => boolean = (s) => isConverged(check.chain, s.world)): readonly SometimesProperty<ChainState, ChainAction>[] {
  const stages = stagesOf(check.chain);
  return [
    {
      id: 'SOMETIMES-PREEMPTION',
      description: 'the Scheduler preempted a pod',
      holds: (s) => [...podCacheOf(s.stage('scheduler')).entries()].some((e) => stateIsTombstone(e.lifecycle) && e.origin === 'scheduler'),
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
      holds: (s) => stages.some((st) => serverSide(s.stage(st))?.session === 'helloDeferred'),
    },
    {
      id: 'SOMETIMES-CONVERGED-AFTER-FAULT',
      description: 'the chain converged after a fault',
      holds: (s) => s.budgets.total < check.budgets.total && converged(s),
    },
  ];
}
