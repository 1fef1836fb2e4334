/**
 * Known-bad variants of the protocol (brief section 8). Each one is a deliberate
 * protocol bug that the simulator, the model checker and the conformance suite must
 * catch, naming the property it breaks. None is ever active by default.
 */
import type { PropertyId } from './properties.js';

export const variantNames = [
  'no-tombstones',
  'no-fencing',
  'cold-handshake',
  'adopt-despite-tombstone',
  'drop-tombstone-on-forward',
  'reuse-pod-name',
  'free-capacity-on-preempt',
  'drop-tombstone-before-running',
  'ignore-snapshot-tombstones',
] as const;

export type VariantName = (typeof variantNames)[number];

/** The protocol as specified: no variant active. */
export type ProtocolVariant = VariantName | 'correct';

export interface VariantDescription {
  readonly name: VariantName;
  /** What the bug does, in one sentence. */
  readonly change: string;
  /** The property that catches it first, and others it also breaks. */
  readonly breaks: readonly PropertyId[];
  /** The rule of the spec that prevents it. */
  readonly preventedBy: string;
}

export const variants: readonly VariantDescription[] = [
  {
    name: 'no-tombstones',
    change:
      'Termination deletes the cache entry at once and sends a fire-and-forget kill; snapshots carry no tombstones.',
    breaks: ['INV-CACHE-COVERAGE', 'INV-TOMBSTONE-DOMINANCE', 'INV-NO-OVERSHOOT'],
    preventedBy: 'REQ-TOMB-001',
  },
  {
    name: 'no-fencing',
    change: 'Messages of a session that is no longer current are applied instead of rejected.',
    breaks: ['INV-FENCING', 'INV-CACHE-COVERAGE'],
    preventedBy: 'REQ-SESS-004',
  },
  {
    name: 'cold-handshake',
    change:
      'A restarted stage answers its upstream handshake before its own downstream links have synced (cold cache).',
    breaks: ['INV-CACHE-COVERAGE', 'INV-NO-OVERSHOOT', 'INV-NO-NEEDLESS-KILL'],
    preventedBy: 'REQ-REC-001',
  },
  {
    name: 'adopt-despite-tombstone',
    change:
      'During reconciliation, a pod that the snapshot shows alive is adopted alive although the stage holds its tombstone.',
    breaks: ['INV-NO-RESURRECTION'],
    preventedBy: 'REQ-CACHE-005',
  },
  {
    name: 'drop-tombstone-on-forward',
    change: 'A stage drops its tombstone when it forwards it instead of when the completion comes back from below.',
    breaks: ['INV-CACHE-COVERAGE', 'INV-TOMBSTONE-DOMINANCE'],
    preventedBy: 'REQ-TOMB-003',
  },
  {
    name: 'reuse-pod-name',
    change: 'The ReplicaSet names a new pod with the lowest ordinal not currently in its cache.',
    breaks: ['INV-NAME-UNIQUE', 'INV-UNIQUE-PLACEMENT', 'INV-NO-RESTART-AFTER-DEATH'],
    preventedBy: 'REQ-POD-001',
  },
  {
    name: 'free-capacity-on-preempt',
    change: 'The Scheduler frees node capacity when it issues a preemption instead of when the kill is acknowledged.',
    breaks: ['INV-PLACEMENT-RULE', 'INV-CAPACITY'],
    preventedBy: 'REQ-SCHED-003',
  },
  {
    name: 'drop-tombstone-before-running',
    change:
      'The Scheduler drops the tombstone of a pod its Kubelet has not yet confirmed running (bound) instead of sending it, and waits for a completion that never comes.',
    breaks: ['LIVE-CONVERGENCE'],
    preventedBy: 'REQ-TOMB-002',
  },
  {
    name: 'ignore-snapshot-tombstones',
    change: 'An upstream reconciles a snapshot as if it held no tombstones: a pod being killed below counts as absent.',
    breaks: ['INV-NO-OVERSHOOT', 'INV-TOMBSTONE-DOMINANCE', 'INV-CACHE-COVERAGE'],
    preventedBy: 'REQ-RS-004',
  },
];

export function isVariantName(name: string): name is VariantName {
  return (variantNames as readonly string[]).includes(name);
}
