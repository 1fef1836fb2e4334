/**
 * One entry point for every stage of a chain: initialize and step any stage by id.
 * Drivers (simulator, checker, runtime) use only this and the types it exports.
 */
import { assert } from '../core/assert.js';
import type { Effect, StepResult } from '../core/effects.js';
import type { StageEvent } from '../core/events.js';
import { nodeOfKubelet, roleOf, type StageId } from '../core/ids.js';
import { initAutoscaler, stepAutoscaler, type AutoscalerState } from './autoscaler.js';
import { creationWindowOf, type ChainConfig, type NodeSpec } from './config.js';
import { initDeployment, stepDeployment, type DeploymentState } from './deployment.js';
import { initKubelet, stepKubelet, type KubeletState, type SandboxInventoryItem } from './kubelet.js';
import { initReplicaSet, stepReplicaSet, type ReplicaSetState } from './replicaset.js';
import { initScheduler, stepScheduler, type SchedulerState } from './scheduler.js';
import { podGroupingOf, PodCache, type PodEntry } from './pod-cache.js';

export type StageState = AutoscalerState | DeploymentState | ReplicaSetState | SchedulerState | KubeletState;

/** What a stage starts from after a (re)start: everything else is volatile and lost. */
export interface StageBoot {
  /** Strictly greater than every earlier incarnation of this stage. */
  readonly incarnation: number;
  /** Autoscaler: the desired counts in the backing store. */
  readonly durableDesired?: Readonly<Record<string, number>>;
  /** Kubelet: the sandboxes that exist on the node. */
  readonly inventory?: readonly SandboxInventoryItem[];
}

function nodeSpec(config: ChainConfig, stage: StageId): NodeSpec {
  const name = nodeOfKubelet(stage);
  const node = config.nodes.find((n) => n.name === name);
  assert(node !== undefined, `unknown node ${name}`);
  return node;
}

export function initStage(config: ChainConfig, stage: StageId, boot: StageBoot): StageState {
  switch (roleOf(stage)) {
    case 'autoscaler':
      return initAutoscaler(boot.incarnation, boot.durableDesired ?? {});
    case 'deployment':
      return initDeployment(boot.incarnation);
    case 'replicaset':
      return initReplicaSet(boot.incarnation);
    case 'scheduler':
      return initScheduler({ variant: config.variant, nodes: config.nodes, functions: config.functions }, boot.incarnation);
    case 'kubelet': {
      const node = nodeSpec(config, stage);
      return initKubelet({ variant: config.variant, node: node.name, capacity: node.capacity, functions: config.functions }, boot.incarnation, boot.inventory ?? []);
    }
  }
}

/**
 * One step of one stage. `choices` picks among the alternatives where the spec leaves a
 * tie (DEC-52, machines/core/choices.ts): the model checker explores them, a runtime
 * passes none and gets the spec's rule.
 */
export function stepStage(config: ChainConfig, stage: StageId, state: StageState, event: StageEvent, choices?: readonly number[]): StepResult<StageState> {
  const variant = config.variant;
  switch (state.role) {
    case 'autoscaler':
      return stepAutoscaler({ variant, functions: config.functions }, state, event);
    case 'deployment':
      return stepDeployment({ variant }, state, event);
    case 'replicaset':
      return stepReplicaSet({ variant, functions: config.functions, creationWindowPodsMax: creationWindowOf(config) }, state, event);
    case 'scheduler':
      return stepScheduler(choices === undefined ? { variant, nodes: config.nodes, functions: config.functions } : { variant, nodes: config.nodes, functions: config.functions, choices }, state, event);
    case 'kubelet': {
      const node = nodeSpec(config, stage);
      return stepKubelet({ variant, node: node.name, capacity: node.capacity, functions: config.functions }, state, event);
    }
  }
}

/**
 * What a stage asks of its driver right after (re)starting, before any event: a
 * restarted Kubelet re-issues the kill of every sandbox it found being killed, because
 * the request of its previous incarnation may have died with it (REQ-POD-013).
 */
export function bootEffects(state: StageState): Effect[] {
  if (state.role !== 'kubelet') return [];
  return [...state.pods.inLifecycle('killing').values()].map((e) => {
    assert(e.origin !== null, `a sandbox being killed keeps the origin of its tombstone: ${e.record.name}`);
    return { type: 'sandbox.kill' as const, pod: e.record, origin: e.origin };
  });
}

/**
 * A stage state from its JSON form (`JSON.parse(JSON.stringify(state))`): the pod
 * cache becomes a `PodCache` again; everything else is plain data already.
 */
export function reviveStageState(json: unknown): StageState {
  const plain = json as StageState;
  if (plain.role === 'replicaset' || plain.role === 'scheduler' || plain.role === 'kubelet')
    return { ...plain, pods: PodCache.fromJSON(plain.pods as unknown as Record<string, PodEntry>, podGroupingOf[plain.role]) } as StageState;
  return plain;
}
