/**
 * The sustained-throughput run: one large scale-up (20,000 pods by default, over the
 * functions of the last cluster series) in each mode, repeated and interleaved like the
 * bursts. It is long enough for the chain to run full for a while, so its steady rate
 * (traces.ts `steadyRateOf`: the middle 80% of the starts) is the chain's sustained
 * throughput; the whole-run rate (pods / latency) is reported next to it.
 */
import type { TransportKind } from '../../runtime/mediated/transport-config.js';
import type { BenchCluster } from './cluster.js';
import { runBurst, type BurstRun } from './run-burst.js';
import { median } from './stats.js';

/** Pods of the sustained run by default: 2,500 per Kubelet of the default 8. */
export const sustainedPodsDefault = 20_000;

export interface SustainedResult {
  readonly pods: number;
  readonly functions: number;
  readonly runs: readonly BurstRun[];
  /** Per mode, medians over the finished runs: pods / latency. */
  readonly podsPerSecondP50: Record<string, number | null>;
  /** Per mode, medians over the finished runs: the steady rate. */
  readonly steadyPodsPerSecondP50: Record<string, number | null>;
}

export async function runSustained(
  clusters: ReadonlyMap<TransportKind, BenchCluster>,
  pods: number,
  reps: number,
  timeoutMs: number,
  quietWaitMsMax: number,
  log: (line: string) => void,
): Promise<SustainedResult> {
  const modes = [...clusters.keys()];
  const runs: BurstRun[] = [];
  const gaveUp = new Set<TransportKind>();
  let functions = 0;
  for (let rep = 0; rep < reps; rep++) {
    // Alternate which mode goes first, as the bursts do.
    for (const mode of rep % 2 === 0 ? modes : [...modes].reverse()) {
      if (gaveUp.has(mode)) continue;
      const cluster = clusters.get(mode) as BenchCluster;
      functions = cluster.options.functions;
      const run = await runBurst(cluster, pods, rep, timeoutMs, true, quietWaitMsMax);
      runs.push(run);
      if (run.outcome !== 'finished') gaveUp.add(mode); // the cluster may still hold the pods: no more runs on it
      const rate = (perSecond: number | null): string => (perSecond === null ? '-' : `${Math.round(perSecond)} pods/s`);
      log(`${mode} sustained ${pods} pods over ${functions} fn rep ${rep + 1}/${reps}: ${run.outcome === 'finished' ? `steady ${rate(run.steadyPodsPerSecond)}, whole run ${rate(run.podsPerSecond)} (${Math.round(run.latencyMs ?? 0)} ms)` : run.outcome}${run.quiet ? '' : ', started without quiet'}`);
    }
  }
  const of = (mode: TransportKind): BurstRun[] => runs.filter((r) => r.mode === mode && r.outcome === 'finished');
  const medianOf = (pick: (r: BurstRun) => number | null): Record<string, number | null> =>
    Object.fromEntries(modes.map((m) => [m, median(of(m).flatMap((r) => (pick(r) === null ? [] : [pick(r) as number])))]));
  return { pods, functions, runs, podsPerSecondP50: medianOf((r) => r.podsPerSecond), steadyPodsPerSecondP50: medianOf((r) => r.steadyPodsPerSecond) };
}
