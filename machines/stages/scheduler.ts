/**
 * The Scheduler stage: binds pods to nodes within capacity and may preempt.
 * Downstream (server) of the ReplicaSet; upstream (client) of one Kubelet per node.
 */
import type { ProtocolVariant } from '../../spec/variants.js';
import { TreeEdit } from '../core/sorted-map.js';
import { assert, unreachable } from '../core/assert.js';
import { ChoiceCursor } from '../core/choices.js';
import type { Disposition, InputRejection, StepResult } from '../core/effects.js';
import type { StageEvent } from '../core/events.js';
import type { LinkId, Role } from '../core/ids.js';
import type { UpMessage } from '../core/messages.js';
import { boundTo, type FailureReason, type PodRecord } from '../core/records.js';
import { sortedRecord, withEntry, type SortedRecord } from '../core/sorted.js';
import { decidePlacement } from '../decisions/scheduler-decisions.js';
import { chainLinks, functionSpecOf, schedulerToKubelet, type FunctionSpec, type NodeSpec } from './config.js';
import { EffectList, noLinkIntents } from './effects-builder.js';
import { machinesFor, type MachineSet } from './machine-set.js';
import type { SchedulerPodAction, SchedulerPodEvent, SchedulerPodState } from '../pods/scheduler-pod.machine.js';
import { describeCache, indexSnapshot, putPod, reconciledTombstones, snapshotEventFor, snapshotNames, snapshotRecord, podGroupingOf, PodCache, type PodEntry, type SnapshotIndex } from './pod-cache.js';
import { answerDeferredHelloWhenWarm, routeLinkEvent, type ClientEnds, type DownRecord, type Notification, type RoutingStep, type ServerEnd, type SnapshotContent, type SnapshotMessage } from './link-routing.js';
import { stepPodEntry } from './pod-event.js';
import { clientSynced, newClientSide, newServerSide, serverMaySendUp, type ClientSide, type ServerSide } from './session-sides.js';

export interface SchedulerConfig {
  readonly variant: ProtocolVariant;
  readonly nodes: readonly NodeSpec[];
  /** Functions the Scheduler accepts pods of (REQ-POD-008). */
  readonly functions: readonly FunctionSpec[];
  /** How this step breaks ties between equally good placements and victims (DEC-52, machines/core/choices.ts): absent, the spec's rule. */
  readonly choices?: readonly number[];
}

export interface SchedulerState {
  readonly role: 'scheduler';
  readonly incarnation: number;
  readonly fromReplicaSet: ServerSide;
  /** One client side per node, keyed by node name. */
  readonly toKubelets: SortedRecord<ClientSide>;
  readonly pods: PodCache<SchedulerPodState>;
}

/**
 * `state` with some parts replaced. States are built with every key, in order, never by
 * spreading: a spread goes through V8's generic object copy whenever the objects it meets
 * differ in shape, about 17 times slower than a literal (machines/README.md, Performance).
 */
function schedulerStateWith(state: SchedulerState, parts: Partial<Omit<SchedulerState, 'role' | 'incarnation'>>): SchedulerState {
  return {
    role: 'scheduler',
    incarnation: state.incarnation,
    fromReplicaSet: parts.fromReplicaSet ?? state.fromReplicaSet,
    toKubelets: parts.toKubelets ?? state.toKubelets,
    pods: parts.pods ?? state.pods,
  };
}

export function initScheduler(config: SchedulerConfig, incarnation: number): SchedulerState {
  return {
    role: 'scheduler',
    incarnation,
    fromReplicaSet: newServerSide(chainLinks.replicaSetToScheduler),
    toKubelets: sortedRecord(config.nodes.map((n) => [n.name, newClientSide(schedulerToKubelet(n.name))] as const)),
    pods: PodCache.empty(podGroupingOf.scheduler),
  };
}

export function stepScheduler(config: SchedulerConfig, state: SchedulerState, event: StageEvent): StepResult<SchedulerState> {
  const step = new SchedulerStep(config, state);
  try {
    const disposition = step.handle(event);
    if (disposition === 'rejected') {
      assert(step.rejection !== null && step.state === state && step.out.effects.length === 0, 'a rejected input changes nothing');
      return { state, effects: [], links: noLinkIntents, trace: [], disposition, rejection: step.rejection };
    }
    step.settle();
    const radices = step.choices.radices;
    if (radices.length > 0) return { state: step.state, effects: step.out.effects, links: step.out.links, trace: step.out.trace, disposition, choiceRadices: radices };
    return { state: step.state, effects: step.out.effects, links: step.out.links, trace: step.out.trace, disposition };
  } finally {
    step.edit.close(); // the step's pod cache is immutable from here on
  }
}

/** The reason a rollback is passed up with, for the pod event being applied. */
interface PodEventContext {
  readonly origin?: Role;
  readonly failure?: FailureReason;
  readonly index?: SnapshotIndex;
}

class SchedulerStep implements ServerEnd, ClientEnds, RoutingStep {
  readonly out = new EffectList();
  readonly machines: MachineSet;
  /** The pod cache's trees made in this step change in place until the step ends (transient updates, sorted-map.ts). */
  readonly edit = new TreeEdit();
  readonly variant: ProtocolVariant;
  readonly incarnation: number;
  /** The ties this step meets, and the driver's picks among them (DEC-52). */
  readonly choices: ChoiceCursor;
  rejection: InputRejection | null = null;

  constructor(
    readonly config: SchedulerConfig,
    public state: SchedulerState,
  ) {
    this.machines = machinesFor(config.variant);
    this.variant = config.variant;
    this.incarnation = state.incarnation;
    this.choices = new ChoiceCursor(config.choices);
  }

  private nodeOfLink(link: LinkId): string | null {
    for (const node in this.state.toKubelets) if (this.state.toKubelets[node]?.link === link) return node;
    return null;
  }

  private nodeOfLinkOrFail(link: LinkId): string {
    const node = this.nodeOfLink(link);
    assert(node !== null, `no node on link ${link}`);
    return node;
  }

  handle(event: StageEvent): Disposition {
    return routeLinkEvent(this, this, this, event) ?? 'none';
  }

  serverSide(): ServerSide {
    return this.state.fromReplicaSet;
  }

  setServerSide(fromReplicaSet: ServerSide): void {
    this.state = schedulerStateWith(this.state, { fromReplicaSet });
  }

  /** Every Kubelet's session has been synced at least once (the nodes are the keys of `toKubelets`). */
  warm(): boolean {
    for (const node of this.config.nodes) if (this.state.toKubelets[node.name]?.everSynced !== true) return false;
    return true;
  }

  snapshotContent(): SnapshotContent {
    return { scales: [], ...describeCache(this.state.pods, 'scheduler-pod', this.config.variant !== 'no-tombstones') };
  }

  applyRecord(message: DownRecord): Disposition {
    if (message.type === 'pod.provision') {
      if (this.state.pods.has(message.pod.name)) return 'applied'; // duplicate: already held
      if (functionSpecOf(this.config.functions, message.pod.function) === undefined) {
        this.notifyUp({ type: 'pod.failed', epoch: this.upEpoch, name: message.pod.name, reason: 'unknown-owner' });
        return 'applied';
      }
      this.adopt(boundTo(message.pod, null), 'upstream.provision', null);
      return 'applied';
    }
    if (message.type === 'pod.tombstone') {
      if (!this.state.pods.has(message.name)) {
        this.notifyUp({ type: 'tombstone.done', epoch: this.upEpoch, name: message.name });
        return 'applied';
      }
      this.podEvent(message.name, 'upstream.tombstone', { origin: message.origin });
      return 'applied';
    }
    return 'fenced';
  }

  clientSide(link: LinkId): ClientSide | null {
    const node = this.nodeOfLink(link);
    return node === null ? null : (this.state.toKubelets[node] ?? null);
  }

  setClientSide(link: LinkId, side: ClientSide): void {
    const node = this.nodeOfLink(link);
    assert(node !== null, `no node on link ${link}`);
    this.state = schedulerStateWith(this.state, { toKubelets: withEntry(this.state.toKubelets, node, side) });
  }

  refuseSnapshot(link: LinkId, snapshot: SnapshotMessage): 'rejected' | null {
    const misplaced = misplacedInSnapshot(this.nodeOfLinkOrFail(link), snapshot, this.state.pods);
    if (misplaced === null) return null;
    this.rejection = { reason: 'malformed', message: misplaced };
    return 'rejected';
  }

  applyNotification(link: LinkId, message: Notification): Disposition {
    const node = this.nodeOfLinkOrFail(link);
    switch (message.type) {
      case 'pod.running':
        this.podEventFromNode(node, message.name, 'downstream.running', {});
        return 'applied';
      case 'pod.failed':
        this.podEventFromNode(node, message.name, 'downstream.failed', { failure: message.reason });
        return 'applied';
      case 'tombstone.done':
        this.podEventFromNode(node, message.name, 'downstream.tombstoneDone', {});
        return 'applied';
      default:
        return 'fenced';
    }
  }

  private podEventFromNode(node: string, name: string, event: SchedulerPodEvent, context: PodEventContext): void {
    const entry = this.state.pods.get(name);
    if (entry === undefined || entry.record.node !== node) return;
    this.podEvent(name, event, context);
  }

  /** Round 2 with one Kubelet: only the pods bound to that node are reconciled. */
  reconcile(link: LinkId, snapshot: SnapshotMessage): void {
    const node = this.nodeOfLinkOrFail(link);
    const index = indexSnapshot(snapshot.pods, reconciledTombstones(this.config.variant, snapshot.tombstones));
    // A link that synced before in this incarnation: everything alive below it was forwarded by this Scheduler.
    const resync = this.state.toKubelets[node]?.everSynced === true;
    for (const entry of [...this.state.pods.entries()]) {
      if (entry.record.node !== node) continue;
      this.podEvent(entry.record.name, snapshotEventFor(index, entry.record.name), { index, failure: 'invalidated' });
    }
    for (const name of snapshotNames(index)) {
      if (this.state.pods.has(name)) continue;
      const found = snapshotRecord(index, name);
      assert(found !== undefined, 'a snapshot name has a record');
      const event = snapshotEventFor(index, name);
      // REQ-CACHE-013: a pod nobody above knows is terminated, not adopted: the ReplicaSet would never count it.
      if (resync && event !== 'snapshot.tombstone') this.adopt(boundTo(found.record, node), 'snapshot.foreign', 'scheduler');
      else this.adopt(boundTo(found.record, node), event, found.origin);
    }
  }

  private adopt(record: PodRecord, event: SchedulerPodEvent, origin: Role | null): void {
    const step = stepPodEntry(this.machines.schedulerPod, 'scheduler-pod', { record, lifecycle: 'unknown', origin: null }, event, origin ?? 'kubelet', this.out);
    if (step === null) return;
    this.state = schedulerStateWith(this.state, { pods: putPod(this.state.pods, step.next, this.edit) });
    for (const action of step.actions) this.podAction(action, step.next, {});
  }

  private podEvent(name: string, event: SchedulerPodEvent, context: PodEventContext): void {
    const entry = this.state.pods.get(name);
    if (entry === undefined) return;
    this.podEventOf(entry, event, context);
  }

  /**
   * Applies `event` to `entry`, which may differ from the cached entry (a placement sets
   * its node): the cache is updated once, with both changes.
   */
  private podEventOf(entry: PodEntry<SchedulerPodState>, event: SchedulerPodEvent, context: PodEventContext): void {
    const name = entry.record.name;
    const tombstoneOrigin = context.origin ?? context.index?.tombstones.get(name)?.origin ?? 'scheduler';
    const step = stepPodEntry(this.machines.schedulerPod, 'scheduler-pod', entry, event, tombstoneOrigin, this.out);
    // An entry not cached as it is (new, or with a new node) is still stored when its lifecycle does not change.
    const pods = putPod(this.state.pods, step?.next ?? entry, this.edit);
    if (pods !== this.state.pods) this.state = schedulerStateWith(this.state, { pods });
    if (step !== null) for (const action of step.actions) this.podAction(action, step.next, context);
  }

  private podAction(action: SchedulerPodAction, entry: PodEntry<SchedulerPodState>, context: PodEventContext): void {
    const name = entry.record.name;
    switch (action) {
      case 'sendProvision':
      case 'sendTombstone': {
        const node = entry.record.node;
        assert(node !== null, `pod ${name} is forwarded only once bound`);
        const side = this.state.toKubelets[node];
        assert(side !== undefined, `no link to node ${node}`);
        if (!clientSynced(side)) return; // only `no-tombstones` sends outside forward, fire-and-forget
        if (action === 'sendProvision') this.out.send(side.link, { type: 'pod.provision', epoch: side.epoch, pod: entry.record });
        else this.out.send(side.link, { type: 'pod.tombstone', epoch: side.epoch, name, origin: entry.origin ?? 'scheduler' });
        return;
      }
      case 'notifyRunning':
        return this.notifyUp({ type: 'pod.running', epoch: this.upEpoch, name });
      case 'notifyFailed':
        return this.notifyUp({ type: 'pod.failed', epoch: this.upEpoch, name, reason: context.failure ?? 'invalidated' });
      case 'notifyPreempted':
        return this.notifyUp({ type: 'pod.preempted', epoch: this.upEpoch, name });
      case 'notifyTombstoneDone':
        return this.notifyUp({ type: 'tombstone.done', epoch: this.upEpoch, name });
      default:
        unreachable(action, 'Scheduler pod action');
    }
  }

  /** The epoch of the session up: what every message up carries (built with it, not copied to add it). */
  private get upEpoch(): number {
    return this.state.fromReplicaSet.epoch;
  }

  /** Truth flows up only on a synced session; otherwise the next snapshot carries it. */
  private notifyUp(message: UpMessage): void {
    const side = this.state.fromReplicaSet;
    if (!serverMaySendUp(side)) return;
    assert(message.epoch === side.epoch, 'a message up carries the epoch of the session up');
    this.out.send(side.link, message);
  }

  settle(): void {
    answerDeferredHelloWhenWarm(this, this);
    this.decide();
    this.forwardUnsent();
  }

  private decide(): void {
    if (this.state.pods.countIn('unscheduled') === 0) return; // nothing waits: nothing to place, no reason to preempt
    const warmNodes = this.config.nodes.filter((n) => this.state.toKubelets[n.name]?.everSynced === true);
    const decision = decidePlacement({ variant: this.config.variant, nodes: warmNodes, pods: this.state.pods, choices: this.choices });
    for (const name of decision.preemptions) this.podEvent(name, 'decide.preempt', { origin: 'scheduler' });
    for (const { pod, node } of decision.placements) {
      const entry = this.state.pods.get(pod);
      assert(entry !== undefined && entry.lifecycle === 'unscheduled', `only waiting pods are placed: ${pod}`);
      this.podEventOf({ record: boundTo(entry.record, node), lifecycle: entry.lifecycle, origin: entry.origin }, 'decide.place', {});
    }
  }

  private forwardUnsent(): void {
    // Most steps have nothing to forward: then no node's groups need a look.
    if (this.state.pods.countIn('terminating.unsent') === 0 && this.state.pods.countIn('pending') === 0) return;
    // Per node, tombstones first (they free capacity), then provisions, each in name order.
    for (const node in this.state.toKubelets) {
      const side = this.state.toKubelets[node] as ClientSide;
      if (!clientSynced(side) || this.state.pods.countOnNode(node, unsentStates) === 0) continue;
      const unsentTombstones = this.state.pods.onNode(node, 'terminating.unsent');
      const unsentProvisions = this.state.pods.onNode(node, 'pending');
      // Copies: each forward changes the groups in place (the step's edit).
      for (const e of [...unsentTombstones.values()]) this.podEvent(e.record.name, 'forward', {});
      for (const e of [...unsentProvisions.values()]) this.podEvent(e.record.name, 'forward', {});
    }
  }
}

/** The states of pods bound to a node and not yet forwarded to its Kubelet. */
const unsentStates: readonly SchedulerPodState[] = ['terminating.unsent', 'pending'];

/**
 * REQ-CACHE-010: a snapshot from `kubelet:<node>` is malformed when a pod in it names
 * another node, or is a pod this Scheduler holds placed on another node. Returns why,
 * or null when the snapshot is well-formed.
 */
export function misplacedInSnapshot(node: string, snapshot: Extract<UpMessage, { type: 'session.snapshot' }>, pods: PodCache): string | null {
  for (const { record } of [...snapshot.pods, ...snapshot.tombstones]) {
    if (record.node !== null && record.node !== node) return `pod ${record.name} in the snapshot of kubelet:${node} names node ${record.node}`;
    const held = pods.get(record.name)?.record.node ?? null;
    if (held !== null && held !== node) return `pod ${record.name} in the snapshot of kubelet:${node} is placed on node ${held} here`;
  }
  return null;
}
