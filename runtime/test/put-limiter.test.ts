/**
 * The store-mediated transport's put limiter (runtime/mediated/put-limiter.ts): a bounded
 * number of puts in flight, waiting ones in order, and etcd's "too many requests" asked
 * again while any other error is passed on.
 */
import { describe, expect, it } from 'vitest';
import { isTooManyRequests, PutLimiter } from '../mediated/put-limiter.js';

const tooMany = (): Error => new Error('etcd Put: etcdserver: too many requests');

describe('PutLimiter', () => {
  it('keeps at most its limit in flight and starts the waiting puts in the order they were asked for', async () => {
    const limiter = new PutLimiter(3, async () => undefined);
    const started: number[] = [];
    const finish: Array<() => void> = [];
    let most = 0;
    const results = Array.from({ length: 10 }, (_, i) =>
      limiter.run(
        () =>
          new Promise<number>((resolve) => {
            started.push(i);
            most = Math.max(most, limiter.running);
            finish[i] = () => resolve(i);
          }),
      ),
    );
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    // A new put asked for now must queue behind the waiting ones, not slip into a freed place.
    finish[1]?.();
    const late = limiter.run(async () => {
      started.push(99);
      return 99;
    });
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setImmediate(r));
      for (const j of started) finish[j]?.();
    }
    expect(await Promise.all(results)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await late).toBe(99);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 99]);
    expect(most).toBeLessThanOrEqual(3);
    expect(limiter.running).toBe(0);
  });

  it('asks again, after doubling pauses, a put etcd refused as too many requests; passes any other error on', async () => {
    const pauses: number[] = [];
    const limiter = new PutLimiter(2, async (ms) => void pauses.push(ms));
    let calls = 0;
    const revision = await limiter.run(async () => {
      calls++;
      if (calls <= 3) throw tooMany();
      return 42;
    });
    expect(revision).toBe(42);
    expect(pauses).toEqual([10, 20, 40]);
    await expect(limiter.run(async () => Promise.reject(new Error('etcd Put: connection refused')))).rejects.toThrow(/connection refused/);
    let gaveUp = false;
    const refused = limiter.run(async () => {
      gaveUp = true;
      throw tooMany();
    }, () => gaveUp);
    await expect(refused).rejects.toThrow(/too many requests/);
    expect(limiter.running).toBe(0);
    expect(isTooManyRequests(tooMany())).toBe(true);
    expect(isTooManyRequests('too many requests')).toBe(false);
  });
});
