/**
 * bench:timeline's analysis (bench/burst/timeline.ts) on hand-made trace lines: per-stage
 * arrivals and departures, the hops between stages, active and idle milliseconds and the
 * largest gap.
 */
import { describe, expect, it } from 'vitest';
import type { StageId } from '../../machines/index.js';
import { burstTimeline, cpuByGroup, timelineText, type TimelineLine } from '../burst/timeline.js';

const t0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (ms: number): string => new Date(t0 + ms).toISOString();
const received = (ms: number, type: string): TimelineLine => ({ t: at(ms), event: { type: 'message.received', message: { type } }, effects: [] });
const sends = (type: string, n: number): Array<{ type: string; message: { type: string } }> => Array.from({ length: n }, () => ({ type: 'message.send', message: { type } }));

describe('burst timeline', () => {
  it('gives each stage its arrivals, departures, hop, active and idle time and largest gap', () => {
    const lines = new Map<StageId, TimelineLine[]>([
      ['autoscaler', [{ t: at(2), event: { type: 'scale.requested' }, effects: sends('scale.set', 1) }]],
      ['deployment', [{ ...received(5, 'scale.set'), effects: sends('scale.set', 1) }]],
      ['replicaset', [{ ...received(9, 'scale.set'), effects: sends('pod.provision', 3) }]],
      [
        'scheduler',
        [
          { ...received(20, 'pod.provision'), effects: sends('pod.provision', 1) },
          { ...received(21, 'pod.provision'), effects: sends('pod.provision', 1) },
          // a lone record far later: a gap of 8 ms (22..29)
          { ...received(30, 'pod.provision'), effects: sends('pod.provision', 1) },
          // not part of the burst's downward path: ignored
          received(40, 'pod.running'),
        ],
      ],
      ['kubelet:n1' as StageId, [{ ...received(25, 'pod.provision'), effects: [{ type: 'sandbox.start' }] }, { t: at(27), event: { type: 'sandbox.started' }, effects: [] }]],
      ['kubelet:n2' as StageId, [{ ...received(33, 'pod.provision'), effects: [{ type: 'sandbox.start' }] }, { ...received(34, 'pod.provision'), effects: [{ type: 'sandbox.start' }] }, { t: at(36), event: { type: 'sandbox.started' }, effects: [] }]],
    ]);
    const timeline = burstTimeline(lines, t0);
    expect(timeline.endMs).toBe(36);
    expect(timeline.stages.map((s) => s.stage)).toEqual(['autoscaler', 'deployment', 'replicaset', 'scheduler', 'kubelets']);
    const [autoscaler, deployment, replicaset, scheduler, kubelets] = timeline.stages;
    expect(autoscaler).toMatchObject({ in: { firstMs: 2, lastMs: 2, count: 1 }, hopFirstMs: null });
    expect(deployment).toMatchObject({ hopFirstMs: 3, hopLastMs: 3 });
    expect(replicaset).toMatchObject({ out: { firstMs: 9, lastMs: 9, count: 3 }, hopFirstMs: 4 });
    expect(scheduler).toMatchObject({ in: { firstMs: 20, lastMs: 30, count: 3 }, hopFirstMs: 11, hopLastMs: 21, activeMs: 3, idleMs: 8, largestGapMs: 8, largestGapAtMs: 22 });
    expect(kubelets).toMatchObject({ in: { firstMs: 25, lastMs: 34, count: 3 }, out: { count: 3 }, started: { firstMs: 27, lastMs: 36, count: 2 }, hopFirstMs: 5, hopLastMs: 4 });
    // active 25, 27, 33, 34, 36 of the span 25..36 (12 ms)
    expect(kubelets).toMatchObject({ activeMs: 5, idleMs: 7, largestGapMs: 5, largestGapAtMs: 28 });
    const text = timelineText(timeline, cpuByGroup({ scheduler: 4, 'kubelet:n1': 1, 'kubelet:n2': 2.5 }));
    expect(text).toMatch(/^scheduler\s+20\.\.30 \(3\)\s+20\.\.30 \(3\)\s+11\/21\s+3\s+8\s+8 @22\s+4\.0$/m);
    expect(text).toMatch(/^kubelets .* 3\.5$/m);
  });

  it('leaves out stages with no trace and has no end without a started sandbox', () => {
    const timeline = burstTimeline(new Map<StageId, TimelineLine[]>([['autoscaler', [{ t: at(1), event: { type: 'scale.requested' }, effects: [] }]]]), t0);
    expect(timeline.stages.map((s) => s.stage)).toEqual(['autoscaler']);
    expect(timeline.endMs).toBeNull();
  });
});
