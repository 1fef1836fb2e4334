/**
 * Internal assertions hit by a model run, as violations of named properties (issue 22,
 * item 2): an `InvariantViolation` thrown by a machine step (machines/core/assert.ts) or by
 * the world a driver keeps for it (simulator/world.ts) ends the search with a
 * counterexample of INV-STEP-ASSERTION, or of the property the assertion states, instead
 * of an internal error. Assertions of the checker itself (memo tables, packing) are not
 * wrapped and still end the run with exit 3: they are defects of the checker.
 */
import { InvariantViolation, type StageId } from '../../machines/index.js';
import type { Violation } from '../../simulator/ghost.js';

/** A step of the model broke an assertion: carries the violation the model reports for it. */
export class StepAssertionFailed extends Error {
  override readonly name = 'StepAssertionFailed';
  constructor(readonly violation: Violation) {
    super(`${violation.property}: ${violation.message}`);
  }
}

/** Assertions that state a property of spec/properties.ts, by the start of their message. */
const propertyOfAssertion: ReadonlyArray<{ readonly pattern: RegExp; readonly property: Violation['property'] }> = [
  { pattern: /^the Kubelet of \S+ kills \S+, which has no sandbox/, property: 'INV-SANDBOX-HELD' },
  { pattern: /^no sandbox \S+ on \S+/, property: 'INV-SANDBOX-HELD' },
  { pattern: /^a Kubelet never holds more sandboxes than its capacity/, property: 'INV-CAPACITY' },
];

/** The violation an assertion failed in a step of `where` (a stage, or what the world did) stands for. */
export function violationOfAssertion(error: InvariantViolation, where: StageId | string): Violation {
  const named = propertyOfAssertion.find((p) => p.pattern.test(error.message));
  return { property: named?.property ?? 'INV-STEP-ASSERTION', message: `${where}: assertion failed: ${error.message}` };
}

/** `error` as a StepAssertionFailed when it is an InvariantViolation of a step of `where`; anything else unchanged. */
export function asStepAssertion(error: unknown, where: StageId | string): unknown {
  return error instanceof InvariantViolation ? new StepAssertionFailed(violationOfAssertion(error, where)) : error;
}
