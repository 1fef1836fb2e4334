/**
 * What a driver delivers to a stage (machines/README.md, "Events"). Every event is
 * plain data; the same event on the same state always gives the same result.
 */
import type { LinkId } from './ids.js';
import type { LinkMessage } from './messages.js';

export type StageEvent =
  /** The driver has a transport to the downstream of `link`; the stage (the upstream) opens a session. */
  | { readonly type: 'link.connected'; readonly link: LinkId }
  /** The transport of `link` ended (cut, peer crash, rejection): the session, if any, is over. */
  | { readonly type: 'link.lost'; readonly link: LinkId }
  /** A message arrived on `link`. */
  | { readonly type: 'message.received'; readonly link: LinkId; readonly message: LinkMessage }
  /** Autoscaler only: a new desired count for a function (from the FaaS gateway or an operator). */
  | { readonly type: 'scale.requested'; readonly function: string; readonly desired: number }
  /**
   * Autoscaler only: several desired counts in one request (`Scaler.SetScales`), taken
   * all or none (REQ-SCALE-007, REQ-SCALE-008): the Autoscaler judges every entry and
   * either refuses the whole request or takes the entries in order as one step.
   */
  | { readonly type: 'scales.requested'; readonly scales: readonly ScaleRequest[] }
  /** Kubelet only: the sandbox runtime reports on a sandbox the Kubelet asked it to start or kill. */
  | { readonly type: 'sandbox.started'; readonly pod: string }
  | { readonly type: 'sandbox.failed'; readonly pod: string }
  | { readonly type: 'sandbox.killed'; readonly pod: string };

/** One entry of `scales.requested`: a desired count for a function. */
export interface ScaleRequest {
  readonly function: string;
  readonly desired: number;
}

export type StageEventType = StageEvent['type'];
