/**
 * The two sides of a link's session as a stage holds them, and the fencing rule
 * (spec/02-sessions-and-epochs.md). Every stage uses these; no stage fences on its own.
 */
import type { ProtocolVariant } from '../../spec/variants.js';
import { assert, InvariantViolation, unreachable } from '../core/assert.js';
import { epochOf, type Epoch } from '../core/epoch.js';
import type { LinkId } from '../core/ids.js';
import { stepLifecycle } from '../core/lifecycle.js';
import type { Disposition } from '../core/effects.js';
import type { DownMessage, UpMessage } from '../core/messages.js';
import type { EffectList } from './effects-builder.js';
import type { MachineSet } from './machine-set.js';
import type { DownstreamSessionEvent, DownstreamSessionState } from '../session/downstream-session.machine.js';
import type { UpstreamSessionEvent, UpstreamSessionState } from '../session/upstream-session.machine.js';

/** This stage is the upstream (client) of `link`. */
export interface ClientSide {
  readonly link: LinkId;
  /** State of the upstream-session machine. */
  readonly session: UpstreamSessionState;
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
  readonly session: DownstreamSessionState;
  /** The current epoch for this upstream: every other epoch is fenced. 0 before any hello. */
  readonly epoch: Epoch;
  /**
   * The highest epoch whose handshake completed here (`session.sync`); 0 before any. When
   * a session ends before its sync, `epoch` falls back to it (DEC-40): a hello alone
   * fences nothing once its session is gone.
   */
  readonly syncedEpoch: Epoch;
}

export function newClientSide(link: LinkId): ClientSide {
  return { link, session: 'disconnected', epoch: 0, sessionsOpened: 0, everSynced: false };
}

export function newServerSide(link: LinkId): ServerSide {
  return { link, session: 'idle', epoch: 0, syncedEpoch: 0 };
}

/**
 * Whether the client side wants a transport: it is in no session, and the driver should
 * deliver `link.connected` once a transport to the downstream is up (the level form of
 * the `close` link intent).
 */
export function clientWantsSession(side: ClientSide): boolean {
  return side.session === 'disconnected';
}

/** The epoch of the session this client side is in, or 0 when it is in none. */
export function clientSessionEpoch(side: ClientSide): Epoch {
  return clientWantsSession(side) ? 0 : side.epoch;
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

/** What a stage supplies to carry out the upstream-session machine's actions for one step. */
interface ClientSideWork {
  readonly incarnation: number;
  readonly out: EffectList;
  /** Round 2 of the handshake: the stage reconciles its cache with the snapshot just admitted. */
  readonly reconcile: () => void;
}

/**
 * Steps the client side's session machine and carries out its actions: `openSession`
 * takes a fresh epoch and sends the hello, `reconcileSnapshot` runs the stage's
 * reconciliation, `sendSync` completes round 2.
 */
function stepClientSide(machines: MachineSet, side: ClientSide, event: UpstreamSessionEvent, work: ClientSideWork): ClientSide {
  const step = stepLifecycle(machines.upstreamSession, side.session, event);
  if (!step.changed) return side;
  let next: ClientSide = { ...side, session: step.state, everSynced: side.everSynced || step.state === 'synced' };
  for (const action of step.actions) {
    switch (action) {
      case 'openSession': {
        const sessionsOpened = side.sessionsOpened + 1;
        const epoch = epochOf(work.incarnation, sessionsOpened);
        assert(epoch > side.epoch, 'a new session must have a newer epoch');
        next = { ...next, epoch, sessionsOpened };
        work.out.link('open', side.link, epoch);
        work.out.send(side.link, { type: 'session.hello', epoch });
        break;
      }
      case 'closeSession':
        work.out.link('close', side.link, side.epoch);
        break;
      case 'reconcileSnapshot':
        work.reconcile();
        break;
      case 'sendSync':
        work.out.send(next.link, { type: 'session.sync', epoch: next.epoch });
        break;
      default:
        unreachable(action, 'upstream session action');
    }
  }
  return next;
}

function noReconcile(): void {
  throw new InvariantViolation('only an admitted snapshot is reconciled');
}

export function loseClientSession(machines: MachineSet, side: ClientSide, out: EffectList): ClientSide {
  return stepClientSide(machines, side, 'link.lost', { incarnation: 0, out, reconcile: noReconcile });
}

/**
 * Steps the server side's session machine and carries out its actions: `adoptEpoch`
 * makes the hello's epoch current, `sendSnapshot` says the stage must answer now.
 */
function stepServerSide(machines: MachineSet, side: ServerSide, event: DownstreamSessionEvent, helloEpoch: Epoch | null): { side: ServerSide; answerNow: boolean } {
  const step = stepLifecycle(machines.downstreamSession, side.session, event);
  let next: ServerSide = step.changed ? { ...side, session: step.state } : side;
  let answerNow = false;
  for (const action of step.actions) {
    switch (action) {
      case 'adoptEpoch':
        assert(helloEpoch !== null, 'only a hello adopts an epoch');
        next = { ...next, epoch: helloEpoch };
        break;
      case 'sendSnapshot':
        answerNow = true;
        break;
      case 'recordSyncedEpoch':
        next = { ...next, syncedEpoch: next.epoch };
        break;
      case 'restoreSyncedEpoch':
        next = { ...next, epoch: next.syncedEpoch };
        break;
      default:
        unreachable(action, 'downstream session action');
    }
  }
  return { side: next, answerNow };
}

export function loseServerSession(machines: MachineSet, side: ServerSide): ServerSide {
  return stepServerSide(machines, side, 'link.lost', null).side;
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
  if (message.type === 'session.rejected') return !clientWantsSession(side);
  return side.session === 'synced';
}

export type HelloOutcome =
  | { readonly kind: 'rejected' }
  | { readonly kind: 'accepted'; readonly side: ServerSide; readonly answerNow: boolean };

/** A hello at the downstream: newer epochs start a new handshake; older or equal ones are stale. */
export function receiveHello(machines: MachineSet, side: ServerSide, epoch: Epoch, warm: boolean, variant: ProtocolVariant): HelloOutcome {
  if (epoch <= side.epoch && variant !== 'no-fencing') return { kind: 'rejected' };
  const stepped = stepServerSide(machines, side, warm ? 'hello.whileWarm' : 'hello.whileCold', epoch);
  assert(stepped.side.epoch === epoch, 'a hello always adopts its epoch');
  return { kind: 'accepted', side: stepped.side, answerNow: stepped.answerNow };
}

/** `session.sync` at the downstream: completes the handshake of the current epoch. */
export function receiveSync(machines: MachineSet, side: ServerSide, epoch: Epoch, variant: ProtocolVariant): ServerSide | null {
  if (epoch !== side.epoch && variant !== 'no-fencing') return null;
  const stepped = stepServerSide(machines, side, 'sync.received', null);
  return stepped.side === side ? null : stepped.side;
}

/** A deferred hello is answered once the stage is warm. Returns null when there is nothing to answer. */
export function answerDeferredHello(machines: MachineSet, side: ServerSide): ServerSide | null {
  const stepped = stepServerSide(machines, side, 'stage.warmed', null);
  assert(stepped.answerNow === (stepped.side !== side), 'a deferred hello is answered when, and only when, the stage warms');
  return stepped.answerNow ? stepped.side : null;
}

/**
 * The upstream received the snapshot of its current session: `reconcile` runs (round 2),
 * then `session.sync` is sent, and the side is synced.
 */
export function completeHandshake(machines: MachineSet, side: ClientSide, out: EffectList, reconcile: () => void): ClientSide {
  assert(side.session === 'awaitingSnapshot', 'a snapshot is only admitted while awaiting it');
  return stepClientSide(machines, side, 'snapshot.received', { incarnation: 0, out, reconcile });
}

export function rejectClientSession(machines: MachineSet, side: ClientSide, out: EffectList): ClientSide {
  return stepClientSide(machines, side, 'session.rejected', { incarnation: 0, out, reconcile: noReconcile });
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
    // A newer hello ends the session in progress at this end: its transport is closed.
    if (side.session !== 'idle') out.link('close', side.link, side.epoch);
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
  return stepClientSide(machines, side, 'link.connected', { incarnation, out, reconcile: noReconcile });
}
