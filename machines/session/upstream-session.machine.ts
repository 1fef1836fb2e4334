/**
 * The upstream (client) side of one link's session (spec/02-sessions-and-epochs.md).
 * Each session has a fresh epoch; round 1 is hello -> snapshot; round 2 is the
 * reconciliation and `session.sync`, after which this side is synced.
 */
import { setup } from 'xstate';
import { typedLifecycle } from '../core/lifecycle.js';
import { namedActions } from '../core/no-op-actions.js';

export const upstreamSessionEvents = ['link.connected', 'snapshot.received', 'link.lost', 'session.rejected'] as const;
export type UpstreamSessionEvent = (typeof upstreamSessionEvents)[number];
export const upstreamSessionActions = ['openSession', 'reconcileSnapshot', 'sendSync', 'closeSession'] as const;
export type UpstreamSessionAction = (typeof upstreamSessionActions)[number];

/** Its leaf states, as kept in a stage's state (checked against the definition by `typedLifecycle`). */
export const upstreamSessionStates = ['disconnected', 'awaitingSnapshot', 'synced'] as const;
export type UpstreamSessionState = (typeof upstreamSessionStates)[number];

export function createUpstreamSessionMachine() {
  const machine = setup({
    types: { events: {} as { type: UpstreamSessionEvent } },
    actions: namedActions(upstreamSessionActions),
  }).createMachine({
    id: 'upstream-session',
    initial: 'disconnected',
    states: {
      disconnected: {
        description: 'No session. Nothing is sent on this link; entries wait as unsent.',
        on: { 'link.connected': { target: 'awaitingSnapshot', actions: 'openSession' } },
      },
      awaitingSnapshot: {
        description: 'Hello sent with a fresh epoch (round 1); waiting for the downstream snapshot.',
        on: {
          'snapshot.received': { target: 'synced', actions: ['reconcileSnapshot', 'sendSync'] },
          'link.lost': { target: 'disconnected', actions: 'closeSession' },
          'session.rejected': { target: 'disconnected', actions: 'closeSession' },
        },
      },
      synced: {
        description: 'Reconciled and sync sent (round 2): records flow in FIFO order.',
        on: {
          'link.lost': { target: 'disconnected', actions: 'closeSession' },
          'session.rejected': { target: 'disconnected', actions: 'closeSession' },
        },
      },
    },
  });
  return typedLifecycle(machine, { states: upstreamSessionStates, events: upstreamSessionEvents, actions: upstreamSessionActions });
}
