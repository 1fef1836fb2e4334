/**
 * Choices a driver makes for a stage where the spec leaves a tie (DEC-52). The runtime
 * passes none and gets the spec's rule (the first alternative of every tie, e.g. the
 * first node by name); the model checker passes digits and explores every alternative.
 *
 * A step reads its digits in order, one per tie it meets (a tie of `k` alternatives
 * reads the next digit, 0 when none is left, and must find it below `k`), and reports
 * the number of alternatives of every tie it met (`StepResult.choiceRadices`). Ties of
 * one alternative read no digit. So a driver enumerates a step's alternatives by
 * stepping with no digits, then with each other digit at each reported position.
 */
import { assert } from './assert.js';

export class ChoiceCursor {
  private at = 0;
  /** The number of alternatives of each tie met, in order. */
  readonly radices: number[] = [];

  constructor(private readonly digits: readonly number[] = noChoices) {}

  /** The index (0 .. alternatives - 1) of the alternative taken at a tie of `alternatives`. */
  pick(alternatives: number): number {
    assert(alternatives >= 1, 'a tie has at least one alternative');
    if (alternatives === 1) return 0;
    const digit = this.digits[this.at] ?? 0;
    this.at++;
    assert(Number.isInteger(digit) && digit >= 0 && digit < alternatives, `choice ${digit} at tie ${this.at} is not below its ${alternatives} alternatives`);
    this.radices.push(alternatives);
    return digit;
  }
}

export const noChoices: readonly number[] = Object.freeze([]);
