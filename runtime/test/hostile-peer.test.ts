/**
 * A hostile peer against a real cluster (every stage its own process, real gRPC over
 * loopback sockets): frames and requests no honest stage sends, each written byte by
 * byte with a raw gRPC client (raw-grpc.ts). Each must get the spec's status and
 * reason (spec/10-wire-protocol.md §Errors) with an ErrorDetail, change no protocol
 * state (Inspect before and after), and leave the stage serving (issue 17).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScale } from '../../cli/cluster-commands.js';
import type { StageId } from '../../machines/index.js';
import { logFileOf, pidOf, processIsAlive, removeCluster } from '../cluster/local-cluster.js';
import { waitConverged } from '../cluster/status.js';
import type { ClusterConfig } from '../config.js';
import { connectionIdleMsMax, helloWaitMsMax, peerConnectionsMax } from '../../spec/limits.js';
import { testWaitMsMax, waitUntil } from '../../test/wait-until.js';
import { protocolStateOf as protocolStateOfStage, startConvergedCluster } from './converged-cluster.js';
import { grpcMessage, inspectGetStatePath, rawHttp2Call, rawSession, rawUnary, scalerSetScalePath } from './raw-grpc.js';

const dir = mkdtempSync(join(tmpdir(), 'kd-hostile-'));
let config: ClusterConfig;
const linkServers: readonly StageId[] = ['deployment', 'replicaset', 'scheduler', 'kubelet:n1'];
const desired = 3;

function addressOf(stage: StageId): string {
  return config.stages[stage]?.address ?? '';
}

async function protocolStateOf(stage: StageId): Promise<unknown> {
  return protocolStateOfStage(config, stage, 5_000);
}

beforeAll(async () => {
  config = await startConvergedCluster(dir, desired);
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

/** The stage alive and its protocol state as before. */
async function expectUnchanged(stage: StageId, before: unknown): Promise<void> {
  const pid = pidOf(dir, stage);
  expect(pid !== null && processIsAlive(pid)).toBe(true);
  expect(await protocolStateOf(stage)).toEqual(before);
}

const hex = (text: string): Buffer => Buffer.from(text.replaceAll(' ', ''), 'hex');

describe('a field of the wrong wire type (issue 17, defect 2)', () => {
  const requests: ReadonlyArray<[string, Buffer]> = [
    ['desired as a NaN double', hex('0a 02 66 6e 11 00 00 00 00 00 00 f8 7f')],
    ['desired as a double 0.1 (whose bytes read as a varint give 2468760730)', hex('0a 02 66 6e 11 9a 99 99 99 99 99 b9 3f')],
    ['desired as a float NaN', hex('0a 02 66 6e 15 00 00 c0 7f')],
    ['desired as a float +Infinity', hex('0a 02 66 6e 15 00 00 80 7f')],
    ['function as a varint', hex('08 05 10 01')],
  ];
  for (const [what, bytes] of requests)
    it(`Scaler.SetScale with ${what}: INVALID_ARGUMENT / MALFORMED, no state change`, async () => {
      const before = await protocolStateOf('autoscaler');
      const outcome = await rawUnary(addressOf('autoscaler'), scalerSetScalePath, bytes);
      expect({ code: outcome.code, reason: outcome.reason }).toEqual({ code: grpc.status.INVALID_ARGUMENT, reason: 'MALFORMED' });
      expect(outcome.errorDetail?.message).toMatch(/wire type/);
      await expectUnchanged('autoscaler', before);
    }, testWaitMsMax);

  it('a ScaleSetBatch whose desired is a double, on the link to the Deployment: MALFORMED, no state change', async () => {
    // UpstreamFrame{epoch 1, scale_set{scales[{function "fn", desired: fixed64 NaN}]}}
    const scale = hex('0a 02 66 6e 11 00 00 00 00 00 00 f8 7f');
    const batch = Buffer.concat([hex('0a'), Buffer.from([scale.length]), scale]);
    const frame = Buffer.concat([hex('08 01 22'), Buffer.from([batch.length]), batch]);
    const before = await protocolStateOf('deployment');
    const outcome = await rawSession(addressOf('deployment'), [frame]);
    expect({ code: outcome.code, reason: outcome.reason }).toEqual({ code: grpc.status.INVALID_ARGUMENT, reason: 'MALFORMED' });
    expect(outcome.messages.length).toBe(1); // the Rejected frame
    await expectUnchanged('deployment', before);
  }, testWaitMsMax);
});

describe('connections and streams that say nothing (issue 17, defect 7)', () => {
  it(`Link.Session streams that never send a hello are ended with HELLO_TIMEOUT after helloWaitMsMax (${helloWaitMsMax} ms)`, async () => {
    const started = performance.now();
    const before = await protocolStateOf('kubelet:n1');
    // Each on its own connection (a local subchannel pool), fewer than peerConnectionsMax.
    const streams = Array.from({ length: 20 }, () => rawSession(addressOf('kubelet:n1'), [], { deadlineMs: 4 * helloWaitMsMax, ownConnection: true }));
    const outcomes = await Promise.all(streams);
    const elapsed = performance.now() - started;
    for (const outcome of outcomes) expect({ code: outcome.code, reason: outcome.reason }).toEqual({ code: grpc.status.DEADLINE_EXCEEDED, reason: 'HELLO_TIMEOUT' });
    expect(elapsed).toBeGreaterThanOrEqual(helloWaitMsMax * 0.9);
    await expectUnchanged('kubelet:n1', before);
  }, 6 * helloWaitMsMax);

  it(`200 raw TCP connections that never speak: at most peerConnectionsMax (${peerConnectionsMax}) held, all closed by connectionIdleMsMax (${connectionIdleMsMax} ms)`, async () => {
    const [host = '', port = ''] = addressOf('scheduler').split(':');
    const sockets = await Promise.all(
      Array.from({ length: 200 }, () => new Promise<Socket>((resolve, reject) => {
        const socket = connect(Number(port), host, () => resolve(socket));
        socket.on('error', reject);
      })),
    );
    const closed = new Set<Socket>();
    for (const socket of sockets) {
      socket.resume(); // a paused socket would not see the end the stage sends
      socket.on('close', () => closed.add(socket));
      socket.on('error', () => {});
    }
    // Those past the bound are closed at once; the rest when idle for connectionIdleMsMax.
    await waitUntil('the connections past peerConnectionsMax to be closed', () => closed.size >= sockets.length - peerConnectionsMax);
    const started = performance.now();
    await waitUntil('every raw connection to be closed by the stage', () => closed.size === sockets.length, 3 * connectionIdleMsMax);
    console.log(`[hostile-peer] 200 raw connections: ${sockets.length - peerConnectionsMax} closed at once, the rest within ${Math.round(performance.now() - started)} ms`);
    expect(readFileSync(logFileOf(dir, 'scheduler'), 'utf8')).toMatch(/"event":"connection.refused"/);
    expect(readFileSync(logFileOf(dir, 'scheduler'), 'utf8')).toMatch(/"event":"connection.closed-silent"/);
  }, testWaitMsMax + 4 * connectionIdleMsMax);

  it('the chain still converges after them', async () => {
    expect(await runScale(['fn', String(desired + 1), '--dir', dir], () => {})).toBe(0);
    await waitConverged(config, desired + 1, testWaitMsMax);
  }, 2 * testWaitMsMax);
});

describe('undecodable frames and requests (issue 17, defect 3)', () => {
  const undecodable: ReadonlyArray<[string, Buffer]> = [
    ['random bytes', hex('ff 13 07 9a 00 c3 11 27')],
    ['a truncated hello', hex('08 01 12 20 0a 0a 72 65 70')],
    ['an 11-byte varint', hex('08 ff ff ff ff ff ff ff ff ff ff 01')],
    ['a length past the end', hex('08 01 12 7f 0a 01 61')],
    ['an unclosed group', hex('08 01 13 08 01')],
  ];
  for (const [what, bytes] of undecodable) {
    it(`${what} on Link.Session of every stage: MALFORMED with a Rejected frame and an ErrorDetail`, async () => {
      for (const stage of linkServers) {
        const before = await protocolStateOf(stage);
        const outcome = await rawSession(addressOf(stage), [bytes]);
        expect({ stage, code: outcome.code, reason: outcome.reason }).toEqual({ stage, code: grpc.status.INVALID_ARGUMENT, reason: 'MALFORMED' });
        expect(outcome.errorDetail?.message).toMatch(/^undecodable frame/);
        expect(outcome.messages.length).toBe(1);
        await expectUnchanged(stage, before);
      }
    }, 2 * testWaitMsMax);
    it(`${what} as a Scaler.SetScale and an Inspect.GetState request: MALFORMED with an ErrorDetail`, async () => {
      const before = await protocolStateOf('autoscaler');
      for (const path of [scalerSetScalePath, inspectGetStatePath]) {
        const outcome = await rawUnary(addressOf('autoscaler'), path, bytes);
        expect({ path, code: outcome.code, reason: outcome.reason }).toEqual({ path, code: grpc.status.INVALID_ARGUMENT, reason: 'MALFORMED' });
        expect(outcome.errorDetail?.message).toMatch(/^undecodable (Scaler|Inspect) request/);
      }
      await expectUnchanged('autoscaler', before);
    }, testWaitMsMax);
  }

  it('Inspect.GetState with garbage bytes does not answer the state', async () => {
    for (const stage of linkServers) {
      const outcome = await rawUnary(addressOf(stage), inspectGetStatePath, hex('7a 7a 7a 7a'));
      expect({ stage, code: outcome.code, reason: outcome.reason, replies: outcome.messages.length }).toEqual({ stage, code: grpc.status.INVALID_ARGUMENT, reason: 'MALFORMED', replies: 0 });
    }
  }, testWaitMsMax);

  it('a gRPC message cut short by the end of the stream: MALFORMED, not OK', async () => {
    const hello = hex('08 01 12 00');
    for (const [stage, path] of [['scheduler', '/kubedirect.v1.Link/Session'], ['autoscaler', scalerSetScalePath], ['kubelet:n1', inspectGetStatePath]] as const) {
      const before = await protocolStateOf(stage);
      const outcome = await rawHttp2Call(addressOf(stage), path, grpcMessage(hello, { length: 40 }));
      expect({ stage, path, code: outcome.code, reason: outcome.reason }).toEqual({ stage, path, code: grpc.status.INVALID_ARGUMENT, reason: 'MALFORMED' });
      expect(outcome.errorDetail?.message).toMatch(/ended inside a gRPC message/);
      await expectUnchanged(stage, before);
    }
  }, testWaitMsMax);

  it('the compressed flag without grpc-encoding, and a flag of 2: MALFORMED, not OK', async () => {
    for (const flag of [1, 2])
      for (const [stage, path, message] of [
        ['replicaset', '/kubedirect.v1.Link/Session', hex('08 01 1a 00')],
        ['autoscaler', scalerSetScalePath, hex('0a 02 66 6e 10 05')],
        ['deployment', inspectGetStatePath, hex('10 01')],
      ] as const) {
        const before = await protocolStateOf(stage);
        const outcome = await rawHttp2Call(addressOf(stage), path, grpcMessage(message, { flag }));
        expect({ stage, path, flag, code: outcome.code, reason: outcome.reason }).toEqual({ stage, path, flag, code: grpc.status.INVALID_ARGUMENT, reason: 'MALFORMED' });
        await expectUnchanged(stage, before);
      }
  }, testWaitMsMax);

  it('a hello with a 100,000-character stage ID: MALFORMED, not UNAUTHORIZED_UPSTREAM', async () => {
    const id = Buffer.from('a'.repeat(100_000));
    const lengthOf = (n: number): Buffer => {
      const bytes: number[] = [];
      for (let v = n; ; v = Math.floor(v / 128)) {
        if (v < 128) {
          bytes.push(v);
          break;
        }
        bytes.push((v % 128) | 0x80);
      }
      return Buffer.from(bytes);
    };
    const hello = Buffer.concat([hex('0a'), lengthOf(id.length), id, hex('12 0a'), Buffer.from('replicaset'), hex('18 01')]);
    const frame = Buffer.concat([hex('08 01 12'), lengthOf(hello.length), hello]);
    const before = await protocolStateOf('replicaset');
    const outcome = await rawSession(addressOf('replicaset'), [frame]);
    expect({ code: outcome.code, reason: outcome.reason }).toEqual({ code: grpc.status.INVALID_ARGUMENT, reason: 'MALFORMED' });
    await expectUnchanged('replicaset', before);
  }, testWaitMsMax);

  it('every rejection above was logged by the stage that made it', async () => {
    const logged = (stage: StageId): string => readFileSync(logFileOf(dir, stage), 'utf8');
    expect(logged('autoscaler')).toMatch(/"event":"request.rejected".*"service":"Scaler".*undecodable Scaler request/);
    expect(logged('autoscaler')).toMatch(/"event":"request.rejected".*ended inside a gRPC message/);
    expect(logged('scheduler')).toMatch(/"event":"session.rejected".*undecodable frame/);
  }, testWaitMsMax);

  it('the chain still converges after all of them', async () => {
    expect(await runScale(['fn', String(desired + 2), '--dir', dir], () => {})).toBe(0);
    await waitConverged(config, desired + 2, testWaitMsMax);
  }, 2 * testWaitMsMax);
});
