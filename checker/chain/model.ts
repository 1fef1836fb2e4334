/**
 * The Kubedirect chain as a model for the search engine: the simulator's world
 * (simulator/world.ts) stepped through the same machines, plus the environment (scale
 * script, fault budgets). No protocol decision is made here.
 */
import { match } from 'ts-pattern';
import { linksOf, roleOf, serverSide, stagesOf, stateIsTombstone, podCacheOf, type StageId } from '../../machines/index.js';
import { isConverged } from '../../simulator/convergence.js';
import { checkInvariants } from '../../simulator/invariants.js';
import { applyAction, bootSequence, initialWorld, linkIsOpen, protocolActions, type World, type WorldAction } from '../../simulator/world.js';
import { fingerprintOfInts, type Fingerprint } from '../engine/fingerprint.js';
import type { Model, SometimesProperty } from '../engine/model.js';
import { Interner, MemoStepper } from './interning.js';
import type { CheckConfig, FaultBudgets } from './presets.js';

export interface ChainState {
  readonly world: World;
  /**
   * Cached identity: the content ids of this state's components in a fixed order,
   * computed once when the state is made, from its parent's where shared.
   */
  readonly ids: Int32Array;
  /** Scale-script steps taken. */
  readonly scaled: number;
  /** Faults left, per kind. */
  readonly budgets: FaultBudgets;
}

export type ChainAction = WorldAction;

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

export class ChainModel implements Model<ChainState, ChainAction> {
  readonly name: string;
  readonly goalProperty = 'LIVE-CONVERGENCE';
  private readonly stepper: MemoStepper;
  private readonly parts = new Interner();
  private readonly links: readonly string[];
  private readonly stages: readonly StageId[];
  private readonly nodes: readonly string[];
  readonly sometimes: readonly SometimesProperty<ChainState, ChainAction>[];

  constructor(readonly check: CheckConfig) {
    this.name = `${check.name} (${check.chain.variant})`;
    this.stepper = new MemoStepper(check.chain);
    this.links = linksOf(check.chain);
    this.stages = stagesOf(check.chain);
    this.nodes = check.chain.nodes.map((n) => n.name);
    this.sometimes = chainSometimes(check);
  }

  initialState(): ChainState {
    if (this.booted === null)
      this.booted = this.check.startSynced === true ? bootSequence(this.check.chain, this.stepper.step).world : initialWorld(this.check.chain);
    return this.makeState(this.booted, 0, this.check.budgets);
  }

  private booted: World | null = null;

  actions(state: ChainState): readonly ChainAction[] {
    const config = this.check.chain;
    const actions: ChainAction[] = [];
    const b = state.budgets;
    for (const action of protocolActions(config, state.world)) {
      if (action.kind === 'sandboxDone' && action.outcome === 'failed' && (b.sandboxFailure <= 0 || b.total <= 0)) continue;
      actions.push(action);
    }
    const next = this.check.scaleScript[state.scaled];
    const quiescent = this.check.scaleWhen !== 'quiescent' || actions.every((a): boolean => a.kind === 'deliverStale' || a.kind === 'dropStale');
    if (next !== undefined && quiescent) actions.push({ kind: 'scale', function: next.function, desired: next.desired });
    if (b.total > 0) {
      if (b.controllerCrash > 0) for (const stage of this.check.crashable ?? controllerStages) actions.push({ kind: 'crash', stage });
      for (const node of config.nodes) {
        if (b.kubeletRestart > 0) actions.push({ kind: 'crash', stage: `kubelet:${node.name}` });
        if (b.nodeCrash > 0) actions.push({ kind: 'nodeCrash', node: node.name });
      }
      if (b.linkCut > 0) for (const link of this.links) if (linkIsOpen(state.world, link)) actions.push({ kind: 'cut', link });
    }
    return actions;
  }

  next(state: ChainState, action: ChainAction): { state: ChainState; violations: ReturnType<typeof applyAction>['violations'] } {
    const outcome = applyAction(this.check.chain, state.world, action, this.stepper.step);
    const kind = budgetKind(action);
    const budgets = kind === null ? state.budgets : { ...state.budgets, total: state.budgets.total - 1, [kind]: state.budgets[kind] - 1 };
    const next = this.makeState(outcome.world, action.kind === 'scale' ? state.scaled + 1 : state.scaled, budgets, state);
    return { state: next, violations: outcome.violations };
  }

  /**
   * A state's identity is the list of its components' content ids: stages, the four
   * message queues of each link, the sandboxes of each node, the store, incarnations,
   * budgets, the ghost's parts and the scale-script position. A successor shares most
   * components with its parent by identity, so only the changed ones are looked up.
   */
  private readonly lists = new Map<string, number>();

  /**
   * Builds a state, reusing the parent's id for every component it shares by identity:
   * stages, the four message queues of each link, each node's sandboxes, the store,
   * incarnations, budgets, the ghost's parts, then the scale-script position.
   */
  private makeState(world: World, scaled: number, budgets: FaultBudgets, parent?: ChainState): ChainState {
    const ids = new Int32Array(this.componentCount);
    const pw = parent?.world;
    const pids = parent?.ids;
    let i = 0;
    for (const stage of this.stages) {
      const value = world.stages[stage] as object;
      ids[i] = pids !== undefined && pw?.stages[stage] === value ? (pids[i] as number) : this.parts.idOf(value);
      i++;
    }
    for (const link of this.links) {
      const c = world.links[link] as World['links'][string];
      const p = pw?.links[link];
      ids[i] = pids !== undefined && p?.down.current === c.down.current ? (pids[i] as number) : this.listId(c.down.current);
      ids[i + 1] = pids !== undefined && p?.down.stale === c.down.stale ? (pids[i + 1] as number) : this.listId(c.down.stale);
      ids[i + 2] = pids !== undefined && p?.up.current === c.up.current ? (pids[i + 2] as number) : this.listId(c.up.current);
      ids[i + 3] = pids !== undefined && p?.up.stale === c.up.stale ? (pids[i + 3] as number) : this.listId(c.up.stale);
      i += 4;
    }
    for (const node of this.nodes) {
      const value = world.sandboxes[node] as object;
      ids[i] = pids !== undefined && pw?.sandboxes[node] === value ? (pids[i] as number) : this.parts.idOf(value);
      i++;
    }
    const g = world.ghost;
    const pg = pw?.ghost;
    i = this.putPart(ids, i, pids, world.store, pw?.store);
    i = this.putPart(ids, i, pids, world.incarnations, pw?.incarnations);
    i = this.putPart(ids, i, pids, budgets, parent?.budgets);
    i = this.putPart(ids, i, pids, g.created, pg?.created);
    i = this.putPart(ids, i, pids, g.dead, pg?.dead);
    i = this.putPart(ids, i, pids, g.placement, pg?.placement);
    i = this.putPart(ids, i, pids, g.tombstoned, pg?.tombstoned);
    i = this.putPart(ids, i, pids, g.maxDesired, pg?.maxDesired);
    i = this.putPart(ids, i, pids, g.decreased, pg?.decreased);
    ids[i] = scaled;
    return { world, ids, scaled, budgets };
  }

  /** Writes the id of `value` at `i` (the parent's when shared) and returns the next index. */
  private putPart(ids: Int32Array, i: number, parentIds: Int32Array | undefined, value: object, previous: object | undefined): number {
    ids[i] = parentIds !== undefined && value === previous ? (parentIds[i] as number) : this.parts.idOf(value);
    return i + 1;
  }

  private get componentCount(): number {
    return this.stages.length + this.links.length * 4 + this.nodes.length + 10;
  }

  private listId(messages: readonly object[]): number {
    if (messages.length === 0) return 0;
    let key = '';
    for (const m of messages) key += `${this.stepper.messages.idOf(m)}.`;
    let id = this.lists.get(key);
    if (id === undefined) {
      id = this.lists.size + 1;
      this.lists.set(key, id);
    }
    return id;
  }

  key(state: ChainState): string {
    return state.ids.join(',');
  }

  fingerprint(state: ChainState): Fingerprint {
    return fingerprintOfInts(state.ids);
  }

  invariants(state: ChainState) {
    return checkInvariants(this.check.chain, state.world);
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

  readonly goal = (state: ChainState): boolean => {
    // Cheap necessary condition first: nothing in flight in any current session.
    for (const channels of Object.values(state.world.links)) if (channels.down.current.length > 0 || channels.up.current.length > 0) return false;
    return isConverged(this.check.chain, state.world);
  };

  describe(action: ChainAction): string {
    return describeAction(action);
  }

  /** How often the machines really ran, against how often a memoized step was reused. */
  memoStats(): { stageSteps: number; reused: number; distinctStageStates: number } {
    return { stageSteps: this.stepper.misses, reused: this.stepper.hits, distinctStageStates: this.stepper.stages.size };
  }
}

function anyTombstone(state: ChainState, stage: string): boolean {
  const s = state.world.stages[stage];
  return s !== undefined && Object.values(podCacheOf(s)).some((e) => stateIsTombstone(e.lifecycle));
}

/** Reachability checks, so that a pass is not vacuous: each should be covered by a run. */
export function chainSometimes(check: CheckConfig): readonly SometimesProperty<ChainState, ChainAction>[] {
  return [
    {
      id: 'SOMETIMES-PREEMPTION',
      description: 'the Scheduler preempted a pod',
      holds: (s) => Object.values(podCacheOf(s.world.stages['scheduler'] ?? ({} as never))).some((e) => stateIsTombstone(e.lifecycle) && e.origin === 'scheduler'),
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
      holds: (s) => Object.values(s.world.stages).some((st) => serverSide(st)?.session === 'helloDeferred'),
    },
    {
      id: 'SOMETIMES-CONVERGED-AFTER-FAULT',
      description: 'the chain converged after a fault',
      holds: (s) => s.budgets.total < check.budgets.total && isConverged(check.chain, s.world),
    },
  ];
}
