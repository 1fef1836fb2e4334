/**
 * Read-only views of a stage's state that drivers, invariants and inspectors need:
 * the session sides per link and the pod cache. Drivers read state only through these.
 */
import type { LinkId } from '../core/ids.js';
import type { StageState } from './chain.js';
import { PodCache } from './pod-cache.js';
import type { ClientSide, ServerSide } from './session-sides.js';

export function clientSides(state: StageState): ClientSide[] {
  switch (state.role) {
    case 'autoscaler':
      return [state.toDeployment];
    case 'deployment':
      return [state.toReplicaSet];
    case 'replicaset':
      return [state.toScheduler];
    case 'scheduler':
      return Object.values(state.toKubelets);
    case 'kubelet':
      return [];
  }
}

export function serverSide(state: StageState): ServerSide | null {
  switch (state.role) {
    case 'autoscaler':
      return null;
    case 'deployment':
      return state.fromAutoscaler;
    case 'replicaset':
      return state.fromDeployment;
    case 'scheduler':
      return state.fromReplicaSet;
    case 'kubelet':
      return state.fromScheduler;
  }
}

export function clientSideOf(state: StageState, link: LinkId): ClientSide | undefined {
  return clientSides(state).find((side) => side.link === link);
}

const noPods = PodCache.empty();

export function podCacheOf(state: StageState): PodCache {
  return state.role === 'replicaset' || state.role === 'scheduler' || state.role === 'kubelet' ? state.pods : noPods;
}

/** A stage is warm when each of its downstream links has synced in this incarnation. */
export function stageIsWarm(state: StageState): boolean {
  return clientSides(state).every((side) => side.everSynced);
}

/** A desired count a stage holds: clean once the downstream has confirmed it. */
export interface DesiredCountView {
  readonly function: string;
  readonly desired: number;
  readonly clean: boolean;
}

/** The desired counts a stage holds (Autoscaler, Deployment, ReplicaSet); none for the others. */
export function desiredCounts(state: StageState): DesiredCountView[] {
  switch (state.role) {
    case 'autoscaler':
    case 'deployment':
      return Object.entries(state.scales).map(([fn, e]) => ({ function: fn, desired: e.desired, clean: e.lifecycle === 'applied' }));
    case 'replicaset':
      // The ReplicaSet is the last stage that holds counts: what it holds is applied.
      return Object.entries(state.desired).map(([fn, desired]) => ({ function: fn, desired, clean: true }));
    default:
      return [];
  }
}
