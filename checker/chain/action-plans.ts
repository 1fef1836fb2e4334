/**
 * Per-action plans: what a packed action touches (the queue or sandboxes position, the
 * receiving stage, the code of its event in the memo keys, its fairness class), worked
 * out once per action object. Actions are immutable and few distinct, so the protocol's
 * are kept as one canonical object each and a plan is found by identity.
 */
import { InvariantViolation, type LinkId, type StageEvent } from '../../machines/index.js';
import { fairnessClass, type ChainAction, type PackedAction } from './chain-actions.js';
import type { StateLayout } from './state-layout.js';
import { eventKeyOf, idSpan, memoLinksMax } from './memo-tables.js';

/** What a packed action touches (see ActionPlans.planOf). */
export interface ActionPlan {
  /** Deliveries and drops: the queue's position; sandbox reports: the node's sandboxes; -1 otherwise. */
  readonly pos: number;
  /** The position of the stage that receives the event. */
  readonly receiverPos: number;
  /** Deliveries and drops: the link's index; other actions: their event's code. */
  readonly code: number;
  /** The event, except for deliveries (their message is the head of the queue). */
  readonly event: StageEvent | null;
  /** Deliveries: their link. */
  readonly link: LinkId;
  /** ActionPlans.fairness. */
  readonly fairness: string | null;
}

export class ActionPlans {
  /**
   * Equal actions of the protocol as one object each (few distinct, made afresh by every
   * `protocolActions` call), so that an action's plan is found by identity.
   */
  private readonly canonicalActions = new Map<string, ChainAction>();
  private readonly plans = new Map<PackedAction, ActionPlan>();
  /** Event text -> its key (`eventKeyOf`: odd, never the even key of a delivery, memo-tables.ts). */
  private readonly eventCodes = new Map<string, number>();

  constructor(private readonly layout: StateLayout) {}

  /** The one object of the actions equal to `action`. */
  canonical(action: ChainAction): ChainAction {
    const key = JSON.stringify(action);
    let canonical = this.canonicalActions.get(key);
    if (canonical === undefined) {
      canonical = action;
      this.canonicalActions.set(key, canonical);
    }
    return canonical;
  }

  /** What `action` touches, worked out on its first use (actions are immutable objects, reused from the memo tables). */
  planOf(action: PackedAction): ActionPlan {
    let plan = this.plans.get(action);
    if (plan === undefined) {
      plan = this.makePlan(action);
      this.plans.set(action, plan);
    }
    return plan;
  }

  /** The fairness class of an action (worked out once per action object: see planOf). */
  fairness(action: ChainAction): string | null {
    switch (action.kind) {
      case 'crash':
      case 'nodeCrash':
      case 'cut':
      case 'forgeHello':
      case 'forgePod':
      case 'scale':
        return null;
      default:
        return this.planOf(action).fairness;
    }
  }

  private makePlan(action: PackedAction): ActionPlan {
    const layout = this.layout;
    switch (action.kind) {
      case 'deliver':
      case 'deliverStale':
      case 'dropStale': {
        const l = layout.linkOf(action.link);
        if (l >= memoLinksMax) throw new InvariantViolation(`link ${action.link} is link ${l}; the packed model's memo keys allow ${memoLinksMax}`);
        const receiverPos = action.direction === 'down' ? (layout.downstreamPos[l] as number) : (layout.upstreamPos[l] as number);
        return { pos: layout.channelPos(l, action.direction, action.kind !== 'deliver'), receiverPos, code: l, event: null, link: action.link, fairness: fairnessClass(action) };
      }
      case 'connect': {
        const l = layout.linkOf(action.link);
        const event: StageEvent = { type: 'link.connected', link: action.link };
        return { pos: -1, receiverPos: layout.upstreamPos[l] as number, code: this.eventCode(`connect ${action.link}`), event, link: action.link, fairness: fairnessClass(action) };
      }
      case 'sandboxDone': {
        const event: StageEvent = { type: `sandbox.${action.outcome}`, pod: action.pod };
        const code = this.eventCode(`sandbox.${action.outcome} ${action.pod}`);
        return { pos: layout.sandboxesAt + (layout.nodeIndex.get(action.node) ?? -1), receiverPos: layout.stagePos.get(`kubelet:${action.node}`) ?? -1, code, event, link: '', fairness: fairnessClass(action) };
      }
      case 'scale': {
        const event: StageEvent = { type: 'scale.requested', function: action.function, desired: action.desired };
        return { pos: -1, receiverPos: layout.stagePos.get('autoscaler') ?? -1, code: this.eventCode(`scale ${action.function} ${action.desired}`), event, link: '', fairness: null };
      }
    }
  }

  private eventCode(text: string): number {
    let code = this.eventCodes.get(text);
    if (code === undefined) {
      code = eventKeyOf(this.eventCodes.size);
      if (code >= idSpan) throw new InvariantViolation('more distinct events than the packed model\'s memo keys allow');
      this.eventCodes.set(text, code);
    }
    return code;
  }
}
