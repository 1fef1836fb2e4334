/**
 * The ReplicaSet's lifecycle of one pod it owns (spec/04-lifecycles.md, "ReplicaSet pod").
 * The ReplicaSet is the owner: it creates pods, rolls them back on invalidation, and
 * terminates them with tombstones. `unknown` is "not in the cache"; `gone` is final.
 */
import { setup } from 'xstate';
import { typedLifecycle } from '../core/lifecycle.js';
import { namedActions } from '../core/no-op-actions.js';
import type { PodTag } from './pod-tags.js';
import type { ProtocolVariant } from '../../spec/variants.js';

export const replicaSetPodEvents = [
  'decide.create',
  'decide.terminate',
  'forward',
  'downstream.running',
  'downstream.failed',
  'downstream.preempted',
  'downstream.tombstoneDone',
  'snapshot.pending',
  'snapshot.running',
  'snapshot.tombstone',
  'snapshot.absent',
] as const;
export type ReplicaSetPodEvent = (typeof replicaSetPodEvents)[number];

export const replicaSetPodActions = ['sendProvision', 'sendTombstone', 'recordRollback'] as const;
export type ReplicaSetPodAction = (typeof replicaSetPodActions)[number];

/** Its leaf states, as kept in a stage's state (checked against the definition by `typedLifecycle`). */
export const replicaSetPodStates = ['unknown', 'pending', 'provisioned', 'running', 'terminating.unsent', 'terminating.sent', 'gone'] as const;
export type ReplicaSetPodState = (typeof replicaSetPodStates)[number];

export function createReplicaSetPodMachine(variant: ProtocolVariant = 'correct') {
  const terminate = variant === 'no-tombstones' ? { target: '#replicaset-pod.gone', actions: 'sendTombstone' } as const : { target: '#replicaset-pod.terminating.unsent' } as const;
  const aliveWhileTerminating = (phase: 'provisioned' | 'running') =>
    variant === 'adopt-despite-tombstone' ? { target: `#replicaset-pod.${phase}` } as const : { target: '#replicaset-pod.terminating.unsent' } as const;
  const machine = setup({
    types: { events: {} as { type: ReplicaSetPodEvent }, tags: {} as PodTag },
    actions: namedActions(replicaSetPodActions),
  }).createMachine({
    id: 'replicaset-pod',
    initial: 'unknown',
    states: {
      unknown: {
        description: 'Not in the cache. Entries begin here by creation or by adoption from a snapshot.',
        on: {
          'decide.create': 'pending',
          'snapshot.pending': 'provisioned',
          'snapshot.running': 'running',
          'snapshot.tombstone': 'terminating.sent',
        },
      },
      pending: {
        description: 'Created, never forwarded: it exists nowhere else yet.',
        tags: ['alive', 'waiting', 'unsent'],
        on: {
          forward: { target: 'provisioned', actions: 'sendProvision' },
          'decide.terminate': 'gone',
        },
      },
      provisioned: {
        description: 'Forwarded, not yet confirmed running (dirty).',
        tags: ['alive'],
        on: {
          'downstream.running': 'running',
          'snapshot.running': 'running',
          'snapshot.pending': 'provisioned',
          'downstream.failed': { target: 'gone', actions: 'recordRollback' },
          'snapshot.absent': { target: 'gone', actions: 'recordRollback' },
          'downstream.preempted': 'terminating.sent',
          'snapshot.tombstone': 'terminating.sent',
          'decide.terminate': terminate,
        },
      },
      running: {
        description: 'Confirmed running by the Kubelet (clean).',
        tags: ['alive', 'clean'],
        on: {
          'snapshot.pending': 'provisioned',
          'downstream.failed': { target: 'gone', actions: 'recordRollback' },
          'snapshot.absent': { target: 'gone', actions: 'recordRollback' },
          'downstream.preempted': 'terminating.sent',
          'snapshot.tombstone': 'terminating.sent',
          'decide.terminate': terminate,
        },
      },
      terminating: {
        description: 'A tombstone: the pod no longer counts as alive and is never re-adopted; dropped only when completion comes back from below.',
        tags: ['tombstone'],
        initial: 'unsent',
        states: {
          unsent: {
            tags: ['unsent'],
            on: {
              forward:
                variant === 'drop-tombstone-on-forward'
                  ? { target: '#replicaset-pod.gone', actions: 'sendTombstone' } as const
                  : { target: 'sent', actions: 'sendTombstone' } as const,
            },
          },
          sent: {},
        },
        on: {
          'downstream.tombstoneDone': 'gone',
          'downstream.failed': 'gone',
          'snapshot.absent': 'gone',
          'snapshot.tombstone': '.sent',
          'snapshot.pending': aliveWhileTerminating('provisioned'),
          'snapshot.running': aliveWhileTerminating('running'),
        },
      },
      gone: { type: 'final', description: 'Rolled back or terminated; the name is never used again.' },
    },
  });
  return typedLifecycle(machine, { states: replicaSetPodStates, events: replicaSetPodEvents, actions: replicaSetPodActions });
}
