/**
 * `npx tsx bench/machines/pod-cache-steps.ts`: the pod cache alone, transient against
 * persistent updates, side by side in one process. One step puts N pods in three times
 * (arrive unscheduled, placed on 8 nodes, forwarded: the Scheduler's grouping, so every
 * put also moves the entry between groups), as one step of the Scheduler or the
 * ReplicaSet does in a burst; five such steps per measurement, both modes interleaved,
 * CPU time, medians.
 */
import { parseCommandLineOrExit } from '../../cli/args.js';
import { TreeEdit } from '../../machines/core/sorted-map.js';
import type { SchedulerPodState } from '../../machines/pods/scheduler-pod.machine.js';
import { PodCache, podGroupingOf } from '../../machines/stages/pod-cache.js';
import { median } from '../burst/stats.js';

const { options } = parseCommandLineOrExit({
  command: 'tsx bench/machines/pod-cache-steps.ts',
  program: 'npx',
  about: 'The pod cache alone: steps of N pods, each put three times, with transient updates (one edit per step) against persistent ones; CPU time, medians of interleaved measurements.',
  options: {
    pods: { kind: 'whole', value: 'N', min: 1, max: 1_000_000, default: 1000, help: 'pods per step' },
    runs: { kind: 'whole', value: 'N', min: 1, max: 10_000, default: 30, help: 'measurements of each mode (after as many unmeasured ones)' },
  },
  example: 'npx tsx bench/machines/pod-cache-steps.ts --pods 1000',
  exits: { ok: 'measured' },
});

const stepsPerMeasurement = 5;
const lifecycles: readonly SchedulerPodState[] = ['unscheduled', 'pending', 'bound'];

function step(start: PodCache<SchedulerPodState>, pods: number, round: number, transient: boolean): PodCache<SchedulerPodState> {
  const edit = transient ? new TreeEdit() : null;
  let cache = start;
  for (const lifecycle of lifecycles)
    for (let i = 0; i < pods; i++) {
      const node = lifecycle === 'unscheduled' ? null : `n${i % 8}`;
      cache = cache.put({ record: { name: `fn-${round}-${String(i).padStart(6, '0')}`, function: 'fn', priority: 0, node }, lifecycle, origin: null }, edit);
    }
  edit?.close();
  return cache;
}

function measure(transient: boolean): number {
  let cache = PodCache.empty(podGroupingOf.scheduler);
  const started = process.cpuUsage();
  for (let round = 0; round < stepsPerMeasurement; round++) cache = step(cache, options.pods, round, transient);
  const used = process.cpuUsage(started);
  cache.checkGroups();
  return (used.user + used.system) / 1000;
}

const cpuMs = { persistent: [] as number[], transient: [] as number[] };
for (let run = 0; run < 2 * options.runs; run++)
  for (const transient of run % 2 === 0 ? [false, true] : [true, false]) {
    const ms = measure(transient);
    if (run >= options.runs) cpuMs[transient ? 'transient' : 'persistent'].push(ms);
  }
const persistent = median(cpuMs.persistent) ?? 0;
const transient = median(cpuMs.transient) ?? 0;
console.log(`${stepsPerMeasurement} steps of ${options.pods} pods, 3 puts each (Scheduler grouping): persistent ${persistent.toFixed(1)} CPU-ms, transient ${transient.toFixed(1)} CPU-ms, ${(persistent / transient).toFixed(2)}x (medians of ${options.runs} interleaved)`);
