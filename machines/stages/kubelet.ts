/**
 * The Kubelet stage of one node: runs sandboxes, the ground truth of what runs.
 * Downstream (server) of the Scheduler; its own downstream is the sandbox runtime.
 */
import type { ProtocolVariant } from '../../spec/variants.js';
import type { Disposition, StepResult } from '../core/effects.js';
import type { StageEvent } from '../core/events.js';
import { stepLifecycle } from '../core/lifecycle.js';
import { TreeEdit } from '../core/sorted-map.js';
import type { UpMessage } from '../core/messages.js';
import type { Role } from '../core/ids.js';
import type { PodRecord } from '../core/records.js';
import { assert, unreachable } from '../core/assert.js';
import { functionSpecOf, schedulerToKubelet, type FunctionSpec } from './config.js';
import { EffectList } from './effects-builder.js';
import { podStatesWith } from './lifecycle-states.js';
import { machinesFor, type MachineSet } from './machine-set.js';
import type { KubeletPodAction, KubeletPodEvent, KubeletPodState } from '../pods/kubelet-pod.machine.js';
import { describeCache, podGroupingOf, putPod, PodCache, type PodEntry } from './pod-cache.js';
import { routeLinkEvent, type DownRecord, type RoutingStep, type ServerEnd, type SnapshotContent } from './link-routing.js';
import { stepPodEntry } from './pod-event.js';
import { newServerSide, serverMaySendUp, type ServerSide } from './session-sides.js';

export interface KubeletConfig {
  readonly variant: ProtocolVariant;
  readonly node: string;
  readonly capacity: number;
  /** The functions of the chain: a provision for any other is refused per pod (REQ-POD-008, DEC-17). */
  readonly functions: readonly FunctionSpec[];
}

/** A sandbox found at boot: the Kubelet rebuilds its pod list from these. */
export interface SandboxInventoryItem {
  readonly pod: PodRecord;
  readonly state: 'starting' | 'running' | 'killing';
  /**
   * A sandbox being killed: the origin of its tombstone (REQ-TOMB-008), as the
   * `sandbox.kill` effect gave it; required for `killing` (asserted by `initKubelet`).
   */
  readonly origin?: Role;
}

export interface KubeletState {
  readonly role: 'kubelet';
  readonly incarnation: number;
  readonly fromScheduler: ServerSide;
  readonly pods: PodCache<KubeletPodState>;
}

/** `state` with some parts replaced, built key by key (machines/README.md, Performance: no spreads on hot paths). */
function kubeletStateWith(state: KubeletState, parts: Partial<Pick<KubeletState, 'fromScheduler' | 'pods'>>): KubeletState {
  return { role: 'kubelet', incarnation: state.incarnation, fromScheduler: parts.fromScheduler ?? state.fromScheduler, pods: parts.pods ?? state.pods };
}

export function initKubelet(config: KubeletConfig, incarnation: number, inventory: readonly SandboxInventoryItem[]): KubeletState {
  const machines = machinesFor(config.variant);
  let pods = PodCache.empty(podGroupingOf.kubelet);
  for (const item of inventory) {
    const step = stepLifecycle(machines.kubeletPod, 'unknown', `inventory.${item.state}`);
    assert(step.changed, `inventory state ${item.state} is adopted`);
    // A boot has no session and no sandbox request yet: `bootEffects` re-issues the kills (REQ-POD-013).
    assert(step.actions.length === 0, `adopting an inventory sandbox asks for nothing: ${step.actions.join(', ')}`);
    const origin = step.state === 'killing' ? (item.origin ?? null) : null;
    assert(step.state !== 'killing' || origin !== null, `inventory sandbox ${item.pod.name} is being killed: it carries the origin of its tombstone (REQ-TOMB-008)`);
    pods = putPod(pods, { record: item.pod, lifecycle: step.state, origin });
  }
  return { role: 'kubelet', incarnation, fromScheduler: newServerSide(schedulerToKubelet(config.node)), pods };
}

export function stepKubelet(config: KubeletConfig, state: KubeletState, event: StageEvent): StepResult<KubeletState> {
  const step = new KubeletStep(config, state);
  try {
    const disposition = step.handle(event);
    return { state: step.state, effects: step.out.effects, links: step.out.links, trace: step.out.trace, disposition };
  } finally {
    step.edit.close(); // the step's pod cache is immutable from here on
  }
}

/** Sandboxes that hold capacity (tag `holdsCapacity`): starting, running and being killed. */
export function sandboxesHeld(pods: PodCache<KubeletPodState>): number {
  let held = 0;
  for (const state of podStatesWith('kubelet-pod', 'holdsCapacity')) held += pods.countIn(state);
  return held;
}

class KubeletStep implements ServerEnd, RoutingStep {
  readonly out = new EffectList();
  readonly machines: MachineSet;
  /** The pod cache's trees made in this step change in place until the step ends (transient updates, sorted-map.ts). */
  readonly edit = new TreeEdit();
  readonly variant: ProtocolVariant;
  readonly incarnation: number;

  constructor(
    readonly config: KubeletConfig,
    public state: KubeletState,
  ) {
    this.machines = machinesFor(config.variant);
    this.variant = config.variant;
    this.incarnation = state.incarnation;
  }

  handle(event: StageEvent): Disposition {
    const routed = routeLinkEvent(this, this, null, event);
    if (routed !== null) return routed;
    switch (event.type) {
      case 'sandbox.started':
      case 'sandbox.failed':
      case 'sandbox.killed':
        this.podEvent(event.pod, event.type);
        return 'none';
      default:
        return 'none';
    }
  }

  serverSide(): ServerSide {
    return this.state.fromScheduler;
  }

  setServerSide(fromScheduler: ServerSide): void {
    this.state = kubeletStateWith(this.state, { fromScheduler });
  }

  /** The Kubelet has no downstream link: it is always warm. */
  warm(): boolean {
    return true;
  }

  snapshotContent(): SnapshotContent {
    return { scales: [], ...describeCache(this.state.pods, 'kubelet-pod', this.config.variant !== 'no-tombstones') };
  }

  applyRecord(message: DownRecord): Disposition {
    if (message.type === 'pod.provision') {
      if (this.state.pods.has(message.pod.name) || message.pod.node !== this.config.node) return 'applied';
      if (functionSpecOf(this.config.functions, message.pod.function) === undefined) {
        // Not held: refused per pod, like a full node (04, Kubelet sandbox table; DEC-17).
        this.notifyUp({ type: 'pod.failed', epoch: this.upEpoch, name: message.pod.name, reason: 'unknown-owner' });
        return 'applied';
      }
      const admit = sandboxesHeld(this.state.pods) < this.config.capacity;
      this.podEventOf({ record: message.pod, lifecycle: 'unknown', origin: null }, admit ? 'upstream.provision' : 'decide.reject');
      assert(sandboxesHeld(this.state.pods) <= this.config.capacity, 'a Kubelet never holds more sandboxes than its capacity');
      return 'applied';
    }
    if (message.type === 'pod.tombstone') {
      if (!this.state.pods.has(message.name)) {
        this.notifyUp({ type: 'tombstone.done', epoch: this.upEpoch, name: message.name });
        return 'applied';
      }
      this.podEvent(message.name, 'upstream.tombstone', message.origin);
      return 'applied';
    }
    return 'fenced';
  }

  private podEvent(name: string, event: KubeletPodEvent, origin: PodEntry<KubeletPodState>['origin'] = null): void {
    const entry = this.state.pods.get(name);
    if (entry === undefined) return;
    this.podEventOf(entry, event, origin);
  }

  /** Applies `event` to `entry`, which may not be cached yet (a new provision): the cache is updated once. */
  private podEventOf(entry: PodEntry<KubeletPodState>, event: KubeletPodEvent, origin: PodEntry<KubeletPodState>['origin'] = null): void {
    const step = stepPodEntry(this.machines.kubeletPod, 'kubelet-pod', entry, event, origin ?? 'scheduler', this.out);
    // An entry not cached as it is (new, or with a new node) is still stored when its lifecycle does not change.
    const pods = putPod(this.state.pods, step?.next ?? entry, this.edit);
    if (pods !== this.state.pods) this.state = kubeletStateWith(this.state, { pods });
    if (step !== null) for (const action of step.actions) this.podAction(action, step.next);
  }

  private podAction(action: KubeletPodAction, entry: PodEntry<KubeletPodState>): void {
    const pod = entry.record;
    const name = pod.name;
    switch (action) {
      case 'startSandbox':
        return this.out.push({ type: 'sandbox.start', pod });
      case 'killSandbox':
        assert(entry.origin !== null, `the kill of ${name} carries the origin of its tombstone`);
        return this.out.push({ type: 'sandbox.kill', pod, origin: entry.origin });
      case 'notifyRunning':
        return this.notifyUp({ type: 'pod.running', epoch: this.upEpoch, name });
      case 'notifyFailed':
        return this.notifyUp({ type: 'pod.failed', epoch: this.upEpoch, name, reason: 'sandbox-failed' });
      case 'notifyRejected':
        return this.notifyUp({ type: 'pod.failed', epoch: this.upEpoch, name, reason: 'capacity-exceeded' });
      case 'notifyTombstoneDone':
        return this.notifyUp({ type: 'tombstone.done', epoch: this.upEpoch, name });
      default:
        unreachable(action, 'Kubelet pod action');
    }
  }

  /** The epoch of the session up: what every message up carries (built with it, not copied to add it). */
  private get upEpoch(): number {
    return this.state.fromScheduler.epoch;
  }

  private notifyUp(message: UpMessage): void {
    const side = this.state.fromScheduler;
    if (!serverMaySendUp(side)) return;
    assert(message.epoch === side.epoch, 'a message up carries the epoch of the session up');
    this.out.send(side.link, message);
  }
}
