/**
 * The ReplicaSet stage: owner of pod identities. Downstream (server) of the
 * Deployment for desired counts; upstream (client) of the Scheduler for pods.
 */
import type { ProtocolVariant } from '../../spec/variants.js';
import { TreeEdit } from '../core/sorted-map.js';
import { assert, unreachable } from '../core/assert.js';
import type { StageEvent } from '../core/events.js';
import type { Disposition, StepResult } from '../core/effects.js';
import { podOrdinalMax, stagePodsMax } from '../core/limits.js';
import type { LinkId, Role } from '../core/ids.js';
import { withEntry, type SortedRecord } from '../core/sorted.js';
import { decideReplicas, functionPodsIn, mayNeedDecision, newPodName } from '../decisions/replicaset-decisions.js';
import { chainLinks, functionSpecOf, type FunctionSpec } from './config.js';
import { EffectList } from './effects-builder.js';
import { machinesFor, type MachineSet } from './machine-set.js';
import type { ReplicaSetPodAction, ReplicaSetPodEvent, ReplicaSetPodState } from '../pods/replicaset-pod.machine.js';
import { describeCache, indexSnapshot, putPod, reconciledTombstones, snapshotEventFor, snapshotNames, snapshotRecord, podGroupingOf, PodCache, type PodEntry, type SnapshotIndex } from './pod-cache.js';
import { answerDeferredHelloWhenWarm, routeLinkEvent, type ClientEnds, type DownRecord, type Notification, type RoutingStep, type ServerEnd, type SnapshotContent, type SnapshotMessage } from './link-routing.js';
import { stepPodEntry } from './pod-event.js';
import { clientSynced, newClientSide, newServerSide, serverSynced, type ClientSide, type ServerSide } from './session-sides.js';

export interface ReplicaSetConfig {
  readonly variant: ProtocolVariant;
  readonly functions: readonly FunctionSpec[];
  /** The creation window (REQ-RS-007): alive pods of one function not yet confirmed running, at most. */
  readonly creationWindowPodsMax: number;
}

export interface ReplicaSetState {
  readonly role: 'replicaset';
  readonly incarnation: number;
  readonly fromDeployment: ServerSide;
  readonly toScheduler: ClientSide;
  /** Desired count per function; a function is absent while its count is unknown (after a restart). */
  readonly desired: SortedRecord<number>;
  readonly pods: PodCache<ReplicaSetPodState>;
  /** Pods created by this incarnation: the ordinal of the next pod name. */
  readonly podsCreated: number;
}

/** `state` with some parts replaced, built key by key (machines/README.md, Performance: no spreads on hot paths). */
function replicaSetStateWith(state: ReplicaSetState, parts: Partial<Omit<ReplicaSetState, 'role' | 'incarnation'>>): ReplicaSetState {
  return {
    role: 'replicaset',
    incarnation: state.incarnation,
    fromDeployment: parts.fromDeployment ?? state.fromDeployment,
    toScheduler: parts.toScheduler ?? state.toScheduler,
    desired: parts.desired ?? state.desired,
    pods: parts.pods ?? state.pods,
    podsCreated: parts.podsCreated ?? state.podsCreated,
  };
}

export function initReplicaSet(incarnation: number): ReplicaSetState {
  return {
    role: 'replicaset',
    incarnation,
    fromDeployment: newServerSide(chainLinks.deploymentToReplicaSet),
    toScheduler: newClientSide(chainLinks.replicaSetToScheduler),
    desired: {},
    pods: PodCache.empty(podGroupingOf.replicaset),
    podsCreated: 0,
  };
}

export function stepReplicaSet(config: ReplicaSetConfig, state: ReplicaSetState, event: StageEvent): StepResult<ReplicaSetState> {
  const step = new ReplicaSetStep(config, state);
  try {
    const disposition = step.handle(event);
    step.settle();
    return { state: step.state, effects: step.out.effects, links: step.out.links, trace: step.out.trace, disposition };
  } finally {
    step.edit.close(); // the step's pod cache is immutable from here on
  }
}

/**
 * The functions of a state returned by a step that are not balanced (`mayNeedDecision`):
 * the only ones whose decision can be anything but "nothing", whatever the room. The
 * next step decides these and the functions it changed itself, instead of every
 * function on every step. A memo of derived data, like the lifecycle step memo: a state
 * not in it (the initial state, a revived one) has every function decided, with the
 * same result.
 */
const unbalancedFunctionsOf = new WeakMap<ReplicaSetState, readonly string[]>();
const noFunctions: readonly string[] = [];

class ReplicaSetStep implements ServerEnd, ClientEnds, RoutingStep {
  readonly out = new EffectList();
  readonly machines: MachineSet;
  /** The pod cache's trees made in this step change in place until the step ends (transient updates, sorted-map.ts). */
  readonly edit = new TreeEdit();
  readonly variant: ProtocolVariant;
  readonly incarnation: number;
  /** Functions whose desired count or pods this step changed (or may have). */
  private readonly touched = new Set<string>();

  /** The state before the step. */
  private readonly input: ReplicaSetState;

  constructor(
    readonly config: ReplicaSetConfig,
    public state: ReplicaSetState,
  ) {
    this.machines = machinesFor(config.variant);
    this.variant = config.variant;
    this.incarnation = state.incarnation;
    this.input = state;
  }

  /** Every change of the pod cache goes through here, so that the step knows which functions it touched. */
  private storePod(entry: PodEntry<ReplicaSetPodState>): void {
    this.touched.add(entry.record.function);
    this.state = replicaSetStateWith(this.state, { pods: putPod(this.state.pods, entry, this.edit) });
  }

  handle(event: StageEvent): Disposition {
    return routeLinkEvent(this, this, this, event) ?? 'none';
  }

  serverSide(): ServerSide {
    return this.state.fromDeployment;
  }

  setServerSide(fromDeployment: ServerSide): void {
    this.state = replicaSetStateWith(this.state, { fromDeployment });
  }

  /** The ReplicaSet is warm once its link to the Scheduler has synced in this incarnation. */
  warm(): boolean {
    return this.state.toScheduler.everSynced;
  }

  snapshotContent(): SnapshotContent {
    return { scales: Object.entries(this.state.desired).map(([fn, desired]) => ({ function: fn, desired })), pods: [], tombstones: [] };
  }

  applyRecord(message: DownRecord): Disposition {
    if (message.type !== 'scale.set') return 'fenced';
    this.touched.add(message.scale.function);
    this.state = replicaSetStateWith(this.state, { desired: withEntry(this.state.desired, message.scale.function, message.scale.desired) });
    this.out.send(this.state.fromDeployment.link, { type: 'scale.applied', epoch: this.state.fromDeployment.epoch, scale: message.scale });
    return 'applied';
  }

  clientSide(link: LinkId): ClientSide | null {
    return link === this.state.toScheduler.link ? this.state.toScheduler : null;
  }

  setClientSide(_link: LinkId, toScheduler: ClientSide): void {
    this.state = replicaSetStateWith(this.state, { toScheduler });
  }

  refuseSnapshot(): null {
    return null;
  }

  applyNotification(_link: LinkId, message: Notification): Disposition {
    switch (message.type) {
      case 'pod.running':
        this.podEvent(message.name, 'downstream.running', null);
        return 'applied';
      case 'pod.failed':
        this.podEvent(message.name, 'downstream.failed', null);
        return 'applied';
      case 'pod.preempted':
        this.podEvent(message.name, 'downstream.preempted', 'scheduler');
        return 'applied';
      case 'tombstone.done':
        this.podEvent(message.name, 'downstream.tombstoneDone', null);
        return 'applied';
      case 'scale.applied':
        return 'fenced';
    }
  }

  /** Round 2 of the handshake with the Scheduler (spec/03-write-back-cache.md, reconciliation table). */
  reconcile(_link: LinkId, snapshot: SnapshotMessage): void {
    const index = indexSnapshot(snapshot.pods, reconciledTombstones(this.config.variant, snapshot.tombstones));
    for (const name of this.state.pods.names()) this.podEvent(name, snapshotEventFor(index, name), null, index);
    for (const name of snapshotNames(index)) {
      if (this.state.pods.has(name)) continue;
      const found = snapshotRecord(index, name);
      assert(found !== undefined, 'a snapshot name has a record');
      this.adopt(found.record, snapshotEventFor(index, name), found.origin);
    }
  }

  private adopt(record: PodEntry<ReplicaSetPodState>['record'], event: ReplicaSetPodEvent, origin: Role | null): void {
    this.applyPodEvent({ record, lifecycle: 'unknown', origin: null }, event, origin);
  }

  private podEvent(name: string, event: ReplicaSetPodEvent, origin: Role | null, index?: SnapshotIndex): void {
    const entry = this.state.pods.get(name);
    if (entry === undefined) return; // unknown pod: nothing to roll back or complete
    this.applyPodEvent(entry, event, origin ?? index?.tombstones.get(name)?.origin ?? 'replicaset');
  }

  private applyPodEvent(entry: PodEntry<ReplicaSetPodState>, event: ReplicaSetPodEvent, tombstoneOrigin: Role | null): void {
    const step = stepPodEntry(this.machines.replicaSetPod, 'replicaset-pod', entry, event, tombstoneOrigin, this.out);
    if (step === null) return;
    for (const action of step.actions) this.podAction(action, step.next);
    this.storePod(step.next);
  }

  private podAction(action: ReplicaSetPodAction, entry: PodEntry<ReplicaSetPodState>): void {
    const link = this.state.toScheduler.link;
    const epoch = this.state.toScheduler.epoch;
    switch (action) {
      case 'sendProvision':
        assert(clientSynced(this.state.toScheduler), 'provisions are sent only on a synced session');
        this.out.send(link, { type: 'pod.provision', epoch, pod: entry.record });
        return;
      case 'sendTombstone':
        // Under `no-tombstones` the kill is fire-and-forget and is lost when no session is synced.
        if (clientSynced(this.state.toScheduler)) this.out.send(link, { type: 'pod.tombstone', epoch, name: entry.record.name, origin: 'replicaset' });
        return;
      case 'recordRollback':
        // REQ-POD-015: the entry is removed (it is `gone`) and its function is decided again in this
        // step, so that a replacement, under a new name, is created and forwarded now if still needed.
        assert(entry.lifecycle === 'gone', `a rolled-back pod leaves the cache: ${entry.record.name} is ${entry.lifecycle}`);
        this.touched.add(entry.record.function);
        return;
      default:
        unreachable(action, 'ReplicaSet pod action');
    }
  }

  /** After every event: answer a deferred hello, decide, then forward what is unsent. */
  settle(): void {
    answerDeferredHelloWhenWarm(this, this);
    const decided = this.decide();
    if (clientSynced(this.state.toScheduler)) this.forwardUnsent();
    unbalancedFunctionsOf.set(this.state, this.unbalancedFunctions(decided));
  }

  /** Decides each function that may need a decision; returns those decided. */
  private decide(): readonly string[] {
    // REQ-RS-006: never hold more than stagePodsMax entries (alive and tombstones).
    let held = this.state.pods.size;
    const functions = this.functionsToDecide();
    for (const fn of functions) {
      const decision = decideReplicas(this.state.desired[fn] as number, functionPodsIn(this.state.pods, fn), stagePodsMax - held, this.config.creationWindowPodsMax);
      for (const victim of decision.victims) this.podEvent(victim, 'decide.terminate', 'replicaset');
      const priority = decision.create === 0 ? 0 : (functionSpecOf(this.config.functions, fn)?.priority ?? 0);
      for (let i = 0; i < decision.create; i++) this.create(fn, priority);
      held += decision.create;
    }
    return functions;
  }

  /**
   * The functions with a desired count that may need a decision, in name order: those
   * unbalanced before the step and those the step touched; every function when the
   * state before the step is not in the memo. Any other function is balanced: its
   * decision is "nothing".
   */
  private functionsToDecide(): readonly string[] {
    const before = unbalancedFunctionsOf.get(this.input);
    if (before === undefined) return Object.keys(this.state.desired);
    if (before.length === 0 && this.touched.size === 0) return before;
    return [...new Set([...before, ...this.touched])].filter((fn) => fn in this.state.desired).sort();
  }

  /** The unbalanced functions of the settled state: among those decided or touched, the others stayed balanced. */
  private unbalancedFunctions(decided: readonly string[]): readonly string[] {
    if (decided.length === 0 && this.touched.size === 0) return noFunctions;
    const unbalanced = [...new Set([...decided, ...this.touched])].filter((fn) => {
      const desired = this.state.desired[fn];
      return desired !== undefined && mayNeedDecision(desired, this.state.pods.countsOf(fn), this.config.creationWindowPodsMax);
    });
    return unbalanced.length === 0 ? noFunctions : unbalanced.sort();
  }

  private create(fn: string, priority: number): void {
    assert(this.state.podsCreated < podOrdinalMax, 'pod ordinal limit reached: restart the ReplicaSet');
    const name = newPodName(this.config.variant, fn, this.state.incarnation, this.state.podsCreated, (n) => this.state.pods.has(n));
    assert(!this.state.pods.has(name), `pod name ${name} is already in the cache`);
    this.applyPodEvent({ record: { name, function: fn, priority, node: null }, lifecycle: 'unknown', origin: null }, 'decide.create', null);
    this.state = replicaSetStateWith(this.state, { podsCreated: this.state.podsCreated + 1 });
    assert(this.state.pods.size <= stagePodsMax, 'the ReplicaSet holds at most stagePodsMax entries (REQ-RS-006)');
    const counts = this.state.pods.countsOf(fn);
    assert(counts.alive - counts.clean <= this.config.creationWindowPodsMax, `a creation stays within the creation window of ${fn} (REQ-RS-007)`);
  }

  /** Tombstones first (they free capacity below), then provisions, each in name order. */
  private forwardUnsent(): void {
    const unsentTombstones = this.state.pods.inLifecycle('terminating.unsent');
    const unsentProvisions = this.state.pods.inLifecycle('pending');
    // Copies: each forward changes the groups in place (the step's edit).
    for (const e of [...unsentTombstones.values()]) this.podEvent(e.record.name, 'forward', null);
    for (const e of [...unsentProvisions.values()]) this.podEvent(e.record.name, 'forward', null);
  }
}

/** What this stage would answer in a snapshot (also used by the inspectors). */
export function replicaSetSnapshotView(state: ReplicaSetState, variant: ProtocolVariant) {
  return describeCache(state.pods, 'replicaset-pod', variant !== 'no-tombstones');
}

export function replicaSetServerSynced(state: ReplicaSetState): boolean {
  return serverSynced(state.fromDeployment);
}
