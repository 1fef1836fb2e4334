/**
 * A hostile peer against a real cluster (every stage its own process, real gRPC over
 * loopback sockets): frames and requests no honest stage sends, each written byte by
 * byte with a raw gRPC client (raw-grpc.ts). Each must get the spec's status and
 * reason (spec/10-wire-protocol.md §Errors) with an ErrorDetail, change no protocol
 * state (Inspect before and after), and leave the stage serving (issue 17).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScale } from '../../cli/cluster-commands.js';
import { stagesOf, type StageId } from '../../machines/index.js';
import { pidOf, processIsAlive, removeCluster, startStageProcess, waitHealthy, writeClusterConfig } from '../cluster/local-cluster.js';
import { getStageState } from '../cluster/rpc.js';
import { waitConverged } from '../cluster/status.js';
import type { ClusterConfig } from '../config.js';
import type { WireStageState } from '../wire/proto.js';
import { testWaitMsMax } from '../../test/wait-until.js';
import { rawSession } from './raw-grpc.js';

const dir = mkdtempSync(join(tmpdir(), 'kd-hostile-'));
let config: ClusterConfig;
const linkServers: readonly StageId[] = ['deployment', 'replicaset', 'scheduler', 'kubelet:n1'];
const desired = 3;

function addressOf(stage: StageId): string {
  return config.stages[stage]?.address ?? '';
}

/** What Inspect says of the protocol state: everything but the last rejection of each link (observability, which a rejection updates by design). */
function protocolState(state: WireStageState): unknown {
  return { ...state, links: state.links.map(({ last_rejection: _ignored, ...link }) => link) };
}

async function protocolStateOf(stage: StageId): Promise<unknown> {
  return protocolState(await getStageState(addressOf(stage), 5_000));
}

beforeAll(async () => {
  config = await writeClusterConfig(dir, { nodes: 1, capacity: 10, functions: ['fn'], startDelayMs: 0, killDelayMs: 0 });
  const stages = stagesOf(config.chain);
  for (const stage of [...stages].reverse()) startStageProcess(dir, stage);
  await waitHealthy(config, stages, testWaitMsMax);
  expect(await runScale(['fn', String(desired), '--dir', dir], () => {})).toBe(0);
  await waitConverged(config, desired, testWaitMsMax);
}, 2 * testWaitMsMax);

afterAll(async () => {
  await removeCluster(dir);
}, 30_000);

/**
 * Sends `frame` as the first message of a Link.Session to every Link server and checks
 * the answer: `code` and `reason` in the status, an ErrorDetail, the process alive and
 * answering, and its protocol state unchanged.
 */
async function expectRejectedEverywhere(frame: Buffer, code: grpc.status, reason: string): Promise<void> {
  for (const stage of linkServers) {
    const before = await protocolStateOf(stage);
    const outcome = await rawSession(addressOf(stage), [frame]);
    expect({ stage, code: outcome.code, reason: outcome.reason }).toEqual({ stage, code, reason });
    expect(outcome.errorDetail?.reason).toBe(reason);
    const pid = pidOf(dir, stage);
    expect(pid !== null && processIsAlive(pid)).toBe(true);
    expect(await protocolStateOf(stage)).toEqual(before);
  }
}

describe('an epoch past the largest safe integer (issue 17, defect 1)', () => {
  it('epoch 2^53 with a sync body: INVALID_ARGUMENT / MALFORMED, the stage stays up, no state change', async () => {
    await expectRejectedEverywhere(Buffer.from('0880808080808080101a00', 'hex'), grpc.status.INVALID_ARGUMENT, 'MALFORMED');
  }, 2 * testWaitMsMax);

  it('epoch 2^64-1 with a sync body: INVALID_ARGUMENT / MALFORMED, the stage stays up, no state change', async () => {
    await expectRejectedEverywhere(Buffer.from('08ffffffffffffffffff011a00', 'hex'), grpc.status.INVALID_ARGUMENT, 'MALFORMED');
  }, 2 * testWaitMsMax);

  it('the chain still converges after them', async () => {
    expect(await runScale(['fn', String(desired + 1), '--dir', dir], () => {})).toBe(0);
    await waitConverged(config, desired + 1, testWaitMsMax);
  }, 2 * testWaitMsMax);
});
