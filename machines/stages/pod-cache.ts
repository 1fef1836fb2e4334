/**
 * A stage's cache of pods: entries keyed by pod name, each the state of that stage's
 * pod-lifecycle machine plus the compact record. Shared helpers for snapshots and
 * per-session reconciliation (spec/03-write-back-cache.md).
 */
import { stateIsAlive, stateIsTombstone } from './lifecycle-states.js';
import type { Role } from '../core/ids.js';
import type { AlivePod, PodRecord, TombstoneRecord } from '../core/records.js';
import { withEntry, withoutEntry, type SortedRecord } from '../core/sorted.js';

export interface PodEntry {
  readonly record: PodRecord;
  /** State of the stage's pod-lifecycle machine, e.g. `terminating.sent`. */
  readonly lifecycle: string;
  /** For a tombstone: the role that decided the termination; null while alive. */
  readonly origin: Role | null;
}

export type PodCache = SortedRecord<PodEntry>;

/** Stores the entry, or removes it when its lifecycle reached `gone`. */
export function putPod(pods: PodCache, entry: PodEntry): PodCache {
  if (entry.lifecycle === 'gone') return withoutEntry(pods, entry.record.name);
  return withEntry(pods, entry.record.name, entry);
}

/** The snapshot event a pod gets at reconciliation: how the downstream holds it. */
export type SnapshotEvent = 'snapshot.pending' | 'snapshot.running' | 'snapshot.tombstone' | 'snapshot.absent';

export interface SnapshotIndex {
  readonly alive: ReadonlyMap<string, AlivePod>;
  readonly tombstones: ReadonlyMap<string, TombstoneRecord>;
}

export function indexSnapshot(pods: readonly AlivePod[], tombstones: readonly TombstoneRecord[]): SnapshotIndex {
  return {
    alive: new Map(pods.map((p) => [p.record.name, p])),
    tombstones: new Map(tombstones.map((t) => [t.record.name, t])),
  };
}

export function snapshotEventFor(index: SnapshotIndex, name: string): SnapshotEvent {
  const tombstone = index.tombstones.get(name);
  if (tombstone !== undefined) return 'snapshot.tombstone';
  const alive = index.alive.get(name);
  if (alive === undefined) return 'snapshot.absent';
  return alive.phase === 'running' ? 'snapshot.running' : 'snapshot.pending';
}

/** Names in the snapshot (alive or tombstones), sorted, for deterministic reconciliation. */
export function snapshotNames(index: SnapshotIndex): string[] {
  return [...new Set([...index.alive.keys(), ...index.tombstones.keys()])].sort();
}

export function snapshotRecord(index: SnapshotIndex, name: string): { record: PodRecord; origin: Role | null } | undefined {
  const tombstone = index.tombstones.get(name);
  if (tombstone !== undefined) return { record: tombstone.record, origin: tombstone.origin };
  const alive = index.alive.get(name);
  return alive === undefined ? undefined : { record: alive.record, origin: null };
}

/** The alive pods and tombstones of a cache, as a snapshot carries them. */
export function describeCache(
  pods: PodCache,
  phaseOf: (lifecycle: string) => 'pending' | 'running',
  withTombstones: boolean,
): { pods: AlivePod[]; tombstones: TombstoneRecord[] } {
  const alive: AlivePod[] = [];
  const tombstones: TombstoneRecord[] = [];
  for (const entry of Object.values(pods)) {
    if (stateIsTombstone(entry.lifecycle)) {
      if (withTombstones) tombstones.push({ record: entry.record, origin: entry.origin ?? 'kubelet' });
    } else if (stateIsAlive(entry.lifecycle)) {
      alive.push({ record: entry.record, phase: phaseOf(entry.lifecycle) });
    }
  }
  return { pods: alive, tombstones };
}
