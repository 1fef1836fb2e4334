/** bench:profile's sums over V8 CPU profiles: self time per function, samples before --skip-s left out. */
import { describe, expect, it } from 'vitest';
import { selfTimes, type CpuProfile } from '../profile-summary.js';

const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber });

describe('selfTimes', () => {
  it("sums each function's samples over the profiles and leaves out the first skipUs of each", () => {
    const profile: CpuProfile = {
      startTime: 0,
      nodes: [
        { id: 1, callFrame: frame('(root)', '') },
        { id: 2, callFrame: frame('set', 'file:///repo/node_modules/x/lib.js', 9) },
        { id: 3, callFrame: frame('(garbage collector)', '') },
      ],
      samples: [2, 2, 3, 2],
      timeDeltas: [100, 200, 300, 400],
    };
    const all = selfTimes([profile, profile], 0);
    expect(all.get('x/lib.js set')).toBe(2 * (100 + 200 + 400));
    expect(all.get(' (garbage collector)')).toBe(2 * 300);
    // From 300 µs on: the second sample (elapsed 300) and later count, the first (elapsed 100) does not.
    const late = selfTimes([profile], 300);
    expect(late.get('x/lib.js set')).toBe(200 + 400);
    expect(late.get(' (garbage collector)')).toBe(300);
  });
});
