/** One-line summaries of each stage's cache, for progress output. */
import { podCacheClassOf, podCacheOf, podMachineOfRole, roleOf, type ChainConfig, type PodCacheClass } from '../machines/index.js';
import type { World } from './world.js';

type ClassCounts = Record<PodCacheClass, number>;

/** The entries of stages' caches by cache class (tags of the pod machines). */
function classCounts(world: World, stages: readonly string[]): ClassCounts {
  const counts: ClassCounts = { waiting: 0, dirty: 0, clean: 0, tombstone: 0 };
  for (const stage of stages) {
    const state = world.stages[stage];
    const machine = podMachineOfRole(roleOf(stage));
    if (state === undefined || machine === null) continue;
    const pods = podCacheOf(state);
    for (const lifecycle of pods.lifecycles()) {
      const cacheClass = podCacheClassOf(machine, lifecycle);
      if (cacheClass !== null) counts[cacheClass] += pods.countIn(lifecycle);
    }
  }
  return counts;
}

export interface CacheSummary {
  readonly replicaset: { pending: number; dirty: number; clean: number; tombstones: number };
  readonly scheduler: { waiting: number; dirty: number; clean: number; tombstones: number };
  readonly kubelets: { starting: number; running: number; killing: number };
  readonly inFlight: number;
}

export function summarize(config: ChainConfig, world: World): CacheSummary {
  const rs = classCounts(world, ['replicaset']);
  const sc = classCounts(world, ['scheduler']);
  // A Kubelet's sandbox is dirty while starting, clean when running, a tombstone while being killed.
  const kube = classCounts(world, config.nodes.map((n) => `kubelet:${n.name}`));
  let inFlight = 0;
  for (const channels of Object.values(world.links)) inFlight += channels.down.current.length + channels.up.current.length;
  return {
    replicaset: { pending: rs.waiting, dirty: rs.dirty, clean: rs.clean, tombstones: rs.tombstone },
    scheduler: { waiting: sc.waiting, dirty: sc.dirty, clean: sc.clean, tombstones: sc.tombstone },
    kubelets: { starting: kube.dirty, running: kube.clean, killing: kube.tombstone },
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
