/**
 * Canonical records: keys always in sorted order, so JSON.stringify of a state is a
 * canonical fingerprint input (the model checker relies on it). Never mutate: every
 * function returns a new object.
 */

export type SortedRecord<V> = Readonly<Record<string, V>>;

export function withEntry<V>(record: SortedRecord<V>, key: string, value: V): SortedRecord<V> {
  if (key in record) return { ...record, [key]: value };
  const keys = Object.keys(record);
  keys.push(key);
  keys.sort();
  const next: Record<string, V> = {};
  for (const k of keys) next[k] = k === key ? value : (record[k] as V);
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
