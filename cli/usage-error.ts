/** A mistake in how a command was called: printed with the fix, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Exit codes of every kd command: 4 only from kd scale (the backing store did not store the count). */
export const exitCodes = { ok: 0, failed: 1, usage: 2, internal: 3, notStored: 4 } as const;

/** Parses a whole number option within [min, max], or throws a UsageError that says what to pass. */
export function parseWholeNumber(option: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^-?\d+$/.test(raw.trim())) throw new UsageError(`--${option} takes a whole number, got "${raw}" (for example --${option} ${fallback})`);
  const value = Number(raw);
  if (value < min || value > max) throw new UsageError(`--${option} must be from ${min} to ${max}, got ${value}`);
  return value;
}
