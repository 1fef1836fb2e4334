/**
 * `npm run bench:floor`: the transport's floor (floor.ts): records across four gRPC hops
 * with no protocol work, latency and CPU per record. `bench:burst` prints the same
 * measurement beside its direct figures.
 *
 * Usage: npm run bench:floor -- [--records 1000] [--frame-records 1000] [--runs 20] [--warm-up-runs 20] [--json]
 */
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseCommandLineOrExit, type CommandLineSpec } from '../../cli/args.js';
import { batchRecordsMax } from '../../spec/limits.js';
import { measureFloor, type FloorResult } from './floor.js';

export const floorCommandLine = {
  command: 'bench:floor',
  program: 'npm run',
  about: `Measures the floor of the direct chain's transport: records moved across four gRPC
hops (five processes, each link a Link.Session stream with the runtime's codec, every
relay decoding and encoding each frame) with no protocol work at all.`,
  options: {
    records: { kind: 'whole', value: 'N', min: 1, max: 1_000_000, default: 1000, help: 'records per run' },
    'frame-records': { kind: 'whole', value: 'N', min: 1, max: batchRecordsMax, default: 1000, help: 'records per frame (the ReplicaSet sends a 1,000-pod burst in one frame)' },
    runs: { kind: 'whole', value: 'N', min: 1, max: 10_000, default: 20, help: 'measured runs' },
    'warm-up-runs': { kind: 'whole', value: 'N', min: 0, max: 10_000, default: 20, help: 'unmeasured runs first (the hot paths compiled)' },
    json: { kind: 'flag', help: 'print the JSON result' },
  },
  example: 'npm run bench:floor -- --records 1000',
  exits: { ok: 'measured', internal: 'a run did not finish' },
} as const satisfies CommandLineSpec;

export function floorText(result: FloorResult): string {
  const ms = (x: number | null): string => (x === null ? '-' : `${x.toFixed(1)} ms`);
  return `floor: ${result.records} records over ${result.hops} gRPC hops, ${result.frameRecords} per frame, no protocol work: ${ms(result.latencyMs.p50)} median (p90 ${ms(result.latencyMs.p90)}, max ${ms(result.latencyMs.p100)}, ${result.latencyMs.count} runs); CPU ${(result.cpuMsPerRecord * 1000).toFixed(1)} µs per record over the 5 processes`;
}

async function main(): Promise<void> {
  const { options } = parseCommandLineOrExit(floorCommandLine);
  const loadStart = loadavg();
  const result = await measureFloor({ records: options.records, frameRecords: Math.min(options['frame-records'], options.records), runs: options.runs, warmUpRuns: options['warm-up-runs'] });
  if (options.json) console.log(JSON.stringify({ ...result, loadAverageStart: loadStart, loadAverageEnd: loadavg() }, null, 2));
  else console.log(`${floorText(result)}; load average ${loadStart.map((l) => l.toFixed(1)).join(' ')} at start, ${loadavg().map((l) => l.toFixed(1)).join(' ')} at end`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) await main();
