/**
 * The enabled actions of a packed state, from its ids: the protocol's (mirroring
 * `protocolActions` and `linkIsOpen` of simulator/world.ts, memoized by what they read:
 * which queues are empty, each link's client session status, the sandboxes), then the
 * environment's (scale script, faults within budget), each list made once and shared.
 */
import { clientSideOf, clientWantsSession, InvariantViolation, type ChainConfig, type LinkId, type StageId, type StageState } from '../../machines/index.js';
import { linkIsOpen, protocolActions, sandboxOutcomesOf, type Sandbox } from '../../simulator/world.js';
import type { ActionPlans } from './action-plans.js';
import type { ChainAction } from './chain-actions.js';
import type { ChainState } from './chain-state.js';
import type { ComponentGroups } from './component-groups.js';
import type { Interner } from './interning.js';
import { growBytes, PairMemo } from './memo-tables.js';
import { scaleStepsOf, type CheckConfig, type FaultBudgets } from './presets.js';
import type { StateLayout } from './state-layout.js';

const controllerStages: readonly StageId[] = ['autoscaler', 'deployment', 'replicaset', 'scheduler'];

interface ProtocolInfo {
  readonly actions: readonly ChainAction[];
  /** Per link: whether a cut means something (some session open or being opened). */
  readonly open: readonly boolean[];
  /** The whole action lists built on these (EnabledActions.actions), by budgets id and scale-script position. */
  readonly enabled: Map<number, readonly ChainAction[]>;
}

/** The protocol's actions on one link, each made once (see EnabledActions.composeProtocolInfo). */
interface LinkActions {
  readonly down: { readonly deliver: ChainAction; readonly deliverStale: ChainAction; readonly dropStale: ChainAction };
  readonly up: { readonly deliver: ChainAction; readonly deliverStale: ChainAction; readonly dropStale: ChainAction };
  readonly connect: ChainAction;
}

export class EnabledActions {
  private readonly config: ChainConfig;
  /** Per link: its deliveries, stale deliveries and drops per direction, and its connect. */
  private readonly linkActions: readonly LinkActions[];
  /** Per node: sandboxes id -> the sandbox reports enabled. */
  private readonly sandboxActionsMemo: ReadonlyArray<Map<number, readonly ChainAction[]>>;
  /** Per link: stage id -> its `clientStatus` + 1 (0: not yet worked out). */
  private readonly clientStatusMemo: Uint8Array[];
  /** (sandboxes group, queue emptiness and client statuses) -> the protocol's enabled actions. */
  private readonly protocolBySandboxes = new PairMemo<ProtocolInfo>();
  /** Actions are immutable values: the environment's are made once. */
  private readonly scaleActions: readonly ChainAction[];
  /** The scale requests the model may choose from once the script is done (CheckConfig.scaleChoices). */
  private readonly scaleChoiceActions: readonly ChainAction[];
  private readonly scaleSteps: number;
  private readonly controllerCrashes: readonly ChainAction[];
  private readonly nodeFaults: ReadonlyArray<{ readonly restart: ChainAction; readonly crash: ChainAction }>;
  private readonly cuts: readonly ChainAction[];
  private readonly forgedHellos: readonly ChainAction[];
  private readonly forgedPods: readonly ChainAction[];

  constructor(
    private readonly check: CheckConfig,
    private readonly layout: StateLayout,
    /** The interned parts (world-packing.ts), read by id. */
    private readonly parts: Interner,
    private readonly plans: ActionPlans,
    private readonly groups: ComponentGroups,
  ) {
    this.config = check.chain;
    this.scaleActions = check.scaleScript.map((s) => ({ kind: 'scale', function: s.function, desired: s.desired }));
    this.scaleChoiceActions = scaleChoiceActionsOf(check);
    this.scaleSteps = scaleStepsOf(check);
    this.controllerCrashes = (check.crashable ?? controllerStages).map((stage) => ({ kind: 'crash', stage }));
    this.nodeFaults = layout.nodes.map((node) => ({ restart: { kind: 'crash', stage: `kubelet:${node}` }, crash: { kind: 'nodeCrash', node } }));
    this.cuts = layout.links.map((link) => ({ kind: 'cut', link }));
    this.forgedHellos = layout.links.map((link) => ({ kind: 'forgeHello', link }));
    this.forgedPods = layout.nodes.map((node) => ({ kind: 'forgePod', node }));
    const directionActions = (link: LinkId, direction: 'down' | 'up') => ({
      deliver: plans.canonical({ kind: 'deliver', link, direction }),
      deliverStale: plans.canonical({ kind: 'deliverStale', link, direction }),
      dropStale: plans.canonical({ kind: 'dropStale', link, direction }),
    });
    this.linkActions = layout.links.map((link) => ({ down: directionActions(link, 'down'), up: directionActions(link, 'up'), connect: plans.canonical({ kind: 'connect', link }) }));
    this.sandboxActionsMemo = layout.nodes.map(() => new Map());
    this.clientStatusMemo = layout.links.map(() => new Uint8Array(1024));
  }

  /** The enabled actions: the protocol's (memoized by what they read), then the environment's. The list is shared: read only. */
  actions(state: ChainState): readonly ChainAction[] {
    const info = this.protocolInfo(state);
    // What is added to the protocol's actions depends only on the budgets and the scale-script position.
    const key = (state.ids[this.layout.budgetsAt] as number) * (this.scaleSteps + 1) + state.scaled;
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
    if (scaled < this.scaleSteps && (this.check.scaleWhen !== 'quiescent' || quiescent)) {
      const next = this.scaleActions[scaled];
      if (next !== undefined) actions.push(next);
      else for (const choice of this.scaleChoiceActions) actions.push(choice);
    }
    if (b.total > 0) {
      if (b.controllerCrash > 0) for (const crash of this.controllerCrashes) actions.push(crash);
      for (const node of this.nodeFaults) {
        if (b.kubeletRestart > 0) actions.push(node.restart);
        if (b.nodeCrash > 0) actions.push(node.crash);
      }
      if (b.linkCut > 0) for (let l = 0; l < this.layout.links.length; l++) if (info.open[l] === true) actions.push(this.cuts[l] as ChainAction);
      if ((b.forgedHello ?? 0) > 0) for (const forged of this.forgedHellos) actions.push(forged);
      if ((b.forgedPod ?? 0) > 0) for (const forged of this.forgedPods) actions.push(forged);
    }
    return actions;
  }

  /**
   * The protocol's enabled actions (`protocolActions`, and `linkIsOpen` per link),
   * memoized by what they read: which queues are empty, each link's client session
   * status, and the sandboxes.
   */
  private protocolInfo(state: ChainState): ProtocolInfo {
    const layout = this.layout;
    const ids = state.ids;
    let key = 0;
    for (let i = layout.channelsAt; i < layout.sandboxesAt; i++) key = key * 2 + (ids[i] !== 0 ? 1 : 0);
    for (let l = 0; l < layout.links.length; l++) key = key * 3 + this.clientStatus(l, ids[layout.upstreamPos[l] as number] as number);
    const sandboxes = this.groups.groupOf(state, 2);
    let info = this.protocolBySandboxes.get(sandboxes, key);
    if (info === undefined) {
      info = this.composeProtocolInfo(ids);
      this.protocolBySandboxes.set(sandboxes, key, info);
    }
    if (this.check.debugChecks === true) {
      const world = state.world;
      const expected = JSON.stringify([protocolActions(this.config, world), layout.links.map((link) => linkIsOpen(world, link))]);
      if (JSON.stringify([info.actions, info.open]) !== expected) throw new InvariantViolation('memoized enabled actions differ from protocolActions');
    }
    return info;
  }

  /**
   * The protocol's enabled actions from the components they read, without building the
   * world: mirrors `protocolActions` and `linkIsOpen` (simulator/world.ts), in their order
   * (`debugChecks` compares). Every action is one of the canonical objects of ActionPlans.
   */
  private composeProtocolInfo(ids: readonly number[]): ProtocolInfo {
    const layout = this.layout;
    const actions: ChainAction[] = [];
    const open: boolean[] = [];
    for (let l = 0; l < layout.links.length; l++) {
      const onLink = this.linkActions[l] as LinkActions;
      for (const [d, direction] of [onLink.down, onLink.up].entries()) {
        const at = layout.channelsAt + l * 4 + d * 2;
        if (ids[at] !== 0) actions.push(direction.deliver);
        if (ids[at + 1] !== 0) actions.push(direction.deliverStale, direction.dropStale);
      }
      const status = this.clientStatus(l, ids[layout.upstreamPos[l] as number] as number);
      if (status === 1) actions.push(onLink.connect);
      open.push(status === 2);
    }
    for (let n = 0; n < layout.nodes.length; n++) for (const action of this.sandboxActions(n, ids[layout.sandboxesAt + n] as number)) actions.push(action);
    return { actions, open, enabled: new Map() };
  }

  /** The sandbox reports enabled on node `n` with sandboxes `sandboxesId` (as `protocolActions` lists them). */
  private sandboxActions(n: number, sandboxesId: number): readonly ChainAction[] {
    const byId = this.sandboxActionsMemo[n] as Map<number, readonly ChainAction[]>;
    let actions = byId.get(sandboxesId);
    if (actions === undefined) {
      const node = this.layout.nodes[n] as string;
      const listed: ChainAction[] = [];
      for (const [pod, sandbox] of Object.entries(this.parts.values[sandboxesId] as Record<string, Sandbox>)) {
        for (const outcome of sandboxOutcomesOf(sandbox)) listed.push(this.plans.canonical({ kind: 'sandboxDone', node, pod, outcome }));
      }
      actions = listed;
      byId.set(sandboxesId, actions);
    }
    return actions;
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
      const client = clientSideOf(this.parts.values[stageId] as StageState, this.layout.links[link] as LinkId);
      stored = 1 + (client === undefined ? 0 : clientWantsSession(client) ? 1 : 2);
      byStage[stageId] = stored;
    }
    return stored - 1;
  }
}

/** Every scale request `scaleChoices` allows: each of its functions to each count of its range. */
function scaleChoiceActionsOf(check: CheckConfig): readonly ChainAction[] {
  const choices = check.scaleChoices;
  if (choices === undefined) return [];
  const functions = choices.functions ?? check.chain.functions.map((f) => f.name);
  const actions: ChainAction[] = [];
  for (const fn of functions) for (let desired = choices.range[0]; desired <= choices.range[1]; desired++) actions.push({ kind: 'scale', function: fn, desired });
  return actions;
}
