/**
 * `npm run bench:profile -- DIR`: where the CPU of profiled stage processes went. Reads
 * every V8 `.cpuprofile` in DIR (written by stages started with
 * `--node-flags "--cpu-prof --cpu-prof-dir=DIR"`, kd up or bench:burst) and prints the
 * self time of the top functions over all of them, and the share of named groups of
 * code (the machines' sorted map, the trace, gRPC/HTTP/2, GC, ...), each a pattern on
 * the function's file or name.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseCommandLineOrExit, type CommandLineSpec } from '../cli/args.js';
import { exitCodes } from '../cli/exit-codes.js';

export interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Groups of code whose share is printed, first match wins (on "file function"). */
const codeGroups: ReadonlyArray<readonly [string, RegExp]> = [
  ['GC', /^ \(garbage collector\)$/],
  ['idle', /^ \((idle|program)\)$/],
  ['sorted map (machines/core/sorted-map.ts)', /sorted-map/],
  ['pod cache (machines/stages/pod-cache.ts)', /pod-cache/],
  ['trace (runtime/observe)', /observe\/trace|trace-/],
  ['gRPC and HTTP/2', /@grpc|node:http2|internal\/http2|grpc-js/],
  ['protobuf codec (runtime/wire)', /runtime\/wire|protobufjs|proto-loader/],
  ['xstate', /xstate/],
  ['machines (other)', /machines\//],
  ['runtime (other)', /runtime\//],
  ['node internals', /^node:|internal\//],
];

export const profileSummaryCommandLine = {
  command: 'bench:profile',
  program: 'npm run',
  about: 'Sums the self time of every function over the V8 CPU profiles (.cpuprofile) in DIR and prints the top ones and the share of named groups of code.',
  arguments: [{ name: 'DIR', kind: 'text', help: 'the --cpu-prof-dir the stages wrote to' }],
  options: {
    top: { kind: 'whole', value: 'N', min: 1, max: 1_000, default: 40, help: 'functions listed' },
    'skip-s': { kind: 'whole', value: 'N', min: 0, max: 86_400, default: 0, help: "leave out each profile's first N seconds (the process's start and warm-up)" },
  },
  example: 'npm run bench:profile -- /tmp/prof',
  exits: { ok: 'summarized' },
} as const satisfies CommandLineSpec;

/** The source file of each line of an esbuild bundle (its `// path.ts` comments), by line number from 0. */
function bundleModules(file: string): string[] {
  const modules: string[] = [];
  let current = '';
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (/^\/\/ \S+\.[cm]?[jt]s$/.test(line)) current = line.slice(3);
    modules.push(current);
  }
  return modules;
}

/** The file a frame's code comes from: the source file for a line of the kd bundle (out/kd), the package for node_modules. */
function fileOf(url: string, line: number, bundles: Map<string, string[]>): string {
  const path = url.replace(/^file:\/\//, '');
  if (/\/out\/kd\/[^/]+\.mjs$/.test(path)) {
    let modules = bundles.get(path);
    if (modules === undefined) {
      modules = bundleModules(path);
      bundles.set(path, modules);
    }
    return modules[line] ?? path;
  }
  return path.replace(/^.*\/node_modules\//, '').replace(/^.*\/(machines|runtime|cli|spec)\//, '$1/');
}

/** Self time per "file function" over the profiles (samples after `skipUs`), in microseconds. */
export function selfTimes(profiles: readonly CpuProfile[], skipUs: number): Map<string, number> {
  const times = new Map<string, number>();
  const bundles = new Map<string, string[]>();
  for (const profile of profiles) {
    const labels = new Map<number, string>();
    for (const node of profile.nodes) {
      const frame = node.callFrame;
      labels.set(node.id, `${fileOf(frame.url, frame.lineNumber, bundles)} ${frame.functionName || '(anonymous)'}`);
    }
    let elapsedUs = 0;
    profile.samples.forEach((id, i) => {
      const delta = profile.timeDeltas[i] ?? 0;
      elapsedUs += delta;
      if (elapsedUs < skipUs) return;
      const label = labels.get(id) ?? '?';
      times.set(label, (times.get(label) ?? 0) + delta);
    });
  }
  return times;
}

function main(): void {
  // `npm run bench:profile -- DIR | head` closes the pipe early: the reader's choice, not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  const parsed = parseCommandLineOrExit(profileSummaryCommandLine);
  const dir = String(parsed.arguments['DIR']);
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  } catch (error) {
    console.error(`bench:profile: cannot read ${dir}: ${(error as Error).message}`);
    process.exit(exitCodes.usage);
  }
  if (files.length === 0) {
    console.error(`bench:profile: no .cpuprofile in ${dir}; start the stages with --node-flags "--cpu-prof --cpu-prof-dir=${dir}" and stop them`);
    process.exit(exitCodes.usage);
  }
  const times = selfTimes(files.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile), parsed.options['skip-s'] * 1_000_000);
  const busy = [...times].filter(([label]) => !codeGroups[1]?.[1].test(label));
  const total = busy.reduce((sum, [, us]) => sum + us, 0);
  console.log(`${files.length} profiles, ${(total / 1000).toFixed(0)} ms of CPU sampled (idle and program left out)`);
  const groups = new Map<string, number>();
  for (const [label, us] of busy) {
    const group = codeGroups.find(([, pattern]) => pattern.test(label))?.[0] ?? 'other';
    groups.set(group, (groups.get(group) ?? 0) + us);
  }
  for (const [group, us] of [...groups].sort((a, b) => b[1] - a[1])) console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${group}`);
  console.log('');
  for (const [label, us] of busy.sort((a, b) => b[1] - a[1]).slice(0, parsed.options.top)) console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${label}`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) main();
