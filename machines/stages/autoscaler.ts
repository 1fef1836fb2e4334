/**
 * The Autoscaler stage: the desired replica count per function, durable through the
 * backing store. Top of the chain: upstream (client) of the Deployment only.
 */
import type { ProtocolVariant } from '../../spec/variants.js';
import { assert } from '../core/assert.js';
import type { Disposition, InputRejection, StepResult } from '../core/effects.js';
import type { ScaleRequest, StageEvent } from '../core/events.js';
import type { LinkId } from '../core/ids.js';
import { desiredMax, scaleSetsEntriesMax } from '../core/limits.js';
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

/** Why one desired count is refused (REQ-SCALE-001: what the configuration does not allow), or null. It depends on the configuration only. */
function requestRefusalOf(config: AutoscalerConfig, fn: string, desired: number): InputRejection | null {
  if (functionSpecOf(config.functions, fn) === undefined)
    return { reason: 'unknown-function', message: `function "${fn}" is not configured; configured: ${config.functions.map((f) => f.name).join(', ')}` };
  if (!validDesired(desired)) return { reason: 'malformed', message: `desired must be a whole number from 0 to ${desiredMax}, got ${desired}` };
  return null;
}

/**
 * Why a request of several desired counts is refused whole (REQ-SCALE-007), or null:
 * first no entry, too many or a function twice (`malformed`), then the first entry a
 * single request would have refused, with its reason. It depends on the configuration
 * only, so a client that knows it (`kd scale`) asks this before it sends anything.
 */
export function scalesRequestRefusal(config: AutoscalerConfig, scales: readonly ScaleRequest[]): InputRejection | null {
  const nothing = 'nothing was stored';
  if (scales.length === 0) return { reason: 'malformed', message: `a request of several counts (SetScales) needs at least one entry; ${nothing}` };
  if (scales.length > scaleSetsEntriesMax)
    return { reason: 'malformed', message: `a request of several counts (SetScales) takes at most ${scaleSetsEntriesMax} entries (scaleSetsEntriesMax), got ${scales.length}; split it; ${nothing}` };
  const seen = new Set<string>();
  for (const [index, { function: fn }] of scales.entries()) {
    if (seen.has(fn)) return { reason: 'malformed', message: `entry ${index}: function "${fn}" appears twice; give each function once; ${nothing}` };
    seen.add(fn);
  }
  for (const [index, { function: fn, desired }] of scales.entries()) {
    const refused = requestRefusalOf(config, fn, desired);
    if (refused !== null) return { reason: refused.reason, message: `entry ${index}: ${refused.message}; ${nothing}` };
  }
  return null;
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
        const refused = requestRefusalOf(this.config, event.function, event.desired);
        if (refused !== null) return this.reject(refused);
        this.take(event.function, event.desired);
        return 'none';
      }
      case 'scales.requested': {
        // REQ-SCALE-007: the whole request is judged before any entry is taken.
        const refused = scalesRequestRefusal(this.config, event.scales);
        if (refused !== null) return this.reject(refused);
        // REQ-SCALE-008: in order, as one step, so every count is persisted before any is sent (settle runs after).
        for (const scale of event.scales) this.take(scale.function, scale.desired);
        return 'none';
      }
      default:
        return 'none';
    }
  }

  /** A valid desired count: durable first (its `store.persist`), then the table's; nothing when the count is already the desired one. */
  private take(fn: string, desired: number): void {
    if (this.state.scales[fn]?.desired === desired) return;
    this.out.push({ type: 'store.persist', function: fn, desired });
    this.state = { ...this.state, scales: setDesired(this.machines, this.state.scales, fn, desired) };
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
