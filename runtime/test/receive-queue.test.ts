/**
 * The receive queue's slices (runtime/node/flow-control.ts, DEC-69): with a first slice
 * set (`flow.receiveSliceMsFirst`), the first slice after an empty queue is short, so the
 * first records of a large frame are applied and their sends can leave at once; each
 * further slice doubles up to the longest, so a long burst still runs in long slices
 * (DEC-31). Without one, every slice is as long as allowed (the default).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { receiveSliceMsMax } from '../../spec/limits.js';
import { clusterConfigProblems, receiveSliceMsFirstOf, type ClusterConfig } from '../config.js';
import { ReceiveQueue } from '../node/flow-control.js';
import { waitUntil } from '../../test/wait-until.js';

const stream = { pause: (): void => {}, resume: (): void => {} };

/** A frame of `records` records that each keep the CPU busy for `recordMs`, noting in which event-loop turn each was applied. */
function* frame(records: number, recordMs: number, turns: number[], turn: () => number): Generator<void, void, void> {
  for (let i = 0; i < records; i++) {
    const until = performance.now() + recordMs;
    while (performance.now() < until) {
      // busy: a record's work
    }
    turns.push(turn());
    yield;
  }
}

/** Sizes of the slices: runs of records applied in one turn. */
function sliceSizes(turns: readonly number[]): number[] {
  const sizes: number[] = [];
  for (let i = 0; i < turns.length; i++) {
    if (i === 0 || turns[i] !== turns[i - 1]) sizes.push(0);
    sizes[sizes.length - 1] = (sizes[sizes.length - 1] as number) + 1;
  }
  return sizes;
}

async function slicesOf(limits: ConstructorParameters<typeof ReceiveQueue>[1], records: number, recordMs: number, frames: number): Promise<number[][]> {
  let turn = 0;
  let ticking = true;
  const tick = (): void => {
    turn++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const queue = new ReceiveQueue(stream, limits);
  const result: number[][] = [];
  try {
    for (let f = 0; f < frames; f++) {
      const turns: number[] = [];
      queue.push(frame(records, recordMs, turns, () => turn));
      await waitUntil(`frame ${f} applied`, () => turns.length === records);
      result.push(sliceSizes(turns));
    }
  } finally {
    ticking = false;
  }
  return result;
}

describe('receive queue slices', () => {
  it('start short after an empty queue and double while records wait', async () => {
    // 200 records of 0.2 ms: 40 ms of work, within one 50 ms slice.
    const frames = await slicesOf({ sliceMsMax: 50, sliceMsFirst: 1, framesQueuedMax: 16 }, 200, 0.2, 2);
    for (const slices of frames) {
      // The first slice is about 1 ms (5 records): far from the whole frame.
      expect(slices[0]).toBeLessThanOrEqual(20);
      // Doubling: 1 + 2 + 4 + 8 + 16 + 32 ms covers 40 ms of work in about 6 slices, not 40 of 1 ms.
      expect(slices.length).toBeLessThanOrEqual(12);
      expect(slices.reduce((a, b) => a + b, 0)).toBe(200);
    }
  });

  it('without a first slice, every slice is as long as allowed', async () => {
    const [slices] = await slicesOf({ sliceMsMax: 1_000, framesQueuedMax: 16 }, 50, 0.2, 1);
    expect(slices).toEqual([50]);
  });

  it('refuses a first slice longer than the longest', () => {
    expect(() => new ReceiveQueue(stream, { sliceMsMax: 10, sliceMsFirst: 20, framesQueuedMax: 16 })).toThrow(/first receive slice/);
  });
});

describe('flow.receiveSliceMsFirst in the cluster configuration', () => {
  const configWith = (flow: ClusterConfig['flow']): ClusterConfig => ({
    chain: { functions: [{ name: 'fn', priority: 0 }], nodes: [{ name: 'n1', capacity: 1 }], variant: 'correct' },
    stages: {
      autoscaler: { address: '127.0.0.1:7000', dataDir: '/d0' },
      deployment: { address: '127.0.0.1:7001', dataDir: '/d1' },
      replicaset: { address: '127.0.0.1:7002', dataDir: '/d2' },
      scheduler: { address: '127.0.0.1:7003', dataDir: '/d3' },
      'kubelet:n1': { address: '127.0.0.1:7004', dataDir: '/d4' },
    },
    sandbox: { startDelayMs: 0, killDelayMs: 0 },
    ...(flow === undefined ? {} : { flow }),
  });

  it('takes 1..receiveSliceMsMax whole milliseconds, and absent means every slice as long as allowed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: receiveSliceMsMax }), (ms) => {
        expect(clusterConfigProblems(configWith({ receiveSliceMsFirst: ms }))).toEqual([]);
        expect(receiveSliceMsFirstOf(configWith({ receiveSliceMsFirst: ms }))).toBe(ms);
      }),
    );
    expect(receiveSliceMsFirstOf(configWith(undefined))).toBe(receiveSliceMsMax);
  });

  it('refuses anything else with the range to use, and never throws', () => {
    const bad = fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: receiveSliceMsMax + 1 }), fc.double({ noInteger: true }), fc.string(), fc.constant(null));
    fc.assert(
      fc.property(bad, (value) => {
        const problems = clusterConfigProblems(configWith({ receiveSliceMsFirst: value as number }));
        expect(problems.join('\n')).toContain(`flow.receiveSliceMsFirst must be a whole number of milliseconds from 1 to ${receiveSliceMsMax}`);
      }),
    );
  });
});
