/**
 * The driver's group commit of desired counts (runtime/node/stage-driver.ts): the counts
 * persisted in one event-loop turn are one write; counts asked for while a write is in
 * flight wait, then go together in the next; a caller of `whenPersisted` is answered
 * once the counts asked for before it are durable, not before, and in the next turn (after
 * the frames the write released have been written, stage-driver.ts).
 * A real Autoscaler StageDriver, with a store whose writes resolve only when the test
 * says so.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { writeClusterConfig } from '../cluster/local-cluster.js';
import { StageDriver } from '../node/stage-driver.js';
import type { BackingStore } from '../store/store.js';
import { StoreHealth } from '../store/store-health.js';

const root = mkdtempSync(join(tmpdir(), 'kd-group-commit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A backing store that records each batch of desired counts and makes it durable only on `complete`. */
class ControlledStore {
  readonly kind = 'file' as const;
  readonly batches: Array<Record<string, number>> = [];
  private readonly pending: Array<() => void> = [];

  putDesiredCounts(counts: ReadonlyMap<string, number>): Promise<void> {
    this.batches.push(Object.fromEntries(counts));
    return new Promise((resolve) => this.pending.push(resolve));
  }

  /** Makes the oldest write in flight durable. */
  complete(): void {
    const resolve = this.pending.shift();
    if (resolve === undefined) throw new Error('no write in flight');
    resolve();
  }

  readonly health = new StoreHealth('file', () => Promise.resolve(), () => undefined);
  loadDesired = (): Promise<Record<string, number>> => Promise.resolve({});
  enqueuePod = (): void => undefined;
  flush = (): Promise<void> => Promise.resolve();
  listPods = (): Promise<never[]> => Promise.resolve([]);
  close = (): Promise<void> => {
    this.health.close();
    return Promise.resolve();
  };
}

describe('group commit of desired counts at the Autoscaler', () => {
  it('writes the counts of one turn together, the next ones after, and answers each caller once its count is durable', async () => {
    const config = await writeClusterConfig(join(root, 'cluster'), { nodes: 1, capacity: 10, functions: ['a', 'b', 'c'], startDelayMs: 0, killDelayMs: 0 });
    const store = new ControlledStore();
    const driver = new StageDriver(config, 'autoscaler', () => undefined, store as unknown as BackingStore, {});
    const answered: string[] = [];
    const scale = (fn: string, desired: number): void => {
      expect(driver.request({ type: 'scale.requested', function: fn, desired })).toBeNull();
      driver.whenPersisted(() => answered.push(`${fn}=${desired}`));
    };
    try {
      // One turn: two requests, one write at its end.
      scale('a', 1);
      scale('b', 2);
      expect(store.batches).toEqual([]);
      await nextTurn();
      expect(store.batches).toEqual([{ a: 1, b: 2 }]);
      // While it is in flight: held, nobody answered.
      scale('c', 3);
      scale('a', 4);
      await nextTurn();
      expect(store.batches).toHaveLength(1);
      expect(answered).toEqual([]);
      // Durable: the first two are answered; the held counts go out together in the next write.
      store.complete();
      await nextTurn();
      await nextTurn();
      expect(answered).toEqual(['a=1', 'b=2']);
      expect(store.batches).toEqual([{ a: 1, b: 2 }, { c: 3, a: 4 }]);
      store.complete();
      await nextTurn();
      // Answered in a turn of their own, after the frames the write released are written.
      expect(answered).toEqual(['a=1', 'b=2']);
      await nextTurn();
      expect(answered).toEqual(['a=1', 'b=2', 'c=3', 'a=4']);
      // Nothing in flight: a caller is answered at once.
      driver.whenPersisted(() => answered.push('idle'));
      expect(answered.at(-1)).toBe('idle');
    } finally {
      await driver.stop();
    }
  });

  it('a write the store refuses: the caller hears "not stored" at once, the write is retried, and a stopped driver retries no more', async () => {
    const config = await writeClusterConfig(join(root, 'refusing'), { nodes: 1, capacity: 10, functions: ['a'], startDelayMs: 0, killDelayMs: 0 });
    const store = new ControlledStore();
    let refusals = 0;
    store.putDesiredCounts = (counts) => {
      store.batches.push(Object.fromEntries(counts));
      refusals += 1;
      return Promise.reject(new Error('etcd is down'));
    };
    const driver = new StageDriver(config, 'autoscaler', () => undefined, store as unknown as BackingStore, {});
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const answers: string[] = [];
      expect(driver.request({ type: 'scale.requested', function: 'a', desired: 5 })).toBeNull();
      driver.whenPersisted(
        () => answers.push('stored'),
        (error) => answers.push(`not stored: ${error}`),
      );
      await nextTurn();
      await nextTurn();
      expect(answers).toEqual(['not stored: etcd is down']);
      expect(store.health.isAvailable).toBe(false);
      await vi.advanceTimersByTimeAsync(60);
      expect(refusals).toBe(2); // retried after its pause; the caller is not answered twice
      expect(answers).toHaveLength(1);
      await driver.stop();
      const atStop = refusals;
      await vi.advanceTimersByTimeAsync(60_000);
      expect(refusals).toBe(atStop); // the pending retry was cancelled with the stage
    } finally {
      vi.useRealTimers();
      store.health.close();
    }
  });
});
