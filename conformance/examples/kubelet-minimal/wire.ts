/**
 * The wire of spec/10-wire-protocol.md: the schema (spec/kubedirect.proto,
 * spec/health.proto) loaded with protobufjs, gRPC method definitions built from it,
 * and rejections: a `Rejected` frame plus the gRPC status of 10 §Errors with an
 * `ErrorDetail` in `google.rpc.Status.details`.
 */
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { fileURLToPath } from 'node:url';
import { rejectionMessageLengthMax } from '../../../spec/limits.js';

const specDir = fileURLToPath(new URL('../../../spec/', import.meta.url));
const root = protobuf.loadSync([
  `${specDir}kubedirect.proto`,
  `${specDir}health.proto`,
  fileURLToPath(new URL('google-rpc-status.proto', import.meta.url)),
]);

/** Plain objects: camelCase fields, uint64 as decimal strings, enums as their names. */
const toObjectOptions: protobuf.IConversionOptions = { longs: String, enums: String, defaults: true, oneofs: true };

export const types = {
  upstreamFrame: root.lookupType('kubedirect.v1.UpstreamFrame'),
  downstreamFrame: root.lookupType('kubedirect.v1.DownstreamFrame'),
  errorDetail: root.lookupType('kubedirect.v1.ErrorDetail'),
  getStateRequest: root.lookupType('kubedirect.v1.GetStateRequest'),
  stageState: root.lookupType('kubedirect.v1.StageState'),
  healthCheckRequest: root.lookupType('grpc.health.v1.HealthCheckRequest'),
  healthCheckResponse: root.lookupType('grpc.health.v1.HealthCheckResponse'),
  rpcStatus: root.lookupType('google.rpc.Status'),
};

export function encode(type: protobuf.Type, object: object): Buffer {
  return Buffer.from(type.encode(type.fromObject(object)).finish());
}

export function decode<T>(type: protobuf.Type, bytes: Buffer): T {
  return type.toObject(type.decode(bytes), toObjectOptions) as T;
}

/** An `UpstreamFrame` as protobufjs decodes it; nothing in it has been checked yet. */
export interface UpstreamFrameObject {
  readonly epoch: string;
  readonly body?: string;
  readonly hello?: { readonly upstreamStageId: string; readonly downstreamStageId: string; readonly protocolVersion: number };
  readonly sync?: object;
  readonly scaleSet?: { readonly scales: readonly object[] };
  readonly provision?: { readonly pods: readonly { readonly name: string; readonly function: string; readonly priority: number; readonly node: string }[] };
  readonly tombstone?: { readonly tombstones: readonly { readonly name: string; readonly origin: string }[] };
}

/**
 * What the Link server receives per frame: the decoded frame, or why it could not be
 * decoded, with the frame's encoded size (checked against frameBytesMax, REQ-WIRE-004).
 */
export type ReceivedFrame =
  | { readonly decoded: true; readonly bytes: number; readonly frame: UpstreamFrameObject }
  | { readonly decoded: false; readonly bytes: number; readonly problem: string };

function receiveUpstreamFrame(bytes: Buffer): ReceivedFrame {
  try {
    return { decoded: true, bytes: bytes.length, frame: decode<UpstreamFrameObject>(types.upstreamFrame, bytes) };
  } catch (error) {
    return { decoded: false, bytes: bytes.length, problem: `undecodable frame: ${(error as Error).message}` };
  }
}

function methodDefinition(
  path: string,
  streams: { requestStream: boolean; responseStream: boolean },
  requestType: protobuf.Type,
  responseType: protobuf.Type,
  requestDeserialize: (bytes: Buffer) => unknown = (bytes) => decode(requestType, bytes),
): grpc.MethodDefinition<unknown, object> {
  return {
    path,
    ...streams,
    requestSerialize: (object) => encode(requestType, object as object),
    requestDeserialize,
    responseSerialize: (object) => encode(responseType, object),
    responseDeserialize: (bytes) => decode(responseType, bytes),
  };
}

export const linkService: grpc.ServiceDefinition = {
  Session: methodDefinition(
    '/kubedirect.v1.Link/Session',
    { requestStream: true, responseStream: true },
    types.upstreamFrame,
    types.downstreamFrame,
    receiveUpstreamFrame,
  ),
};

export const inspectService: grpc.ServiceDefinition = {
  GetState: methodDefinition('/kubedirect.v1.Inspect/GetState', { requestStream: false, responseStream: false }, types.getStateRequest, types.stageState),
};

export const healthService: grpc.ServiceDefinition = {
  Check: methodDefinition('/grpc.health.v1.Health/Check', { requestStream: false, responseStream: false }, types.healthCheckRequest, types.healthCheckResponse),
  Watch: methodDefinition('/grpc.health.v1.Health/Watch', { requestStream: false, responseStream: true }, types.healthCheckRequest, types.healthCheckResponse),
};

/** The wire reasons of 10 §Errors a Kubelet can raise. */
export type ErrorReason =
  | 'STALE_EPOCH'
  | 'UNAUTHENTICATED'
  | 'UNAUTHORIZED_UPSTREAM'
  | 'WRONG_DOWNSTREAM'
  | 'UNSUPPORTED_VERSION'
  | 'MALFORMED'
  | 'BATCH_TOO_LARGE'
  | 'OUT_OF_ORDER'
  | 'INTERNAL';

/** The gRPC status of each reason (10 §Errors). */
export const statusOfReason: Readonly<Record<ErrorReason, grpc.status>> = {
  STALE_EPOCH: grpc.status.FAILED_PRECONDITION,
  UNAUTHENTICATED: grpc.status.UNAUTHENTICATED,
  UNAUTHORIZED_UPSTREAM: grpc.status.PERMISSION_DENIED,
  WRONG_DOWNSTREAM: grpc.status.FAILED_PRECONDITION,
  UNSUPPORTED_VERSION: grpc.status.FAILED_PRECONDITION,
  MALFORMED: grpc.status.INVALID_ARGUMENT,
  BATCH_TOO_LARGE: grpc.status.RESOURCE_EXHAUSTED,
  OUT_OF_ORDER: grpc.status.FAILED_PRECONDITION,
  INTERNAL: grpc.status.INTERNAL,
};

/** One rejection: what goes in the `Rejected` frame and in the status that ends the stream. */
export interface Rejection {
  readonly reason: ErrorReason;
  /** The rejected frame's epoch, as received (decimal). */
  readonly epoch: string;
  readonly message: string;
}

export function rejectedFrame(rejection: Rejection): object {
  return { epoch: rejection.epoch, rejected: { reason: rejection.reason, message: truncate(rejection.message) } };
}

/** The status object that ends a stream (grpc-js `call.emit('error', ...)`), REQ-WIRE-005. */
export function rejectionStatus(rejection: Rejection, linkId: string): grpc.StatusObject {
  const message = truncate(rejection.message);
  const code = statusOfReason[rejection.reason];
  const detail = encode(types.errorDetail, { reason: rejection.reason, epoch: rejection.epoch, linkId, message });
  const status = encode(types.rpcStatus, {
    code,
    message,
    details: [{ type_url: 'type.googleapis.com/kubedirect.v1.ErrorDetail', value: detail }],
  });
  const metadata = new grpc.Metadata();
  metadata.set('grpc-status-details-bin', status);
  return { code, details: message, metadata };
}

function truncate(message: string): string {
  return message.length <= rejectionMessageLengthMax ? message : message.slice(0, rejectionMessageLengthMax);
}
