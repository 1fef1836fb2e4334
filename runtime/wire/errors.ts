/**
 * Rejections on the wire (spec/10-wire-protocol.md §Errors): one reason, its gRPC
 * status code, and a message of at most rejectionMessageLengthMax characters.
 */
import * as grpc from '@grpc/grpc-js';
import { rejectionMessageLengthMax } from '../../spec/limits.js';

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

/** The gRPC status object that ends a call or answers a unary request. */
export function statusOf(r: Rejection, details: { epoch: number; link: string }): Partial<grpc.StatusObject> & { code: grpc.status } {
  const metadata = new grpc.Metadata();
  metadata.set(reasonMetadataKey, r.reason);
  metadata.set('kubedirect-epoch', String(details.epoch));
  if (details.link !== '') metadata.set('kubedirect-link', details.link);
  return { code: statusOfReason[r.reason], details: `${r.reason}: ${r.message}`, metadata };
}

/** The wire reason of a status received from a stage, if it carries one. */
export function reasonOfStatus(error: { metadata?: grpc.Metadata; details?: string }): string | null {
  const value = error.metadata?.get(reasonMetadataKey)[0];
  if (typeof value === 'string') return value;
  const match = /^([A-Z_]+):/.exec(error.details ?? '');
  return match?.[1] ?? null;
}
