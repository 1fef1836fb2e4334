/**
 * Quiescence and convergence (LIVE-CONVERGENCE, spec/07-properties.md): nothing left
 * to happen without a new fault or scale request, and every cache equal to the truth.
 */
import {
  linksOf,
  podCacheOf,
  podStateHas,
  schedulerPodSentToNode,
  schedulerPodWaitsForNode,
  stateIsAlive,
  stateIsTombstone,
  type ChainConfig,
  type PodEntry,
} from '../machines/index.js';
import { linkIsSynced } from './invariants.js';
import { protocolActions, type World } from './world.js';

/** No current message, no sandbox operation under way, no link to connect. Stale messages may remain. */
export function isQuiescent(config: ChainConfig, world: World): boolean {
  return protocolActions(config, world).every((a) => a.kind === 'deliverStale' || a.kind === 'dropStale');
}

export interface FunctionStatus {
  readonly function: string;
  readonly desired: number;
  readonly running: number;
  /** Pods waiting at the Scheduler for capacity. */
  readonly waiting: number;
}

export function functionStatus(config: ChainConfig, world: World): FunctionStatus[] {
  const scheduler = world.stages['scheduler'];
  const waiting = scheduler === undefined ? [] : [...podCacheOf(scheduler).entries()].filter((e) => schedulerPodWaitsForNode(e.lifecycle));
  return config.functions.map((f) => {
    let running = 0;
    for (const node of config.nodes) for (const s of Object.values(world.sandboxes[node.name] ?? {})) if (s.pod.function === f.name && s.state === 'running') running++;
    return { function: f.name, desired: world.store[f.name] ?? 0, running, waiting: waiting.filter((e) => e.record.function === f.name).length };
  });
}

/** Why the world is not converged; empty when it is. */
export function convergenceProblems(config: ChainConfig, world: World): string[] {
  const problems: string[] = [];
  if (!isQuiescent(config, world)) problems.push('not quiescent: messages or sandbox operations are still under way');
  for (const link of linksOf(config)) if (!linkIsSynced(world, link)) problems.push(`link ${link} is not synced`);
  for (const [stage, state] of Object.entries(world.stages)) {
    const tombstones = [...podCacheOf(state).entries()].filter((e) => stateIsTombstone(e.lifecycle));
    if (tombstones.length > 0) problems.push(`${stage} still holds ${tombstones.length} tombstone(s)`);
  }
  const replicaset = world.stages['replicaset'];
  const scheduler = world.stages['scheduler'];
  if (replicaset === undefined || scheduler === undefined) return problems;
  const rsPods = podCacheOf(replicaset);
  const schedPods = podCacheOf(scheduler);
  sameNames('replicaset', rsPods.toJSON(), 'scheduler', schedPods.toJSON(), problems);
  for (const node of config.nodes) {
    const kubelet = world.stages[`kubelet:${node.name}`];
    if (kubelet === undefined) continue;
    const bound: Record<string, PodEntry> = {};
    for (const [name, e] of schedPods.entriesByName()) if (e.record.node === node.name && schedulerPodSentToNode(e.lifecycle)) bound[name] = e;
    sameNames('scheduler', bound, `kubelet:${node.name}`, podCacheOf(kubelet).toJSON(), problems);
    for (const e of Object.values(bound)) if (!podStateHas('scheduler-pod', e.lifecycle, 'clean')) problems.push(`scheduler holds ${e.record.name} as ${e.lifecycle}, not running`);
  }
  for (const status of functionStatus(config, world)) {
    const expected = status.desired;
    if (status.running + status.waiting !== expected)
      problems.push(`${status.function}: ${status.running} running + ${status.waiting} waiting, desired ${expected}`);
    if (status.waiting > 0 && freeCapacity(config, world) > 0)
      problems.push(`${status.function}: ${status.waiting} pod(s) wait although capacity is free`);
  }
  for (const [name, e] of rsPods.entriesByName())
    if (stateIsAlive(e.lifecycle) && !podStateHas('replicaset-pod', e.lifecycle, 'clean') && !schedulerPodWaitsForNode(schedPods.get(name)?.lifecycle ?? 'unknown'))
    problems.push(`replicaset holds ${name} as ${e.lifecycle}`);
  return problems;
}

function freeCapacity(config: ChainConfig, world: World): number {
  let free = 0;
  for (const node of config.nodes) free += node.capacity - Object.keys(world.sandboxes[node.name] ?? {}).length;
  return free;
}

function sameNames(aName: string, a: Readonly<Record<string, PodEntry>>, bName: string, b: Readonly<Record<string, PodEntry>>, problems: string[]): void {
  for (const name of Object.keys(a)) if (!(name in b)) problems.push(`${aName} holds ${name}, ${bName} does not`);
  for (const name of Object.keys(b)) if (!(name in a)) problems.push(`${bName} holds ${name}, ${aName} does not`);
}

/** The same verdict as `convergenceProblems(...).length === 0`, without building messages (the checker's hot path). */
export function isConverged(config: ChainConfig, world: World): boolean {
  for (const channels of Object.values(world.links)) if (channels.down.current.length > 0 || channels.up.current.length > 0) return false;
  for (const node of config.nodes) for (const s of Object.values(world.sandboxes[node.name] ?? {})) if (s.state !== 'running') return false;
  for (const link of linksOf(config)) if (!linkIsSynced(world, link)) return false;
  return convergenceProblems(config, world).length === 0;
}
