/**
 * gRPC framing errors a server must refuse (REQ-WIRE-014), which grpc-js 1.14 lets
 * through below any handler or interceptor:
 *
 * - a stream that ends inside a length-prefixed message (the 5-byte prefix or the
 *   message cut short): grpc-js drops the partial bytes and reports a clean half-close,
 *   so a Link session ended with OK and a unary call never answered the fault;
 * - a compressed flag (1) on a call without `grpc-encoding`, or a flag other than 0
 *   and 1: grpc-js reads the bytes as if uncompressed.
 *
 * Both now end the call with MALFORMED (INVALID_ARGUMENT, with the ErrorDetail), after a
 * Rejected frame on a Link session, and are reported to the listeners (the stage logs
 * them). There is no public hook this low in grpc-js, so this wraps two methods of its
 * BaseServerInterceptingCall; `installFramingChecks` asserts at start-up that they and
 * the decoder state they read are still there, so an upgrade that moves them fails the
 * stage's start, not silently (runtime/test/hostile-peer.test.ts covers both cases).
 */
import { createRequire } from 'node:module';
import type * as grpc from '@grpc/grpc-js';
import { rejection, statusOf } from './errors.js';
import { serializeDownstreamFrame } from './frame-bytes.js';

const require = createRequire(import.meta.url);

/** The path of the Link stream, on which a refusal is preceded by a Rejected frame (REQ-WIRE-005). */
const linkSessionPath = '/kubedirect.v1.Link/Session';

/** What the wrapped methods see of grpc-js's server call (build/src/server-interceptors.js). */
interface BaseCall {
  readonly decoder: { readonly readState: number };
  readonly handler: { readonly path: string };
  sendMessage(message: unknown, callback: () => void): void;
  sendStatus(status: { code: grpc.status; details: string; metadata: grpc.Metadata }): void;
  handleEndEvent(): void;
  decompressMessage(message: Buffer, encoding: string): Buffer | Promise<Buffer>;
}

/** StreamDecoder.readState when no message is partly read. */
const decoderIdle = 0;

export type FramingErrorListener = (path: string, why: string) => void;

const listeners = new Set<FramingErrorListener>();
let installed = false;

function statusOfFramingError(path: string, why: string): { code: grpc.status; details: string; metadata: grpc.Metadata } {
  for (const listener of listeners) listener(path, why);
  return statusOf(rejection('MALFORMED', why), { epoch: 0, link: '' });
}

/** Installs the checks (once per process) and adds `listener`; returns a function that removes the listener. */
export function installFramingChecks(listener: FramingErrorListener): () => void {
  listeners.add(listener);
  if (!installed) {
    installed = true;
    const internals = require('@grpc/grpc-js/build/src/server-interceptors.js') as { BaseServerInterceptingCall?: { prototype: BaseCall } };
    const prototype = internals.BaseServerInterceptingCall?.prototype;
    if (prototype === undefined || typeof prototype.handleEndEvent !== 'function' || typeof prototype.decompressMessage !== 'function')
      throw new Error('runtime/wire/grpc-framing.ts: @grpc/grpc-js no longer has BaseServerInterceptingCall.handleEndEvent/decompressMessage; adapt the framing checks');
    const handleEndEvent = prototype.handleEndEvent;
    const decompressMessage = prototype.decompressMessage;
    prototype.handleEndEvent = function (this: BaseCall): void {
      const state = this.decoder?.readState;
      if (typeof state !== 'number') throw new Error('runtime/wire/grpc-framing.ts: @grpc/grpc-js call has no decoder.readState; adapt the framing checks');
      if (state === decoderIdle) return handleEndEvent.call(this);
      const status = statusOfFramingError(this.handler.path, 'the stream ended inside a gRPC message (a length prefix or a message cut short)');
      if (this.handler.path !== linkSessionPath) return this.sendStatus(status);
      const frame = serializeDownstreamFrame({ epoch: 0, rejected: { reason: 'MALFORMED', message: status.details } });
      this.sendMessage(frame, () => this.sendStatus(status));
    };
    prototype.decompressMessage = function (this: BaseCall, message: Buffer, encoding: string): Buffer | Promise<Buffer> {
      const flag = message[0] as number;
      if (flag > 1) return Promise.reject(statusOfFramingError(this.handler.path, `a gRPC message with the compressed flag ${flag} (only 0 and 1 exist)`));
      if (flag === 1 && encoding === 'identity')
        return Promise.reject(statusOfFramingError(this.handler.path, 'a gRPC message flagged compressed on a call that names no grpc-encoding'));
      return decompressMessage.call(this, message, encoding);
    };
  }
  return () => listeners.delete(listener);
}
