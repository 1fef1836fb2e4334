/**
 * A gRPC client that sends raw bytes as messages, for tests that play a hostile peer:
 * the bytes of a frame go on the wire as they are, whatever the .proto says, and the
 * answer comes back as the call's final status, the raw messages received before it,
 * and the decoded ErrorDetail of its `grpc-status-details-bin` trailer.
 */
import * as grpc from '@grpc/grpc-js';
import { errorDetailOfStatus, reasonOfStatus } from '../wire/errors.js';
import type { RpcStatusDetail } from '../wire/status-details.js';

export const linkSessionPath = '/kubedirect.v1.Link/Session';
export const scalerSetScalePath = '/kubedirect.v1.Scaler/SetScale';
export const inspectGetStatePath = '/kubedirect.v1.Inspect/GetState';

const asIs = (bytes: Buffer): Buffer => bytes;

export interface RawCallOutcome {
  readonly code: grpc.status;
  readonly details: string;
  /** The wire reason (ErrorDetail, else metadata, else message prefix), or null. */
  readonly reason: string | null;
  readonly errorDetail: RpcStatusDetail | null;
  /** Messages received before the status, as bytes. */
  readonly messages: readonly Buffer[];
}

function outcomeOf(status: grpc.StatusObject, messages: readonly Buffer[]): RawCallOutcome {
  return { code: status.code, details: status.details, reason: reasonOfStatus(status), errorDetail: errorDetailOfStatus(status), messages };
}

/**
 * Opens a `Link.Session` stream, writes `frames` as they are, and half-closes when
 * `halfClose` (a peer that says nothing more); resolves with the status that ends the
 * call. A call the server does not end within `deadlineMs` ends with DEADLINE_EXCEEDED.
 */
export function rawSession(address: string, frames: readonly Buffer[], options: { halfClose?: boolean; deadlineMs?: number } = {}): Promise<RawCallOutcome> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const call = client.makeBidiStreamRequest(linkSessionPath, asIs, asIs, new grpc.Metadata(), { deadline: Date.now() + (options.deadlineMs ?? 10_000) });
  const messages: Buffer[] = [];
  return new Promise<RawCallOutcome>((resolve) => {
    call.on('data', (message: Buffer) => messages.push(message));
    call.on('error', () => {});
    call.on('status', (status) => {
      client.close();
      resolve(outcomeOf(status, messages));
    });
    for (const frame of frames) call.write(frame);
    if (options.halfClose === true) call.end();
  });
}

/** One unary call with the request as raw bytes; resolves with its status (and the reply's bytes when OK). */
export function rawUnary(address: string, path: string, request: Buffer, deadlineMs = 10_000): Promise<RawCallOutcome> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise<RawCallOutcome>((resolve) => {
    let reply: Buffer | null = null;
    const call = client.makeUnaryRequest(path, asIs, asIs, request, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (_error, value) => {
      if (value !== undefined) reply = value;
    });
    call.on('status', (status) => {
      client.close();
      resolve(outcomeOf(status, reply === null ? [] : [reply]));
    });
  });
}
