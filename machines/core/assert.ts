/** Assertions that stay on in production: a broken invariant stops the step, it is never ignored. */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantViolation(message);
}

export function unreachable(value: never, what: string): never {
  throw new InvariantViolation(`unreachable ${what}: ${JSON.stringify(value)}`);
}
