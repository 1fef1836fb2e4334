/** Collects the effects of one step, in order. */
import type { Effect, LinkIntent, TracePoint } from '../core/effects.js';
import type { Epoch } from '../core/epoch.js';

/** Most steps open and close no session: they share this empty list. */
export const noLinkIntents: readonly LinkIntent[] = Object.freeze([]);
import type { LinkId } from '../core/ids.js';
import type { LinkMessage } from '../core/messages.js';

export class EffectList {
  readonly effects: Effect[] = [];
  readonly trace: TracePoint[] = [];
  links: readonly LinkIntent[] = noLinkIntents;

  /** A session of `link` opens (`open`) or ends (`close`) at this end. */
  link(kind: LinkIntent['kind'], link: LinkId, epoch: Epoch): void {
    this.links = [...this.links, { kind, link, epoch }];
  }

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
