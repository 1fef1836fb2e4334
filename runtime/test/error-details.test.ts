/**
 * Every rejection status carries a `google.rpc.Status` in `grpc-status-details-bin`
 * with a `kubedirect.v1.ErrorDetail` (spec 10 §Errors). Checked over a real gRPC call
 * (a Link.Session server that rejects the way a stage does) and decoded twice: with the
 * runtime's own decoder and independently with protobufjs from spec/kubedirect.proto.
 */
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorDetailOfStatus, errorReasons, reasonOfStatus, rejection, statusDetailsMetadataKey, statusOf, statusOfReason } from '../wire/errors.js';
import { LinkClient, protoPath, type DownstreamFrame, type UpstreamFrame } from '../wire/proto.js';
import { decodeRpcStatus } from '../wire/status-details.js';

const root = new protobuf.Root().loadSync(protoPath, { keepCase: true });
root.add(
  protobuf.Root.fromJSON({
    nested: {
      google: {
        nested: {
          protobuf: { nested: { Any: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } } } },
          rpc: {
            nested: {
              Status: { fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 }, details: { rule: 'repeated', type: 'google.protobuf.Any', id: 3 } } },
              ErrorInfo: { fields: { reason: { type: 'string', id: 1 }, domain: { type: 'string', id: 2 } } },
            },
          },
        },
      },
    },
  }).nested?.['google'] as protobuf.Namespace,
);
const Status = root.lookupType('google.rpc.Status');
const ErrorDetail = root.lookupType('kubedirect.v1.ErrorDetail');
const ErrorInfo = root.lookupType('google.rpc.ErrorInfo');

/** Decodes a grpc-status-details-bin payload with protobufjs (independent of the runtime's decoder). */
function independentDecode(bytes: Buffer): { code: number; message: string; detail: Record<string, unknown>; info: Record<string, unknown> | null; types: string[] } {
  const status = Status.toObject(Status.decode(bytes), { longs: Number, enums: String }) as { code: number; message: string; details: Array<{ type_url: string; value: Uint8Array }> };
  const detailAny = status.details.find((d) => d.type_url === 'type.googleapis.com/kubedirect.v1.ErrorDetail');
  const infoAny = status.details.find((d) => d.type_url === 'type.googleapis.com/google.rpc.ErrorInfo');
  if (detailAny === undefined) throw new Error('no ErrorDetail in the status details');
  return {
    code: status.code,
    message: status.message,
    detail: ErrorDetail.toObject(ErrorDetail.decode(detailAny.value), { longs: Number, enums: String, defaults: true }),
    info: infoAny === undefined ? null : ErrorInfo.toObject(ErrorInfo.decode(infoAny.value)),
    types: status.details.map((d) => d.type_url),
  };
}

describe('status details, encoded', () => {
  it('every reason round-trips, including a large epoch and a non-ASCII message', () => {
    for (const reason of errorReasons) {
      const epoch = reason === 'STALE_EPOCH' ? 2 ** 52 + 12_345 : 7;
      const status = statusOf(rejection(reason, `why: ${reason} é ✓`), { epoch, link: 'replicaset>scheduler' });
      const bytes = status.metadata?.get(statusDetailsMetadataKey)[0];
      expect(Buffer.isBuffer(bytes)).toBe(true);
      const ours = decodeRpcStatus(bytes as Buffer);
      const theirs = independentDecode(bytes as Buffer);
      const expected = { reason, epoch, link_id: 'replicaset>scheduler', message: `why: ${reason} é ✓` };
      expect(ours.errorDetail).toEqual(expected);
      expect(theirs.detail).toEqual(expected);
      expect([ours.code, theirs.code]).toEqual([statusOfReason[reason], statusOfReason[reason]]);
      expect(theirs.message).toBe(status.details);
      expect(theirs.info).toEqual({ reason, domain: 'kubedirect.io' });
    }
  });

  it('an empty link and epoch 0 (a Scaler rejection) are proto3 defaults and still decode', () => {
    const status = statusOf(rejection('UNKNOWN_FUNCTION', 'function "x" is not configured'), { epoch: 0, link: '' });
    const theirs = independentDecode(status.metadata?.get(statusDetailsMetadataKey)[0] as Buffer);
    expect(theirs.detail).toEqual({ reason: 'UNKNOWN_FUNCTION', epoch: 0, link_id: '', message: 'function "x" is not configured' });
  });
});

describe('status details, over gRPC', () => {
  const server = new grpc.Server();
  let address = '';

  beforeAll(async () => {
    server.addService(LinkClient.service, {
      Session: (call: grpc.ServerDuplexStream<UpstreamFrame, DownstreamFrame>) => {
        call.on('data', (frame: UpstreamFrame) => {
          const r = rejection('STALE_EPOCH', `epoch ${frame.epoch} is not newer than the current epoch`);
          call.write({ epoch: frame.epoch, rejected: { reason: r.reason, message: r.message } });
          call.emit('error', statusOf(r, { epoch: frame.epoch, link: 'deployment>replicaset' }));
        });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e === null ? resolve(p) : reject(e))),
    );
    address = `127.0.0.1:${port}`;
  });

  afterAll(() => {
    server.forceShutdown();
  });

  it('a client receives the ErrorDetail in the trailer of the ended stream', async () => {
    const client = new LinkClient(address, grpc.credentials.createInsecure());
    const call = (client as unknown as { Session: () => grpc.ClientDuplexStream<UpstreamFrame, DownstreamFrame> }).Session();
    const status = await new Promise<grpc.StatusObject>((resolve) => {
      call.on('data', () => {});
      call.on('error', () => {});
      call.on('status', resolve);
      call.write({ epoch: 3, hello: { upstream_stage_id: 'deployment', downstream_stage_id: 'replicaset', protocol_version: 1 } });
    });
    client.close();
    expect(status.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(reasonOfStatus(status)).toBe('STALE_EPOCH');
    expect(errorDetailOfStatus(status)).toEqual({ reason: 'STALE_EPOCH', epoch: 3, link_id: 'deployment>replicaset', message: 'epoch 3 is not newer than the current epoch' });
    const theirs = independentDecode(status.metadata.get(statusDetailsMetadataKey)[0] as Buffer);
    expect(theirs.detail).toMatchObject({ reason: 'STALE_EPOCH', epoch: 3 });
    expect(theirs.types).toEqual(['type.googleapis.com/kubedirect.v1.ErrorDetail', 'type.googleapis.com/google.rpc.ErrorInfo']);
    // The compatibility metadata is still there.
    expect(status.metadata.get('kubedirect-reason')).toEqual(['STALE_EPOCH']);
    expect(status.details).toBe('epoch 3 is not newer than the current epoch');
  });
});
