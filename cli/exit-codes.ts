/**
 * The exit codes of every `kd` command, in one place. The first four mean the same in every
 * command; `incomplete` is for commands whose outcome can be neither yes nor no (a search
 * that reached its bound, a desired count whose storing is not confirmed). Each command's
 * `--help` lists the codes it uses, with their meaning for that command
 * ({@link CommandLineSpec.exits} in args.ts).
 */
export const exitCodes = {
  /** The command did what it was asked, or the answer is yes (verified, converged, passed). */
  ok: 0,
  /** The answer is no: a property violated, not converged, a required case failed, refused. */
  failed: 1,
  /** Bad usage or bad input (an option, an argument, a file): nothing was done. */
  usage: 2,
  /** The command itself failed: a bug or an environment it cannot work in. */
  internal: 3,
  /** Neither yes nor no: a bound was reached, or the outcome cannot be known. */
  incomplete: 4,
  /** A stage process stopped on a failed internal assertion (EX_SOFTWARE of sysexits.h). */
  assertion: 70,
} as const;

export type ExitCodeName = keyof typeof exitCodes;

/** What each code means when a command's help does not say more. */
export const exitCodeMeaningDefaults: Readonly<Record<ExitCodeName, string>> = {
  ok: 'done',
  failed: 'failed',
  usage: 'bad usage (nothing done)',
  internal: 'internal error',
  incomplete: 'incomplete',
  assertion: 'internal assertion failed',
};
