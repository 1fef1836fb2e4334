/**
 * Internal assertions of a model run as violations of named properties (issue 22, item 2;
 * DEC-50): an `InvariantViolation` thrown by a machine step (machines/core/assert.ts) or by
 * the world a driver keeps for it (world.ts) is a violation of the property the assertion
 * states, or of INV-STEP-ASSERTION, never an internal error. Shared by both drivers that
 * run the model: the simulator (simulate.ts) and the checker (checker/chain/step-assertions.ts).
 */
import type { InvariantViolation } from '../machines/index.js';
import type { Violation } from './ghost.js';

/** Assertions that state a property of spec/properties.ts, by the start of their message. */
const propertyOfAssertion: ReadonlyArray<{ readonly pattern: RegExp; readonly property: Violation['property'] }> = [
  { pattern: /^the Kubelet of \S+ kills \S+, which has no sandbox/, property: 'INV-SANDBOX-HELD' },
  { pattern: /^no sandbox \S+ on \S+/, property: 'INV-SANDBOX-HELD' },
  { pattern: /^a Kubelet never holds more sandboxes than its capacity/, property: 'INV-CAPACITY' },
  // checker/chain/invented-pods.ts (inventedPodMessageStart): judged by the model checker on every distinct step.
  { pattern: /^a stage names a pod it was never told of/, property: 'INV-NO-INVENTED-POD' },
];

/** The violation an assertion failed in a step of `where` (a stage, an action, or what the world did) stands for. */
export function violationOfAssertion(error: InvariantViolation, where: string): Violation {
  const named = propertyOfAssertion.find((p) => p.pattern.test(error.message));
  return { property: named?.property ?? 'INV-STEP-ASSERTION', message: `${where}: assertion failed: ${error.message}` };
}
