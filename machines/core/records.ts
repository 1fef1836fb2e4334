/** The compact records the stages exchange (never full API objects). */
import type { Role } from './ids.js';

export interface PodRecord {
  readonly name: string;
  readonly function: string;
  /** Higher wins at preemption. */
  readonly priority: number;
  /** Node the Scheduler bound the pod to; null until bound. */
  readonly node: string | null;
}

/** A pod alive below, as a snapshot shows it. */
export interface AlivePod {
  readonly record: PodRecord;
  readonly phase: 'pending' | 'running';
}

/** A tombstone as a snapshot or message carries it: the pod and the stage role that decided the termination. */
export interface TombstoneRecord {
  readonly record: PodRecord;
  readonly origin: Role;
}

export interface ScaleRecord {
  readonly function: string;
  readonly desired: number;
}

export type FailureReason = 'sandbox-failed' | 'capacity-exceeded' | 'invalidated' | 'unknown-owner';
export type RejectionReason = 'stale-epoch';

/**
 * `record` bound to `node` (null: unbound). Records are built with the same keys in the
 * same order everywhere, never by spreading one: spreading objects of several shapes
 * goes through V8's generic copy, about 17 times slower (machines/README.md, Performance).
 */
export function boundTo(record: PodRecord, node: string | null): PodRecord {
  return { name: record.name, function: record.function, priority: record.priority, node };
}
