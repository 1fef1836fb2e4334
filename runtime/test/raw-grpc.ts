/**
 * A gRPC client that sends raw bytes as messages, for tests that play a hostile peer:
 * the bytes of a frame go on the wire as they are, whatever the .proto says, and the
 * answer comes back as the call's final status, the raw messages received before it,
 * and the decoded ErrorDetail of its `grpc-status-details-bin` trailer.
 */
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { errorDetailOfStatus, reasonOfStatus } from '../wire/errors.js';
import type { RpcStatusDetail } from '../wire/status-details.js';

export const linkSessionPath = '/kubedirect.v1.Link/Session';
export const scalerSetScalePath = '/kubedirect.v1.Scaler/SetScale';
export const scalerSetScalesPath = '/kubedirect.v1.Scaler/SetScales';
export const inspectGetStatePath = '/kubedirect.v1.Inspect/GetState';
export const healthCheckPath = '/grpc.health.v1.Health/Check';

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
export function rawSession(
  address: string,
  frames: readonly Buffer[],
  options: { halfClose?: boolean; deadlineMs?: number; ownConnection?: boolean } = {},
): Promise<RawCallOutcome> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), options.ownConnection === true ? { 'grpc.use_local_subchannel_pool': 1 } : {});
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

/** What came back on a raw HTTP/2 gRPC call: the status from the trailers (or headers), and the decoded ErrorDetail. */
export interface RawHttp2Outcome {
  readonly code: number | null;
  readonly details: string;
  readonly reason: string | null;
  readonly errorDetail: RpcStatusDetail | null;
  /** Bytes of DATA received (length-prefixed gRPC messages). */
  readonly dataBytes: number;
}

/**
 * A gRPC call made by hand on an HTTP/2 stream: `body` is written as it is (gRPC's
 * length prefixes included, or not), then the stream is ended; for framing errors that
 * no gRPC client library sends. Resolves with the status of the trailers.
 */
export function rawHttp2Call(address: string, path: string, body: Buffer, headers: Record<string, string> = {}, deadlineMs = 10_000): Promise<RawHttp2Outcome> {
  return new Promise<RawHttp2Outcome>((resolve, reject) => {
    const session = http2.connect(`http://${address}`);
    session.on('error', reject);
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error(`no status from ${address}${path} within ${deadlineMs} ms`));
    }, deadlineMs);
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    let status: http2.IncomingHttpHeaders = {};
    let dataBytes = 0;
    stream.on('response', (h) => {
      if (h['grpc-status'] !== undefined) status = h;
    });
    stream.on('trailers', (t) => {
      status = t;
    });
    stream.on('data', (chunk: Buffer) => {
      dataBytes += chunk.length;
    });
    stream.on('error', () => {});
    stream.on('close', () => {
      clearTimeout(timer);
      session.close();
      const code = status['grpc-status'] === undefined ? null : Number(status['grpc-status']);
      const details = decodeURIComponent(String(status['grpc-message'] ?? ''));
      const metadata = new grpc.Metadata();
      const bin = status['grpc-status-details-bin'];
      if (typeof bin === 'string') metadata.set('grpc-status-details-bin', Buffer.from(bin, 'base64'));
      const reasonHeader = status['kubedirect-reason'];
      if (typeof reasonHeader === 'string') metadata.set('kubedirect-reason', reasonHeader);
      resolve({ code, details, reason: reasonOfStatus({ metadata, details }), errorDetail: errorDetailOfStatus({ metadata }), dataBytes });
    });
    stream.end(body);
  });
}

/** `message` behind gRPC's 5-byte prefix (flag, big-endian length); `length` may lie about the size. */
export function grpcMessage(message: Buffer, options: { flag?: number; length?: number } = {}): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = options.flag ?? 0;
  prefix.writeUInt32BE(options.length ?? message.length, 1);
  return Buffer.concat([prefix, message]);
}
