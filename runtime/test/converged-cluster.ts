/**
 * What the hostile-input tests share (hostile-peer.test.ts, wire-fuzz.test.ts): a one-node
 * cluster of real stage processes scaled to a count and converged, and the protocol state
 * Inspect reports, compared before and after a hostile input.
 */
import { expect } from 'vitest';
import { runScale } from '../../cli/cluster-commands.js';
import { stagesOf, type StageId } from '../../machines/index.js';
import { startStageProcess, waitHealthy, writeClusterConfig } from '../cluster/local-cluster.js';
import { getStageState } from '../cluster/rpc.js';
import { waitConverged } from '../cluster/status.js';
import type { ClusterConfig } from '../config.js';
import type { WireStageState } from '../wire/proto.js';
import { testWaitMsMax } from '../../test/wait-until.js';

/** Starts every stage of a one-node cluster in `dir` as its own process, scales `fn` to `desired` and waits until converged. */
export async function startConvergedCluster(dir: string, desired: number): Promise<ClusterConfig> {
  const config = await writeClusterConfig(dir, { nodes: 1, capacity: 10, functions: ['fn'], startDelayMs: 0, killDelayMs: 0 });
  const stages = stagesOf(config.chain);
  for (const stage of [...stages].reverse()) startStageProcess(dir, stage);
  await waitHealthy(config, stages, testWaitMsMax);
  expect(await runScale(['fn', String(desired), '--dir', dir], () => {})).toBe(0);
  await waitConverged(config, desired, testWaitMsMax);
  return config;
}

/** What Inspect says of the protocol state: everything but the last rejection of each link (observability, which a rejection updates by design). */
export function protocolState(state: WireStageState): unknown {
  return { ...state, links: state.links.map(({ last_rejection: _ignored, ...link }) => link) };
}

export async function protocolStateOf(config: ClusterConfig, stage: StageId, timeoutMs: number): Promise<unknown> {
  return protocolState(await getStageState(config.stages[stage]?.address ?? '', timeoutMs));
}
