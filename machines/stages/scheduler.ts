/**
 * The Scheduler stage: binds pods to nodes within capacity and may preempt.
 * Downstream (server) of the ReplicaSet; upstream (client) of one Kubelet per node.
 */
import type { ProtocolVariant } from '../../spec/variants.js';
import { TreeEdit } from '../core/sorted-map.js';
import { assert, unreachable } from '../core/assert.js';
import type { Disposition, InputRejection, StepResult } from '../core/effects.js';
import type { StageEvent } from '../core/events.js';
import type { LinkId, Role } from '../core/ids.js';
import { stepLifecycle } from '../core/lifecycle.js';
import type { DownMessage, UpMessage } from '../core/messages.js';
import { boundTo, type FailureReason, type PodRecord } from '../core/records.js';
import { sortedRecord, withEntry, type SortedRecord } from '../core/sorted.js';
import { decidePlacement } from '../decisions/scheduler-decisions.js';
import { chainLinks, functionSpecOf, schedulerToKubelet, type FunctionSpec, type NodeSpec } from './config.js';
import { EffectList, noLinkIntents } from './effects-builder.js';
import { stateIsTombstone } from './lifecycle-states.js';
import { machinesFor, type MachineSet } from './machine-set.js';
import type { SchedulerPodAction, SchedulerPodEvent, SchedulerPodState } from '../pods/scheduler-pod.machine.js';
import { describeCache, indexSnapshot, putPod, snapshotEventFor, snapshotNames, snapshotRecord, podGroupingOf, PodCache, type PodEntry, type SnapshotIndex } from './pod-cache.js';
import {
  answerDeferredHello,
  clientAdmits,
  clientSynced,
  completeHandshake,
  connectClient,
  loseClientSession,
  loseServerSession,
  newClientSide,
  newServerSide,
  receiveAtServer,
  rejectClientSession,
  serverMaySendUp,
  type ClientSide,
  type ServerSide,
} from './session-sides.js';

export interface SchedulerConfig {
  readonly variant: ProtocolVariant;
  readonly nodes: readonly NodeSpec[];
  /** Functions the Scheduler accepts pods of (REQ-POD-008). */
  readonly functions: readonly FunctionSpec[];
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

class SchedulerStep {
  readonly out = new EffectList();
  readonly machines: MachineSet;
  /** The pod cache's trees made in this step change in place until the step ends (transient updates, sorted-map.ts). */
  readonly edit = new TreeEdit();
  rejection: InputRejection | null = null;

  constructor(
    readonly config: SchedulerConfig,
    public state: SchedulerState,
  ) {
    this.machines = machinesFor(config.variant);
  }

  private nodeOfLink(link: LinkId): string | null {
    for (const node in this.state.toKubelets) if (this.state.toKubelets[node]?.link === link) return node;
    return null;
  }

  private setKubeletSide(node: string, side: ClientSide): void {
    this.state = schedulerStateWith(this.state, { toKubelets: withEntry(this.state.toKubelets, node, side) });
  }

  handle(event: StageEvent): Disposition {
    switch (event.type) {
      case 'link.connected': {
        const node = this.nodeOfLink(event.link);
        const side = node === null ? undefined : this.state.toKubelets[node];
        if (node === null || side === undefined) return 'none';
        this.setKubeletSide(node, connectClient(this.machines, side, this.state.incarnation, this.out));
        return 'none';
      }
      case 'link.lost': {
        if (event.link === this.state.fromReplicaSet.link)
          this.state = schedulerStateWith(this.state, { fromReplicaSet: loseServerSession(this.machines, this.state.fromReplicaSet) });
        const node = this.nodeOfLink(event.link);
        const side = node === null ? undefined : this.state.toKubelets[node];
        if (node !== null && side !== undefined) this.setKubeletSide(node, loseClientSession(this.machines, side, this.out));
        return 'none';
      }
      case 'message.received': {
        if (event.link === this.state.fromReplicaSet.link) return this.fromReplicaSet(event.message as DownMessage);
        const node = this.nodeOfLink(event.link);
        if (node === null) return 'fenced';
        return this.fromKubelet(node, event.message as UpMessage);
      }
      default:
        return 'none';
    }
  }

  private fromReplicaSet(message: DownMessage): Disposition {
    const receipt = receiveAtServer(this.machines, this.state.fromReplicaSet, message, this.warm(), this.config.variant, this.out);
    if (receipt.kind === 'session') {
      this.state = schedulerStateWith(this.state, { fromReplicaSet: receipt.side });
      if (receipt.answerNow) this.sendSnapshot();
      return receipt.disposition;
    }
    if (!receipt.admitted) return 'fenced';
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

  private fromKubelet(node: string, message: UpMessage): Disposition {
    const side = this.state.toKubelets[node];
    assert(side !== undefined, `no link to node ${node}`);
    if (!clientAdmits(side, message, this.config.variant)) return 'fenced';
    switch (message.type) {
      case 'session.snapshot': {
        const misplaced = misplacedInSnapshot(node, message, this.state.pods);
        if (misplaced !== null) {
          this.rejection = { reason: 'malformed', message: misplaced };
          return 'rejected';
        }
        this.setKubeletSide(node, completeHandshake(this.machines, side, this.out, () => this.reconcile(node, message)));
        return 'applied';
      }
      case 'session.rejected':
        this.setKubeletSide(node, rejectClientSession(this.machines, side, this.out));
        return 'applied';
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
  private reconcile(node: string, snapshot: Extract<UpMessage, { type: 'session.snapshot' }>): void {
    const index = indexSnapshot(snapshot.pods, snapshot.tombstones);
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
    const step = stepLifecycle(this.machines.schedulerPod, 'unknown', event);
    if (!step.changed) return;
    this.out.record('scheduler-pod', record.name, event, 'unknown', step.state);
    const entry: PodEntry<SchedulerPodState> = { record, lifecycle: step.state, origin: stateIsTombstone(step.state) ? (origin ?? 'kubelet') : null };
    this.state = schedulerStateWith(this.state, { pods: putPod(this.state.pods, entry, this.edit) });
    for (const action of step.actions) this.podAction(action, entry, {});
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
    const step = stepLifecycle(this.machines.schedulerPod, entry.lifecycle, event);
    if (!step.changed) {
      // An entry not cached as it is (new, or with a new node) is still stored.
      const pods = putPod(this.state.pods, entry, this.edit);
      if (pods !== this.state.pods) this.state = schedulerStateWith(this.state, { pods });
      return;
    }
    this.out.record('scheduler-pod', name, event, entry.lifecycle, step.state);
    let origin = entry.origin;
    if (stateIsTombstone(step.state) && !stateIsTombstone(entry.lifecycle))
      origin = context.origin ?? context.index?.tombstones.get(name)?.origin ?? 'scheduler';
    if (!stateIsTombstone(step.state)) origin = null;
    const next: PodEntry<SchedulerPodState> = { record: entry.record, lifecycle: step.state, origin };
    this.state = schedulerStateWith(this.state, { pods: putPod(this.state.pods, next, this.edit) });
    for (const action of step.actions) this.podAction(action, next, context);
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

  /** Every Kubelet's session has been synced at least once (the nodes are the keys of `toKubelets`). */
  private warm(): boolean {
    for (const node of this.config.nodes) if (this.state.toKubelets[node.name]?.everSynced !== true) return false;
    return true;
  }

  private sendSnapshot(): void {
    const side = this.state.fromReplicaSet;
    const view = describeCache(this.state.pods, 'scheduler-pod', this.config.variant !== 'no-tombstones');
    this.out.send(side.link, { type: 'session.snapshot', epoch: side.epoch, scales: [], ...view });
  }

  settle(): void {
    // Asked in this order because a deferred Hello is rare and `warm` reads every node.
    const answered = answerDeferredHello(this.machines, this.state.fromReplicaSet);
    if (answered !== null && this.warm()) {
      this.state = schedulerStateWith(this.state, { fromReplicaSet: answered });
      this.sendSnapshot();
    }
    this.decide();
    this.forwardUnsent();
  }

  private decide(): void {
    if (this.state.pods.countIn('unscheduled') === 0) return; // nothing waits: nothing to place, no reason to preempt
    const warmNodes = this.config.nodes.filter((n) => this.state.toKubelets[n.name]?.everSynced === true);
    const decision = decidePlacement({ variant: this.config.variant, nodes: warmNodes, pods: this.state.pods });
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
