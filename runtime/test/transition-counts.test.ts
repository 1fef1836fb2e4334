/**
 * The observer's per-transition counting (runtime/observe/transition-counts.ts) against
 * the rule written out once per transition: every transition counts in
 * kubedirect_pod_transitions_total{machine,event}; one entering a tombstone state from a
 * state that is none counts in kubedirect_tombstones_total; a `snapshot.*` event that
 * changed the state counts in kubedirect_invalidations_total{reason}. Generated sequences
 * over the pod machines' real states, repeated transitions included (the memoized path).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { podStatesWith, stateIsTombstone, type PodMachineName, type TracePoint } from '../../machines/index.js';
import { declareMetricFamilies } from '../observe/metric-catalog.js';
import { LabeledCounters, MetricRegistry } from '../observe/metrics.js';
import { TransitionCounts } from '../observe/transition-counts.js';

const machines: readonly PodMachineName[] = ['replicaset-pod', 'scheduler-pod', 'kubelet-pod'];
const statesOf = (machine: PodMachineName): string[] => [...new Set([...podStatesWith(machine, 'alive'), ...podStatesWith(machine, 'tombstone'), 'unknown', 'gone'])];
const events = ['upstream.provision', 'downstream.running', 'snapshot.missing', 'snapshot.tombstone', 'forward', 'decide.place'];

const point = fc.constantFrom(...machines).chain((machine) =>
  fc.record({
    machine: fc.constant(machine),
    pod: fc.constantFrom('fn-1-1', 'fn-1-2'),
    event: fc.constantFrom(...events),
    from: fc.constantFrom(...statesOf(machine)),
    to: fc.constantFrom(...statesOf(machine)),
  }),
);

function registry(): { registry: MetricRegistry; transitions: LabeledCounters; tombstones: LabeledCounters; invalidations: LabeledCounters } {
  const m = new MetricRegistry({ stage: 'scheduler' });
  declareMetricFamilies(m, 'observer');
  return {
    registry: m,
    transitions: new LabeledCounters(m, 'kubedirect_pod_transitions_total', ['machine', 'event']),
    tombstones: new LabeledCounters(m, 'kubedirect_tombstones_total', []),
    invalidations: new LabeledCounters(m, 'kubedirect_invalidations_total', ['reason']),
  };
}

describe('TransitionCounts', () => {
  it('counts what the rule counts, transition by transition, on generated sequences', () => {
    fc.assert(
      fc.property(fc.array(point, { maxLength: 60 }), (points: TracePoint[]) => {
        const counted = registry();
        const counts = new TransitionCounts(counted.transitions, counted.tombstones, counted.invalidations);
        const expected = registry();
        for (const p of points) {
          counts.count(p);
          expected.transitions.of(p.machine, p.event).inc();
          if (stateIsTombstone(p.to) && !stateIsTombstone(p.from)) expected.tombstones.of().inc();
          if (p.event.startsWith('snapshot.') && p.from !== p.to) expected.invalidations.of(p.event).inc();
        }
        expect(counted.registry.exposition()).toBe(expected.registry.exposition());
      }),
      { numRuns: 300 },
    );
  });

  it('a tombstone entered and a snapshot invalidation are counted, a repeat of either too', () => {
    const counted = registry();
    const counts = new TransitionCounts(counted.transitions, counted.tombstones, counted.invalidations);
    const tombstone = podStatesWith('scheduler-pod', 'tombstone')[0] as string;
    const entering: TracePoint = { machine: 'scheduler-pod', pod: 'fn-1-1', event: 'snapshot.missing', from: 'running', to: tombstone };
    counts.count(entering);
    counts.count({ ...entering, pod: 'fn-1-2' });
    const text = counted.registry.exposition();
    expect(text).toContain('kubedirect_tombstones_total{stage="scheduler"} 2');
    expect(text).toContain('kubedirect_invalidations_total{stage="scheduler",reason="snapshot.missing"} 2');
    expect(text).toContain('kubedirect_pod_transitions_total{stage="scheduler",machine="scheduler-pod",event="snapshot.missing"} 2');
  });
});
