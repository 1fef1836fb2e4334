/**
 * Named scenarios for `kd simulate --scenario NAME` and the tests: a burst, then the
 * fault or change the name says, in the middle of the traffic.
 */
import { chainLinks, kubeletId, schedulerToKubelet, type ChainConfig } from '../machines/index.js';
import type { Scenario } from './scenario.js';

export interface ScenarioParameters {
  readonly config: ChainConfig;
  /** Desired count of the first function. */
  readonly replicas: number;
}

type Builder = (p: ScenarioParameters) => Scenario;

function firstFunction(p: ScenarioParameters): string {
  const f = p.config.functions[0];
  if (f === undefined) throw new Error('the scenario needs at least one function');
  return f.name;
}

function firstNode(p: ScenarioParameters): string {
  const n = p.config.nodes[0];
  if (n === undefined) throw new Error('the scenario needs at least one node');
  return n.name;
}

/** Steps into the burst at which faults strike: early enough that messages are in flight. */
const midBurstSteps = 6;

function crashDuringBurst(stage: string): Builder {
  return (p) => [
    { op: 'scale', function: firstFunction(p), desired: p.replicas },
    { op: 'run', steps: midBurstSteps * 4 },
    { op: 'crash', stage },
    { op: 'run', steps: midBurstSteps * 4 },
    { op: 'scale', function: firstFunction(p), desired: Math.floor(p.replicas / 2) },
    { op: 'run', steps: midBurstSteps },
    { op: 'crash', stage },
  ];
}

export const namedScenarios: Readonly<Record<string, { readonly description: string; readonly build: Builder }>> = {
  'scale-up': {
    description: 'one burst from 0 to --replicas',
    build: (p) => [{ op: 'scale', function: firstFunction(p), desired: p.replicas }],
  },
  'scale-down': {
    description: 'scale up to --replicas, converge, then down to a quarter (terminations with tombstones)',
    build: (p) => [
      { op: 'scale', function: firstFunction(p), desired: p.replicas },
      { op: 'run' },
      { op: 'scale', function: firstFunction(p), desired: Math.floor(p.replicas / 4) },
    ],
  },
  preemption: {
    description: 'fill every node with the first (low-priority) function, then scale the last (high-priority) one',
    build: (p) => {
      const high = p.config.functions[p.config.functions.length - 1];
      const capacity = p.config.nodes.reduce((sum, n) => sum + n.capacity, 0);
      return [
        { op: 'scale', function: firstFunction(p), desired: capacity },
        { op: 'run' },
        { op: 'scale', function: high?.name ?? firstFunction(p), desired: Math.max(1, Math.floor(capacity / 4)) },
      ];
    },
  },
  'crash-autoscaler': { description: 'crash and restart the Autoscaler twice during scaling', build: crashDuringBurst('autoscaler') },
  'crash-deployment': { description: 'crash and restart the Deployment twice during scaling', build: crashDuringBurst('deployment') },
  'crash-replicaset': { description: 'crash and restart the ReplicaSet twice during scaling', build: crashDuringBurst('replicaset') },
  'crash-scheduler': { description: 'crash and restart the Scheduler twice during scaling', build: crashDuringBurst('scheduler') },
  'crash-kubelet': {
    description: 'restart the first Kubelet process twice during scaling (its sandboxes survive)',
    build: (p) => crashDuringBurst(kubeletId(firstNode(p)))(p),
  },
  'link-cut': {
    description: 'cut the ReplicaSet-Scheduler link and a Scheduler-Kubelet link during scaling',
    build: (p) => [
      { op: 'scale', function: firstFunction(p), desired: p.replicas },
      { op: 'run', steps: midBurstSteps * 6 },
      { op: 'cut', link: chainLinks.replicaSetToScheduler },
      { op: 'run', steps: midBurstSteps * 4 },
      { op: 'cut', link: schedulerToKubelet(firstNode(p)) },
      { op: 'scale', function: firstFunction(p), desired: Math.floor(p.replicas / 2) },
      { op: 'run', steps: midBurstSteps * 3 },
      { op: 'cut', link: chainLinks.deploymentToReplicaSet },
    ],
  },
  'node-crash': {
    description: 'crash the first node (its sandboxes die) after the burst converged; replacements start elsewhere',
    build: (p) => [{ op: 'scale', function: firstFunction(p), desired: p.replicas }, { op: 'run' }, { op: 'nodeCrash', node: firstNode(p) }],
  },
};

export function scenarioNames(): string[] {
  return Object.keys(namedScenarios);
}
