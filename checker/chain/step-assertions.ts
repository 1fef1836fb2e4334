/**
 * Internal assertions hit by a model run, as violations of named properties (issue 22,
 * item 2): an `InvariantViolation` thrown by a machine step (machines/core/assert.ts) or by
 * the world a driver keeps for it (simulator/world.ts) ends the search with a
 * counterexample of INV-STEP-ASSERTION, or of the property the assertion states, instead
 * of an internal error. Assertions of the checker itself (memo tables, packing) are not
 * wrapped and still end the run with exit 3: they are defects of the checker. Which
 * property an assertion states is decided in simulator/assertion-properties.ts, for both drivers.
 */
import { InvariantViolation, type StageId } from '../../machines/index.js';
import { violationOfAssertion } from '../../simulator/assertion-properties.js';
import type { Violation } from '../../simulator/ghost.js';

/** A step of the model broke an assertion: carries the violation the model reports for it. */
export class StepAssertionFailed extends Error {
  override readonly name = 'StepAssertionFailed';
  constructor(readonly violation: Violation) {
    super(`${violation.property}: ${violation.message}`);
  }
}

/** `error` as a StepAssertionFailed when it is an InvariantViolation of a step of `where`; anything else unchanged. */
export function asStepAssertion(error: unknown, where: StageId | string): unknown {
  return error instanceof InvariantViolation ? new StepAssertionFailed(violationOfAssertion(error, where)) : error;
}
