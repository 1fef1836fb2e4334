/** Static configuration of a chain and of each stage in it. */
import type { ProtocolVariant } from '../../spec/variants.js';
import { assert } from '../core/assert.js';
import { kubeletId, linkId, type LinkId, type StageId } from '../core/ids.js';
import { creationWindowPodsMax, desiredMax, functionNameLengthMax, nodeCapacityMax } from '../core/limits.js';

export interface FunctionSpec {
  readonly name: string;
  /** Higher wins at preemption. */
  readonly priority: number;
}

/** Each configured functions list by name, built once per list (a memo of pure values): every pod a stage takes is checked against it. */
const functionsByName = new WeakMap<readonly FunctionSpec[], ReadonlyMap<string, FunctionSpec>>();

/** The configured function named `name`, if any (REQ-POD-008: a stage takes pods only of configured functions). */
export function functionSpecOf(functions: readonly FunctionSpec[], name: string): FunctionSpec | undefined {
  let byName = functionsByName.get(functions);
  if (byName === undefined) {
    byName = new Map(functions.map((f) => [f.name, f]));
    functionsByName.set(functions, byName);
  }
  return byName.get(name);
}

export interface NodeSpec {
  readonly name: string;
  readonly capacity: number;
}

export interface ChainConfig {
  readonly functions: readonly FunctionSpec[];
  readonly nodes: readonly NodeSpec[];
  readonly variant: ProtocolVariant;
  /**
   * The ReplicaSet's creation window (REQ-RS-007): alive pods of one function not yet
   * confirmed running, at most. Absent: `creationWindowPodsMax` of spec/limits.ts. A
   * model sets it small (the checker's `ci-window` preset) to explore the refills.
   */
  readonly creationWindowPodsMax?: number;
}

/** The creation window a chain runs with (REQ-RS-007). */
export function creationWindowOf(config: ChainConfig): number {
  return config.creationWindowPodsMax ?? creationWindowPodsMax;
}

const dnsLabel = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Checks a chain configuration; returns the problems, each with what to change. */
export function chainConfigProblems(config: ChainConfig): string[] {
  const problems: string[] = [];
  if (config.nodes.length === 0) problems.push('at least one node is needed: add one to nodes');
  const functionNames = new Set<string>();
  for (const f of config.functions) {
    if (!dnsLabel.test(f.name) || f.name.length > functionNameLengthMax)
      problems.push(`function name "${f.name}" must be a DNS label (a-z, 0-9, '-') of at most ${functionNameLengthMax} characters`);
    if (functionNames.has(f.name)) problems.push(`function "${f.name}" is listed twice`);
    functionNames.add(f.name);
    if (!Number.isSafeInteger(f.priority)) problems.push(`function "${f.name}": priority must be an integer`);
  }
  const nodeNames = new Set<string>();
  for (const n of config.nodes) {
    if (!dnsLabel.test(n.name)) problems.push(`node name "${n.name}" must be a DNS label (a-z, 0-9, '-')`);
    if (nodeNames.has(n.name)) problems.push(`node "${n.name}" is listed twice`);
    nodeNames.add(n.name);
    if (!Number.isInteger(n.capacity) || n.capacity < 0 || n.capacity > nodeCapacityMax)
      problems.push(`node "${n.name}": capacity must be an integer from 0 to ${nodeCapacityMax}`);
  }
  const window = creationWindowOf(config);
  if (!Number.isInteger(window) || window < 1 || window > creationWindowPodsMax)
    problems.push(`creationWindowPodsMax must be an integer from 1 to ${creationWindowPodsMax}`);
  return problems;
}

export function assertChainConfig(config: ChainConfig): void {
  const problems = chainConfigProblems(config);
  assert(problems.length === 0, `invalid chain configuration: ${problems.join('; ')}`);
}

export function validDesired(desired: number): boolean {
  return Number.isInteger(desired) && desired >= 0 && desired <= desiredMax;
}

export const chainStages = {
  autoscaler: 'autoscaler',
  deployment: 'deployment',
  replicaset: 'replicaset',
  scheduler: 'scheduler',
} as const;

export const chainLinks = {
  autoscalerToDeployment: linkId('autoscaler', 'deployment'),
  deploymentToReplicaSet: linkId('deployment', 'replicaset'),
  replicaSetToScheduler: linkId('replicaset', 'scheduler'),
} as const;

export function schedulerToKubelet(node: string): LinkId {
  return linkId('scheduler', kubeletId(node));
}

const stagesCache = new WeakMap<ChainConfig, readonly StageId[]>();
const linksCache = new WeakMap<ChainConfig, readonly LinkId[]>();

/** Every stage of a chain, top first (computed once per configuration object). */
export function stagesOf(config: ChainConfig): readonly StageId[] {
  let stages = stagesCache.get(config);
  if (stages === undefined) {
    stages = ['autoscaler', 'deployment', 'replicaset', 'scheduler', ...config.nodes.map((n) => kubeletId(n.name))];
    stagesCache.set(config, stages);
  }
  return stages;
}

/** Every link of a chain, top first (computed once per configuration object). */
export function linksOf(config: ChainConfig): readonly LinkId[] {
  let links = linksCache.get(config);
  if (links === undefined) {
    links = [
      chainLinks.autoscalerToDeployment,
      chainLinks.deploymentToReplicaSet,
      chainLinks.replicaSetToScheduler,
      ...config.nodes.map((n) => schedulerToKubelet(n.name)),
    ];
    linksCache.set(config, links);
  }
  return links;
}
