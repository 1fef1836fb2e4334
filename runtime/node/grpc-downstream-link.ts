/**
 * The gRPC transport of a link on which this stage is the upstream: a `Link.Session`
 * client. When the channel is ready a stream is opened and `link.connected`
 * delivered (the machines answer with a hello of a fresh epoch, or with nothing when
 * no session is needed); when the stream ends, `link.lost`, then reconnection with
 * exponential backoff between `reconnectBackoffMsMin` and `reconnectBackoffMsMax`.
 */
import * as grpc from '@grpc/grpc-js';
import { InvariantViolation, linkEnds, type DownMessage, type LinkId, type StageId } from '../../machines/index.js';
import {
  frameBytesMax,
  linkDeadMsMax,
  receiveSliceMsMax,
  receivedFramesQueuedMax,
  reconnectBackoffMsMax,
  reconnectBackoffMsMin,
  sessionRecordsQueuedMax,
} from '../../spec/limits.js';
import { decodeDownstreamFrame, encodeDown, reportedEpochOf, SnapshotAssembler, type LinkContext } from '../wire/codec.js';
import { deserializeDownstreamFrame, serializeUpstreamFrame } from '../wire/frame-bytes.js';
import { LinkClient, type DownstreamFrame, type UpstreamFrame } from '../wire/proto.js';
import { fitFrames, recordsOfUpstreamFrame, splitUpstreamFrame } from '../wire/frame-size.js';
import { flowObserversOf, ReceiveQueue, SessionWriter, type LinkFlow } from './flow-control.js';
import type { DownstreamLinkTransport, StagePort } from './link-transport.js';

/** A Link.Session client stream; it takes frames already serialized by the writer (flow-control.ts). */
type ClientStream = grpc.ClientDuplexStream<UpstreamFrame | Buffer, DownstreamFrame>;

interface ClientSession {
  readonly call: ClientStream;
  epoch: number;
  ended: boolean;
  /** The bounded send queue with backpressure (flow-control.ts). */
  readonly writer: SessionWriter<DownMessage>;
  /** Received frames, applied in order in slices; pauses the stream while full (flow-control.ts). */
  readonly inbox: ReceiveQueue;
  readonly assembler: SnapshotAssembler;
}

const defaultFlow: LinkFlow = { frameBytesMax, recordsQueuedMax: sessionRecordsQueuedMax, receiveSliceMsFirst: receiveSliceMsMax, metrics: null };

export const linkChannelOptions: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': Math.floor(linkDeadMsMax / 2),
  'grpc.keepalive_timeout_ms': Math.floor(linkDeadMsMax / 2),
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_receive_message_length': frameBytesMax,
  'grpc.max_send_message_length': frameBytesMax,
  'grpc.initial_reconnect_backoff_ms': reconnectBackoffMsMin,
  'grpc.max_reconnect_backoff_ms': reconnectBackoffMsMax,
};

export class GrpcDownstreamLink implements DownstreamLinkTransport {
  private readonly client: grpc.Client;
  private readonly downstream: StageId;
  private readonly context: LinkContext;
  private current: ClientSession | null = null;
  private backoffMs = reconnectBackoffMsMin;
  private timer: NodeJS.Timeout | null = null;
  private flushScheduled = false;
  private readonly flowObservers: ReturnType<typeof flowObserversOf>;

  constructor(
    readonly link: LinkId,
    private readonly stage: StageId,
    address: string,
    credentials: grpc.ChannelCredentials,
    functions: ReadonlySet<string>,
    private readonly port: StagePort,
    /** Channel options the credentials need (runtime/security/credentials.ts: the TLS server name). */
    credentialOptions: grpc.ChannelOptions = {},
    /** Frame size limit, send queue bound and flow metrics (flow-control.ts). */
    private readonly flow: LinkFlow = defaultFlow,
  ) {
    this.downstream = linkEnds(link).downstream;
    this.context = { link, functions };
    this.flowObservers = flowObserversOf(flow, link);
    this.client = new LinkClient(address, credentials, {
      ...linkChannelOptions,
      'grpc.max_receive_message_length': flow.frameBytesMax,
      'grpc.max_send_message_length': flow.frameBytesMax,
      ...credentialOptions,
    });
  }

  start(): void {
    this.connect();
  }

  send(message: DownMessage): void {
    const session = this.current;
    if (session === null || session.ended) return;
    if (session.epoch !== message.epoch) return;
    if (!session.writer.enqueue(message)) return this.overflow(session);
    this.scheduleFlush();
  }

  sessionOpened(epoch: number): void {
    const session = this.current;
    if (session === null || session.ended) return;
    if (session.epoch !== 0) throw new InvariantViolation(`link ${this.link}: a session of epoch ${epoch} opened on a transport that carries epoch ${session.epoch}`);
    session.epoch = epoch;
  }

  sessionClosed(epoch: number): void {
    const session = this.current;
    if (session === null || session.ended || session.epoch !== epoch) return;
    // On the next turn: never inside the step that asked for it (ending delivers link.lost).
    setImmediate(() => this.endSession(session, 'the stage left the session'));
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.current?.call.cancel();
    this.client.close();
    return Promise.resolve();
  }

  /** Writes waiting messages as batched frames on the next turn (REQ-WIRE-003: only what is already waiting). */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const session = this.current;
      if (session !== null && !session.ended) session.writer.flush();
    });
  }

  private connect(): void {
    if (this.port.stopped) return;
    this.timer = null;
    this.client.waitForReady(Date.now() + Math.max(1_000, this.backoffMs), (error) => {
      if (this.port.stopped) return;
      if (error !== undefined && error !== null) return this.scheduleReconnect();
      const call = this.client.makeBidiStreamRequest(
        '/kubedirect.v1.Link/Session',
        (frame: UpstreamFrame | Buffer) => (Buffer.isBuffer(frame) ? frame : serializeUpstreamFrame(frame)),
        deserializeDownstreamFrame,
      ) as ClientStream;
      const identity = { upstream: this.stage, downstream: this.downstream };
      const writer = new SessionWriter<DownMessage>(call, {
        frames: (messages) =>
          fitFrames(encodeDown(messages, identity), this.flow.frameBytesMax, serializeUpstreamFrame, splitUpstreamFrame, recordsOfUpstreamFrame),
        recordsOf: () => 1,
        recordsQueuedMax: this.flow.recordsQueuedMax,
        ...this.flowObservers,
      });
      const inbox = new ReceiveQueue(call, { sliceMsMax: receiveSliceMsMax, sliceMsFirst: this.flow.receiveSliceMsFirst, framesQueuedMax: receivedFramesQueuedMax });
      const session: ClientSession = { call, epoch: 0, ended: false, writer, inbox, assembler: new SnapshotAssembler() };
      this.current = session;
      call.on('data', (frame: DownstreamFrame) => inbox.push(this.onFrame(session, frame)));
      call.on('error', (e: grpc.ServiceError) => this.endSession(session, e.details));
      call.on('end', () => this.endSession(session, 'stream ended'));
      call.on('status', (s: grpc.StatusObject) => this.endSession(session, s.details));
      this.port.deliver({ type: 'link.connected', link: this.link }, null);
      if (session.epoch === 0) {
        // No session to open (the side was not disconnected): give the transport back.
        session.ended = true;
        this.current = null;
        call.cancel();
        this.scheduleReconnect();
      } else this.port.log({ event: 'session.opened', link: this.link, epoch: session.epoch });
    });
  }

  private scheduleReconnect(): void {
    if (this.port.stopped || this.timer !== null || this.current !== null) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(reconnectBackoffMsMax, this.backoffMs * 2);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** Applies one received frame; a generator that yields after each record delivered (runs in the session's ReceiveQueue). */
  private *onFrame(session: ClientSession, frame: DownstreamFrame): Generator<void, void, void> {
    if (session.ended || this.port.stopped) return;
    const decoded = decodeDownstreamFrame(frame, this.context);
    if (!decoded.ok) {
      this.noteRejection(decoded.rejection.reason, reportedEpochOf(frame?.epoch), `received an invalid frame: ${decoded.rejection.message}`);
      return this.endSession(session, decoded.rejection.message);
    }
    const value = decoded.value;
    if (session.assembler.inProgress && value.kind !== 'snapshot') return this.endSession(session, 'a frame between the parts of a snapshot (REQ-WIRE-008)');
    switch (value.kind) {
      case 'snapshot': {
        const message = session.assembler.add(value.epoch, value.part);
        if (message !== null) {
          this.backoffMs = reconnectBackoffMsMin;
          // The machines refuse a snapshot that violates the protocol (REQ-CACHE-010): that session ends.
          if (this.port.deliver({ type: 'message.received', link: this.link, message }, null) === 'rejected') {
            this.noteRejection('MALFORMED', value.epoch, 'the snapshot was refused as malformed (REQ-CACHE-010)');
            return this.endSession(session, 'malformed snapshot');
          }
        }
        return;
      }
      case 'rejected':
        this.noteRejection(value.reason, value.epoch, value.message);
        if (value.reason === 'STALE_EPOCH')
          this.port.deliver({ type: 'message.received', link: this.link, message: { type: 'session.rejected', epoch: value.epoch, reason: 'stale-epoch' } }, null);
        return;
      case 'records':
        for (const message of value.messages) {
          if (session.ended || this.port.stopped) return;
          this.port.deliver({ type: 'message.received', link: this.link, message }, null);
          yield;
        }
        return;
    }
  }

  private noteRejection(reason: string, epoch: number, message: string): void {
    this.port.recordRejection(this.link, { reason, epoch, link_id: this.link, message });
    this.port.log({ event: 'session.rejection-received', link: this.link, epoch, reason, message });
  }

  /** The send queue would exceed its bound: the downstream does not read. The session ends as in a link cut (flow-control.ts), on the next turn (never inside the sending step). */
  private overflow(session: ClientSession): void {
    session.writer.close();
    this.flow.metrics?.add('kubedirect_send_queue_overflows_total', { link: this.link });
    this.port.log({ event: 'session.overflow', link: this.link, epoch: session.epoch, recordsQueuedMax: this.flow.recordsQueuedMax });
    setImmediate(() => this.endSession(session, `send queue over ${this.flow.recordsQueuedMax} records: the downstream does not read`));
  }

  private endSession(session: ClientSession, why: string | undefined): void {
    if (session.ended) return;
    session.ended = true;
    session.inbox.close();
    session.writer.close();
    session.call.cancel();
    if (this.current !== session) return;
    this.current = null;
    this.port.log({ event: 'session.ended', link: this.link, epoch: session.epoch, why: why ?? '' });
    this.port.deliver({ type: 'link.lost', link: this.link }, null);
    this.scheduleReconnect();
  }
}
