/**
 * The gRPC server transport carries out the `close` link intents of a step
 * (machines/README.md, "Link intents"; REQ-WIRE-007): when the machines say the session
 * of an epoch is over at this end, its stream is ended with STALE_EPOCH, and no
 * `link.lost` follows (the machines already left that session). A real Kubelet
 * StageDriver behind a real GrpcUpstreamLink on a loopback gRPC server; the upstream is
 * played by plain `Link.Session` streams.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { epochOf, schedulerToKubelet, type DownMessage, type StageEvent } from '../../machines/index.js';
import { writeClusterConfig } from '../cluster/local-cluster.js';
import { GrpcUpstreamLink, linkService } from '../node/grpc-upstream-link.js';
import type { StagePort } from '../node/link-transport.js';
import { StageDriver } from '../node/stage-driver.js';
import type { BackingStore } from '../store/store.js';
import { StoreHealth } from '../store/store-health.js';
import { encodeDown } from '../wire/codec.js';
import { deserializeDownstreamFrame, serializeUpstreamFrame } from '../wire/frame-bytes.js';
import { isUndecodable, type DownstreamFrame, type Undecodable } from '../wire/proto.js';
import { linkSessionPath } from './raw-grpc.js';
import { waitUntil } from '../../test/wait-until.js';

const root = mkdtempSync(join(tmpdir(), 'kd-close-intent-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const link = schedulerToKubelet('n1');
const identity = { upstream: 'scheduler', downstream: 'kubelet:n1' };

/** A store that keeps nothing: this test is about sessions, not Pod objects. */
function nullStore(): BackingStore {
  const health = new StoreHealth('file', () => Promise.resolve(), () => undefined);
  return {
    kind: 'file',
    health,
    stats: { dropped: 0, failed: 0 },
    loadDesired: () => Promise.resolve({}),
    putDesiredCounts: () => Promise.resolve(),
    enqueuePod: () => undefined,
    flush: () => Promise.resolve(),
    listPods: () => Promise.resolve([]),
    close: () => {
      health.close();
      return Promise.resolve();
    },
  } as unknown as BackingStore;
}

interface Stream {
  readonly frames: DownstreamFrame[];
  readonly status: () => grpc.StatusObject | null;
  send(messages: readonly DownMessage[]): void;
  cancel(): void;
}

function openStream(client: grpc.Client): Stream {
  const call = client.makeBidiStreamRequest(linkSessionPath, serializeUpstreamFrame, deserializeDownstreamFrame);
  const frames: DownstreamFrame[] = [];
  let status: grpc.StatusObject | null = null;
  call.on('data', (frame: DownstreamFrame | Undecodable) => {
    if (!isUndecodable(frame)) frames.push(frame);
  });
  call.on('error', () => {});
  call.on('status', (s: grpc.StatusObject) => (status = s));
  return {
    frames,
    status: () => status,
    send: (messages) => {
      for (const frame of encodeDown(messages, identity)) call.write(frame);
    },
    cancel: () => call.cancel(),
  };
}

async function serve(port: StagePort): Promise<{ address: string; link: GrpcUpstreamLink; server: grpc.Server }> {
  const transport = new GrpcUpstreamLink(link, 'kubelet:n1', new Set(['fn']), port);
  const server = new grpc.Server();
  server.addService(linkService, { Session: transport.accept });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) => (error === null ? resolve(p) : reject(error))),
  );
  return { address: `127.0.0.1:${bound}`, link: transport, server };
}

describe('close intents at the gRPC server transport', () => {
  it('sessionClosed(epoch) ends the stream carrying that epoch with STALE_EPOCH and delivers no link.lost; another epoch closes nothing', async () => {
    const delivered: StageEvent[] = [];
    const port: StagePort = {
      deliver: (event) => {
        delivered.push(event);
        return 'applied';
      },
      recordRejection: () => undefined,
      log: () => undefined,
      stopped: false,
    };
    const { address, link: transport, server } = await serve(port);
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    try {
      const stream = openStream(client);
      const epoch = epochOf(1, 1);
      stream.send([{ type: 'session.hello', epoch }]);
      await waitUntil('the hello is delivered', () => delivered.length === 1);
      transport.sessionClosed(epoch + 1); // not this stream's session
      transport.sessionClosed(epoch);
      await waitUntil('the stream of the closed session ends', () => stream.status() !== null);
      expect(stream.status()?.code).not.toBe(grpc.status.OK);
      expect(stream.frames.map((f) => f.rejected?.reason)).toContain('STALE_EPOCH');
      // Only the hello: the machines ended the session themselves, so no link.lost is delivered.
      expect(delivered.map((e) => e.type)).toEqual(['message.received']);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });

  it('a newer hello at a real Kubelet: the step says close for the older epoch, and that stream ends with STALE_EPOCH', async () => {
    const config = await writeClusterConfig(join(root, 'cluster'), { nodes: 1, capacity: 4, functions: ['fn'], startDelayMs: 0, killDelayMs: 0 });
    const logs: Array<Record<string, unknown>> = [];
    const driver = new StageDriver(config, 'kubelet:n1', (r) => logs.push(r), nullStore(), {});
    const { address, link: transport, server } = await serve(driver);
    driver.boot(transport, []);
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    try {
      const older = openStream(client);
      older.send([{ type: 'session.hello', epoch: epochOf(1, 1) }]);
      await waitUntil('the Kubelet answers the first hello with its snapshot', () => older.frames.some((f) => f.snapshot !== undefined && f.snapshot !== null));
      const newer = openStream(client);
      newer.send([{ type: 'session.hello', epoch: epochOf(1, 2) }]);
      await waitUntil('the superseded stream ends', () => older.status() !== null);
      expect(older.frames.map((f) => f.rejected?.reason)).toContain('STALE_EPOCH');
      expect(older.frames.find((f) => f.rejected)?.rejected?.message).toBe(`superseded by the session of epoch ${epochOf(1, 2)}`);
      // The newer session is current and live: its sync is applied, the Kubelet's side is synced.
      await waitUntil('the newer hello is answered', () => newer.frames.some((f) => f.snapshot !== undefined && f.snapshot !== null));
      newer.send([{ type: 'session.sync', epoch: epochOf(1, 2) }]);
      await waitUntil('the newer session syncs', () => driver.stageState.role === 'kubelet' && driver.stageState.fromScheduler.session === 'synced');
      expect(newer.status()).toBeNull();
      expect(logs.filter((r) => r.event === 'session.rejected').map((r) => r.epoch)).toEqual([epochOf(1, 1)]);
      newer.cancel();
    } finally {
      client.close();
      await driver.stop();
      server.forceShutdown();
      await driver.closeStore();
    }
  });
});
