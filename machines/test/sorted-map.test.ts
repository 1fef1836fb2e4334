/** The persistent sorted map under the pod cache, against a plain Map as the model. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SortedMap, sortedMapNodeEntriesMax, TreeEdit } from '../core/sorted-map.js';
import { PodCache, podGroupingOf, type PodEntry, type PodGrouping, type PodLifecycle } from '../stages/pod-cache.js';
import type { SchedulerPodState } from '../pods/scheduler-pod.machine.js';

type Operation = { readonly kind: 'set'; readonly key: string; readonly value: number } | { readonly kind: 'delete'; readonly key: string };

// Few distinct keys, many operations: sets, overwrites and deletes of the same keys, and trees several levels deep.
const keyArbitrary = fc.integer({ min: 0, max: 3 * sortedMapNodeEntriesMax * sortedMapNodeEntriesMax }).map((n) => `k${n}`);
const operationArbitrary: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('set' as const), key: keyArbitrary, value: fc.integer() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: keyArbitrary }) },
);

// For transient updates: a smaller key space, so that one step replaces, inserts and deletes keys of the same leaves.
const nearKeyArbitrary = fc.integer({ min: 0, max: 20 * sortedMapNodeEntriesMax }).map((n) => `k${String(n).padStart(4, '0')}`);
const nearOperationArbitrary: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('set' as const), key: nearKeyArbitrary, value: fc.integer() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: nearKeyArbitrary }) },
);

function sortedEntries(model: Map<string, number>): Array<[string, number]> {
  return [...model].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

describe('SortedMap', () => {
  it('behaves like a Map kept in key order, and every old version stays as it was', () => {
    fc.assert(
      fc.property(fc.array(operationArbitrary, { maxLength: 3000 }), (operations) => {
        let map = SortedMap.empty<number>();
        const model = new Map<string, number>();
        const versions: Array<{ map: SortedMap<number>; json: string }> = [];
        for (const [i, op] of operations.entries()) {
          if (op.kind === 'set') {
            map = map.set(op.key, op.value);
            model.set(op.key, op.value);
          } else {
            map = map.delete(op.key);
            model.delete(op.key);
          }
          if (i % 97 === 0) versions.push({ map, json: JSON.stringify(map) });
        }
        map.checkShape();
        expect(map.size).toBe(model.size);
        expect([...map.entries()]).toEqual(sortedEntries(model));
        expect([...map.values()]).toEqual(sortedEntries(model).map(([, value]) => value));
        expect(map.keys()).toEqual(sortedEntries(model).map(([key]) => key));
        expect(JSON.stringify(map)).toBe(JSON.stringify(Object.fromEntries(sortedEntries(model))));
        for (const key of new Set(operations.map((op) => op.key))) expect(map.get(key)).toBe(model.get(key));
        for (const version of versions) expect(JSON.stringify(version.map), 'an update never changes an earlier version').toBe(version.json);
      }),
      { numRuns: 60 },
    );
  });

  it('transient updates: in steps of one edit each, the same maps as persistent updates; no version from before an edit, nor a closed edit, ever changes', () => {
    fc.assert(
      fc.property(fc.array(fc.array(nearOperationArbitrary, { maxLength: 300 }), { maxLength: 12 }), (steps) => {
        let transient = SortedMap.empty<number>();
        let persistent = SortedMap.empty<number>();
        const versions: Array<{ map: SortedMap<number>; json: string }> = [];
        for (const operations of steps) {
          versions.push({ map: transient, json: JSON.stringify(transient) });
          const edit = new TreeEdit();
          for (const op of operations) {
            transient = op.kind === 'set' ? transient.set(op.key, op.value, edit) : transient.delete(op.key, edit);
            persistent = op.kind === 'set' ? persistent.set(op.key, op.value) : persistent.delete(op.key);
          }
          edit.close();
          transient.checkShape();
          expect(transient.size).toBe(persistent.size);
          expect(JSON.stringify(transient)).toBe(JSON.stringify(persistent));
          // A closed edit's nodes are copied like any other: an update after the step leaves the step's result alone.
          const result = JSON.stringify(transient);
          const later = transient.set('k0', -1, edit).delete('k1', edit);
          expect(JSON.stringify(transient)).toBe(result);
          later.checkShape();
        }
        for (const version of versions) expect(JSON.stringify(version.map), 'an edit never changes a version from before it').toBe(version.json);
      }),
      { numRuns: 60 },
    );
  });

  it('a step that replaces a value and then inserts beside it leaves the version before the step unchanged', () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `pod-${String(i).padStart(4, '0')}`);
    const base = SortedMap.of<number>(keys.filter((_, i) => i % 2 === 0).map((k) => [k, 0] as const));
    const json = JSON.stringify(base);
    const edit = new TreeEdit();
    let map = base;
    for (const [i, key] of keys.entries()) map = map.set(key, i % 2 === 0 ? 2 : 1, edit);
    edit.close();
    map.checkShape();
    expect(JSON.stringify(base)).toBe(json);
    expect(map.size).toBe(1000);
    expect([...map.values()]).toEqual(keys.map((_, i) => (i % 2 === 0 ? 2 : 1)));
  });

  it('returns the same map when nothing changes', () => {
    const map = SortedMap.of([['a', 1], ['b', 2]]);
    expect(map.set('a', 1)).toBe(map);
    expect(map.delete('c')).toBe(map);
  });

  it('keeps JavaScript string order (UTF-16 code units), as Array.prototype.sort does', () => {
    const keys = ['b', 'B', 'a-10', 'a-9', 'é', 'z', ''];
    expect(SortedMap.of(keys.map((k) => [k, 1] as const)).keys()).toEqual([...keys].sort());
  });
});

describe('PodCache', () => {
  const entry = (name: string, lifecycle: PodLifecycle, node: string | null, fn = 'fn'): PodEntry => ({ record: { name, function: fn, priority: 0, node }, lifecycle, origin: null });

  it('groups entries by lifecycle state and node, counts them per function, and moves them when they change', () => {
    let cache = PodCache.of([entry('fn-1-0', 'unscheduled', null), entry('fn-1-1', 'pending', 'n1'), entry('gn-1-0', 'pending', 'n2', 'gn')]);
    expect(cache.inLifecycle('pending').keys()).toEqual(['fn-1-1', 'gn-1-0']);
    expect(cache.onNode('n1', 'pending').keys()).toEqual(['fn-1-1']);
    expect(cache.countsOf('gn')).toEqual({ alive: 1, clean: 0, tombstones: 0 });
    cache = cache.put(entry('fn-1-0', 'pending', 'n1'));
    expect(cache.inLifecycle('unscheduled').size).toBe(0);
    expect(cache.onNode('n1', 'pending').keys()).toEqual(['fn-1-0', 'fn-1-1']);
    cache = cache.put(entry('fn-1-1', 'gone', 'n1'));
    expect(cache.has('fn-1-1')).toBe(false);
    expect(cache.onNode('n1', 'pending').keys()).toEqual(['fn-1-0']);
    cache.checkGroups();
    expect(cache.lifecycles()).toEqual(['pending']);
  });

  it('serializes as the entries by name only, and revives from that JSON', () => {
    const cache = PodCache.of([entry('b', 'running', 'n1'), entry('a', 'pending', null)]);
    const json = JSON.stringify(cache);
    expect(json).toBe(JSON.stringify({ a: entry('a', 'pending', null), b: entry('b', 'running', 'n1') }));
    const revived = PodCache.fromJSON(JSON.parse(json) as Record<string, PodEntry>);
    expect(JSON.stringify(revived)).toBe(json);
    revived.checkGroups();
  });
});

describe('PodCache against a list of entries', () => {
  const lifecycles: readonly SchedulerPodState[] = ['unscheduled', 'pending', 'bound', 'running', 'terminating.unsent', 'terminating.sent', 'gone'];
  const putArbitrary = fc.record({
    pod: fc.integer({ min: 0, max: 80 }),
    fn: fc.constantFrom('fn', 'gn'),
    lifecycle: fc.constantFrom(...lifecycles),
    node: fc.constantFrom(null, 'n1', 'n2'),
    origin: fc.constantFrom(null, 'scheduler' as const),
  });
  const groupings: Array<[string, PodGrouping<PodLifecycle>]> = [...Object.entries(podGroupingOf), ['every', PodCache.empty().grouping]];

  it.each(groupings)('counts and groups match the entries after any puts (%s grouping), and old versions stay as they were', (_, grouping) => {
    fc.assert(
      fc.property(fc.array(putArbitrary, { maxLength: 400 }), (puts) => {
        let cache = PodCache.empty(grouping);
        const model = new Map<string, PodEntry>();
        const versions: Array<{ cache: PodCache; json: string; running: number }> = [];
        for (const [i, put] of puts.entries()) {
          const name = `${put.fn}-1-${put.pod}`;
          const entry: PodEntry = { record: { name, function: put.fn, priority: 0, node: put.node }, lifecycle: put.lifecycle, origin: put.origin };
          cache = cache.put(entry);
          if (put.lifecycle === 'gone') model.delete(name);
          else model.set(name, entry);
          if (i % 50 === 0) versions.push({ cache, json: JSON.stringify(cache), running: cache.countIn('running') });
        }
        cache.checkGroups();
        const entries = [...model.values()];
        for (const lifecycle of lifecycles.slice(0, -1)) {
          const expected = entries.filter((e) => e.lifecycle === lifecycle).map((e) => e.record.name).sort();
          expect(cache.countIn(lifecycle)).toBe(expected.length);
          expect(cache.inLifecycle(lifecycle).keys()).toEqual(expected);
          if (!grouping.byNode) continue;
          for (const node of ['n1', 'n2']) {
            const onNode = entries.filter((e) => e.lifecycle === lifecycle && e.record.node === node).map((e) => e.record.name).sort();
            expect(cache.countOnNode(node, [lifecycle])).toBe(onNode.length);
            expect(cache.onNode(node, lifecycle).keys()).toEqual(onNode);
          }
        }
        expect(cache.lifecycles()).toEqual([...new Set(entries.map((e) => e.lifecycle))].sort());
        if (grouping.countsByFunction)
          for (const fn of ['fn', 'gn']) {
            const mine = entries.filter((e) => e.record.function === fn);
            expect(cache.countsOf(fn)).toEqual({
              alive: mine.filter((e) => !e.lifecycle.startsWith('terminating')).length,
              clean: mine.filter((e) => e.lifecycle === 'running').length,
              tombstones: mine.filter((e) => e.lifecycle.startsWith('terminating')).length,
            });
          }
        for (const version of versions) {
          expect(JSON.stringify(version.cache), 'a put never changes an earlier cache').toBe(version.json);
          expect(version.cache.countIn('running')).toBe(version.running);
        }
      }),
      { numRuns: 40 },
    );
  });
});
