/**
 * The message queues of packed states, hash-consed like the other components
 * (interning.ts): each distinct list of messages has one small id (0 is the empty list),
 * its messages' ids, its content hash and, once asked, the id of its tail, so that a
 * delivery or a send replaces one id by another without copying messages.
 */
import type { LinkMessage } from '../../machines/index.js';
import { fingerprintOf } from '../engine/fingerprint.js';
import type { Interner } from './interning.js';

const emptyListHash = fingerprintOf('[]');

export class MessageLists {
  /** Per list id: its messages. */
  readonly values: Array<readonly LinkMessage[]> = [[]];
  /** Per list id: its messages' ids (in `messages`). */
  readonly messageIds: number[][] = [[]];
  /** Per list id: the id of the list without its head (-1 until asked). */
  private readonly tails: number[] = [-1];
  private readonly byKey = new Map<string, number>([['', 0]]);
  /** Per list id: its content hash, as int32 (see Interner.hashHigh). */
  readonly hashHigh: number[] = [emptyListHash.high | 0];
  readonly hashLow: number[] = [emptyListHash.low | 0];

  constructor(
    /** The interned messages (the stepper's, so that message ids are the ones its memo keys use). */
    private readonly messages: Interner,
  ) {}

  /** The id of a list of messages. */
  idOf(messages: readonly LinkMessage[]): number {
    if (messages.length === 0) return 0;
    return this.idOfMessageIds(messages.map((m) => this.messages.idOf(m)));
  }

  /** The id of the list of the messages with ids `messageIds`. */
  idOfMessageIds(messageIds: number[]): number {
    const key = messageIds.join('.');
    let id = this.byKey.get(key);
    if (id === undefined) {
      id = this.values.length;
      this.byKey.set(key, id);
      const messages = this.messages;
      this.values.push(messageIds.map((m) => messages.values[m] as LinkMessage));
      this.messageIds.push(messageIds);
      this.tails.push(-1);
      // The list's content hash, from its messages' content hashes in order.
      let a = 0x6a09e667;
      let b = 0xbb67ae85;
      for (const m of messageIds) {
        a = Math.imul(a ^ (messages.hashHigh[m] as number), 0x01000193);
        a ^= a >>> 13;
        b = Math.imul(b ^ (messages.hashLow[m] as number), 0x5bd1e995);
        b ^= b >>> 15;
      }
      this.hashHigh.push(a | 0);
      this.hashLow.push(b | 0);
    }
    return id;
  }

  /** The id of list `list` without its head. */
  tailOf(list: number): number {
    let tail = this.tails[list] as number;
    if (tail < 0) {
      tail = this.idOfMessageIds((this.messageIds[list] as number[]).slice(1));
      this.tails[list] = tail;
    }
    return tail;
  }
}
