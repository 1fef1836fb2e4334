/**
 * The two sides of a link's session as a stage holds them, and the fencing rule
 * (spec/02-sessions-and-epochs.md). Every stage uses these; no stage fences on its own.
 */
import type { ProtocolVariant } from '../../spec/variants.js';
import { assert } from '../core/assert.js';
import { epochOf, type Epoch } from '../core/epoch.js';
import type { LinkId } from '../core/ids.js';
import { stepLifecycle } from '../core/lifecycle.js';
import type { Disposition } from '../core/effects.js';
import type { DownMessage, UpMessage } from '../core/messages.js';
import type { EffectList } from './effects-builder.js';
import type { MachineSet } from './machine-set.js';

/** This stage is the upstream (client) of `link`. */
export interface ClientSide {
  readonly link: LinkId;
  /** State of the upstream-session machine. */
  readonly session: string;
  /** Epoch of the current (or last) session; 0 before the first. */
  readonly epoch: Epoch;
  /** Sessions opened on this link by this incarnation. */
  readonly sessionsOpened: number;
  /** Whether a session on this link has synced in this incarnation (the stage's view of it is warm). */
  readonly everSynced: boolean;
}

/** This stage is the downstream (server) of `link`. */
export interface ServerSide {
  readonly link: LinkId;
  /** State of the downstream-session machine. */
  readonly session: string;
  /** The current epoch for this upstream: every other epoch is fenced. 0 before any hello. */
  readonly epoch: Epoch;
}

export function newClientSide(link: LinkId): ClientSide {
  return { link, session: 'disconnected', epoch: 0, sessionsOpened: 0, everSynced: false };
}

export function newServerSide(link: LinkId): ServerSide {
  return { link, session: 'idle', epoch: 0 };
}

export function clientSynced(side: ClientSide): boolean {
  return side.session === 'synced';
}

export function serverSynced(side: ServerSide): boolean {
  return side.session === 'synced';
}

/**
 * Whether truth may flow up on this session: once the snapshot of the current epoch is
 * sent, every later change must follow it as a notification (FIFO after the snapshot);
 * before that, the snapshot itself will carry it.
 */
export function serverMaySendUp(side: ServerSide): boolean {
  return side.session === 'awaitingSync' || side.session === 'synced';
}

/** Opens a new session with a fresh epoch; returns the side and the hello to send. */
export function openSession(
  machines: MachineSet,
  side: ClientSide,
  incarnation: number,
): { side: ClientSide; hello: DownMessage | null } {
  const step = stepLifecycle(machines.upstreamSession, side.session, 'link.connected');
  if (!step.changed) return { side, hello: null };
  const sessionsOpened = side.sessionsOpened + 1;
  const epoch = epochOf(incarnation, sessionsOpened);
  assert(epoch > side.epoch, 'a new session must have a newer epoch');
  return { side: { ...side, session: step.state, epoch, sessionsOpened }, hello: { type: 'session.hello', epoch } };
}

export function loseClientSession(machines: MachineSet, side: ClientSide): ClientSide {
  const step = stepLifecycle(machines.upstreamSession, side.session, 'link.lost');
  return step.changed ? { ...side, session: step.state } : side;
}

export function loseServerSession(machines: MachineSet, side: ServerSide): ServerSide {
  const step = stepLifecycle(machines.downstreamSession, side.session, 'link.lost');
  return step.changed ? { ...side, session: step.state } : side;
}

/**
 * Fencing at the downstream for records (not hello, not sync): a record is applied
 * only in the current, synced session. The `no-fencing` variant ignores the epoch.
 */
export function serverAdmitsRecord(side: ServerSide, message: DownMessage, variant: ProtocolVariant): boolean {
  const epochMatches = variant === 'no-fencing' || message.epoch === side.epoch;
  return epochMatches && serverSynced(side);
}

/** Fencing at the upstream: a downstream message is applied only in the current live session. */
export function clientAdmits(side: ClientSide, message: UpMessage, variant: ProtocolVariant): boolean {
  if (message.epoch !== side.epoch && variant !== 'no-fencing') return false;
  if (message.type === 'session.snapshot') return side.session === 'awaitingSnapshot';
  if (message.type === 'session.rejected') return side.session !== 'disconnected';
  return side.session === 'synced';
}

export type HelloOutcome =
  | { readonly kind: 'rejected' }
  | { readonly kind: 'accepted'; readonly side: ServerSide; readonly answerNow: boolean };

/** A hello at the downstream: newer epochs start a new handshake; older or equal ones are stale. */
export function receiveHello(machines: MachineSet, side: ServerSide, epoch: Epoch, warm: boolean, variant: ProtocolVariant): HelloOutcome {
  if (epoch <= side.epoch && variant !== 'no-fencing') return { kind: 'rejected' };
  const step = stepLifecycle(machines.downstreamSession, side.session, warm ? 'hello.whileWarm' : 'hello.whileCold');
  assert(step.actions.includes('adoptEpoch'), 'a hello always adopts its epoch');
  return {
    kind: 'accepted',
    side: { ...side, session: step.state, epoch },
    answerNow: step.actions.includes('sendSnapshot'),
  };
}

/** `session.sync` at the downstream: completes the handshake of the current epoch. */
export function receiveSync(machines: MachineSet, side: ServerSide, epoch: Epoch, variant: ProtocolVariant): ServerSide | null {
  if (epoch !== side.epoch && variant !== 'no-fencing') return null;
  const step = stepLifecycle(machines.downstreamSession, side.session, 'sync.received');
  if (!step.changed) return null;
  return { ...side, session: step.state };
}

/** A deferred hello is answered once the stage is warm. Returns null when there is nothing to answer. */
export function answerDeferredHello(machines: MachineSet, side: ServerSide): ServerSide | null {
  const step = stepLifecycle(machines.downstreamSession, side.session, 'stage.warmed');
  if (!step.changed) return null;
  return { ...side, session: step.state };
}

/** The upstream received the snapshot of its current session: it becomes synced (round 2 follows). */
export function completeHandshake(machines: MachineSet, side: ClientSide): ClientSide {
  const step = stepLifecycle(machines.upstreamSession, side.session, 'snapshot.received');
  assert(step.changed, 'a snapshot is only admitted while awaiting it');
  return { ...side, session: step.state, everSynced: true };
}

export function rejectClientSession(machines: MachineSet, side: ClientSide): ClientSide {
  const step = stepLifecycle(machines.upstreamSession, side.session, 'session.rejected');
  return step.changed ? { ...side, session: step.state } : side;
}

/** What a message at the downstream side is: a session message handled here, or a record for the stage. */
export type ServerReceipt =
  | { readonly kind: 'session'; readonly side: ServerSide; readonly disposition: Disposition; readonly answerNow: boolean }
  | { readonly kind: 'record'; readonly admitted: boolean };

/**
 * Every stage's downstream side receives hello and sync the same way: a stale hello is
 * answered with `session.rejected`; a newer one starts a handshake (answered now if the
 * stage is warm); sync completes it. Any other message is a record, admitted only in the
 * current synced session.
 */
export function receiveAtServer(
  machines: MachineSet,
  side: ServerSide,
  message: DownMessage,
  warm: boolean,
  variant: ProtocolVariant,
  out: EffectList,
): ServerReceipt {
  if (message.type === 'session.hello') {
    const outcome = receiveHello(machines, side, message.epoch, warm, variant);
    if (outcome.kind === 'rejected') {
      out.send(side.link, { type: 'session.rejected', epoch: message.epoch, reason: 'stale-epoch' });
      return { kind: 'session', side, disposition: 'fenced', answerNow: false };
    }
    return { kind: 'session', side: outcome.side, disposition: 'applied', answerNow: outcome.answerNow };
  }
  if (message.type === 'session.sync') {
    const synced = receiveSync(machines, side, message.epoch, variant);
    return synced === null ? { kind: 'session', side, disposition: 'fenced', answerNow: false } : { kind: 'session', side: synced, disposition: 'applied', answerNow: false };
  }
  return { kind: 'record', admitted: serverAdmitsRecord(side, message, variant) };
}

/** The upstream side opens a session when its transport is up: a fresh epoch and a hello. */
export function connectClient(machines: MachineSet, side: ClientSide, incarnation: number, out: EffectList): ClientSide {
  const opened = openSession(machines, side, incarnation);
  if (opened.hello !== null) out.send(side.link, opened.hello);
  return opened.side;
}
