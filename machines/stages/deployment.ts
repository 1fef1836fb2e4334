/**
 * The Deployment stage: maps each function to its ReplicaSet (one per function, named
 * after it) and forwards the desired count. Downstream (server) of the Autoscaler;
 * upstream (client) of the ReplicaSet.
 */
import type { ProtocolVariant } from '../../spec/variants.js';
import type { Disposition, StepResult } from '../core/effects.js';
import type { StageEvent } from '../core/events.js';
import type { LinkId } from '../core/ids.js';
import { withEntry } from '../core/sorted.js';
import { chainLinks } from './config.js';
import { EffectList } from './effects-builder.js';
import { machinesFor, type MachineSet } from './machine-set.js';
import { forwardUnsentScales, markAllUnsent, markApplied, setDesired, type ScaleTable } from './scale-holder.js';
import { answerDeferredHelloWhenWarm, routeLinkEvent, type ClientEnds, type DownRecord, type Notification, type RoutingStep, type ServerEnd, type SnapshotContent, type SnapshotMessage } from './link-routing.js';
import { clientSynced, newClientSide, newServerSide, serverMaySendUp, type ClientSide, type ServerSide } from './session-sides.js';

export interface DeploymentConfig {
  readonly variant: ProtocolVariant;
}

export interface DeploymentState {
  readonly role: 'deployment';
  readonly incarnation: number;
  readonly fromAutoscaler: ServerSide;
  readonly toReplicaSet: ClientSide;
  readonly scales: ScaleTable;
}

export function initDeployment(incarnation: number): DeploymentState {
  return {
    role: 'deployment',
    incarnation,
    fromAutoscaler: newServerSide(chainLinks.autoscalerToDeployment),
    toReplicaSet: newClientSide(chainLinks.deploymentToReplicaSet),
    scales: {},
  };
}

export function stepDeployment(config: DeploymentConfig, state: DeploymentState, event: StageEvent): StepResult<DeploymentState> {
  const step = new DeploymentStep(config, state);
  const disposition = step.handle(event);
  step.settle();
  return { state: step.state, effects: step.out.effects, links: step.out.links, trace: [], disposition };
}

class DeploymentStep implements ServerEnd, ClientEnds, RoutingStep {
  readonly out = new EffectList();
  readonly machines: MachineSet;
  readonly variant: ProtocolVariant;
  readonly incarnation: number;

  constructor(
    readonly config: DeploymentConfig,
    public state: DeploymentState,
  ) {
    this.machines = machinesFor(config.variant);
    this.variant = config.variant;
    this.incarnation = state.incarnation;
  }

  handle(event: StageEvent): Disposition {
    return routeLinkEvent(this, this, this, event) ?? 'none';
  }

  serverSide(): ServerSide {
    return this.state.fromAutoscaler;
  }

  setServerSide(fromAutoscaler: ServerSide): void {
    this.state = { ...this.state, fromAutoscaler };
  }

  warm(): boolean {
    return this.state.toReplicaSet.everSynced;
  }

  snapshotContent(): SnapshotContent {
    return { scales: Object.entries(this.state.scales).map(([fn, e]) => ({ function: fn, desired: e.desired })), pods: [], tombstones: [] };
  }

  applyRecord(message: DownRecord): Disposition {
    if (message.type !== 'scale.set') return 'fenced';
    const held = this.state.scales[message.scale.function];
    // Acknowledgements are tail-first (REQ-SCALE-004): only a value already in force at the ReplicaSet is acknowledged now.
    if (held !== undefined && held.desired === message.scale.desired && held.lifecycle === 'applied') {
      this.out.send(this.state.fromAutoscaler.link, { type: 'scale.applied', epoch: this.state.fromAutoscaler.epoch, scale: message.scale });
      return 'applied';
    }
    this.state = { ...this.state, scales: setDesired(this.machines, this.state.scales, message.scale.function, message.scale.desired) };
    return 'applied';
  }

  clientSide(link: LinkId): ClientSide | null {
    return link === this.state.toReplicaSet.link ? this.state.toReplicaSet : null;
  }

  setClientSide(_link: LinkId, toReplicaSet: ClientSide): void {
    this.state = { ...this.state, toReplicaSet };
  }

  refuseSnapshot(): null {
    return null;
  }

  reconcile(_link: LinkId, snapshot: SnapshotMessage): void {
    // A cold Deployment adopts the ReplicaSet's counts until the Autoscaler tells it; every held count is re-sent.
    let scales = this.state.scales;
    for (const s of snapshot.scales) if (!(s.function in scales)) scales = withEntry(scales, s.function, { desired: s.desired, lifecycle: 'applied' });
    this.state = { ...this.state, scales: markAllUnsent(this.machines, scales) };
  }

  applyNotification(_link: LinkId, message: Notification): Disposition {
    if (message.type !== 'scale.applied') return 'fenced';
    const before = this.state.scales[message.scale.function];
    this.state = { ...this.state, scales: markApplied(this.machines, this.state.scales, message.scale.function, message.scale.desired) };
    const after = this.state.scales[message.scale.function];
    // The entry just became clean: the value is in force below, so the acknowledgement goes up.
    if (before !== after && after?.lifecycle === 'applied' && serverMaySendUp(this.state.fromAutoscaler))
      this.out.send(this.state.fromAutoscaler.link, { type: 'scale.applied', epoch: this.state.fromAutoscaler.epoch, scale: message.scale });
    return 'applied';
  }

  settle(): void {
    answerDeferredHelloWhenWarm(this, this);
    if (!clientSynced(this.state.toReplicaSet)) return;
    const { table, sent } = forwardUnsentScales(this.machines, this.state.scales);
    this.state = { ...this.state, scales: table };
    const side = this.state.toReplicaSet;
    for (const scale of sent) this.out.send(side.link, { type: 'scale.set', epoch: side.epoch, scale });
  }
}
