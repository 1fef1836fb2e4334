/**
 * The checker's shortest counterexample for each known-bad variant, found at build time
 * exactly as `kd check --preset ci --variant NAME` finds it (breadth-first, so shortest).
 * Each variant runs in its own child process (`node --import tsx` on this file), two at a
 * time, since the checker keeps its chain config in a module variable and one search
 * takes a few seconds. Each also runs its counterexample on to the damage a user would see
 * (checker/render/consequence.ts). Nothing is cached.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadCheckConfig } from '../../checker/chain/config-file.js';
import { ChainModel } from '../../checker/chain/model.js';
import { buildTrace, type CounterexampleTrace } from '../../checker/chain/trace.js';
import { search } from '../../checker/engine/search.js';
import { consequenceOf, type Consequence } from '../../checker/render/consequence.js';
import { isVariantName, type VariantName } from '../../spec/variants.js';

export const galleryPreset = 'ci';
const searchSecondsMax = 240;

export interface VariantCheck {
  readonly variant: VariantName;
  readonly preset: string;
  readonly verdict: string;
  readonly states: number;
  readonly transitions: number;
  readonly seconds: number;
  /** The shortest counterexample, or null if the checker found none (then the build fails). */
  readonly trace: CounterexampleTrace | null;
  /** The damage a user would see that the run leads to (checker/render/consequence.ts); null without a trace. */
  readonly consequence: Consequence | null;
}

/** Runs the checker on one variant in this process. */
export function checkVariant(variant: VariantName, preset = galleryPreset): VariantCheck {
  const config = loadCheckConfig(preset, variant);
  const result = search(new ChainModel(config), { strategy: 'bfs', maxSeconds: searchSecondsMax });
  const trace = result.violation === null ? null : buildTrace(config, result.violation);
  return {
    variant,
    preset,
    verdict: result.verdict,
    states: result.states,
    transitions: result.transitions,
    seconds: result.seconds,
    trace,
    consequence: trace === null ? null : consequenceOf(trace),
  };
}

function checkVariantInChild(variant: VariantName, preset: string): Promise<VariantCheck> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), variant, preset], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`checking variant ${variant} failed (exit ${code}): ${Buffer.concat(err).toString()}`));
        return;
      }
      try {
        resolve(JSON.parse(Buffer.concat(out).toString()) as VariantCheck);
      } catch (error) {
        reject(new Error(`checking variant ${variant}: unreadable result: ${(error as Error).message}`));
      }
    });
  });
}

/** Checks every variant, `concurrency` child processes at a time; results in the given order. */
export async function checkVariants(names: readonly VariantName[], preset = galleryPreset, concurrency = Math.max(1, Math.min(2, availableParallelism()))): Promise<VariantCheck[]> {
  const results: VariantCheck[] = new Array<VariantCheck>(names.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const index = next++;
      const name = names[index];
      if (name === undefined) return;
      results[index] = await checkVariantInChild(name, preset);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, worker));
  return results;
}

// As a child process: check the variant named on the command line and print the result as JSON.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [variant, preset = galleryPreset] = process.argv.slice(2);
  if (variant === undefined || !isVariantName(variant)) {
    process.stderr.write(`usage: counterexamples.ts VARIANT [PRESET]; got ${String(variant)}\n`);
    process.exit(2);
  }
  process.stdout.write(JSON.stringify(checkVariant(variant, preset)));
}
