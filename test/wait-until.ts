/**
 * Waiting in tests: on a condition, polled, with a generous deadline, never a fixed
 * sleep. These machines are shared and see load averages of 20 to 40, so a deadline is
 * how long a broken system may take to be declared broken, not how long a working one
 * is expected to take.
 */

/** The default deadline of a wait in a test: long enough for a loaded 2-core machine. */
export const testWaitMsMax = 60_000;
const pollMs = 25;

/**
 * Resolves with the condition's first truthy value; rejects after `deadlineMs` with
 * `what` and the last value seen, so a failure says what was awaited.
 */
export async function waitUntil<T>(what: string, condition: () => T | Promise<T>, deadlineMs = testWaitMsMax): Promise<NonNullable<T>> {
  const started = performance.now();
  let last: T | undefined;
  for (;;) {
    last = await condition();
    if (last !== undefined && last !== null && last !== false) return last as NonNullable<T>;
    if (performance.now() - started > deadlineMs) throw new Error(`waited ${deadlineMs} ms for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
