/**
 * What a stage asks its driver to do (machines/README.md, "Effects"). Effects of one
 * step are executed in order: a `store.persist` before any later `message.send`.
 */
import type { Epoch } from './epoch.js';
import type { LinkId, Role } from './ids.js';
import type { LinkMessage } from './messages.js';
import type { PodRecord } from './records.js';

export type Effect =
  /** Send `message` on the current session of `link`. */
  | { readonly type: 'message.send'; readonly link: LinkId; readonly message: LinkMessage }
  /** Kubelet: start a sandbox for the pod; report `sandbox.started` or `sandbox.failed`. */
  | { readonly type: 'sandbox.start'; readonly pod: PodRecord }
  /**
   * Kubelet: kill the pod's sandbox; report `sandbox.killed`. `origin`: the role that
   * decided the termination (REQ-TOMB-008); the sandbox runtime keeps it with the sandbox
   * being killed and gives it back in the inventory of a restarted Kubelet.
   */
  | { readonly type: 'sandbox.kill'; readonly pod: PodRecord; readonly origin: Role }
  /** Autoscaler: make the desired count durable before anything later in this step is sent. */
  | { readonly type: 'store.persist'; readonly function: string; readonly desired: number };

/**
 * What became of the event: a received message was `applied` or `fenced` as stale; a
 * request (`scale.requested`) or a received message was `rejected` as invalid input
 * without any state change (the step's `rejection` says why; for a message the driver
 * ends that session with the wire error MALFORMED); otherwise `none`.
 */
export type Disposition = 'applied' | 'fenced' | 'rejected' | 'none';

/**
 * Why an input was refused: a request (REQ-SCALE-001), which the driver answers with
 * it, or a received message that violates the protocol (REQ-CACHE-010).
 */
export interface InputRejection {
  readonly reason: 'unknown-function' | 'malformed';
  readonly message: string;
}

/**
 * One pod-lifecycle transition taken in a step, named after the machine event. Drivers
 * log these as the stage's event trace; checkers use them to see what happened.
 */
export interface TracePoint {
  readonly machine: 'replicaset-pod' | 'scheduler-pod' | 'kubelet-pod';
  readonly pod: string;
  readonly event: string;
  readonly from: string;
  readonly to: string;
}

/**
 * What a step says about the sessions of this stage's links (machines/README.md, "Link
 * intents"): carried out before the step's effects.
 */
export type LinkIntent =
  /** The stage opened the session `epoch` on `link` (client side; its hello is among the effects): the transport now carries that session. */
  | { readonly kind: 'open'; readonly link: LinkId; readonly epoch: Epoch }
  /** The session `epoch` on `link` is over at this end: close its transport if it still carries it. A client side then waits for a new transport (`link.connected`). */
  | { readonly kind: 'close'; readonly link: LinkId; readonly epoch: Epoch };

export interface StepResult<S> {
  readonly state: S;
  readonly effects: readonly Effect[];
  /** Sessions opened or ended at this end in this step, in order. */
  readonly links: readonly LinkIntent[];
  /** The pod-lifecycle transitions of this step, in order. */
  readonly trace: readonly TracePoint[];
  /** For `message.received`: whether the message was applied or fenced as stale; for a refused request `rejected`; otherwise `none`. */
  readonly disposition: Disposition;
  /** Present exactly when `disposition` is `rejected`. */
  readonly rejection?: InputRejection;
  /**
   * The ties the step met where the spec leaves the choice open to the model (DEC-52):
   * the number of alternatives of each, in order (machines/core/choices.ts). Absent when
   * none; a driver that passes no choices always gets the spec's rule.
   */
  readonly choiceRadices?: readonly number[];
}
