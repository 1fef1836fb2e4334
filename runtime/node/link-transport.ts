/**
 * The seam between the stage driver (stage-driver.ts: steps the machines, carries out
 * effects) and the transports that carry a link's messages. The driver never knows how
 * a message travels; a transport never decides anything about the protocol: it delivers
 * `link.connected`, `message.received` and `link.lost` events and sends what the
 * machines emit, in order (machines/README.md).
 *
 * The reference transport is gRPC `Link.Session` streams (grpc-upstream-link.ts,
 * grpc-downstream-link.ts). Other transports (for example a store-mediated one for
 * benchmarks) implement the same two interfaces.
 */
import type { Disposition, DownMessage, LinkId, StageEvent, UpMessage } from '../../machines/index.js';
import type { WireErrorDetail } from '../wire/proto.js';

export type Logger = (record: Record<string, unknown>) => void;

/**
 * The session a received message arrived on, as the transport knows it; opaque to the
 * driver, which only hands it back when a reply to that message is sent
 * (`UpstreamLinkTransport.send`).
 */
export type SessionOrigin = object;

/** What a transport may ask of the stage it serves. */
export interface StagePort {
  /** Steps the machines with one event and carries out its effects (in order, synchronously where possible). */
  deliver(event: StageEvent, origin: SessionOrigin | null): Disposition;
  /** The last rejection sent or received on a link, shown by Inspect. */
  recordRejection(link: LinkId, detail: WireErrorDetail): void;
  readonly log: Logger;
  /** True once the stage is stopping: transports deliver nothing more. */
  readonly stopped: boolean;
}

/** The link on which this stage is the downstream: it receives upstream messages and answers. */
export interface UpstreamLinkTransport {
  readonly link: LinkId;
  /** Sends `message` on the session it belongs to (by epoch; `origin` first); dropped when that session is over. */
  send(message: UpMessage, origin: SessionOrigin | null): void;
  /** The stage ended the session `epoch` (a newer hello superseded it): close its stream if it is still open. */
  sessionClosed?(epoch: number): void;
  stop(): Promise<void>;
}

/** A link on which this stage is the upstream: it opens sessions and sends downstream messages. */
export interface DownstreamLinkTransport {
  readonly link: LinkId;
  /** Starts connecting (and reconnecting with backoff) to the downstream. */
  start(): void;
  /** Sends `message` on the current session if its epoch is that session's; dropped otherwise. */
  send(message: DownMessage): void;
  /** The stage opened the session `epoch` on the transport just connected (`link.connected`): it carries that session. */
  sessionOpened?(epoch: number): void;
  /** The stage left the session `epoch` (rejected, or lost): close its transport if it still carries it, then reconnect. */
  sessionClosed?(epoch: number): void;
  stop(): Promise<void>;
}
