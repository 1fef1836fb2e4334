/**
 * Quiescence and convergence (LIVE-CONVERGENCE, spec/07-properties.md) of a simulated
 * world: nothing left to happen without a new fault or scale request, and every cache
 * equal to the truth. The rule itself is machines/stages/convergence.ts, shared with
 * `kd status`; this file only observes a world for it.
 */
import {
  clientSessionEpoch,
  clientSides,
  convergenceProblemsOf,
  desiredCounts,
  functionCountsOf,
  linksOf,
  podCacheOf,
  serverSide,
  type ChainConfig,
  type ChainObservation,
  type FunctionCounts,
  type ObservedSession,
  type ObservedStage,
  type StageId,
  type StageState,
} from '../machines/index.js';
import { linkIsSynced } from './invariants.js';
import { protocolActions, type World } from './world.js';

/** No current message, no sandbox operation under way, no link to connect. Stale messages may remain. */
export function isQuiescent(config: ChainConfig, world: World): boolean {
  return protocolActions(config, world).every((a) => a.kind === 'deliverStale' || a.kind === 'dropStale');
}

export type FunctionStatus = FunctionCounts;

function observeStage(state: StageState): ObservedStage {
  const sessions = new Map<string, ObservedSession>();
  const server = serverSide(state);
  if (server !== null) sessions.set(server.link, { session: server.session, epoch: server.epoch });
  for (const side of clientSides(state)) sessions.set(side.link, { session: side.session, epoch: clientSessionEpoch(side) });
  const pods = [...podCacheOf(state).entries()].map((e) => ({ name: e.record.name, function: e.record.function, node: e.record.node, lifecycle: e.lifecycle }));
  return { pods, scales: desiredCounts(state), sessions };
}

/** The world as the convergence rule sees it; the sandboxes on the nodes are what runs. */
export function observeWorld(config: ChainConfig, world: World): ChainObservation {
  const stages = new Map<StageId, ObservedStage>();
  for (const [stage, state] of Object.entries(world.stages)) stages.set(stage, observeStage(state));
  const running: Record<string, number> = {};
  let freeCapacity = 0;
  for (const node of config.nodes) {
    const sandboxes = Object.values(world.sandboxes[node.name] ?? {});
    freeCapacity += node.capacity - sandboxes.length;
    for (const s of sandboxes) if (s.state === 'running') running[s.pod.function] = (running[s.pod.function] ?? 0) + 1;
  }
  return { config, stages, desired: world.store, running, freeCapacity, quiescent: isQuiescent(config, world) };
}

export function functionStatus(config: ChainConfig, world: World): FunctionStatus[] {
  return functionCountsOf(observeWorld(config, world));
}

/** Why the world is not converged; empty when it is. */
export function convergenceProblems(config: ChainConfig, world: World): string[] {
  return convergenceProblemsOf(observeWorld(config, world));
}

/** The same verdict as `convergenceProblems(...).length === 0`, rejecting the common cases first without building an observation (the checker's hot path). */
export function isConverged(config: ChainConfig, world: World): boolean {
  for (const channels of Object.values(world.links)) if (channels.down.current.length > 0 || channels.up.current.length > 0) return false;
  for (const node of config.nodes) for (const s of Object.values(world.sandboxes[node.name] ?? {})) if (s.state !== 'running') return false;
  for (const link of linksOf(config)) if (!linkIsSynced(world, link)) return false;
  return convergenceProblems(config, world).length === 0;
}
