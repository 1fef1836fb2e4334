/**
 * Rejections on the wire (spec/10-wire-protocol.md §Errors): one reason, its gRPC
 * status code, and a message of at most rejectionMessageLengthMax characters.
 *
 * The status of a rejection carries, in the `grpc-status-details-bin` trailer, a
 * `google.rpc.Status{code, message, details}` whose details hold one
 * `kubedirect.v1.ErrorDetail{reason, epoch, link_id, message}` and one
 * `google.rpc.ErrorInfo{reason, domain: "kubedirect.io"}` (spec 10 §Errors). The
 * status message is the rejection message. For older readers the reason, epoch and
 * link also travel as plain metadata (`kubedirect-reason`, `kubedirect-epoch`,
 * `kubedirect-link`).
 */
import * as grpc from '@grpc/grpc-js';
import { rejectionMessageLengthMax } from '../../spec/limits.js';
import { decodeRpcStatus, encodeRpcStatus, errorDetailTypeUrl, type RpcStatusDetail } from './status-details.js';

export const errorReasons = [
  'STALE_EPOCH',
  'UNAUTHENTICATED',
  'UNAUTHORIZED_UPSTREAM',
  'WRONG_DOWNSTREAM',
  'UNSUPPORTED_VERSION',
  'MALFORMED',
  'BATCH_TOO_LARGE',
  'UNKNOWN_FUNCTION',
  'OUT_OF_ORDER',
  'NOT_READY',
  'INTERNAL',
  'HELLO_TIMEOUT',
] as const;

export type ErrorReason = (typeof errorReasons)[number];

export const statusOfReason: Readonly<Record<ErrorReason, grpc.status>> = {
  STALE_EPOCH: grpc.status.FAILED_PRECONDITION,
  UNAUTHENTICATED: grpc.status.UNAUTHENTICATED,
  UNAUTHORIZED_UPSTREAM: grpc.status.PERMISSION_DENIED,
  WRONG_DOWNSTREAM: grpc.status.FAILED_PRECONDITION,
  UNSUPPORTED_VERSION: grpc.status.FAILED_PRECONDITION,
  MALFORMED: grpc.status.INVALID_ARGUMENT,
  BATCH_TOO_LARGE: grpc.status.RESOURCE_EXHAUSTED,
  UNKNOWN_FUNCTION: grpc.status.NOT_FOUND,
  OUT_OF_ORDER: grpc.status.FAILED_PRECONDITION,
  NOT_READY: grpc.status.UNAVAILABLE,
  INTERNAL: grpc.status.INTERNAL,
  HELLO_TIMEOUT: grpc.status.DEADLINE_EXCEEDED,
};

/** Metadata key carrying the wire reason name of a rejection status (also in the status message prefix). */
export const reasonMetadataKey = 'kubedirect-reason';

export interface Rejection {
  readonly reason: ErrorReason;
  readonly message: string;
}

export function rejection(reason: ErrorReason, message: string): Rejection {
  return { reason, message: message.slice(0, rejectionMessageLengthMax) };
}

/** The standard trailer carrying a serialized google.rpc.Status. */
export const statusDetailsMetadataKey = 'grpc-status-details-bin';

/** `google.rpc.ErrorInfo.domain` of every rejection. */
export const errorInfoDomain = 'kubedirect.io';

/** The gRPC status object that ends a call or answers a unary request. */
export function statusOf(r: Rejection, details: { epoch: number; link: string }): { code: grpc.status; details: string; metadata: grpc.Metadata } {
  const code = statusOfReason[r.reason];
  const metadata = new grpc.Metadata();
  metadata.set(reasonMetadataKey, r.reason);
  metadata.set('kubedirect-epoch', String(details.epoch));
  if (details.link !== '') metadata.set('kubedirect-link', details.link);
  metadata.set(
    statusDetailsMetadataKey,
    encodeRpcStatus({
      code,
      message: r.message,
      errorDetail: { reason: r.reason, epoch: details.epoch, link_id: details.link, message: r.message },
      errorInfo: { reason: r.reason, domain: errorInfoDomain },
    }),
  );
  return { code, details: r.message, metadata };
}

/** The ErrorDetail of a status received from a stage (from `grpc-status-details-bin`), or null when it carries none or it does not decode. */
export function errorDetailOfStatus(error: { metadata?: grpc.Metadata }): RpcStatusDetail | null {
  const value = error.metadata?.get(statusDetailsMetadataKey)[0];
  if (!Buffer.isBuffer(value)) return null;
  try {
    return decodeRpcStatus(value).errorDetail;
  } catch {
    return null;
  }
}

/** The wire reason of a status received from a stage, if it carries one: the ErrorDetail, else the metadata, else a `REASON:` message prefix. */
export function reasonOfStatus(error: { metadata?: grpc.Metadata; details?: string }): string | null {
  const detail = errorDetailOfStatus(error);
  if (detail !== null) return detail.reason;
  const value = error.metadata?.get(reasonMetadataKey)[0];
  if (typeof value === 'string') return value;
  const match = /^([A-Z_]+):/.exec(error.details ?? '');
  return match?.[1] ?? null;
}

export { errorDetailTypeUrl };
