/**
 * The Deployment stage: maps each function to its ReplicaSet (one per function, named
 * after it) and forwards the desired count. Downstream (server) of the Autoscaler;
 * upstream (client) of the ReplicaSet.
 */
import type { ProtocolVariant } from '../../spec/variants.js';
import type { Disposition, StepResult } from '../core/effects.js';
import type { StageEvent } from '../core/events.js';
import type { DownMessage, UpMessage } from '../core/messages.js';
import { withEntry } from '../core/sorted.js';
import { chainLinks } from './config.js';
import { EffectList } from './effects-builder.js';
import { machinesFor, type MachineSet } from './machine-set.js';
import { forwardUnsentScales, markAllUnsent, markApplied, setDesired, type ScaleTable } from './scale-holder.js';
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

class DeploymentStep {
  readonly out = new EffectList();
  readonly machines: MachineSet;

  constructor(
    readonly config: DeploymentConfig,
    public state: DeploymentState,
  ) {
    this.machines = machinesFor(config.variant);
  }

  handle(event: StageEvent): Disposition {
    switch (event.type) {
      case 'link.connected': {
        if (event.link !== this.state.toReplicaSet.link) return 'none';
        this.state = { ...this.state, toReplicaSet: connectClient(this.machines, this.state.toReplicaSet, this.state.incarnation, this.out) };
        return 'none';
      }
      case 'link.lost':
        if (event.link === this.state.toReplicaSet.link)
          this.state = { ...this.state, toReplicaSet: loseClientSession(this.machines, this.state.toReplicaSet, this.out) };
        if (event.link === this.state.fromAutoscaler.link)
          this.state = { ...this.state, fromAutoscaler: loseServerSession(this.machines, this.state.fromAutoscaler) };
        return 'none';
      case 'message.received':
        if (event.link === this.state.fromAutoscaler.link) return this.fromAutoscaler(event.message as DownMessage);
        if (event.link === this.state.toReplicaSet.link) return this.fromReplicaSet(event.message as UpMessage);
        return 'fenced';
      default:
        return 'none';
    }
  }

  private fromAutoscaler(message: DownMessage): Disposition {
    const link = this.state.fromAutoscaler.link;
    const receipt = receiveAtServer(this.machines, this.state.fromAutoscaler, message, this.state.toReplicaSet.everSynced, this.config.variant, this.out);
    if (receipt.kind === 'session') {
      this.state = { ...this.state, fromAutoscaler: receipt.side };
      if (receipt.answerNow) this.sendSnapshot();
      return receipt.disposition;
    }
    if (!receipt.admitted) return 'fenced';
    if (message.type !== 'scale.set') return 'fenced';
    const held = this.state.scales[message.scale.function];
    // Acknowledgements are tail-first (REQ-SCALE-004): only a value already in force at the ReplicaSet is acknowledged now.
    if (held !== undefined && held.desired === message.scale.desired && held.lifecycle === 'applied') {
      this.out.send(link, { type: 'scale.applied', epoch: this.state.fromAutoscaler.epoch, scale: message.scale });
      return 'applied';
    }
    this.state = { ...this.state, scales: setDesired(this.machines, this.state.scales, message.scale.function, message.scale.desired) };
    return 'applied';
  }

  private fromReplicaSet(message: UpMessage): Disposition {
    if (!clientAdmits(this.state.toReplicaSet, message, this.config.variant)) return 'fenced';
    switch (message.type) {
      case 'session.snapshot': {
        const toReplicaSet = completeHandshake(this.machines, this.state.toReplicaSet, this.out, () => {
          // A cold Deployment adopts the ReplicaSet's counts until the Autoscaler tells it; every held count is re-sent.
          let scales = this.state.scales;
          for (const s of message.scales) if (!(s.function in scales)) scales = withEntry(scales, s.function, { desired: s.desired, lifecycle: 'applied' });
          this.state = { ...this.state, scales: markAllUnsent(this.machines, scales) };
        });
        this.state = { ...this.state, toReplicaSet };
        return 'applied';
      }
      case 'session.rejected':
        this.state = { ...this.state, toReplicaSet: rejectClientSession(this.machines, this.state.toReplicaSet, this.out) };
        return 'applied';
      case 'scale.applied': {
        const before = this.state.scales[message.scale.function];
        this.state = { ...this.state, scales: markApplied(this.machines, this.state.scales, message.scale.function, message.scale.desired) };
        const after = this.state.scales[message.scale.function];
        // The entry just became clean: the value is in force below, so the acknowledgement goes up.
        if (before !== after && after?.lifecycle === 'applied' && serverMaySendUp(this.state.fromAutoscaler))
          this.out.send(this.state.fromAutoscaler.link, { type: 'scale.applied', epoch: this.state.fromAutoscaler.epoch, scale: message.scale });
        return 'applied';
      }
      default:
        return 'fenced';
    }
  }

  private sendSnapshot(): void {
    const side = this.state.fromAutoscaler;
    const scales = Object.entries(this.state.scales).map(([fn, e]) => ({ function: fn, desired: e.desired }));
    this.out.send(side.link, { type: 'session.snapshot', epoch: side.epoch, scales, pods: [], tombstones: [] });
  }

  settle(): void {
    if (this.state.toReplicaSet.everSynced) {
      const answered = answerDeferredHello(this.machines, this.state.fromAutoscaler);
      if (answered !== null) {
        this.state = { ...this.state, fromAutoscaler: answered };
        this.sendSnapshot();
      }
    }
    if (!clientSynced(this.state.toReplicaSet)) return;
    const { table, sent } = forwardUnsentScales(this.machines, this.state.scales);
    this.state = { ...this.state, scales: table };
    const side = this.state.toReplicaSet;
    for (const scale of sent) this.out.send(side.link, { type: 'scale.set', epoch: side.epoch, scale });
  }
}
