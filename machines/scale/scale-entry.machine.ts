/**
 * A desired count held by a stage for its downstream (Autoscaler, Deployment):
 * a write-back entry that is dirty until the downstream echoes the same value.
 * Every new session re-sends it (round 2 carries the current desired scale).
 */
import { setup } from 'xstate';
import { typedLifecycle } from '../core/lifecycle.js';
import { namedActions } from '../core/no-op-actions.js';

export const scaleEntryEvents = ['decide.set', 'forward', 'downstream.applied', 'session.opened'] as const;
export type ScaleEntryEvent = (typeof scaleEntryEvents)[number];
export const scaleEntryActions = ['sendScale'] as const;
export type ScaleEntryAction = (typeof scaleEntryActions)[number];

/** Its leaf states, as kept in a stage's state (checked against the definition by `typedLifecycle`). */
export const scaleEntryStates = ['unsent', 'sent', 'applied'] as const;
export type ScaleEntryState = (typeof scaleEntryStates)[number];

export function createScaleEntryMachine() {
  const machine = setup({
    types: { events: {} as { type: ScaleEntryEvent } },
    actions: namedActions(scaleEntryActions),
  }).createMachine({
    id: 'scale-entry',
    initial: 'unsent',
    states: {
      unsent: {
        description: 'A value the downstream has not been sent in the current session.',
        on: { forward: { target: 'sent', actions: 'sendScale' } },
      },
      sent: {
        description: 'Sent, not yet confirmed (dirty).',
        on: { 'downstream.applied': 'applied' },
      },
      applied: { description: 'The downstream holds this value (clean).' },
    },
    on: { 'decide.set': '.unsent', 'session.opened': '.unsent' },
  });
  return typedLifecycle(machine, { states: scaleEntryStates, events: scaleEntryEvents, actions: scaleEntryActions });
}
