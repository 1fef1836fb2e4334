/**
 * Extra Node flags for the stage processes of a local cluster (`kd up --node-flags`,
 * `npm run bench:burst -- --node-flags`), e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to
 * profile every stage. Kept in DIR/node-flags.json so that a stage the supervisor
 * restarts gets the same flags. They come after the cluster's own flags
 * (`stageProcessNodeFlags`), so a flag given here wins.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The longest `--node-flags` text accepted, characters. */
export const nodeFlagsTextLengthMax = 4_096;
/** How long the check of the flags (a Node process started with them) may take, ms. */
const nodeFlagsCheckMsMax = 20_000;

export function nodeFlagsFileOf(dir: string): string {
  return join(resolve(dir), 'node-flags.json');
}

/**
 * The flags of a `--node-flags` text (split at white space; no quoting), each a Node
 * option (`-x` or `--name[=value]`). Throws an Error that says the fix otherwise.
 */
export function parseNodeFlags(text: string): string[] {
  if (text.length > nodeFlagsTextLengthMax) throw new Error(`--node-flags is ${text.length} characters long; at most ${nodeFlagsTextLengthMax}`);
  const flags = text.split(/\s+/).filter((flag) => flag !== '');
  for (const flag of flags)
    if (!/^--?[A-Za-z0-9][A-Za-z0-9_-]*(=\S*)?$/.test(flag))
      throw new Error(`--node-flags: "${flag}" is not a Node option; give options such as "--cpu-prof --cpu-prof-dir=/tmp/prof" (each -x or --name[=value], separated by spaces, values without spaces)`);
  return flags;
}

/**
 * Null when Node accepts the flags (checked by `node FLAGS --version`, which parses them
 * and runs nothing, so a profiler flag writes no file), else Node's own message: a
 * misspelt flag is refused here instead of crashing every stage at start.
 */
export function nodeFlagsProblem(flags: readonly string[]): string | null {
  if (flags.length === 0) return null;
  const run = spawnSync(process.execPath, [...flags, '--version'], { encoding: 'utf8', timeout: nodeFlagsCheckMsMax });
  if (run.error !== undefined) return `could not start node ${flags.join(' ')}: ${run.error.message}`;
  if (run.status === 0) return null;
  const said = (run.stderr || run.stdout).trim().split('\n')[0] ?? '';
  return `node ${flags.join(' ')} is refused by Node (exit ${run.status ?? run.signal}): ${said}`;
}

export function writeNodeFlags(dir: string, flags: readonly string[]): void {
  writeFileSync(nodeFlagsFileOf(dir), `${JSON.stringify(flags)}\n`);
}

/** The extra flags of the cluster in DIR (none when the file is absent). */
export function readNodeFlags(dir: string): string[] {
  const file = nodeFlagsFileOf(dir);
  if (!existsSync(file)) return [];
  const flags: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!Array.isArray(flags) || !flags.every((flag): flag is string => typeof flag === 'string')) throw new Error(`${file} must be a JSON list of Node flags (strings)`);
  return parseNodeFlags(flags.join(' '));
}
