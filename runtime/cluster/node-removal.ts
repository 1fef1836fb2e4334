/**
 * Removing a node from a local cluster (REQ-SCHED-010, DEC-29): the node is fenced
 * (its Kubelet stopped and, with the process driver, its sandboxes killed), the node
 * leaves the configuration, and the Scheduler restarts with it. The new Scheduler
 * incarnation never connects to the node; the ReplicaSet's reconciliation rolls its pods
 * back. This file only performs those steps: the protocol outcome is the machines'.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { kubeletId, linkEnds, type StageId } from '../../machines/index.js';
import { loadClusterConfig, type ClusterConfig } from '../config.js';
import { killProcessSandboxes } from '../node/process-sandboxes.js';
import { configFileOf, pidOf, processIsAlive, runningStages, startStageProcess, stopProcess, waitHealthy } from './local-cluster.js';

export class NodeRemovalRefused extends Error {}

export interface NodeRemoval {
  readonly node: string;
  /** What was done, in order, for the operator. */
  readonly steps: readonly string[];
  readonly config: ClusterConfig;
}

const stopGraceMs = 5_000;
const schedulerReadyMs = 30_000;

/**
 * Removes `node` from the running cluster in `dir`. Refuses, changing nothing, when the
 * node is unknown, is the last one, the cluster is stopped (no stage but the node's own
 * Kubelet runs: removing it would start a lone Scheduler), or its Kubelet still runs and
 * `fence` is false.
 */
export async function removeNode(dir: string, node: string, options: { readonly fence: boolean }): Promise<NodeRemoval> {
  const file = configFileOf(dir);
  const config = loadClusterConfig(file);
  const names = config.chain.nodes.map((n) => n.name);
  if (!names.includes(node)) throw new NodeRemovalRefused(`node "${node}" is not in the cluster; its nodes: ${names.join(', ')}`);
  if (names.length === 1) throw new NodeRemovalRefused(`"${node}" is the only node; a chain needs at least one (add a node before removing this one)`);
  const kubelet = kubeletId(node);
  const othersRunning = runningStages(dir).filter((r) => r.stage !== kubelet);
  if (othersRunning.length === 0)
    throw new NodeRemovalRefused(
      `the cluster in ${dir} is stopped (no stage of it runs): kd remove-node takes a node out of a running cluster and restarts its Scheduler, so it starts nothing and changes nothing here. ` +
        `A stopped cluster has no pods to move: start the next cluster with the nodes you want (for example: kd up --nodes ${names.length - 1} --dir ${dir})`,
    );
  const kubeletPid = pidOf(dir, kubelet);
  const kubeletRunning = kubeletPid !== null && processIsAlive(kubeletPid);
  if (kubeletRunning && !options.fence)
    throw new NodeRemovalRefused(
      `${kubelet} is still running (pid ${kubeletPid}); no sandbox of a removed node may stay alive (REQ-SCHED-010): fence the node first, or pass --fence to stop its Kubelet and kill its sandboxes`,
    );
  const steps: string[] = [];
  if (kubeletRunning && kubeletPid !== null) steps.push(`stopped ${kubelet} (pid ${kubeletPid}): ${await stopProcess(kubeletPid, stopGraceMs)}`);
  const kubeletEndpoint = config.stages[kubelet];
  if (options.fence && config.sandbox.driver === 'process' && kubeletEndpoint !== undefined) {
    const killed = killProcessSandboxes(kubeletEndpoint.dataDir);
    steps.push(`killed ${killed.length} sandbox process(es) of ${node}`);
  }

  writeFileSync(file, `${JSON.stringify(withoutNode(JSON.parse(readFileSync(file, 'utf8')) as RawConfig, node), null, 2)}\n`);
  const next = loadClusterConfig(file);
  steps.push(`removed ${node} from ${file}`);

  const schedulerPid = pidOf(dir, 'scheduler');
  if (schedulerPid !== null && processIsAlive(schedulerPid)) steps.push(`stopped the scheduler (pid ${schedulerPid}): ${await stopProcess(schedulerPid, stopGraceMs)}`);
  const pid = startStageProcess(dir, 'scheduler');
  await waitHealthy(next, ['scheduler'], schedulerReadyMs);
  steps.push(`restarted the scheduler with ${next.chain.nodes.length} node(s) (pid ${pid})`);
  return { node, steps, config: next };
}

interface RawConfig {
  readonly chain: { readonly nodes: ReadonlyArray<{ readonly name: string }> } & Record<string, unknown>;
  readonly stages: Readonly<Record<StageId, unknown>>;
  readonly linkDialAddresses?: Readonly<Record<string, string>>;
  readonly [key: string]: unknown;
}

/** The raw configuration without `node`: its chain entry, its Kubelet's endpoint and every link address to it. */
function withoutNode(raw: RawConfig, node: string): RawConfig {
  const kubelet = kubeletId(node);
  const stages = Object.fromEntries(Object.entries(raw.stages).filter(([stage]) => stage !== kubelet));
  const dial = raw.linkDialAddresses === undefined ? {} : { linkDialAddresses: Object.fromEntries(Object.entries(raw.linkDialAddresses).filter(([link]) => linkEnds(link).downstream !== kubelet)) };
  return { ...raw, chain: { ...raw.chain, nodes: raw.chain.nodes.filter((n) => n.name !== node) }, stages, ...dial };
}
