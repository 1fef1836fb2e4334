/**
 * Safety invariants checked on every world state, by spec ID (spec/properties.ts).
 * The transition-based ones (fencing, names, resurrection, needless kills, restart
 * after death) are checked in ghost.ts as each step happens.
 */
import {
  kubeletId,
  linkEnds,
  linksOf,
  nodeOfKubelet,
  podCacheOf,
  roleOf,
  roleRank,
  serverSide,
  clientSideOf,
  stateIsAlive,
  stateIsTombstone,
  type ChainConfig,
  type LinkId,
  type PodEntry,
} from '../machines/index.js';
import type { Violation } from './ghost.js';
import { isForgedPodName } from './forged-pods.js';
import type { World } from './world.js';

/** A link is synced when both ends are synced in the same epoch. */
export function linkIsSynced(world: World, link: LinkId): boolean {
  const { upstream, downstream } = linkEnds(link);
  const up = world.stages[upstream];
  const down = world.stages[downstream];
  if (up === undefined || down === undefined) return false;
  const client = clientSideOf(up, link);
  const server = serverSide(down);
  return client !== undefined && server !== null && client.session === 'synced' && server.session === 'synced' && client.epoch === server.epoch;
}

/** The upstream's entries that concern the downstream of `link` (the Scheduler keeps one view per node). */
function upstreamView(world: World, link: LinkId): Readonly<Record<string, PodEntry>> {
  const { upstream, downstream } = linkEnds(link);
  const state = world.stages[upstream];
  if (state === undefined) return {};
  const cache = podCacheOf(state);
  if (roleOf(downstream) !== 'kubelet') return cache.toJSON();
  const node = nodeOfKubelet(downstream);
  const view: Record<string, PodEntry> = {};
  for (const [name, entry] of cache.entriesByName()) if (entry.record.node === node) view[name] = entry;
  return view;
}

export function checkInvariants(config: ChainConfig, world: World): Violation[] {
  const violations: Violation[] = [];
  for (const link of linksOf(config)) {
    if (!linkIsSynced(world, link)) continue;
    const { upstream, downstream } = linkEnds(link);
    if (roleOf(upstream) !== 'replicaset' && roleOf(upstream) !== 'scheduler') continue; // links that carry pods
    const below = world.stages[downstream];
    if (below === undefined) continue;
    const above = upstreamView(world, link);
    for (const [name, entry] of podCacheOf(below).entriesByName()) {
      const held = above[name];
      if (stateIsAlive(entry.lifecycle) && held === undefined)
        violations.push({ property: 'INV-CACHE-COVERAGE', message: `${downstream} holds ${name} alive, unknown to ${upstream} on synced link ${link}` });
      if (stateIsTombstone(entry.lifecycle) && entry.origin !== null && roleRank(entry.origin) <= roleRank(roleOf(upstream)) && (held === undefined || !stateIsTombstone(held.lifecycle)))
        violations.push({
          property: 'INV-TOMBSTONE-DOMINANCE',
          message: `${downstream} holds a tombstone for ${name} (from ${entry.origin}) that ${upstream} no longer holds on synced link ${link}`,
        });
    }
  }
  const perFunction = new Map<string, number>();
  const nodesOfPod = new Map<string, string[]>();
  for (const node of config.nodes) {
    const sandboxes = Object.values(world.sandboxes[node.name] ?? {});
    if (sandboxes.length > node.capacity)
      violations.push({ property: 'INV-CAPACITY', message: `${node.name} holds ${sandboxes.length} sandboxes, capacity ${node.capacity}` });
    for (const s of sandboxes) {
      // A forged pod (the forgedPod fault) was never asked for: the overshoot is of the ReplicaSet's pods.
      if (!isForgedPodName(s.pod.name)) perFunction.set(s.pod.function, (perFunction.get(s.pod.function) ?? 0) + 1);
      nodesOfPod.set(s.pod.name, [...(nodesOfPod.get(s.pod.name) ?? []), node.name]);
    }
  }
  for (const [fn, count] of perFunction) {
    const max = world.ghost.maxDesired[fn] ?? 0;
    if (count > max) violations.push({ property: 'INV-NO-OVERSHOOT', message: `${count} sandboxes of ${fn} are alive, above the highest desired count ${max}` });
  }
  for (const [pod, nodes] of nodesOfPod)
    if (nodes.length > 1) violations.push({ property: 'INV-UNIQUE-PLACEMENT', message: `${pod} has sandboxes on ${nodes.join(' and ')}` });
  for (const node of config.nodes) sandboxesHeldProblems(world, node.name, violations);
  return violations;
}

/** Kubelet pod states that stand for a sandbox, and the sandbox state each stands for. */
const sandboxStateOfKubeletPod: Readonly<Record<string, string>> = { starting: 'starting', running: 'running', killing: 'killing' };

/** INV-SANDBOX-HELD: what the Kubelet of `node` holds as starting, running or being killed is exactly the node's sandboxes, in the same state. */
function sandboxesHeldProblems(world: World, node: string, violations: Violation[]): void {
  const kubelet = world.stages[kubeletId(node)];
  if (kubelet === undefined) return;
  const sandboxes = world.sandboxes[node] ?? {};
  const held = new Set<string>();
  for (const [name, entry] of podCacheOf(kubelet).entriesByName()) {
    const expected = sandboxStateOfKubeletPod[entry.lifecycle];
    if (expected === undefined) continue;
    held.add(name);
    const sandbox = sandboxes[name];
    if (sandbox === undefined) violations.push({ property: 'INV-SANDBOX-HELD', message: `the Kubelet of ${node} holds ${name} as ${entry.lifecycle}, but ${node} has no sandbox of it` });
    else if (sandbox.state !== expected)
      violations.push({ property: 'INV-SANDBOX-HELD', message: `the Kubelet of ${node} holds ${name} as ${entry.lifecycle}, but its sandbox is ${sandbox.state}` });
  }
  for (const name of Object.keys(sandboxes))
    if (!held.has(name)) violations.push({ property: 'INV-SANDBOX-HELD', message: `${node} has a sandbox of ${name} that its Kubelet does not hold` });
}
