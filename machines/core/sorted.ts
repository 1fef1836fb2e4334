/**
 * Canonical records: keys always in sorted order, so JSON.stringify of a state is a
 * canonical fingerprint input (the model checker relies on it). Never mutate: every
 * function returns a new object.
 */

import { lowerBound } from './sorted-map.js';

export type SortedRecord<V> = Readonly<Record<string, V>>;

export function withEntry<V>(record: SortedRecord<V>, key: string, value: V): SortedRecord<V> {
  if (key in record) return { ...record, [key]: value };
  // The keys are already sorted: find the new key's place by binary search (the same
  // order as Array.prototype.sort's default, UTF-16 code units) and copy once.
  const keys = Object.keys(record);
  const low = lowerBound(keys, key);
  const next: Record<string, V> = {};
  for (let i = 0; i < low; i++) next[keys[i] as string] = record[keys[i] as string] as V;
  next[key] = value;
  for (let i = low; i < keys.length; i++) next[keys[i] as string] = record[keys[i] as string] as V;
  return next;
}

export function withoutEntry<V>(record: SortedRecord<V>, key: string): SortedRecord<V> {
  if (!(key in record)) return record;
  const next: Record<string, V> = {};
  for (const k of Object.keys(record)) if (k !== key) next[k] = record[k] as V;
  return next;
}

export function sortedRecord<V>(entries: Iterable<readonly [string, V]>): SortedRecord<V> {
  const list = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const next: Record<string, V> = {};
  for (const [k, v] of list) next[k] = v;
  return next;
}
