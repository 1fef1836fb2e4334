/** Collects the effects of one step, in order. */
import type { Effect, TracePoint } from '../core/effects.js';
import type { LinkId } from '../core/ids.js';
import type { LinkMessage } from '../core/messages.js';

export class EffectList {
  readonly effects: Effect[] = [];
  readonly trace: TracePoint[] = [];

  record(machine: TracePoint['machine'], pod: string, event: string, from: string, to: string): void {
    this.trace.push({ machine, pod, event, from, to });
  }

  send(link: LinkId, message: LinkMessage): void {
    this.effects.push({ type: 'message.send', link, message });
  }

  push(effect: Effect): void {
    this.effects.push(effect);
  }
}
