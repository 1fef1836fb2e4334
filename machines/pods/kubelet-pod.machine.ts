/**
 * The Kubelet's lifecycle of one pod's sandbox (spec/04-lifecycles.md, "Kubelet
 * sandbox"). The Kubelet is the ground truth and the tail of every termination:
 * it reports `tombstone.done` only once the sandbox is dead.
 */
import { setup } from 'xstate';
import { typedLifecycle } from '../core/lifecycle.js';
import { namedActions } from '../core/no-op-actions.js';
import type { PodTag } from './pod-tags.js';

export const kubeletPodEvents = [
  'upstream.provision',
  'decide.reject',
  'upstream.tombstone',
  'sandbox.started',
  'sandbox.failed',
  'sandbox.killed',
  'inventory.starting',
  'inventory.running',
  'inventory.killing',
] as const;
export type KubeletPodEvent = (typeof kubeletPodEvents)[number];

export const kubeletPodActions = ['startSandbox', 'killSandbox', 'notifyRunning', 'notifyFailed', 'notifyRejected', 'notifyTombstoneDone'] as const;
export type KubeletPodAction = (typeof kubeletPodActions)[number];

/** Its leaf states, as kept in a stage's state (checked against the definition by `typedLifecycle`). */
export const kubeletPodStates = ['unknown', 'starting', 'running', 'killing', 'gone'] as const;
export type KubeletPodState = (typeof kubeletPodStates)[number];

export function createKubeletPodMachine() {
  const machine = setup({
    types: { events: {} as { type: KubeletPodEvent }, tags: {} as PodTag },
    actions: namedActions(kubeletPodActions),
  }).createMachine({
    id: 'kubelet-pod',
    initial: 'unknown',
    states: {
      unknown: {
        description: 'No sandbox. A tombstone for an unknown pod is acknowledged at once (idempotent).',
        on: {
          'upstream.provision': { target: 'starting', actions: 'startSandbox' },
          'decide.reject': { target: 'gone', actions: 'notifyRejected' },
          'upstream.tombstone': { target: 'gone', actions: 'notifyTombstoneDone' },
          'inventory.starting': 'starting',
          'inventory.running': 'running',
          'inventory.killing': 'killing',
        },
      },
      starting: {
        description: 'The sandbox runtime is starting the sandbox.',
        tags: ['alive', 'holdsCapacity'],
        on: {
          'sandbox.started': { target: 'running', actions: 'notifyRunning' },
          'sandbox.failed': { target: 'gone', actions: 'notifyFailed' },
          'upstream.tombstone': { target: 'killing', actions: 'killSandbox' },
        },
      },
      running: {
        tags: ['alive', 'holdsCapacity', 'clean'],
        on: {
          'sandbox.failed': { target: 'gone', actions: 'notifyFailed' },
          'upstream.tombstone': { target: 'killing', actions: 'killSandbox' },
        },
      },
      killing: {
        description: 'A tombstone held while the sandbox is being killed; still counts against capacity.',
        tags: ['tombstone', 'holdsCapacity'],
        on: {
          'sandbox.killed': { target: 'gone', actions: 'notifyTombstoneDone' },
          'sandbox.failed': { target: 'gone', actions: 'notifyTombstoneDone' },
        },
      },
      gone: { type: 'final', description: 'The sandbox is dead; the name never runs again.' },
    },
  });
  return typedLifecycle(machine, { states: kubeletPodStates, events: kubeletPodEvents, actions: kubeletPodActions });
}
