/**
 * The Kubedirect chain as a model for the search engine: the simulator's world
 * (simulator/world.ts) stepped through the same machines, plus the environment (scale
 * script, fault budgets). No protocol decision is made here.
 */
import { match } from 'ts-pattern';
import { linksOf, roleOf, stagesOf, stateIsTombstone, podCacheOf, type StageId } from '../../machines/index.js';
import { convergenceProblems, isConverged } from '../../simulator/convergence.js';
import { checkInvariants } from '../../simulator/invariants.js';
import { applyAction, bootSequence, initialWorld, linkIsOpen, protocolActions, type World, type WorldAction } from '../../simulator/world.js';
import { fingerprintOfInts, type Fingerprint } from '../engine/fingerprint.js';
import type { Model, SometimesProperty } from '../engine/model.js';
import { Interner, MemoStepper } from './interning.js';
import type { CheckConfig, FaultBudgets } from './presets.js';

export interface ChainState {
  readonly world: World;
  /**
   * Cached identity: the components of this state in a fixed order and their content
   * ids. Computed once when the state is made, from its parent's where shared.
   */
  readonly components: readonly object[];
  readonly ids: Int32Array;
  /** Scale-script steps taken. */
  readonly scaled: number;
  /** Faults left, per kind. */
  readonly budgets: FaultBudgets;
  /** The last action was a fault (for `sometimes` properties). */
  readonly lastWasFault: boolean;
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
  readonly sometimes: readonly SometimesProperty<ChainState, ChainAction>[];

  constructor(readonly check: CheckConfig) {
    this.name = `${check.name} (${check.chain.variant})`;
    this.stepper = new MemoStepper(check.chain);
    this.links = linksOf(check.chain);
    this.stages = stagesOf(check.chain);
    this.sometimes = chainSometimes;
  }

  initialState(): ChainState {
    if (this.booted === null)
      this.booted = this.check.startSynced === true ? bootSequence(this.check.chain, this.stepper.step).world : initialWorld(this.check.chain);
    return this.makeState(this.booted, 0, this.check.budgets, false);
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
    const next = this.makeState(outcome.world, action.kind === 'scale' ? state.scaled + 1 : state.scaled, budgets, kind !== null, state);
    return { state: next, violations: outcome.violations };
  }

  /**
   * A state's identity is the list of its components' content ids: stages, the four
   * message queues of each link, the sandboxes of each node, the store, incarnations,
   * budgets, the ghost's parts and the scale-script position. A successor shares most
   * components with its parent by identity, so only the changed ones are looked up.
   */
  private readonly lists = new Map<string, number>();

  /** Builds a state, reusing the parent's ids for every component it shares by identity. */
  private makeState(world: World, scaled: number, budgets: FaultBudgets, lastWasFault: boolean, parent?: ChainState): ChainState {
    const components = this.componentsOf(world, budgets);
    const ids = new Int32Array(components.length + 1);
    const previous = parent?.components;
    for (let i = 0; i < components.length; i++) {
      const value = components[i] as object;
      ids[i] = previous !== undefined && value === previous[i] ? (parent?.ids[i] as number) : this.idOfComponent(i, value);
    }
    ids[components.length] = scaled;
    return { world, components, ids, scaled, budgets, lastWasFault };
  }

  /** Index of the first message-queue component; queues are interned by their messages' ids. */
  private get firstQueue(): number {
    return this.stages.length;
  }

  private idOfComponent(index: number, value: object): number {
    const isQueue = index >= this.firstQueue && index < this.firstQueue + this.links.length * 4;
    return isQueue ? this.listId(value as readonly object[]) : this.parts.idOf(value);
  }

  /** The components of a state, in a fixed order. */
  private componentsOf(w: World, budgets: FaultBudgets): object[] {
    const out: object[] = [];
    for (const stage of this.stages) out.push(w.stages[stage] as object);
    for (const link of this.links) {
      const c = w.links[link] as World['links'][string];
      out.push(c.down.current, c.down.stale, c.up.current, c.up.stale);
    }
    for (const node of this.check.chain.nodes) out.push(w.sandboxes[node.name] as object);
    const g = w.ghost;
    out.push(w.store, w.incarnations, budgets, g.created, g.dead, g.placement, g.tombstoned, g.maxDesired, g.decreased);
    return out;
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

export const chainSometimes: readonly SometimesProperty<ChainState, ChainAction>[] = [
  {
    id: 'SOMETIMES-PREEMPTION',
    description: 'the Scheduler preempted a pod',
    holds: (s) => Object.values(podCacheOf(s.world.stages['scheduler'] ?? ({} as never))).some((e) => stateIsTombstone(e.lifecycle) && e.origin === 'scheduler'),
  },
  {
    id: 'SOMETIMES-TOMBSTONE-ACROSS-CRASH',
    description: 'a tombstone was held by a stage right after another stage crashed',
    holds: (s, a) => a.kind === 'crash' || a.kind === 'nodeCrash' ? ['replicaset', 'scheduler'].some((st) => anyTombstone(s, st)) : false,
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
    holds: (s) => Object.values(s.world.stages).some((st) => 'fromReplicaSet' in st ? st.fromReplicaSet.session === 'helloDeferred' : 'fromDeployment' in st ? st.fromDeployment.session === 'helloDeferred' : false),
  },
  {
    id: 'SOMETIMES-CONVERGED-AFTER-FAULT',
    description: 'the chain converged after a fault',
    holds: (s) => s.budgets.total < Number.POSITIVE_INFINITY && s.world.ghost !== undefined && s.lastWasFault === false && faultsUsed(s) > 0 && convergenceProblems(currentConfig(s), s.world).length === 0,
  },
];

/** The chain config is not in the state; the sometimes property that needs it reads it from here. */
let activeConfig: CheckConfig['chain'] | null = null;
export function setActiveConfig(config: CheckConfig['chain']): void {
  activeConfig = config;
}
function currentConfig(_s: ChainState): CheckConfig['chain'] {
  if (activeConfig === null) throw new Error('no active chain config');
  return activeConfig;
}
function faultsUsed(s: ChainState): number {
  return s.world.ghost.dead.length >= 0 ? Object.values(s.world.incarnations).reduce((a, b) => a + b - 1, 0) : 0;
}
