/** Which messages of a queue the last step sent: queues lose messages at the head and gain them at the tail. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { epochOf, type LinkMessage } from '../../machines/index.js';
import { epochText, freshCount } from '../state-view.js';

const message = (n: number): LinkMessage => ({ type: 'tombstone.done', epoch: epochOf(1, 1), name: `p-${n}` }) as LinkMessage;

describe('freshCount', () => {
  it('counts the messages appended, whatever was taken from the head', () => {
    fc.assert(
      fc.property(fc.nat({ max: 6 }), fc.nat({ max: 6 }), fc.nat({ max: 6 }), (length, taken, appended) => {
        const before = Array.from({ length }, (_, i) => message(i));
        const removed = Math.min(taken, length);
        const now = [...before.slice(removed), ...Array.from({ length: appended }, (_, i) => message(100 + i))];
        expect(freshCount(before, now)).toBe(appended);
      }),
    );
  });

  it('reads an unchanged queue as nothing sent, and epochs as incarnation.counter', () => {
    const queue = [message(1), message(2)];
    expect(freshCount(queue, [...queue])).toBe(0);
    expect(freshCount([], [])).toBe(0);
    expect([epochText(0), epochText(epochOf(1, 1)), epochText(epochOf(2, 3))]).toEqual(['-', '1.1', '2.3']);
  });
});
