/**
 * The gRPC transport of the link on which this stage is the downstream: a
 * `Link.Session` server. Each stream is one session; frames are validated
 * (runtime/wire/codec.ts) and their records delivered one by one as
 * `message.received`; the end of the current session's stream is `link.lost`
 * (REQ-SESS-015). Only the checks of the wire chapter (10) are made here: the
 * session rules themselves are the machines'.
 */
import * as grpc from '@grpc/grpc-js';
import { assert, linkEnds, type LinkId, type StageId, type UpMessage } from '../../machines/index.js';
import { frameBytesMax, helloWaitMsMax, protocolVersion, receiveSliceMsMax, receivedFramesQueuedMax, sessionRecordsQueuedMax } from '../../spec/limits.js';
import { decodeUpstreamFrame, encodeUp, reportedEpochOf, type LinkContext } from '../wire/codec.js';
import { rejection, statusOf, type Rejection } from '../wire/errors.js';
import { deserializeUpstreamFrame, serializeDownstreamFrame } from '../wire/frame-bytes.js';
import { LinkClient, type DownstreamFrame, type UpstreamFrame } from '../wire/proto.js';
import { fitFrames, recordsOfDownstreamFrame, rejectedFrameWithin, splitDownstreamFrame } from '../wire/frame-size.js';
import { flowObserversOf, ReceiveQueue, SessionWriter, type LinkFlow } from './flow-control.js';
import type { SessionOrigin, StagePort, UpstreamLinkTransport } from './link-transport.js';

/** A Link.Session server stream; it takes frames already serialized by the writer (see linkService). */
export type ServerStream = grpc.ServerDuplexStream<UpstreamFrame, DownstreamFrame | Buffer>;

interface ServerSession {
  readonly call: ServerStream;
  epoch: number;
  helloSeen: boolean;
  ended: boolean;
  /** The bounded send queue with backpressure (flow-control.ts). */
  readonly writer: SessionWriter<UpMessage>;
  /** Received frames, applied in order in slices; pauses the stream while full (flow-control.ts). */
  readonly inbox: ReceiveQueue;
}

// Frames up are serialized by the writer (to measure and split them); the Link service
// registered on the server takes those bytes as they are (linkService below).
const baseSession = (LinkClient.service as grpc.ServiceDefinition)['Session'];
if (baseSession === undefined) throw new Error('spec/kubedirect.proto: Link has no Session');

/** The encoded size of each received frame, so that a frame over the link's limit is rejected as BATCH_TOO_LARGE (REQ-WIRE-004). */
const receivedFrameBytes = new WeakMap<object, number>();

/**
 * The Link service definition to register: as in the .proto, except that a response
 * already serialized (a Buffer) is sent as is, and the size of every received frame
 * is noted for the frame size check.
 */
export const linkService: grpc.ServiceDefinition = {
  ...(LinkClient.service as grpc.ServiceDefinition),
  Session: {
    ...baseSession,
    responseSerialize: (value: DownstreamFrame | Buffer) => (Buffer.isBuffer(value) ? value : serializeDownstreamFrame(value)),
    requestDeserialize: (bytes: Buffer) => {
      const frame = deserializeUpstreamFrame(bytes);
      if (typeof frame === 'object' && frame !== null) receivedFrameBytes.set(frame, bytes.length);
      return frame;
    },
  },
};

/**
 * The gRPC receive limit of a server whose links allow frames of `frameBytesMax`: twice
 * that, so that a frame somewhat over the limit is read and rejected with the spec's
 * BATCH_TOO_LARGE (Rejected frame and ErrorDetail); a larger one is refused by gRPC
 * itself, with the same status code (RESOURCE_EXHAUSTED).
 */
export function serverReceiveBytesMaxOf(frameBytesMax: number): number {
  return 2 * frameBytesMax;
}

/** A message's records in the send queue bound (a snapshot counts each record). */
function recordsOfUp(message: UpMessage): number {
  return message.type === 'session.snapshot' ? Math.max(1, message.scales.length + message.pods.length + message.tombstones.length) : 1;
}

const defaultFlow: LinkFlow = { frameBytesMax, recordsQueuedMax: sessionRecordsQueuedMax, receiveSliceMsFirst: receiveSliceMsMax, metrics: null };

export class GrpcUpstreamLink implements UpstreamLinkTransport {
  private current: ServerSession | null = null;
  /** The epoch of the hello being delivered, while it is (names the superseding session in a close). */
  private accepting: number | null = null;
  private readonly dirty = new Set<ServerSession>();
  private flushScheduled = false;
  private readonly upstreamStage: StageId;
  private readonly context: LinkContext;

  private readonly flowObservers: ReturnType<typeof flowObserversOf>;

  constructor(
    readonly link: LinkId,
    private readonly stage: StageId,
    functions: ReadonlySet<string>,
    private readonly port: StagePort,
    /** Frame size limit, send queue bound and flow metrics (flow-control.ts). */
    private readonly flow: LinkFlow = defaultFlow,
  ) {
    this.flowObservers = flowObserversOf(flow, link);
    this.upstreamStage = linkEnds(link).upstream;
    this.context = { link, functions };
  }

  /** The `Link.Session` handler to register on the stage's server. */
  readonly accept = (call: ServerStream): void => {
    const session: ServerSession = {
      call,
      epoch: 0,
      helloSeen: false,
      ended: false,
      writer: new SessionWriter<UpMessage>(call, {
        frames: (messages) =>
          fitFrames(encodeUp(messages), this.flow.frameBytesMax, serializeDownstreamFrame, splitDownstreamFrame, recordsOfDownstreamFrame),
        recordsOf: recordsOfUp,
        recordsQueuedMax: this.flow.recordsQueuedMax,
        ...this.flowObservers,
      }),
      inbox: new ReceiveQueue(call, { sliceMsMax: receiveSliceMsMax, sliceMsFirst: this.flow.receiveSliceMsFirst, framesQueuedMax: receivedFramesQueuedMax }),
    };
    call.on('data', (frame: UpstreamFrame) => session.inbox.push(this.onFrame(session, frame)));
    // A stream that says no Hello in time holds a call for nothing (REQ-WIRE-015).
    const helloTimer = setTimeout(() => {
      if (!session.helloSeen) this.reject(session, rejection('HELLO_TIMEOUT', `no Hello within ${helloWaitMsMax} ms of opening the stream`), 0);
    }, helloWaitMsMax);
    helloTimer.unref();
    const end = (): void => {
      clearTimeout(helloTimer);
      this.endSession(session);
    };
    call.on('end', end);
    call.on('cancelled', end);
    call.on('close', end);
  };

  send(message: UpMessage, origin: SessionOrigin | null): void {
    if (message.type === 'session.rejected') {
      if (origin !== null) this.reject(origin as ServerSession, rejection('STALE_EPOCH', `epoch ${message.epoch} is not newer than the current epoch`), message.epoch);
      return;
    }
    const from = origin as ServerSession | null;
    const session = from !== null && from.epoch === message.epoch ? from : this.current;
    if (session === null || session.ended || session.epoch !== message.epoch) return; // the session is over: drop
    if (!session.writer.enqueue(message)) return this.overflow(session);
    this.dirty.add(session);
    this.scheduleFlush();
  }

  /**
   * The machines ended the session `epoch` at this end (a `close` link intent: a newer
   * hello superseded it): its stream is ended with STALE_EPOCH (REQ-WIRE-007). No
   * `link.lost` follows: the machines already left that session.
   */
  sessionClosed(epoch: number): void {
    const session = this.current;
    if (session === null || session.ended || session.epoch !== epoch) return;
    this.current = null;
    const by = this.accepting === null ? 'ended by this stage' : `superseded by the session of epoch ${this.accepting}`;
    this.reject(session, rejection('STALE_EPOCH', by), epoch);
  }

  async stop(): Promise<void> {
    const session = this.current;
    if (session !== null && !session.ended) {
      session.ended = true;
      session.call.end();
    }
    return Promise.resolve();
  }

  /** Writes waiting messages as batched frames on the next turn (REQ-WIRE-003: only what is already waiting). */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      for (const session of this.dirty) if (!session.ended) session.writer.flush();
      this.dirty.clear();
    });
  }

  /** Applies one received frame; a generator that yields after each record delivered (runs in the session's ReceiveQueue). */
  private *onFrame(session: ServerSession, frame: UpstreamFrame): Generator<void, void, void> {
    if (session.ended || this.port.stopped) return;
    // A rejection names the rejected frame's epoch only when it is one; else 0, which is never an epoch (REQ-WIRE-005, REQ-WIRE-013).
    const epoch = reportedEpochOf(frame?.epoch);
    const bytes = typeof frame === 'object' && frame !== null ? receivedFrameBytes.get(frame) : undefined;
    if (bytes !== undefined && bytes > this.flow.frameBytesMax)
      return this.reject(session, rejection('BATCH_TOO_LARGE', `a frame of ${bytes} bytes; the limit of this link is ${this.flow.frameBytesMax}`), epoch);
    const decoded = decodeUpstreamFrame(frame, this.context);
    if (!decoded.ok) return this.reject(session, decoded.rejection, epoch);
    const value = decoded.value;
    if (!session.helloSeen) {
      if (value.kind !== 'hello') return this.reject(session, rejection('OUT_OF_ORDER', 'the first frame of a session must be a Hello'), epoch);
      const hello = value.hello;
      if (hello.upstream_stage_id !== this.upstreamStage)
        return this.reject(session, rejection('UNAUTHORIZED_UPSTREAM', `"${hello.upstream_stage_id}" is not the configured upstream of ${this.stage}`), epoch);
      if (hello.downstream_stage_id !== this.stage)
        return this.reject(session, rejection('WRONG_DOWNSTREAM', `this is ${this.stage}, not "${hello.downstream_stage_id}"`), epoch);
      if (hello.protocol_version !== protocolVersion)
        return this.reject(session, rejection('UNSUPPORTED_VERSION', `protocol version ${hello.protocol_version}; this stage speaks ${protocolVersion}`), epoch);
      session.helloSeen = true;
      session.epoch = value.epoch;
      // The session this hello supersedes is ended by the step's close intent (sessionClosed), not here.
      this.accepting = value.epoch;
      const disposition = this.port.deliver({ type: 'message.received', link: this.link, message: { type: 'session.hello', epoch: value.epoch } }, session);
      this.accepting = null;
      if (disposition !== 'applied' || session.ended) return;
      assert(this.current === null || this.current.ended, `link ${this.link}: the session of epoch ${this.current?.epoch} was not closed by the hello of epoch ${value.epoch}`);
      this.current = session;
      this.port.log({ event: 'session.accepted', link: this.link, epoch: value.epoch });
      return;
    }
    if (value.kind === 'hello') return this.reject(session, rejection('OUT_OF_ORDER', 'a second Hello on one stream'), epoch);
    if (session !== this.current) return; // a superseded stream: discarded (REQ-WIRE-007)
    if (value.epoch !== session.epoch) return this.reject(session, rejection('STALE_EPOCH', `epoch ${value.epoch} is not this session's (${session.epoch})`), epoch);
    for (const message of value.messages) {
      if (session.ended || this.port.stopped) return; // the session ended between two records: the rest is lost with it
      const disposition = this.port.deliver({ type: 'message.received', link: this.link, message }, session);
      if (disposition === 'fenced') return this.reject(session, rejection('OUT_OF_ORDER', `${message.type} is not allowed in this session state`), epoch);
      yield;
    }
  }

  /** Sends Rejected and ends the stream with the reason's status (REQ-WIRE-005); the end of the current session is its link.lost. */
  private reject(session: ServerSession, r: Rejection, epoch: number): void {
    if (session.ended) return;
    this.port.recordRejection(this.link, { reason: r.reason, epoch, link_id: this.link, message: r.message });
    this.port.log({ event: 'session.rejected', link: this.link, epoch, reason: r.reason, message: r.message });
    session.ended = true;
    session.inbox.close();
    session.writer.flush(); // what the stream takes now; the rest is lost with the session
    session.writer.close();
    session.call.write(
      serializeDownstreamFrame(rejectedFrameWithin({ epoch, rejected: { reason: r.reason, message: r.message } }, this.flow.frameBytesMax, serializeDownstreamFrame)),
    );
    session.call.emit('error', statusOf(r, { epoch, link: this.link }));
    if (this.current === session) {
      this.current = null;
      this.port.deliver({ type: 'link.lost', link: this.link }, null);
    }
  }

  /**
   * The send queue would exceed its bound: the peer does not read. The session ends
   * as in a link cut (flow-control.ts); not a rejection, so no ErrorDetail. The
   * link.lost is delivered on the next turn, never inside the step that sent.
   */
  private overflow(session: ServerSession): void {
    if (session.ended) return;
    session.ended = true;
    session.inbox.close();
    session.writer.close();
    this.flow.metrics?.add('kubedirect_send_queue_overflows_total', { link: this.link });
    this.port.log({ event: 'session.overflow', link: this.link, epoch: session.epoch, recordsQueuedMax: this.flow.recordsQueuedMax });
    session.call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: `send queue over ${this.flow.recordsQueuedMax} records: the upstream does not read` });
    setImmediate(() => {
      if (this.current !== session) return;
      this.current = null;
      this.port.deliver({ type: 'link.lost', link: this.link }, null);
    });
  }

  private endSession(session: ServerSession): void {
    if (session.ended) return;
    session.ended = true;
    session.inbox.close();
    session.writer.close();
    if (!session.call.writableEnded) session.call.end();
    if (this.current === session) {
      this.current = null;
      this.port.log({ event: 'session.ended', link: this.link, epoch: session.epoch });
      this.port.deliver({ type: 'link.lost', link: this.link }, null);
    }
  }
}
