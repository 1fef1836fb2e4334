/**
 * Drives the minimal Kubelet as a real process over real gRPC, with a client written
 * from spec/kubedirect.proto (loaded with @grpc/proto-loader, independently of the
 * Kubelet's own codec). The test plays the Scheduler, the Kubelet's one upstream.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchRecordsMax, frameBytesMax, sessionsPerIncarnationMax } from '../../../../spec/limits.js';

const repoDir = fileURLToPath(new URL('../../../../', import.meta.url));
const mainPath = fileURLToPath(new URL('../main.ts', import.meta.url));
const protoFiles = [join(repoDir, 'spec/kubedirect.proto'), join(repoDir, 'spec/health.proto')];

const packageDefinition = protoLoader.loadSync(protoFiles, { longs: String, enums: String, defaults: true, oneofs: true });
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const loaded = grpc.loadPackageDefinition(packageDefinition) as any;
const errorDetailType = protobuf.loadSync(protoFiles[0] ?? '').lookupType('kubedirect.v1.ErrorDetail');
const rpcStatusType = protobuf.Root.fromJSON({
  nested: {
    Any: { fields: { typeUrl: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
    Status: { fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 }, details: { rule: 'repeated', type: 'Any', id: 3 } } },
  },
}).lookupType('Status');

const node = 'n1';
const stage = `kubelet:${node}`;
/** Epoch of session `session` of Scheduler incarnation `incarnation` (02 §Epochs). */
const epochOf = (incarnation: number, session: number): string => String(incarnation * sessionsPerIncarnationMax + session);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Frame = Record<string, any>;

interface Ending {
  readonly code: number;
  readonly reason: string | null;
  readonly detailEpoch: string | null;
}

/** One Link.Session stream seen from the upstream: send frames, await the ones that come back. */
class Session {
  private readonly received: Frame[] = [];
  private waiter: (() => void) | null = null;
  readonly ended: Promise<Ending>;
  private readonly call: grpc.ClientDuplexStream<Frame, Frame>;

  constructor(address: string) {
    const client = new loaded.kubedirect.v1.Link(address, grpc.credentials.createInsecure());
    this.call = client.Session();
    this.call.on('data', (frame: Frame) => {
      this.received.push(frame);
      this.waiter?.();
    });
    this.ended = new Promise((resolve) => {
      this.call.on('error', (error: grpc.ServiceError) => resolve(ending(error)));
      this.call.on('status', (status: grpc.StatusObject) => {
        if (status.code === grpc.status.OK) resolve({ code: status.code, reason: null, detailEpoch: null });
      });
    });
  }

  send(frame: Frame): void {
    this.call.write(frame);
  }

  hello(epoch: string, overrides: Frame = {}): void {
    this.send({ epoch, hello: { upstreamStageId: 'scheduler', downstreamStageId: stage, protocolVersion: 1, ...overrides } });
  }

  /** The next frame with the given body, skipping none: every frame is accounted for. */
  async next(body: string, timeoutMs = 5_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length === 0) {
      if (Date.now() > deadline) throw new Error(`no ${body} frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 50);
      });
    }
    const frame = this.received.shift() as Frame;
    expect(frame.body, JSON.stringify(frame)).toBe(body);
    return frame;
  }

  /** Hello then the whole snapshot (all parts), then sync: the handshake of 02. */
  async open(epoch: string): Promise<Frame[]> {
    this.hello(epoch);
    const parts: Frame[] = [];
    do parts.push(await this.next('snapshot'));
    while (parts.at(-1)?.snapshot.last !== true);
    this.send({ epoch, sync: {} });
    return parts;
  }

  close(): void {
    this.call.cancel();
  }
}

function ending(error: grpc.ServiceError): Ending {
  const bytes = error.metadata?.get('grpc-status-details-bin')[0];
  if (!(bytes instanceof Buffer)) return { code: error.code, reason: null, detailEpoch: null };
  const status = rpcStatusType.toObject(rpcStatusType.decode(bytes), { bytes: Buffer }) as { details: { typeUrl: string; value: Buffer }[] };
  const detail = status.details.find((any) => any.typeUrl === 'type.googleapis.com/kubedirect.v1.ErrorDetail');
  if (detail === undefined) return { code: error.code, reason: null, detailEpoch: null };
  const decoded = errorDetailType.toObject(errorDetailType.decode(detail.value), { enums: String, longs: String }) as { reason: string; epoch: string };
  return { code: error.code, reason: decoded.reason, detailEpoch: decoded.epoch };
}

function pod(name: string, fn = 'fn'): Frame {
  return { name, function: fn, priority: 0, node };
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** The Kubelet under test: one process at a time on one address and data directory. */
class Testee {
  child: ChildProcess | null = null;
  log = '';
  constructor(
    readonly address: string,
    private readonly configPath: string,
  ) {}

  async start(): Promise<void> {
    this.child = spawn(process.execPath, ['--import', 'tsx', mainPath], {
      cwd: repoDir,
      env: { ...process.env, KD_LAUNCH_CONFIG: this.configPath },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child.stderr?.on('data', (chunk: Buffer) => (this.log += chunk.toString()));
    const health = new loaded.grpc.health.v1.Health(this.address, grpc.credentials.createInsecure());
    const deadline = Date.now() + 30_000;
    for (;;) {
      const status = await new Promise<string | null>((resolve) =>
        health.Check({ service: '' }, (error: Error | null, reply: { status: string }) => resolve(error === null ? reply.status : null)),
      );
      if (status === 'SERVING') break;
      if (Date.now() > deadline) throw new Error(`the Kubelet did not become SERVING:\n${this.log}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    health.close();
  }

  async stop(signal: NodeJS.Signals): Promise<number | null> {
    const child = this.child;
    if (child === null || child.exitCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill(signal);
    this.child = null;
    return exited;
  }

  async state(): Promise<Frame> {
    const inspect = new loaded.kubedirect.v1.Inspect(this.address, grpc.credentials.createInsecure());
    const state = await new Promise<Frame>((resolve, reject) =>
      inspect.GetState({}, (error: Error | null, reply: Frame) => (error === null ? resolve(reply) : reject(error))),
    );
    inspect.close();
    return state;
  }
}

describe('kubelet-minimal, driven over gRPC as the Scheduler', () => {
  let dataDir = '';
  let workDir = '';
  let testee: Testee;
  let configPath = '';
  let writeLaunchConfig: (sandbox: { killDelayMs?: number }) => void = () => {};

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'kubelet-minimal-'));
    dataDir = join(workDir, 'data');
    const port = await freePort();
    configPath = join(workDir, 'launch.json');
    writeLaunchConfig = (sandbox) =>
      writeFileSync(
        configPath,
        JSON.stringify({
          launchVersion: 1,
          role: 'kubelet',
          stage,
          node,
          listen: `127.0.0.1:${port}`,
          dataDir,
          upstream: { stage: 'scheduler', role: 'scheduler', address: '127.0.0.1:1' },
          downstreams: [],
          chain: { functions: [{ name: 'fn', priority: 0 }], nodes: [{ name: node, capacity: 3 }] },
          sandbox: { startDelayMs: 20, killDelayMs: 300, ...sandbox },
        }),
      );
    writeLaunchConfig({});
    testee = new Testee(`127.0.0.1:${port}`, configPath);
    await testee.start();
  });

  afterAll(async () => {
    await testee.stop('SIGKILL');
    rmSync(workDir, { recursive: true, force: true });
  });

  // Sessions of Scheduler incarnation 1, in the order the tests below open them.
  let sessionCounter = 0;
  const nextEpoch = (): string => epochOf(1, ++sessionCounter);

  it('answers a hello with a snapshot, starts a provisioned pod and kills a tombstoned one', async () => {
    const e1 = nextEpoch();
    const session = new Session(testee.address);
    const snapshot = await session.open(e1);
    expect(snapshot).toEqual([{ epoch: e1, body: 'snapshot', snapshot: { scales: [], pods: [], tombstones: [], last: true } }]);

    session.send({ epoch: e1, provision: { pods: [pod('fn-1-0')] } });
    expect((await session.next('running')).running.names).toEqual(['fn-1-0']);

    session.send({ epoch: e1, tombstone: { tombstones: [{ name: 'fn-1-0', origin: 'replicaset' }] } });
    const killing = (await testee.state()).pods;
    expect(killing).toMatchObject([{ record: { name: 'fn-1-0' }, state: 'killing', tombstoneOrigin: 'replicaset' }]);
    expect((await session.next('tombstoneDone')).tombstoneDone.names).toEqual(['fn-1-0']);

    // Tombstone for a pod the Kubelet does not hold: acknowledged at once (REQ-TOMB-004).
    session.send({ epoch: e1, tombstone: { tombstones: [{ name: 'fn-1-99', origin: 'scheduler' }] } });
    expect((await session.next('tombstoneDone')).tombstoneDone.names).toEqual(['fn-1-99']);

    // An unconfigured function is refused per pod (04, DEC-17).
    session.send({ epoch: e1, provision: { pods: [pod('other-1-0', 'other')] } });
    expect((await session.next('failed')).failed.failures).toEqual([{ name: 'other-1-0', reason: 'UNKNOWN_OWNER' }]);

    const state = await testee.state();
    expect(state.links).toMatchObject([{ linkId: `scheduler>${stage}`, end: 'downstream', state: 'synced', epoch: e1, syncedOnce: true }]);
    session.close();
  });

  it('rejects a stale hello and a hello from another upstream, without changing currentEpoch', async () => {
    const e2 = nextEpoch();
    const session = new Session(testee.address);
    await session.open(e2);

    const stale = new Session(testee.address);
    const e1 = epochOf(1, 1);
    stale.hello(e1);
    expect((await stale.next('rejected')).rejected.reason).toBe('STALE_EPOCH');
    expect(await stale.ended).toEqual({ code: grpc.status.FAILED_PRECONDITION, reason: 'STALE_EPOCH', detailEpoch: e1 });

    const intruder = new Session(testee.address);
    intruder.hello(epochOf(9, 1), { upstreamStageId: 'replicaset' });
    expect((await intruder.next('rejected')).rejected.reason).toBe('UNAUTHORIZED_UPSTREAM');
    expect((await intruder.ended).code).toBe(grpc.status.PERMISSION_DENIED);

    const lost = new Session(testee.address);
    lost.hello(epochOf(9, 1), { downstreamStageId: 'kubelet:n2' });
    expect((await lost.next('rejected')).rejected.reason).toBe('WRONG_DOWNSTREAM');

    // The current session is untouched and still applies records.
    expect((await testee.state()).links[0]).toMatchObject({ state: 'synced', epoch: e2 });
    session.send({ epoch: e2, provision: { pods: [pod('fn-1-1')] } });
    expect((await session.next('running')).running.names).toEqual(['fn-1-1']);

    // A newer hello supersedes the session: its stream ends with STALE_EPOCH (REQ-WIRE-007).
    const newer = new Session(testee.address);
    const [snapshot] = await newer.open(nextEpoch());
    expect(snapshot?.snapshot.pods).toEqual([{ record: pod('fn-1-1'), phase: 'RUNNING' }]);
    expect((await session.next('rejected')).rejected.reason).toBe('STALE_EPOCH');
    expect(await session.ended).toEqual({ code: grpc.status.FAILED_PRECONDITION, reason: 'STALE_EPOCH', detailEpoch: e2 });
    newer.close();
  });

  it('rejects a malformed frame as a whole and a record before sync as out of order', async () => {
    const e3 = nextEpoch();
    const session = new Session(testee.address);
    await session.open(e3);
    // The second record is for another node (REQ-POD-007): nothing of the frame applies.
    session.send({ epoch: e3, provision: { pods: [pod('fn-1-2'), { ...pod('fn-1-3'), node: 'n2' }] } });
    expect((await session.next('rejected')).rejected.reason).toBe('MALFORMED');
    expect(await session.ended).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, reason: 'MALFORMED' });
    const state = await testee.state();
    expect(state.pods.map((entry: Frame) => entry.record.name)).toEqual(['fn-1-1']);
    expect(state.links[0]).toMatchObject({ state: 'idle', epoch: e3 });

    const e4 = nextEpoch();
    const early = new Session(testee.address);
    early.hello(e4);
    expect((await early.next('snapshot')).snapshot.pods).toEqual([{ record: pod('fn-1-1'), phase: 'RUNNING' }]);
    early.send({ epoch: e4, provision: { pods: [pod('fn-1-2')] } });
    expect((await early.next('rejected')).rejected.reason).toBe('OUT_OF_ORDER');
    expect((await early.ended).code).toBe(grpc.status.FAILED_PRECONDITION);
    expect((await testee.state()).pods).toHaveLength(1);
  });

  it.each([
    ['a sync as first frame', (epoch: string): Frame => ({ epoch, sync: {} }), 'OUT_OF_ORDER', grpc.status.FAILED_PRECONDITION],
    ['an unsupported version', (epoch: string): Frame => ({ epoch, hello: { upstreamStageId: 'scheduler', downstreamStageId: stage, protocolVersion: 2 } }), 'UNSUPPORTED_VERSION', grpc.status.FAILED_PRECONDITION],
    ['a hello with epoch 0', (): Frame => ({ epoch: '0', hello: { upstreamStageId: 'scheduler', downstreamStageId: stage, protocolVersion: 1 } }), 'MALFORMED', grpc.status.INVALID_ARGUMENT],
  ])('rejects %s as the opening frame', async (_case, frame, reason, code) => {
    const session = new Session(testee.address);
    session.send(frame(nextEpoch()));
    expect((await session.next('rejected')).rejected.reason).toBe(reason);
    expect((await session.ended).code).toBe(code);
  });

  it.each([
    ['a scale.set', (epoch: string): Frame => ({ epoch, scaleSet: { scales: [{ function: 'fn', desired: 1 }] } }), 'MALFORMED', grpc.status.INVALID_ARGUMENT],
    ['a frame with epoch 0', (): Frame => ({ epoch: '0', sync: {} }), 'MALFORMED', grpc.status.INVALID_ARGUMENT],
    ['a frame of another epoch', (epoch: string): Frame => ({ epoch: String(Number(epoch) + 1), provision: { pods: [pod('fn-1-9')] } }), 'STALE_EPOCH', grpc.status.FAILED_PRECONDITION],
    ['a second hello', (epoch: string): Frame => ({ epoch, hello: { upstreamStageId: 'scheduler', downstreamStageId: stage, protocolVersion: 1 } }), 'OUT_OF_ORDER', grpc.status.FAILED_PRECONDITION],
    ['a second sync', (epoch: string): Frame => ({ epoch, sync: {} }), 'OUT_OF_ORDER', grpc.status.FAILED_PRECONDITION],
    ['a batch over batchRecordsMax', (epoch: string): Frame => ({ epoch, tombstone: { tombstones: Array.from({ length: batchRecordsMax + 1 }, (_, n) => ({ name: `fn-1-${n + 100}`, origin: 'replicaset' })) } }), 'BATCH_TOO_LARGE', grpc.status.RESOURCE_EXHAUSTED],
    ['a frame over frameBytesMax', (epoch: string): Frame => ({ epoch, tombstone: { tombstones: [{ name: 'fn-1-0', origin: 'x'.repeat(frameBytesMax) }] } }), 'BATCH_TOO_LARGE', grpc.status.RESOURCE_EXHAUSTED],
    ['a tombstone with an unknown origin', (epoch: string): Frame => ({ epoch, tombstone: { tombstones: [{ name: 'fn-1-0', origin: 'autoscaler' }] } }), 'MALFORMED', grpc.status.INVALID_ARGUMENT],
    ['a pod name of another function', (epoch: string): Frame => ({ epoch, provision: { pods: [{ ...pod('fn-1-9'), name: 'other-1-9' }] } }), 'MALFORMED', grpc.status.INVALID_ARGUMENT],
  ])('rejects %s in a synced session and applies nothing', async (_case, frame, reason, code) => {
    const epoch = nextEpoch();
    const session = new Session(testee.address);
    await session.open(epoch);
    const podsBefore = (await testee.state()).pods;
    session.send(frame(epoch));
    expect((await session.next('rejected')).rejected.reason).toBe(reason);
    expect((await session.ended).code).toBe(code);
    const state = await testee.state();
    expect(state.pods).toEqual(podsBefore);
    expect(state.links[0]).toMatchObject({ state: 'idle', epoch, lastRejection: { reason } });
  });

  it('reports a sandbox that dies as pod.failed{SANDBOX_FAILED}', async () => {
    const e5 = nextEpoch();
    const session = new Session(testee.address);
    await session.open(e5);
    session.send({ epoch: e5, provision: { pods: [pod('fn-1-4')] } });
    expect((await session.next('running')).running.names).toEqual(['fn-1-4']);
    unlinkSync(join(dataDir, 'sandboxes', 'fn-1-4.json'));
    expect((await session.next('failed')).failed.failures).toEqual([{ name: 'fn-1-4', reason: 'SANDBOX_FAILED' }]);
    session.close();
  });

  it('keeps its sandboxes, running and being killed, across a crash-restart', async () => {
    const e6 = nextEpoch();
    const session = new Session(testee.address);
    await session.open(e6);
    session.send({ epoch: e6, provision: { pods: [pod('fn-1-5')] } });
    expect((await session.next('running')).running.names).toEqual(['fn-1-5']);
    // fn-1-1 is being killed (killDelayMs 300) when the process is killed.
    session.send({ epoch: e6, tombstone: { tombstones: [{ name: 'fn-1-1', origin: 'scheduler' }] } });
    await expect.poll(async () => (await testee.state()).pods.find((entry: Frame) => entry.record.name === 'fn-1-1')?.state).toBe('killing');
    expect(await testee.stop('SIGKILL')).toBeNull();
    expect(existsSync(join(dataDir, 'sandboxes', 'fn-1-1.json'))).toBe(true);

    // The re-issued kill must still be under way when the snapshot is taken.
    writeLaunchConfig({ killDelayMs: 3_000 });
    await testee.start();
    expect((await testee.state()).incarnation).toBe('2');
    // A restarted Kubelet starts at currentEpoch 0: the Scheduler's next epoch is accepted.
    const e7 = nextEpoch();
    const after = new Session(testee.address);
    const [snapshot] = await after.open(e7);
    expect(snapshot?.snapshot).toEqual({
      scales: [],
      pods: [{ record: pod('fn-1-5'), phase: 'RUNNING' }],
      tombstones: [{ record: pod('fn-1-1'), origin: 'scheduler' }],
      last: true,
    });
    // The kill is issued again at boot and completes (REQ-POD-013).
    expect((await after.next('tombstoneDone', 6_000)).tombstoneDone.names).toEqual(['fn-1-1']);
    after.close();
  });

  it('stops within 5 seconds of SIGTERM', async () => {
    const started = Date.now();
    expect(await testee.stop('SIGTERM')).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
