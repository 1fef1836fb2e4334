/**
 * `npm run soak`: the bounded chaos soak (soak.ts) on a fresh local cluster and etcd; not
 * in the default test run (runtime/test/soak.test.ts runs a short one there).
 *
 * Usage: npm run soak -- [--runs N] [--seed N] [--nodes N] [--fault-ms N] [--json]
 * Exit codes: 0 every run converged with nothing violated, lost or leaked; 1 otherwise;
 * 2 bad usage.
 */
import { parseArgs } from 'node:util';
import { formatSoak, runSoak } from './soak.js';

const usage = 'Usage: npm run soak -- [--runs N] [--seed N] [--nodes N] [--fault-ms N] [--json]';

function wholeNumber(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    console.error(`soak: --${name} takes a whole number from ${min} to ${max}, got "${raw}". ${usage}`);
    process.exit(2);
  }
  return value;
}

let values;
try {
  values = parseArgs({ options: { runs: { type: 'string' }, seed: { type: 'string' }, nodes: { type: 'string' }, 'fault-ms': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true }).values;
} catch (error) {
  console.error(`soak: ${(error as Error).message}. ${usage}`);
  process.exit(2);
}
if (values.help === true) {
  console.log(usage);
  process.exit(0);
}
const result = await runSoak({
  runs: wholeNumber('runs', values.runs, 30, 1, 10_000),
  seed: wholeNumber('seed', values.seed, Date.now() % 1_000_000, 0, 2 ** 32 - 1),
  nodes: wholeNumber('nodes', values.nodes, 3, 1, 16),
  capacity: 40,
  faultMs: wholeNumber('fault-ms', values['fault-ms'], 2_000, 0, 600_000),
  convergeMsMax: 120_000,
  log: (line) => console.error(`[soak] ${line}`),
});
if (values.json === true) console.log(JSON.stringify(result, null, 2));
else for (const line of formatSoak(result)) console.log(line);
const clean = result.converged === result.runs.length && result.violations.length === 0 && result.acknowledgedLost === 0 && result.podsLeaked === 0 && result.podsLost === 0 && result.podObjectsDiverged === 0;
process.exit(clean ? 0 : 1);
