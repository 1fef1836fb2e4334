/**
 * The Scheduler's lifecycle of one pod (spec/04-lifecycles.md, "Scheduler pod"):
 * waiting for capacity, bound to a node, forwarded to that node's Kubelet, running,
 * and terminated by a tombstone from the ReplicaSet or by the Scheduler's own
 * preemption. Capacity is held until the termination completes below.
 */
import { setup } from 'xstate';
import { typedLifecycle } from '../core/lifecycle.js';
import { namedActions } from '../core/no-op-actions.js';
import type { PodTag } from './pod-tags.js';
import type { ProtocolVariant } from '../../spec/variants.js';

export const schedulerPodEvents = [
  'upstream.provision',
  'upstream.tombstone',
  'decide.place',
  'decide.preempt',
  'forward',
  'downstream.running',
  'downstream.failed',
  'downstream.tombstoneDone',
  'snapshot.pending',
  'snapshot.running',
  'snapshot.tombstone',
  'snapshot.absent',
  'snapshot.foreign',
] as const;
export type SchedulerPodEvent = (typeof schedulerPodEvents)[number];

export const schedulerPodActions = [
  'sendProvision',
  'sendTombstone',
  'notifyRunning',
  'notifyFailed',
  'notifyPreempted',
  'notifyTombstoneDone',
] as const;
export type SchedulerPodAction = (typeof schedulerPodActions)[number];

/** Its leaf states, as kept in a stage's state (checked against the definition by `typedLifecycle`). */
export const schedulerPodStates = ['unknown', 'unscheduled', 'pending', 'bound', 'running', 'terminating.unsent', 'terminating.sent', 'gone'] as const;
export type SchedulerPodState = (typeof schedulerPodStates)[number];

export function createSchedulerPodMachine(variant: ProtocolVariant = 'correct') {
  const tombstoneBound =
    variant === 'no-tombstones' ? { target: '#scheduler-pod.gone', actions: 'sendTombstone' } as const : { target: '#scheduler-pod.terminating.unsent' } as const;
  // `drop-tombstone-before-running`: the tombstone of a pod not yet confirmed running is never sent, yet held as sent.
  const tombstoneUnconfirmed =
    variant === 'drop-tombstone-before-running' ? { target: '#scheduler-pod.terminating.sent' } as const : tombstoneBound;
  const preemptUnconfirmed =
    variant === 'drop-tombstone-before-running'
      ? { target: '#scheduler-pod.terminating.sent', actions: 'notifyPreempted' } as const
      : { target: '#scheduler-pod.terminating.unsent', actions: 'notifyPreempted' } as const;
  const aliveWhileTerminating = (phase: 'bound' | 'running') =>
    variant === 'adopt-despite-tombstone' ? { target: `#scheduler-pod.${phase}` } as const : { target: '#scheduler-pod.terminating.unsent' } as const;
  const machine = setup({
    types: { events: {} as { type: SchedulerPodEvent }, tags: {} as PodTag },
    actions: namedActions(schedulerPodActions),
  }).createMachine({
    id: 'scheduler-pod',
    initial: 'unknown',
    states: {
      unknown: {
        description: 'Not in the cache. A tombstone for an unknown pod is acknowledged at once (idempotent).',
        on: {
          'upstream.provision': 'unscheduled',
          'upstream.tombstone': { target: 'gone', actions: 'notifyTombstoneDone' },
          'snapshot.pending': 'bound',
          'snapshot.running': 'running',
          'snapshot.tombstone': 'terminating.sent',
          // Alive below, unknown here, on a link that already synced in this incarnation: nobody above knows it (REQ-CACHE-013).
          'snapshot.foreign': 'terminating.unsent',
        },
      },
      unscheduled: {
        description: 'Waiting for a node with free capacity. Never an error: no churn.',
        tags: ['alive', 'waiting'],
        on: {
          'decide.place': 'pending',
          'upstream.tombstone': { target: 'gone', actions: 'notifyTombstoneDone' },
        },
      },
      pending: {
        description: 'Bound to a node, not yet forwarded to its Kubelet.',
        tags: ['alive', 'waiting', 'placed', 'holdsCapacity', 'unsent'],
        on: {
          forward: { target: 'bound', actions: 'sendProvision' },
          'upstream.tombstone': { target: 'gone', actions: 'notifyTombstoneDone' },
        },
      },
      bound: {
        description: 'Forwarded to the Kubelet, not yet confirmed running (dirty).',
        tags: ['alive', 'placed', 'holdsCapacity'],
        on: {
          'downstream.running': { target: 'running', actions: 'notifyRunning' },
          'snapshot.running': { target: 'running', actions: 'notifyRunning' },
          'snapshot.pending': 'bound',
          'downstream.failed': { target: 'gone', actions: 'notifyFailed' },
          'snapshot.absent': { target: 'gone', actions: 'notifyFailed' },
          'snapshot.tombstone': 'terminating.sent',
          'upstream.tombstone': tombstoneUnconfirmed,
          'decide.preempt': preemptUnconfirmed,
        },
      },
      running: {
        description: 'Confirmed running by the Kubelet (clean).',
        tags: ['alive', 'placed', 'holdsCapacity', 'clean'],
        on: {
          'snapshot.pending': 'bound',
          'downstream.failed': { target: 'gone', actions: 'notifyFailed' },
          'snapshot.absent': { target: 'gone', actions: 'notifyFailed' },
          'snapshot.tombstone': 'terminating.sent',
          'upstream.tombstone': tombstoneBound,
          'decide.preempt': { target: 'terminating.unsent', actions: 'notifyPreempted' },
        },
      },
      terminating: {
        description: 'A tombstone: still counted against the node until the Kubelet reports the kill.',
        tags: ['tombstone', 'placed', 'holdsCapacity'],
        initial: 'unsent',
        states: {
          unsent: {
            tags: ['unsent'],
            on: {
              forward:
                variant === 'drop-tombstone-on-forward'
                  ? { target: '#scheduler-pod.gone', actions: 'sendTombstone' } as const
                  : { target: 'sent', actions: 'sendTombstone' } as const,
            },
          },
          sent: {},
        },
        on: {
          'downstream.tombstoneDone': { target: 'gone', actions: 'notifyTombstoneDone' },
          'downstream.failed': { target: 'gone', actions: 'notifyTombstoneDone' },
          'snapshot.absent': { target: 'gone', actions: 'notifyTombstoneDone' },
          'snapshot.tombstone': '.sent',
          'snapshot.pending': aliveWhileTerminating('bound'),
          'snapshot.running': aliveWhileTerminating('running'),
        },
      },
      gone: { type: 'final', description: 'Rolled back or terminated; capacity is free again.' },
    },
  });
  return typedLifecycle(machine, { states: schedulerPodStates, events: schedulerPodEvents, actions: schedulerPodActions });
}
