/**
 * The link plumbing every stage shares, written once: routing `link.connected`,
 * `link.lost` and `message.received` to the stage's ends of its links, the session
 * messages at either end (hello, sync, snapshot, rejected: session-sides.ts steps the
 * session machines, whose actions drive it), and answering a hello now, later
 * (deferred while the stage is cold) or never (stale). A stage gives only what differs:
 * where its sides live, what its snapshot holds, how it reconciles one, and what its
 * records and notifications do.
 */
import type { ProtocolVariant } from '../../spec/variants.js';
import type { Disposition } from '../core/effects.js';
import type { StageEvent } from '../core/events.js';
import type { LinkId } from '../core/ids.js';
import type { DownMessage, UpMessage } from '../core/messages.js';
import type { EffectList } from './effects-builder.js';
import type { MachineSet } from './machine-set.js';
import {
  answerDeferredHello,
  clientAdmits,
  completeHandshake,
  connectClient,
  loseClientSession,
  loseServerSession,
  receiveAtServer,
  rejectClientSession,
  type ClientSide,
  type ServerSide,
} from './session-sides.js';

export type SnapshotMessage = Extract<UpMessage, { type: 'session.snapshot' }>;
/** What a stage's snapshot holds (its epoch is the session's). */
export type SnapshotContent = Omit<SnapshotMessage, 'type' | 'epoch'>;
/** A message up other than the session's own (snapshot, rejected): what the downstream notifies. */
export type Notification = Exclude<UpMessage, { type: 'session.snapshot' | 'session.rejected' }>;
/** A message down other than the session's own (hello, sync): a record for the stage. */
export type DownRecord = Exclude<DownMessage, { type: 'session.hello' | 'session.sync' }>;

/** The stage as the downstream (server) of its upstream link. */
export interface ServerEnd {
  serverSide(): ServerSide;
  setServerSide(side: ServerSide): void;
  /** Every downstream link of the stage has synced once in this incarnation: a hello is answered at once. */
  warm(): boolean;
  /** Round 1: what the snapshot of the current session holds. */
  snapshotContent(): SnapshotContent;
  /** A record admitted in the current synced session. `fenced` when the stage takes no such record. */
  applyRecord(message: DownRecord): Disposition;
}

/** The stage as the upstream (client) of its downstream links. */
export interface ClientEnds {
  /** This stage's client side of `link`, or null when it is not the upstream of `link`. */
  clientSide(link: LinkId): ClientSide | null;
  setClientSide(link: LinkId, side: ClientSide): void;
  /**
   * A snapshot admitted on `link`, before its handshake completes: `rejected` (the stage
   * noted why) when the stage refuses it as malformed, else null.
   */
  refuseSnapshot(link: LinkId, snapshot: SnapshotMessage): 'rejected' | null;
  /** Round 2: the stage reconciles its view with the snapshot just admitted on `link`. */
  reconcile(link: LinkId, snapshot: SnapshotMessage): void;
  /** A notification admitted in the current synced session of `link`. `fenced` when the stage takes no such message. */
  applyNotification(link: LinkId, message: Notification): Disposition;
}

/** What the routing needs of the step it runs in. */
export interface RoutingStep {
  readonly machines: MachineSet;
  readonly variant: ProtocolVariant;
  readonly incarnation: number;
  readonly out: EffectList;
}

/**
 * Routes a link event to the stage's ends (`server` null at the Autoscaler, `clients`
 * null at the Kubelet). Returns the event's disposition, or null for an event that is
 * not about a link (the stage handles it).
 */
export function routeLinkEvent(step: RoutingStep, server: ServerEnd | null, clients: ClientEnds | null, event: StageEvent): Disposition | null {
  switch (event.type) {
    case 'link.connected': {
      const side = clients?.clientSide(event.link) ?? null;
      if (clients !== null && side !== null) clients.setClientSide(event.link, connectClient(step.machines, side, step.incarnation, step.out));
      return 'none';
    }
    case 'link.lost': {
      const side = clients?.clientSide(event.link) ?? null;
      if (clients !== null && side !== null) clients.setClientSide(event.link, loseClientSession(step.machines, side, step.out));
      if (server !== null && event.link === server.serverSide().link) server.setServerSide(loseServerSession(step.machines, server.serverSide()));
      return 'none';
    }
    case 'message.received': {
      if (server !== null && event.link === server.serverSide().link) return receiveAtServerEnd(step, server, event.message as DownMessage);
      const side = clients?.clientSide(event.link) ?? null;
      if (clients !== null && side !== null) return receiveAtClientEnd(step, clients, event.link, side, event.message as UpMessage);
      return 'fenced';
    }
    default:
      return null;
  }
}

/** Hello and sync are the session's (answered now with the snapshot when the stage is warm); any other message is a record. */
function receiveAtServerEnd(step: RoutingStep, server: ServerEnd, message: DownMessage): Disposition {
  const receipt = receiveAtServer(step.machines, server.serverSide(), message, server.warm(), step.variant, step.out);
  if (receipt.kind === 'session') {
    server.setServerSide(receipt.side);
    if (receipt.answerNow) sendSnapshot(step, server, receipt.side);
    return receipt.disposition;
  }
  if (!receipt.admitted) return 'fenced';
  return server.applyRecord(message as DownRecord);
}

/** Snapshot and rejection are the session's; any other message is a notification, admitted only in the current synced session. */
function receiveAtClientEnd(step: RoutingStep, clients: ClientEnds, link: LinkId, side: ClientSide, message: UpMessage): Disposition {
  if (!clientAdmits(side, message, step.variant)) return 'fenced';
  switch (message.type) {
    case 'session.snapshot': {
      const refused = clients.refuseSnapshot(link, message);
      if (refused !== null) return refused;
      clients.setClientSide(link, completeHandshake(step.machines, side, step.out, () => clients.reconcile(link, message)));
      return 'applied';
    }
    case 'session.rejected':
      clients.setClientSide(link, rejectClientSession(step.machines, side, step.out));
      return 'applied';
    default:
      return clients.applyNotification(link, message);
  }
}

function sendSnapshot(step: RoutingStep, server: ServerEnd, side: ServerSide): void {
  step.out.send(side.link, { type: 'session.snapshot', epoch: side.epoch, ...server.snapshotContent() });
}

/** After every event: a hello deferred while the stage was cold is answered once it is warm. */
export function answerDeferredHelloWhenWarm(step: RoutingStep, server: ServerEnd): void {
  const answered = answerDeferredHello(step.machines, server.serverSide());
  if (answered === null || !server.warm()) return;
  server.setServerSide(answered);
  sendSnapshot(step, server, answered);
}
