/**
 * `npm run bench:wire`: CPU time per record of the Link wire path in one process, as the
 * gRPC transports run it (runtime/node/grpc-*-link.ts), on the frames of a burst:
 *
 * - send: machine messages -> frames (runtime/wire/codec.ts) -> bytes within the frame
 *   size limit (runtime/wire/frame-size.ts, runtime/wire/frame-bytes.ts);
 * - receive: bytes -> frame object (frame-bytes.ts) -> validated machine messages
 *   (codec.ts).
 *
 * Cases: ProvisionBatch from the ReplicaSet (no node) and from the Scheduler (node set),
 * and RunningBatch, each in frames of 1, 16 and batchRecordsMax records (the burst path
 * of frame-bytes.ts); and a Kubelet's snapshot of batchRecordsMax pods (the general
 * path: the strict decoder, runtime/wire/strict-decoder.ts). Before timing,
 * every case checks that its bytes are those of the @grpc/proto-loader serializer of
 * spec/kubedirect.proto and that the frame read back is the one proto-loader gives.
 *
 * CPU time (user + system of this process) over enough repetitions to last about
 * `--ms` milliseconds, `--runs` times; the median of the runs is printed, in µs per
 * record. On a noisy machine compare two trees by running them interleaved.
 * Usage: npm run bench:wire -- [--runs N] [--ms N] [--json]
 */
import { isDeepStrictEqual } from 'node:util';
import { parseCommandLineOrExit } from '../cli/args.js';
import type * as grpc from '@grpc/grpc-js';
import type { DownMessage, UpMessage } from '../machines/index.js';
import { batchRecordsMax, frameBytesMax } from '../spec/limits.js';
import { decodeDownstreamFrame, decodeUpstreamFrame, encodeDown, encodeUp, type LinkContext } from '../runtime/wire/codec.js';
import { deserializeDownstreamFrame, deserializeUpstreamFrame, serializeDownstreamFrame, serializeUpstreamFrame } from '../runtime/wire/frame-bytes.js';
import { fitFrames, recordsOfDownstreamFrame, recordsOfUpstreamFrame, splitDownstreamFrame, splitUpstreamFrame, type FittedFrame } from '../runtime/wire/frame-size.js';
import { LinkClient } from '../runtime/wire/proto.js';

const { options: values } = parseCommandLineOrExit({
  command: 'bench:wire',
  program: 'npm run',
  about: 'CPU time per record of the wire codec (encode, decode, frame fitting), median of the runs.',
  options: {
    runs: { kind: 'whole', value: 'N', min: 1, max: 1_000, default: 7, help: 'runs; the median is printed' },
    ms: { kind: 'whole', value: 'N', min: 1, max: 600_000, default: 150, help: 'CPU milliseconds per run and case' },
    json: { kind: 'flag', help: 'the figures as JSON' },
  },
  example: 'npm run bench:wire -- --runs 7',
  exits: { ok: 'measured' },
});
const runs = values.runs;
const msPerRun = values.ms;

const functionName = 'image-resize';
const functions = new Set([functionName]);
const epoch = 17 * 2 ** 20 + 3;
const podName = (i: number): string => `${functionName}-3-${i}`;

interface Case {
  readonly name: string;
  readonly records: number;
  /** Machine messages to serialized frames, as the sending link does. */
  send(): Buffer[];
  /** Serialized frames to machine messages, as the receiving link does; returns the records decoded. */
  receive(frames: readonly Buffer[]): number;
  /** The frames as the proto-loader serializer writes them and its deserializer reads them back. */
  reference(frames: readonly Buffer[]): { readonly same: boolean };
}

const sessionMethod = (LinkClient.service as grpc.ServiceDefinition)['Session'];
if (sessionMethod === undefined) throw new Error('spec/kubedirect.proto: Link has no Session');
const session = sessionMethod;

function provisionCase(link: string, records: number): Case {
  const [upstream = '', downstream = ''] = link.split('>');
  const node = downstream.startsWith('kubelet:') ? downstream.slice('kubelet:'.length) : null;
  const messages: DownMessage[] = Array.from({ length: records }, (_, i) => ({
    type: 'pod.provision',
    epoch,
    pod: { name: podName(i), function: functionName, priority: 0, node },
  }));
  const context: LinkContext = { link, functions };
  const identity = { upstream, downstream };
  return {
    name: `provision ${link}`,
    records,
    send: () => bytesOf(fitFrames(encodeDown(messages, identity), frameBytesMax, serializeUpstreamFrame, splitUpstreamFrame, recordsOfUpstreamFrame)),
    receive: (frames) => frames.reduce((sum, bytes) => sum + recordsOf(decodeUpstreamFrame(deserializeUpstreamFrame(bytes), context)), 0),
    reference: (frames) => ({
      same: encodeDown(messages, identity).every((frame, i) => {
        const bytes = session.requestSerialize(frame) as Buffer;
        return frames[i]?.equals(bytes) === true && isDeepStrictEqual(deserializeUpstreamFrame(bytes), session.requestDeserialize(bytes));
      }),
    }),
  };
}

function runningCase(link: string, records: number): Case {
  const messages: UpMessage[] = Array.from({ length: records }, (_, i) => ({ type: 'pod.running', epoch, name: podName(i) }));
  const context: LinkContext = { link, functions };
  return {
    name: `running ${link}`,
    records,
    send: () => bytesOf(fitFrames(encodeUp(messages), frameBytesMax, serializeDownstreamFrame, splitDownstreamFrame, recordsOfDownstreamFrame)),
    receive: (frames) => frames.reduce((sum, bytes) => sum + recordsOf(decodeDownstreamFrame(deserializeDownstreamFrame(bytes), context)), 0),
    reference: (frames) => ({
      same: encodeUp(messages).every((frame, i) => {
        const bytes = session.responseSerialize(frame) as Buffer;
        return frames[i]?.equals(bytes) === true && isDeepStrictEqual(deserializeDownstreamFrame(bytes), session.responseDeserialize(bytes));
      }),
    }),
  };
}

/** A snapshot of `records` running pods, as a Kubelet sends it to the Scheduler at a handshake: read by the general path, not the burst path. */
function snapshotCase(link: string, records: number): Case {
  const node = link.slice(link.indexOf('>kubelet:') + '>kubelet:'.length);
  const message: UpMessage = {
    type: 'session.snapshot',
    epoch,
    scales: [],
    pods: Array.from({ length: records }, (_, i) => ({ record: { name: podName(i), function: functionName, priority: 0, node }, phase: 'running' as const })),
    tombstones: [],
  };
  const context: LinkContext = { link, functions };
  return {
    name: `snapshot ${link}`,
    records,
    send: () => bytesOf(fitFrames(encodeUp([message]), frameBytesMax, serializeDownstreamFrame, splitDownstreamFrame, recordsOfDownstreamFrame)),
    receive: (frames) =>
      frames.reduce((sum, bytes) => {
        const result = decodeDownstreamFrame(deserializeDownstreamFrame(bytes), context);
        if (!result.ok || result.value.kind !== 'snapshot') throw new Error('a snapshot frame of the benchmark was rejected');
        return sum + result.value.part.pods.length;
      }, 0),
    reference: (frames) => ({
      same: encodeUp([message]).every((frame, i) => {
        const bytes = session.responseSerialize(frame) as Buffer;
        return frames[i]?.equals(bytes) === true && isDeepStrictEqual(deserializeDownstreamFrame(bytes), session.responseDeserialize(bytes));
      }),
    }),
  };
}

function bytesOf(frames: readonly FittedFrame[]): Buffer[] {
  const bytes: Buffer[] = [];
  for (const frame of frames) bytes.push(frame.bytes);
  return bytes;
}

function recordsOf(result: ReturnType<typeof decodeUpstreamFrame> | ReturnType<typeof decodeDownstreamFrame>): number {
  if (!result.ok) throw new Error(`a frame of the benchmark was rejected: ${result.rejection.message}`);
  return result.value.kind === 'records' ? result.value.messages.length : 0;
}

/** CPU microseconds per call of `work`, over repetitions lasting about msPerRun. */
function cpuMicrosecondsPerCall(work: () => unknown): number {
  let repetitions = 1;
  for (;;) {
    const start = process.cpuUsage();
    for (let i = 0; i < repetitions; i++) work();
    const used = process.cpuUsage(start);
    const micros = used.user + used.system;
    if (micros >= msPerRun * 1_000) return micros / repetitions;
    repetitions = micros < 1_000 ? repetitions * 10 : Math.ceil((repetitions * msPerRun * 1_000 * 1.1) / micros);
  }
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

const cases: Case[] = [1, 16, batchRecordsMax].flatMap((records) => [
  provisionCase('replicaset>scheduler', records),
  provisionCase('scheduler>kubelet:node-7', records),
  runningCase('kubelet:node-7>scheduler', records),
]).concat([snapshotCase('scheduler>kubelet:node-7', batchRecordsMax)]);

const results: Array<{ name: string; records: number; sendUsPerRecord: number; receiveUsPerRecord: number }> = [];
for (const c of cases) {
  const frames = c.send();
  if (!c.reference(frames).same) throw new Error(`${c.name} x${c.records}: the bytes or the frames read back differ from proto-loader's`);
  if (c.receive(frames) !== c.records) throw new Error(`${c.name} x${c.records}: not every record came back`);
  // Warm up both directions, then alternate them run by run.
  cpuMicrosecondsPerCall(() => c.receive(c.send()));
  const send: number[] = [];
  const receive: number[] = [];
  for (let run = 0; run < runs; run++) {
    send.push(cpuMicrosecondsPerCall(() => c.send()) / c.records);
    receive.push(cpuMicrosecondsPerCall(() => c.receive(frames)) / c.records);
  }
  results.push({ name: c.name, records: c.records, sendUsPerRecord: median(send), receiveUsPerRecord: median(receive) });
}

if (values.json) console.log(JSON.stringify(results));
else {
  console.log(`CPU µs per record, median of ${runs} runs (send = encode + serialize, receive = deserialize + decode)`);
  for (const r of results)
    console.log(`${r.name.padEnd(40)} x${String(r.records).padEnd(5)} send ${r.sendUsPerRecord.toFixed(3).padStart(8)}   receive ${r.receiveUsPerRecord.toFixed(3).padStart(8)}`);
}
