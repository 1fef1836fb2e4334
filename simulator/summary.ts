/** One-line summaries of each stage's cache, for progress output. */
import { podCacheOf, type ChainConfig } from '../machines/index.js';
import type { World } from './world.js';

function countBy(states: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of states) counts.set(s, (counts.get(s) ?? 0) + 1);
  return counts;
}

function lifecycles(world: World, stage: string): string[] {
  const state = world.stages[stage];
  return state === undefined ? [] : [...podCacheOf(state).entries()].map((e) => e.lifecycle);
}

export interface CacheSummary {
  readonly replicaset: { pending: number; dirty: number; clean: number; tombstones: number };
  readonly scheduler: { waiting: number; dirty: number; clean: number; tombstones: number };
  readonly kubelets: { starting: number; running: number; killing: number };
  readonly inFlight: number;
}

export function summarize(config: ChainConfig, world: World): CacheSummary {
  const rs = countBy(lifecycles(world, 'replicaset'));
  const sc = countBy(lifecycles(world, 'scheduler'));
  const kube = countBy(config.nodes.flatMap((n) => lifecycles(world, `kubelet:${n.name}`)));
  let inFlight = 0;
  for (const channels of Object.values(world.links)) inFlight += channels.down.current.length + channels.up.current.length;
  const tomb = (m: Map<string, number>) => (m.get('terminating.unsent') ?? 0) + (m.get('terminating.sent') ?? 0);
  return {
    replicaset: { pending: rs.get('pending') ?? 0, dirty: rs.get('provisioned') ?? 0, clean: rs.get('running') ?? 0, tombstones: tomb(rs) },
    scheduler: { waiting: (sc.get('unscheduled') ?? 0) + (sc.get('pending') ?? 0), dirty: sc.get('bound') ?? 0, clean: sc.get('running') ?? 0, tombstones: tomb(sc) },
    kubelets: { starting: kube.get('starting') ?? 0, running: kube.get('running') ?? 0, killing: kube.get('killing') ?? 0 },
    inFlight,
  };
}

export const summaryHeader = 'step      replicaset pend/dirty/clean/tomb   scheduler wait/dirty/clean/tomb   kubelets start/run/kill   in-flight';

export function formatSummary(step: number, s: CacheSummary): string {
  const rs = `${s.replicaset.pending}/${s.replicaset.dirty}/${s.replicaset.clean}/${s.replicaset.tombstones}`;
  const sc = `${s.scheduler.waiting}/${s.scheduler.dirty}/${s.scheduler.clean}/${s.scheduler.tombstones}`;
  const ku = `${s.kubelets.starting}/${s.kubelets.running}/${s.kubelets.killing}`;
  return `${String(step).padEnd(9)} ${rs.padEnd(36)} ${sc.padEnd(33)} ${ku.padEnd(25)} ${s.inFlight}`;
}
