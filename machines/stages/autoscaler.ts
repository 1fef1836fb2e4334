/**
 * The Autoscaler stage: the desired replica count per function, durable through the
 * backing store. Top of the chain: upstream (client) of the Deployment only.
 */
import type { ProtocolVariant } from '../../spec/variants.js';
import { assert } from '../core/assert.js';
import type { Disposition, InputRejection, StepResult } from '../core/effects.js';
import type { StageEvent } from '../core/events.js';
import type { LinkId } from '../core/ids.js';
import { desiredMax } from '../core/limits.js';
import { sortedRecord } from '../core/sorted.js';
import { chainLinks, functionSpecOf, validDesired, type FunctionSpec } from './config.js';
import { EffectList, noLinkIntents } from './effects-builder.js';
import { machinesFor, type MachineSet } from './machine-set.js';
import { forwardUnsentScales, markAllUnsent, markApplied, setDesired, type ScaleTable } from './scale-holder.js';
import { routeLinkEvent, type ClientEnds, type Notification, type RoutingStep } from './link-routing.js';
import { clientSynced, newClientSide, type ClientSide } from './session-sides.js';

export interface AutoscalerConfig {
  readonly variant: ProtocolVariant;
  /** The functions of the chain: a request for any other is refused (REQ-SCALE-001). */
  readonly functions: readonly FunctionSpec[];
}

export interface AutoscalerState {
  readonly role: 'autoscaler';
  readonly incarnation: number;
  readonly toDeployment: ClientSide;
  readonly scales: ScaleTable;
}

/** `durable` is what the backing store holds: the desired count per function. */
export function initAutoscaler(incarnation: number, durable: Readonly<Record<string, number>>): AutoscalerState {
  return {
    role: 'autoscaler',
    incarnation,
    toDeployment: newClientSide(chainLinks.autoscalerToDeployment),
    scales: sortedRecord(Object.entries(durable).map(([fn, desired]) => [fn, { desired, lifecycle: 'unsent' }] as const)),
  };
}

export function stepAutoscaler(config: AutoscalerConfig, state: AutoscalerState, event: StageEvent): StepResult<AutoscalerState> {
  const step = new AutoscalerStep(config, state);
  const disposition = step.handle(event);
  if (disposition === 'rejected') {
    assert(step.rejection !== null && step.state === state && step.out.effects.length === 0, 'a rejected request changes nothing');
    return { state, effects: [], links: noLinkIntents, trace: [], disposition, rejection: step.rejection };
  }
  step.settle();
  return { state: step.state, effects: step.out.effects, links: step.out.links, trace: [], disposition };
}

class AutoscalerStep implements ClientEnds, RoutingStep {
  readonly out = new EffectList();
  readonly machines: MachineSet;
  readonly variant: ProtocolVariant;
  readonly incarnation: number;
  rejection: InputRejection | null = null;

  constructor(
    readonly config: AutoscalerConfig,
    public state: AutoscalerState,
  ) {
    this.machines = machinesFor(config.variant);
    this.variant = config.variant;
    this.incarnation = state.incarnation;
  }

  handle(event: StageEvent): Disposition {
    const routed = routeLinkEvent(this, null, this, event);
    if (routed !== null) return routed;
    switch (event.type) {
      case 'scale.requested': {
        // REQ-SCALE-001: refuse, with no state change, what the configuration does not allow.
        if (functionSpecOf(this.config.functions, event.function) === undefined)
          return this.reject({ reason: 'unknown-function', message: `function "${event.function}" is not configured; configured: ${this.config.functions.map((f) => f.name).join(', ')}` });
        if (!validDesired(event.desired)) return this.reject({ reason: 'malformed', message: `desired must be a whole number from 0 to ${desiredMax}, got ${event.desired}` });
        if (this.state.scales[event.function]?.desired === event.desired) return 'none';
        // Durable first: the count is persisted before any message that carries it.
        this.out.push({ type: 'store.persist', function: event.function, desired: event.desired });
        this.state = { ...this.state, scales: setDesired(this.machines, this.state.scales, event.function, event.desired) };
        return 'none';
      }
      default:
        return 'none';
    }
  }

  private reject(rejection: InputRejection): Disposition {
    this.rejection = rejection;
    return 'rejected';
  }

  clientSide(link: LinkId): ClientSide | null {
    return link === this.state.toDeployment.link ? this.state.toDeployment : null;
  }

  setClientSide(_link: LinkId, toDeployment: ClientSide): void {
    this.state = { ...this.state, toDeployment };
  }

  refuseSnapshot(): null {
    return null;
  }

  reconcile(): void {
    // The Autoscaler's counts are the truth: all are re-sent, whatever the snapshot holds.
    this.state = { ...this.state, scales: markAllUnsent(this.machines, this.state.scales) };
  }

  applyNotification(_link: LinkId, message: Notification): Disposition {
    if (message.type !== 'scale.applied') return 'fenced';
    this.state = { ...this.state, scales: markApplied(this.machines, this.state.scales, message.scale.function, message.scale.desired) };
    return 'applied';
  }

  settle(): void {
    if (!clientSynced(this.state.toDeployment)) return;
    const { table, sent } = forwardUnsentScales(this.machines, this.state.scales);
    this.state = { ...this.state, scales: table };
    const side = this.state.toDeployment;
    for (const scale of sent) this.out.send(side.link, { type: 'scale.set', epoch: side.epoch, scale });
  }
}
