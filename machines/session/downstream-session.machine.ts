/**
 * The downstream (server) side of one link's session (spec/02-sessions-and-epochs.md).
 * A newer hello always starts a new handshake and fences the older session. A cold
 * stage (a downstream link not yet synced in this incarnation) defers its answer.
 */
import { setup } from 'xstate';
import { typedLifecycle } from '../core/lifecycle.js';
import { namedActions } from '../core/no-op-actions.js';
import type { ProtocolVariant } from '../../spec/variants.js';

export const downstreamSessionEvents = ['hello.whileWarm', 'hello.whileCold', 'stage.warmed', 'sync.received', 'link.lost'] as const;
export type DownstreamSessionEvent = (typeof downstreamSessionEvents)[number];
export const downstreamSessionActions = ['adoptEpoch', 'sendSnapshot', 'recordSyncedEpoch', 'restoreSyncedEpoch'] as const;
export type DownstreamSessionAction = (typeof downstreamSessionActions)[number];

/** Its leaf states, as kept in a stage's state (checked against the definition by `typedLifecycle`). */
export const downstreamSessionStates = ['idle', 'helloDeferred', 'awaitingSync', 'synced'] as const;
export type DownstreamSessionState = (typeof downstreamSessionStates)[number];

export function createDownstreamSessionMachine(variant: ProtocolVariant = 'correct') {
  const helloWhileCold =
    variant === 'cold-handshake'
      ? { target: '.awaitingSync', actions: ['adoptEpoch', 'sendSnapshot'] } as const
      : { target: '.helloDeferred', actions: 'adoptEpoch' } as const;
  const machine = setup({
    types: { events: {} as { type: DownstreamSessionEvent } },
    actions: namedActions(downstreamSessionActions),
  }).createMachine({
    id: 'downstream-session',
    initial: 'idle',
    states: {
      idle: { description: 'No session; the last epoch stays current for fencing.' },
      helloDeferred: {
        description: 'A hello arrived while this stage is cold; it is answered once every downstream link has synced.',
        on: {
          'stage.warmed': { target: 'awaitingSync', actions: 'sendSnapshot' } as const,
          // A hello alone fences nothing once its session is gone (DEC-40): anyone can send one.
          'link.lost': { target: 'idle', actions: 'restoreSyncedEpoch' },
        },
      },
      awaitingSync: {
        description: 'Snapshot sent (round 1); waiting for the upstream sync (round 2).',
        on: {
          'sync.received': { target: 'synced', actions: 'recordSyncedEpoch' },
          'link.lost': { target: 'idle', actions: 'restoreSyncedEpoch' },
        },
      },
      synced: {
        description: 'Both sides agree for this epoch: upward notifications are sent.',
        on: { 'link.lost': 'idle' },
      },
    },
    on: {
      'hello.whileWarm': { target: '.awaitingSync', actions: ['adoptEpoch', 'sendSnapshot'] },
      'hello.whileCold': helloWhileCold,
    },
  });
  return typedLifecycle(machine, { states: downstreamSessionStates, events: downstreamSessionEvents, actions: downstreamSessionActions });
}
