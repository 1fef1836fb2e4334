/**
 * One process of the floor measurement (floor.ts): a link end with no protocol work. The
 * source writes pod.provision frames into a `Link.Session` stream when the driver says
 * go; a relay decodes every frame it receives and writes it on to its downstream (the
 * runtime's own codec and gRPC options, runtime/wire/frame-bytes.ts); the sink counts the
 * records and tells the driver when all have arrived. No machine, trace, store or fsync.
 *
 * Usage (started by floor.ts): node --import tsx bench/floor/relay.ts ROLE LISTEN_PORT DOWNSTREAM_ADDRESS
 * with ROLE source|relay|sink, 0 for no port, - for no downstream; driven over the IPC channel.
 */
import * as grpc from '@grpc/grpc-js';
import { linkChannelOptions } from '../../runtime/node/grpc-downstream-link.js';
import { linkService, serverReceiveBytesMaxOf } from '../../runtime/node/grpc-upstream-link.js';
import { frameBytesMax } from '../../spec/limits.js';
import { deserializeDownstreamFrame, serializeUpstreamFrame } from '../../runtime/wire/frame-bytes.js';
import { isUndecodable, LinkClient, type UpstreamFrame, type WirePodRecord } from '../../runtime/wire/proto.js';
import type { FloorCommand, FloorReport } from './floor.js';

const [role, listenPort, downstreamAddress] = process.argv.slice(2) as [string, string, string];
const send = (report: FloorReport): void => void process.send?.(report);
const epoch = 1 << 20;

/** The stream to the downstream, opened at start. */
function openDownstream(address: string): grpc.ClientDuplexStream<UpstreamFrame, unknown> {
  const client = new LinkClient(address, grpc.credentials.createInsecure(), linkChannelOptions);
  const method = (LinkClient.service as grpc.ServiceDefinition)['Session'];
  if (method === undefined) throw new Error('spec/kubedirect.proto: Link has no Session');
  const call = client.makeBidiStreamRequest('/kubedirect.v1.Link/Session', serializeUpstreamFrame, deserializeDownstreamFrame);
  call.on('error', (error) => console.error(`floor ${role}: ${error.message}`));
  call.on('data', () => {});
  return call;
}

let received = 0;
let expected = 0;
const downstream = downstreamAddress === '-' ? null : openDownstream(downstreamAddress);

function onFrame(frame: UpstreamFrame): void {
  if (downstream !== null) {
    downstream.write(frame);
    return;
  }
  received += frame.provision?.pods.length ?? 0;
  if (received === expected) send({ type: 'done', atMs: performance.timeOrigin + performance.now() });
}

function sendRecords(records: number, frameRecords: number, run: number): void {
  if (downstream === null) throw new Error('the source has no downstream');
  send({ type: 'started', atMs: performance.timeOrigin + performance.now() });
  for (let first = 0; first < records; first += frameRecords) {
    const pods: WirePodRecord[] = [];
    for (let i = first; i < Math.min(records, first + frameRecords); i++) pods.push({ name: `fn-r${run}-${i}`, function: 'fn', priority: 0, node: '' });
    downstream.write({ epoch, body: 'provision', provision: { pods } });
  }
}

process.on('message', (command: FloorCommand) => {
  switch (command.type) {
    case 'expect':
      received = 0;
      expected = command.records;
      send({ type: 'expecting' });
      return;
    case 'go':
      return sendRecords(command.records, command.frameRecords, command.run);
    case 'cpu': {
      const usage = process.cpuUsage();
      return send({ type: 'cpu', cpuMs: (usage.user + usage.system) / 1000 });
    }
    case 'stop':
      process.exit(0);
  }
});

if (Number(listenPort) > 0) {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': serverReceiveBytesMaxOf(frameBytesMax) });
  server.addService(linkService, {
    Session: (call: grpc.ServerDuplexStream<UpstreamFrame, unknown>) => {
      call.on('data', (frame: UpstreamFrame) => {
        if (isUndecodable(frame)) throw new Error('floor: an undecodable frame');
        onFrame(frame);
      });
      call.on('error', () => {});
    },
  });
  server.bindAsync(`127.0.0.1:${listenPort}`, grpc.ServerCredentials.createInsecure(), (error) => {
    if (error !== null) throw error;
    send({ type: 'ready' });
  });
} else send({ type: 'ready' });
