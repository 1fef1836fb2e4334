/**
 * Flow control (runtime/node/flow-control.ts, runtime/wire/frame-size.ts): frames cut
 * to the frame size limit with records in order; backpressure (no write while the
 * stream is full, batching of what waited); the send queue bound. Then a real cluster
 * with a small frame size limit (`flow.frameBytesMax` = 1,024 bytes): a burst (800 pods;
 * KD_FLOW_BURST=2000 for the 2,000) converges, no frame written on any link
 * exceeded the limit, and backpressure happened.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { runScale } from '../../cli/cluster-commands.js';
import { linksOf, type DownMessage, type PodRecord, type UpMessage } from '../../machines/index.js';
import { frameBytesMin } from '../../spec/limits.js';
import { configFileOf, startStageProcess, removeCluster, waitHealthy, writeClusterConfig } from '../cluster/local-cluster.js';
import { waitConverged } from '../cluster/status.js';
import { loadClusterConfig, type ClusterConfig } from '../config.js';
import { SessionWriter } from '../node/flow-control.js';
import { decodeDownstreamFrame, decodeUpstreamFrame, encodeDown, encodeUp, SnapshotAssembler } from '../wire/codec.js';
import { fitFrames, recordsOfDownstreamFrame, recordsOfUpstreamFrame, rejectedFrameWithin, splitDownstreamFrame, splitUpstreamFrame } from '../wire/frame-size.js';
import { LinkClient, type DownstreamFrame, type UpstreamFrame } from '../wire/proto.js';
import { errorDetailOfStatus } from '../wire/errors.js';
import { protoLoaderFrames } from '../wire/frame-bytes.js';
import { getStageState } from '../cluster/rpc.js';
import { stagesOf } from '../../machines/index.js';

const { serializeUpstream: serializeUp, deserializeUpstream: parseUp, serializeDownstream: serializeDown, deserializeDownstream: parseDown } = protoLoaderFrames;

function pod(i: number, node = 'n1'): PodRecord {
  return { name: `${longFunction}-12-${i}`, function: longFunction, priority: 0, node };
}

const longFunction = 'function-with-a-longish-name';
const functions = new Set([longFunction]);

describe('frames within the size limit', () => {
  it('a batch of provisions is cut into frames of at most the limit, records in order', () => {
    const epoch = 3 * 2 ** 20 + 1;
    const messages: DownMessage[] = Array.from({ length: 3_000 }, (_, i) => ({ type: 'pod.provision', epoch, pod: pod(i) }));
    const frames = fitFrames(encodeDown(messages, { upstream: 'scheduler', downstream: 'kubelet:n1' }), frameBytesMin, serializeUp, splitUpstreamFrame, recordsOfUpstreamFrame);
    expect(frames.length).toBeGreaterThan(3_000 / 40);
    const names: string[] = [];
    for (const f of frames) {
      expect(f.bytes.length).toBeLessThanOrEqual(frameBytesMin);
      const decoded = decodeUpstreamFrame(parseUp(f.bytes), { link: 'scheduler>kubelet:n1', functions });
      if (!decoded.ok) throw new Error(decoded.rejection.message);
      if (decoded.value.kind !== 'records') throw new Error('not records');
      expect(decoded.value.messages.length).toBe(f.records);
      for (const m of decoded.value.messages) names.push(m.type === 'pod.provision' ? m.pod.name : '?');
    }
    expect(names).toEqual(messages.map((m) => (m.type === 'pod.provision' ? m.pod.name : '')));
  });

  it('a snapshot is cut into parts with `last` only on the final one, and reassembles to the same snapshot', () => {
    const epoch = 5 * 2 ** 20 + 2;
    const snapshot: UpMessage = {
      type: 'session.snapshot',
      epoch,
      scales: [],
      pods: Array.from({ length: 700 }, (_, i) => ({ record: pod(i), phase: i % 3 === 0 ? 'pending' : 'running' })),
      tombstones: Array.from({ length: 90 }, (_, i) => ({ record: pod(10_000 + i), origin: 'scheduler' })),
    };
    const frames = fitFrames(encodeUp([snapshot]), frameBytesMin, serializeDown, splitDownstreamFrame, recordsOfDownstreamFrame);
    expect(frames.length).toBeGreaterThan(20);
    const assembler = new SnapshotAssembler();
    let result: UpMessage | null = null;
    for (const [i, f] of frames.entries()) {
      expect(f.bytes.length).toBeLessThanOrEqual(frameBytesMin);
      const frame = parseDown(f.bytes);
      expect(frame.snapshot?.last).toBe(i === frames.length - 1);
      const decoded = decodeDownstreamFrame(frame, { link: 'scheduler>kubelet:n1', functions });
      if (!decoded.ok || decoded.value.kind !== 'snapshot') throw new Error('not a snapshot part');
      result = assembler.add(decoded.value.epoch, decoded.value.part);
      if (i < frames.length - 1) expect(result).toBeNull();
    }
    expect(result).toEqual(snapshot);
  });

  it('a Rejected frame with a long multi-byte message is cut to fit, at a character boundary', () => {
    const frame: DownstreamFrame = { epoch: 9, rejected: { reason: 'MALFORMED', message: 'é✓'.repeat(600) } };
    const fitted = rejectedFrameWithin(frame, frameBytesMin, serializeDown);
    const bytes = serializeDown(fitted);
    expect(bytes.length).toBeLessThanOrEqual(frameBytesMin);
    expect(parseDown(bytes).rejected?.message).toBe(fitted.rejected?.message);
    expect('é✓'.repeat(600).startsWith(fitted.rejected?.message ?? 'x')).toBe(true);
    expect(fitted.rejected?.message.length).toBeGreaterThan(300);
  });
});

/** A stream that takes `capacity` frames, then reports full until `drain()`. */
class FakeStream {
  written: Buffer[] = [];
  private space: number;
  private drainListeners: Array<() => void> = [];

  constructor(private readonly capacity: number) {
    this.space = capacity;
  }

  write(chunk: Buffer): boolean {
    this.written.push(chunk);
    this.space--;
    return this.space > 0;
  }

  once(_event: 'drain', listener: () => void): this {
    this.drainListeners.push(listener);
    return this;
  }

  drain(): void {
    this.space = this.capacity;
    const listeners = this.drainListeners;
    this.drainListeners = [];
    for (const l of listeners) l();
  }
}

describe('SessionWriter', () => {
  const epoch = 2 ** 20 + 1;
  const provision = (i: number): DownMessage => ({ type: 'pod.provision', epoch, pod: pod(i) });
  const writerOn = (stream: FakeStream, recordsQueuedMax: number) =>
    new SessionWriter<DownMessage>(stream, {
      frames: (messages) =>
        fitFrames(encodeDown(messages, { upstream: 'scheduler', downstream: 'kubelet:n1' }), frameBytesMin, serializeUp, splitUpstreamFrame, recordsOfUpstreamFrame),
      recordsOf: () => 1,
      recordsQueuedMax,
    });
  const namesOf = (buffers: Buffer[]): string[] => buffers.flatMap((b) => parseUp(b).provision?.pods.map((p) => p.name) ?? []);

  it('stops writing when the stream is full, resumes on drain, and keeps the order (batching what waited)', () => {
    const stream = new FakeStream(3);
    const writer = writerOn(stream, 10_000);
    for (let i = 0; i < 200; i++) expect(writer.enqueue(provision(i))).toBe(true);
    writer.flush();
    expect(stream.written.length).toBe(3); // the third write said "full": nothing more until drain
    expect(writer.blockedCount).toBe(1);
    const queued = writer.recordsQueued;
    expect(queued).toBe(200 - namesOf(stream.written).length);
    for (let i = 200; i < 230; i++) writer.enqueue(provision(i));
    writer.flush(); // still blocked: no write
    expect(stream.written.length).toBe(3);
    expect(writer.recordsQueued).toBe(queued + 30);
    while (!writer.idle) stream.drain();
    expect(namesOf(stream.written)).toEqual(Array.from({ length: 230 }, (_, i) => pod(i).name));
    for (const b of stream.written) expect(b.length).toBeLessThanOrEqual(frameBytesMin);
  });

  it('refuses a message past the bound (the caller ends the session) and drops everything once closed', () => {
    const stream = new FakeStream(1);
    const writer = writerOn(stream, 50);
    for (let i = 0; i < 50; i++) expect(writer.enqueue(provision(i))).toBe(true);
    expect(writer.enqueue(provision(50))).toBe(false);
    expect(writer.recordsQueued).toBe(50);
    writer.flush(); // one frame leaves, the stream is full
    const left = writer.recordsQueued;
    expect(left).toBeLessThan(50);
    expect(writer.enqueue(provision(51))).toBe(true); // room again
    writer.close();
    expect(writer.recordsQueued).toBe(0);
    expect(writer.enqueue(provision(52))).toBe(true); // dropped: the session is over
    stream.drain();
    expect(writer.recordsQueued).toBe(0);
    expect(stream.written.length).toBe(1);
  });
});

// ---------------------------------------------------------------------------
// A real cluster with a small frame size limit
// ---------------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'kd-flow-'));
/**
 * Pods of the burst: 800 by default (about 25 frames of 1 KiB in one flush of the
 * ReplicaSet, more than the stream's buffer of 16: backpressure is certain), so the
 * test stays under a minute on a loaded 2-core machine. KD_FLOW_BURST=2000 runs the
 * issue's 2,000-pod burst (measured: converges in about 3 minutes at load 11-15 on 2
 * cores; the time goes to machine steps at the Scheduler, about 40 ms each there).
 */
const burst = Number(process.env['KD_FLOW_BURST'] ?? 800);
let config: ClusterConfig;

afterAll(async () => {
  await removeCluster(dir);
}, 30_000);


/** Every sample of a metric family, as {labels text: value}. */
async function samples(stage: string, name: string): Promise<Map<string, number>> {
  const address = config.stages[stage]?.metricsAddress;
  const text = await (await fetch(`http://${address}/metrics`)).text();
  const found = new Map<string, number>();
  for (const line of text.split('\n'))
    if (line.startsWith(`${name}{`)) found.set(line.slice(name.length, line.lastIndexOf(' ')), Number(line.slice(line.lastIndexOf(' ') + 1)));
  return found;
}

describe('a cluster with a 1 KiB frame size limit', () => {
  it(`a ${burst}-pod burst converges, no frame exceeds the limit, and senders waited for drain`, async () => {
    const frameBytesMax = frameBytesMin;
    config = await writeClusterConfig(dir, { nodes: 4, capacity: 600, functions: ['fn'], startDelayMs: 5, killDelayMs: 5, frameBytesMax });
    expect(loadClusterConfig(configFileOf(dir)).flow).toEqual({ frameBytesMax });
    const stages = stagesOf(config.chain);
    for (const stage of [...stages].reverse()) startStageProcess(dir, stage);
    await waitHealthy(config, stages, 60_000);
    await waitConverged(config, 0, 30_000);

    const started = Date.now();
    expect(await runScale(['fn', String(burst), '--dir', dir], () => {})).toBe(0);
    const status = await waitConverged(config, burst, Math.max(120_000, burst * 150));
    console.log(`[flow] 0 -> ${burst} pods with 1 KiB frames converged in ${Date.now() - started} ms`);
    expect(status.functions[0]).toMatchObject({ desired: burst, running: burst });

    let frames = 0;
    let blocked = 0;
    let largestSeen = 0;
    for (const stage of stages) {
      for (const [labels, bytes] of await samples(stage, 'kubedirect_frame_bytes_largest')) {
        expect(bytes, `${stage} ${labels}`).toBeLessThanOrEqual(frameBytesMax);
        largestSeen = Math.max(largestSeen, bytes);
      }
      for (const value of (await samples(stage, 'kubedirect_frames_sent_total')).values()) frames += value;
      for (const value of (await samples(stage, 'kubedirect_send_blocked_total')).values()) blocked += value;
      expect([...(await samples(stage, 'kubedirect_send_queue_overflows_total')).values()].reduce((a, b) => a + b, 0)).toBe(0);
    }
    console.log(`[flow] ${frames} frames on ${linksOf(config.chain).length} links, largest ${largestSeen} B, ${blocked} waits for drain`);
    // Each pod crosses two pod links down (provision) and comes back up twice (running): at most ~40 records per 1 KiB frame.
    expect(frames).toBeGreaterThan((4 * burst) / 40);
    expect(largestSeen).toBeGreaterThan(frameBytesMax / 2);
    expect(blocked).toBeGreaterThan(0);

    // A frame over the link's limit (fewer than batchRecordsMax records, but more bytes) is rejected as
    // BATCH_TOO_LARGE with the Rejected frame and the ErrorDetail, and the real session goes on.
    const kubelet = config.stages['kubelet:n1']?.address ?? '';
    const sessionBefore = (await getStageState(kubelet, 5_000, { omit_pods: true })).links[0];
    const pods = Array.from({ length: 60 }, (_, i) => ({ name: `fn-1-${i}`, function: 'fn', priority: 0, node: 'n1' }));
    const oversized: UpstreamFrame = { epoch: 2 ** 40, provision: { pods } };
    const size = serializeUp(oversized).length;
    expect(size).toBeGreaterThan(frameBytesMax);
    expect(size).toBeLessThan(2 * frameBytesMax);
    const client = new LinkClient(kubelet, grpc.credentials.createInsecure());
    const call = (client as unknown as { Session: () => grpc.ClientDuplexStream<UpstreamFrame, DownstreamFrame> }).Session();
    const received: DownstreamFrame[] = [];
    const refused = await new Promise<grpc.StatusObject>((resolve) => {
      call.on('data', (f: DownstreamFrame) => received.push(f));
      call.on('error', () => {});
      call.on('status', resolve);
      call.write(oversized);
    });
    client.close();
    expect(refused.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(errorDetailOfStatus(refused)).toMatchObject({ reason: 'BATCH_TOO_LARGE', epoch: 2 ** 40, link_id: 'scheduler>kubelet:n1' });
    expect(received.at(-1)?.rejected?.reason).toBe('BATCH_TOO_LARGE');
    const sessionAfter = (await getStageState(kubelet, 5_000, { omit_pods: true })).links[0];
    expect([sessionAfter?.state, sessionAfter?.epoch]).toEqual(['synced', sessionBefore?.epoch]);
  }, Math.max(240_000, burst * 200));
});
