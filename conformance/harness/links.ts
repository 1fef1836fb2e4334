/**
 * The gRPC links between the suite's reference peers and the testee, owned by the
 * suite: every frame is logged, validated (runtime/wire/codec.ts, REQ-WIRE-004) and
 * checked against the session rules before the reference peer's machine sees it; the
 * suite can cut a link, hold it, inject frames into it and open extra raw streams.
 *
 * - ClientLinkToTestee: the peer is the upstream, the testee serves `Link.Session`.
 * - ServerLinkForTestee: the peer is the downstream, the testee dials the suite.
 */
import * as grpc from '@grpc/grpc-js';
import { linkEnds, roleOf, type ChainConfig, type Disposition, type DownMessage, type LinkId, type StageEvent, type StageId, type UpMessage } from '../../machines/index.js';
import { frameBytesMax, protocolVersion, rejectionMessageLengthMax } from '../../spec/limits.js';
import { decodeDownstreamFrame, decodeUpstreamFrame, encodeDown, encodeUp, SnapshotAssembler, validEpoch, type LinkContext } from '../../runtime/wire/codec.js';
import { errorDetailOfStatus, errorReasons, rejection, statusOf, type Rejection } from '../../runtime/wire/errors.js';
import type { RpcStatusDetail } from '../../runtime/wire/status-details.js';
import { LinkClient, type DownstreamFrame, type UpstreamFrame } from '../../runtime/wire/proto.js';
import { epochText, summarizeFrame, type LogEntry, type RunLog } from './run-log.js';

/** What a link needs of the peer chain it belongs to (peer-chain.ts): delivery to its stage, the run's log, timers. */
export interface LinkChain {
  deliver(stage: StageId, event: StageEvent): Disposition | null;
  later(ms: number, run: () => void): void;
  readonly log: RunLog;
  readonly chain: ChainConfig;
  readonly options: { readonly reconnectDelayMs: number };
  /** Pods provisioned to the testee so far. */
  readonly sentToTestee: Set<string>;
}

/** The requirements a frame that fails validation breaks, from the codec's reason and message. */
export function requirementsOfInvalidFrame(r: Rejection): string[] {
  const m = r.message;
  if (/bad epoch/.test(m)) return ['REQ-SESS-003', 'REQ-WIRE-004'];
  if (/not allowed (down|up)/.test(m) || /on a (scale|pod) link/.test(m)) return ['REQ-TOPO-004'];
  if (/REQ-POD-007/.test(m)) return ['REQ-POD-007', 'REQ-WIRE-004'];
  if (/pod name|does not start with its function/.test(m)) return ['REQ-POD-005'];
  if (/REQ-TOMB-008|origin/.test(m)) return ['REQ-TOMB-008'];
  if (r.reason === 'BATCH_TOO_LARGE') return ['REQ-WIRE-008', 'REQ-WIRE-004'];
  if (/empty batch/.test(m)) return ['REQ-WIRE-002'];
  return ['REQ-WIRE-004'];
}

/** What a frame the testee received ended in, as the suite saw it. */
export interface StreamOutcome {
  readonly code: grpc.status;
  readonly details: string;
  /** The ErrorDetail of the status's `grpc-status-details-bin` trailer, when it carries one that decodes (10 §Errors). */
  readonly errorDetail?: RpcStatusDetail | null;
}

interface StreamBase {
  readonly id: number;
  epoch: number;
  ended: boolean;
  /** Frames the testee sent on this stream. */
  readonly received: unknown[];
  /** Rejected frames the testee sent (reason, epoch). */
  readonly rejections: Array<{ reason: string; epoch: number; message: string }>;
  outcome: StreamOutcome | null;
  readonly outcomeWaiters: Array<(o: StreamOutcome) => void>;
}

let streamCounter = 0;

function settle(stream: StreamBase, outcome: StreamOutcome): void {
  if (stream.outcome !== null) return;
  stream.outcome = outcome;
  for (const w of stream.outcomeWaiters.splice(0)) w(outcome);
}

/** Waits for the end of a stream (its gRPC status), or null after `ms`. */
export function outcomeOf(stream: StreamBase, ms: number): Promise<StreamOutcome | null> {
  if (stream.outcome !== null) return Promise.resolve(stream.outcome);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    stream.outcomeWaiters.push((o) => {
      clearTimeout(timer);
      resolve(o);
    });
  });
}

/** The Link client of the .proto, except that a frame given as bytes is written as it is (for frames no serializer can write). */
const linkService = LinkClient.service as grpc.ServiceDefinition;
const sessionMethod = linkService['Session'];
if (sessionMethod === undefined) throw new Error('spec/kubedirect.proto: Link has no Session');
const serializeSession = sessionMethod.requestSerialize;
const RawCapableLinkClient = grpc.makeGenericClientConstructor(
  { ...linkService, Session: { ...sessionMethod, requestSerialize: (frame: unknown) => (Buffer.isBuffer(frame) ? frame : serializeSession(frame)) } },
  'Link',
);

const clientOptions: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': frameBytesMax,
  'grpc.initial_reconnect_backoff_ms': 50,
  'grpc.max_reconnect_backoff_ms': 200,
};

// ---------------------------------------------------------------------------
// The peer dials the testee
// ---------------------------------------------------------------------------

export interface ClientStream extends StreamBase {
  readonly call: grpc.ClientDuplexStream<UpstreamFrame, DownstreamFrame>;
  readonly raw: boolean;
  snapshotDone: boolean;
  readonly assembler: SnapshotAssembler;
}

export class ClientLinkToTestee {
  readonly peer: StageId;
  readonly testee: StageId;
  private readonly client: grpc.Client;
  current: ClientStream | null = null;
  /** Every stream the suite opened on this link, in order. */
  readonly streams: ClientStream[] = [];
  private paused = false;
  private closed = false;
  private connecting = false;
  private readonly context: LinkContext;

  constructor(
    private readonly chain: LinkChain,
    readonly link: LinkId,
    address: string,
  ) {
    const ends = linkEnds(link);
    this.peer = ends.upstream;
    this.testee = ends.downstream;
    this.client = new RawCapableLinkClient(address, grpc.credentials.createInsecure(), clientOptions);
    this.context = { link, functions: new Set(chain.chain.functions.map((f) => f.name)) };
  }

  start(): void {
    this.paused = false;
    this.connect();
  }

  close(): void {
    this.closed = true;
    for (const s of this.streams) if (!s.ended) s.call.cancel();
    this.client.close();
  }

  /** Stops reopening the link when it ends (the link stays down until resume). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    if (this.current === null) this.connect();
  }

  /** The epoch of the peer's current session (0 when none). */
  get epoch(): number {
    return this.current?.epoch ?? 0;
  }

  /** The greatest epoch any stream of this link has used. */
  get epochMax(): number {
    return Math.max(0, ...this.streams.map((s) => s.epoch));
  }

  private openStream(raw: boolean): ClientStream {
    const call = (this.client as unknown as { Session: () => ClientStream['call'] }).Session();
    const stream: ClientStream = {
      id: ++streamCounter,
      call,
      raw,
      epoch: 0,
      ended: false,
      received: [],
      rejections: [],
      outcome: null,
      outcomeWaiters: [],
      snapshotDone: false,
      assembler: new SnapshotAssembler(),
    };
    this.streams.push(stream);
    call.on('data', (frame: DownstreamFrame) => this.onFrame(stream, frame));
    call.on('status', (s: grpc.StatusObject) => this.onEnd(stream, { code: s.code, details: s.details, errorDetail: errorDetailOfStatus(s) }));
    call.on('error', (e: grpc.ServiceError) => this.onEnd(stream, { code: e.code, details: e.details, errorDetail: errorDetailOfStatus(e) }));
    return stream;
  }

  private connect(): void {
    if (this.closed || this.paused || this.current !== null || this.connecting) return;
    this.connecting = true;
    this.client.waitForReady(Date.now() + 1_000, (error) => {
      this.connecting = false;
      if (this.closed || this.paused || this.current !== null) return;
      if (error !== undefined && error !== null) return this.chain.later(this.chain.options.reconnectDelayMs, () => this.connect());
      const stream = this.openStream(false);
      this.current = stream;
      this.chain.log.add({ kind: 'note', from: this.peer, to: this.testee, link: this.link, stream: stream.id, summary: 'stream opened' });
      this.chain.deliver(this.peer, { type: 'link.connected', link: this.link });
      if (stream.epoch === 0) {
        stream.ended = true;
        this.current = null;
        stream.call.cancel();
        this.chain.later(this.chain.options.reconnectDelayMs, () => this.connect());
      }
    });
  }

  /** A message the reference peer sends on its current session. */
  send(message: DownMessage): void {
    const stream = this.current;
    if (stream === null || stream.ended) return;
    if (message.type === 'session.hello') stream.epoch = message.epoch;
    if (message.epoch !== stream.epoch) return;
    if (message.type === 'pod.provision') this.chain.sentToTestee.add(message.pod.name);
    for (const frame of encodeDown([message], { upstream: this.peer, downstream: this.testee })) this.write(stream, frame);
  }

  private write(stream: ClientStream, frame: UpstreamFrame, note = ''): LogEntry {
    const entry = this.chain.log.add({ kind: 'frame', from: this.peer, to: this.testee, link: this.link, stream: stream.id, summary: `${summarizeFrame(frame)}${note}`, frame });
    stream.call.write(frame);
    return entry;
  }

  /** Writes a crafted frame on the current session's stream (a fault). */
  inject(frame: UpstreamFrame, what: string): ClientStream | null {
    const stream = this.current;
    if (stream === null || stream.ended) return null;
    this.chain.log.add({ kind: 'fault', from: 'suite', to: this.testee, link: this.link, stream: stream.id, summary: what });
    this.write(stream, frame, ' (injected)');
    return stream;
  }

  /** Opens an extra stream that no peer machine owns, for crafted frames. */
  rawStream(what: string): { stream: ClientStream; write: (frame: UpstreamFrame) => void; writeBytes: (bytes: Buffer) => void; end: () => void; halfClose: () => void } {
    const stream = this.openStream(true);
    this.chain.log.add({ kind: 'fault', from: 'suite', to: this.testee, link: this.link, stream: stream.id, summary: `raw stream: ${what}` });
    return {
      stream,
      write: (frame) => {
        if (stream.ended) return;
        // Only a valid epoch names a session: a crafted hello with epoch 0 or above epochMax does not count in epochMax.
        if (stream.epoch === 0 && frame.hello !== undefined && validEpoch(frame.epoch)) stream.epoch = frame.epoch;
        this.write(stream, frame, ' (raw)');
      },
      writeBytes: (bytes) => {
        if (stream.ended) return;
        this.chain.log.add({ kind: 'fault', from: this.peer, to: this.testee, link: this.link, stream: stream.id, summary: `bytes ${bytes.toString('hex').slice(0, 64)} (raw)` });
        stream.call.write(bytes as never);
      },
      end: () => {
        if (!stream.ended) stream.call.cancel();
      },
      halfClose: () => {
        this.chain.log.add({ kind: 'fault', from: 'suite', to: this.testee, link: this.link, stream: stream.id, summary: 'half-close (the suite ends its sending side)' });
        if (!stream.ended) stream.call.end();
      },
    };
  }

  /** A link cut: the current stream is cancelled; the peer gets link.lost and reconnects. */
  cut(): void {
    const stream = this.current;
    if (stream === null) return;
    this.chain.log.add({ kind: 'fault', from: 'suite', to: this.testee, link: this.link, stream: stream.id, summary: 'link cut' });
    stream.call.cancel();
    this.onEnd(stream, { code: grpc.status.CANCELLED, details: 'cut by the conformance suite' });
  }

  /** The peer crashed: its stream ends without link.lost to it (it restarted); it reconnects. */
  crashed(): void {
    const stream = this.current;
    this.current = null;
    if (stream !== null && !stream.ended) {
      stream.ended = true;
      stream.call.cancel();
    }
    this.chain.later(this.chain.options.reconnectDelayMs, () => this.connect());
  }

  private onFrame(stream: ClientStream, frame: DownstreamFrame): void {
    stream.received.push(frame);
    const entry = this.chain.log.add({ kind: 'frame', from: this.testee, to: this.peer, link: this.link, stream: stream.id, summary: summarizeFrame(frame), frame });
    if (stream.ended) return;
    if (frame?.rejected !== undefined && frame.rejected !== null) {
      // A Rejected frame carries the epoch of the frame it rejects, which may be invalid itself (REQ-WIRE-005).
      const reason = String(frame.rejected.reason);
      if (!(errorReasons as readonly string[]).includes(reason)) this.chain.log.violation(['REQ-WIRE-006'], `Rejected with the reason "${reason}", which is not in the table of 10 §Errors`, entry);
      if (String(frame.rejected.message ?? '').length > rejectionMessageLengthMax) this.chain.log.violation(['REQ-WIRE-005'], `a rejection message longer than ${rejectionMessageLengthMax} characters`, entry);
      stream.rejections.push({ reason, epoch: Number(frame.epoch), message: String(frame.rejected.message ?? '') });
      if (stream.raw || stream !== this.current) return;
      if (reason === 'STALE_EPOCH') this.chain.deliver(this.peer, { type: 'message.received', link: this.link, message: { type: 'session.rejected', epoch: Number(frame.epoch), reason: 'stale-epoch' } });
      return;
    }
    const decoded = decodeDownstreamFrame(frame, this.context);
    if (!decoded.ok) {
      this.chain.log.violation(requirementsOfInvalidFrame(decoded.rejection), `the testee sent an invalid frame (${decoded.rejection.reason}): ${decoded.rejection.message}`, entry);
      return this.end(stream, `invalid frame from the testee: ${decoded.rejection.message}`);
    }
    const value = decoded.value;
    if (value.kind === 'rejected') return; // handled above
    if (stream.epoch !== 0 && value.epoch !== stream.epoch)
      this.chain.log.violation(['REQ-WIRE-001'], `a frame with ${epochText(value.epoch)} on the stream of the session of ${epochText(stream.epoch)}`, entry);
    if (stream.assembler.inProgress && value.kind !== 'snapshot')
      this.chain.log.violation(['REQ-WIRE-008'], 'a frame between the parts of a snapshot', entry);
    if (value.kind === 'records' && !stream.snapshotDone)
      this.chain.log.violation(['REQ-SESS-013'], `${value.messages[0]?.type ?? 'a notification'} before the session's snapshot`, entry);
    if (stream.raw) {
      if (value.kind === 'snapshot' && value.part.last) stream.snapshotDone = true;
      return;
    }
    if (stream !== this.current) return; // a superseded session: late frames are dropped
    if (value.kind === 'snapshot') {
      let message;
      try {
        message = stream.assembler.add(value.epoch, value.part);
      } catch (error) {
        this.chain.log.violation(['REQ-WIRE-008'], (error as Error).message, entry);
        return this.end(stream, 'snapshot parts of two epochs');
      }
      if (message === null) return;
      if (stream.snapshotDone) this.chain.log.violation(['REQ-WIRE-008', 'REQ-SESS-020'], 'a second snapshot in one session', entry);
      stream.snapshotDone = true;
      return this.judge(message, entry);
    }
    for (const message of value.messages) {
      if (stream.ended) return;
      this.judge(message, entry);
    }
  }

  private judge(message: UpMessage, entry: LogEntry): void {
    const disposition = this.chain.deliver(this.peer, { type: 'message.received', link: this.link, message });
    if (disposition === 'rejected')
      this.chain.log.violation(
        message.type === 'session.snapshot' ? ['REQ-CACHE-010', 'REQ-WIRE-004'] : ['REQ-WIRE-004'],
        `the reference ${this.peer} refuses ${message.type} (${epochText(message.epoch)}) from the testee as invalid input`,
        entry,
      );
    if (disposition === 'fenced')
      this.chain.log.violation(
        message.type === 'session.snapshot' ? ['REQ-SESS-020', 'REQ-WIRE-008'] : ['REQ-SESS-013'],
        `the reference ${this.peer} fences ${message.type} (${epochText(message.epoch)}) in its current session: the testee sent it where the session does not allow it`,
        entry,
      );
  }

  private end(stream: ClientStream, why: string): void {
    stream.call.cancel();
    this.onEnd(stream, { code: grpc.status.CANCELLED, details: why });
  }

  private onEnd(stream: ClientStream, outcome: StreamOutcome): void {
    settle(stream, outcome);
    if (stream.ended) return;
    stream.ended = true;
    this.chain.log.add({ kind: 'status', from: this.testee, to: this.peer, link: this.link, stream: stream.id, summary: `stream ended: ${grpc.status[outcome.code]} ${outcome.details}` });
    if (stream !== this.current) return;
    this.current = null;
    this.chain.deliver(this.peer, { type: 'link.lost', link: this.link });
    this.chain.later(this.chain.options.reconnectDelayMs, () => this.connect());
  }
}

// ---------------------------------------------------------------------------
// The testee dials the peer
// ---------------------------------------------------------------------------

export interface ServerStream extends StreamBase {
  readonly call: grpc.ServerDuplexStream<UpstreamFrame, DownstreamFrame>;
  helloSeen: boolean;
  /** Frames the testee sent while the link was held, not yet handled. */
  readonly held: UpstreamFrame[];
}

export class ServerLinkForTestee {
  readonly peer: StageId;
  readonly testee: StageId;
  private readonly server = new grpc.Server({ 'grpc.max_receive_message_length': frameBytesMax });
  current: ServerStream | null = null;
  readonly streams: ServerStream[] = [];
  /** The highest hello epoch the testee ever sent on this link (across its restarts). */
  epochMax = 0;
  /** The testee restarted since epochMax was set. */
  testeeRestarted = false;
  private holding = false;
  /** While true, every stream the testee opens is ended at once (the peer is unreachable). */
  private refusing = false;
  /** When set, the first matching frame from the testee is not delivered and the link is cut instead. */
  private dropAndCut: ((message: DownMessage) => boolean) | null = null;
  dropped: DownMessage[] = [];
  /** Every pod name the testee provisioned on this link (all sessions, all incarnations). */
  readonly provisioned = new Set<string>();
  provisionCount = 0;
  private readonly context: LinkContext;

  constructor(
    private readonly chain: LinkChain,
    readonly link: LinkId,
    private readonly address: string,
  ) {
    const ends = linkEnds(link);
    this.testee = ends.upstream;
    this.peer = ends.downstream;
    this.context = { link, functions: new Set(chain.chain.functions.map((f) => f.name)) };
    this.server.addService((LinkClient as unknown as { service: grpc.ServiceDefinition }).service, {
      Session: (call: ServerStream['call']) => this.accept(call),
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) =>
      this.server.bindAsync(this.address, grpc.ServerCredentials.createInsecure(), (error) => (error === null ? resolve() : reject(error))),
    );
  }

  close(): Promise<void> {
    for (const s of this.streams) if (!s.ended) s.call.end();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 500);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Holds every frame the testee sends on this link (not handled until release). */
  hold(holding: boolean): void {
    this.holding = holding;
    if (holding) return;
    for (const stream of this.streams) for (const frame of stream.held.splice(0)) this.onFrame(stream, frame, true);
  }

  /** The next frame of the testee with a matching record is dropped and the link is cut (the message is lost). */
  dropAndCutOn(predicate: (message: DownMessage) => boolean): void {
    this.dropAndCut = predicate;
  }

  /** Makes the peer unreachable (the current stream is cut, new ones are ended at once) or reachable again. */
  refuse(refusing: boolean): void {
    this.refusing = refusing;
    if (refusing) this.cut();
  }

  private accept(call: ServerStream['call']): void {
    if (this.refusing) {
      this.chain.log.add({ kind: 'fault', from: 'suite', to: this.testee, link: this.link, summary: 'connection refused (the peer is unreachable)' });
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'unreachable (conformance suite)', metadata: new grpc.Metadata() });
      return;
    }
    const stream: ServerStream = { id: ++streamCounter, call, epoch: 0, ended: false, received: [], rejections: [], outcome: null, outcomeWaiters: [], helloSeen: false, held: [] };
    this.streams.push(stream);
    this.chain.log.add({ kind: 'note', from: this.testee, to: this.peer, link: this.link, stream: stream.id, summary: 'stream opened by the testee' });
    call.on('data', (frame: UpstreamFrame) => {
      if (this.holding) {
        stream.received.push(frame);
        stream.held.push(frame);
        this.chain.log.add({ kind: 'frame', from: this.testee, to: this.peer, link: this.link, stream: stream.id, summary: `${summarizeFrame(frame)} (held)`, frame });
        return;
      }
      this.onFrame(stream, frame, false);
    });
    const end = (): void => this.onEnd(stream, { code: grpc.status.CANCELLED, details: 'the testee ended the stream' });
    call.on('end', end);
    call.on('cancelled', end);
    call.on('error', end);
  }

  private onFrame(stream: ServerStream, frame: UpstreamFrame, wasHeld: boolean): void {
    if (!wasHeld) stream.received.push(frame);
    const entry = wasHeld
      ? this.chain.log.add({ kind: 'note', from: this.testee, to: this.peer, link: this.link, stream: stream.id, summary: `released: ${summarizeFrame(frame)}` })
      : this.chain.log.add({ kind: 'frame', from: this.testee, to: this.peer, link: this.link, stream: stream.id, summary: summarizeFrame(frame), frame });
    if (stream.ended) return;
    this.trackProvisions(frame, entry);
    const decoded = decodeUpstreamFrame(frame, this.context);
    if (!decoded.ok) {
      this.chain.log.violation(requirementsOfInvalidFrame(decoded.rejection), `the testee sent an invalid frame (${decoded.rejection.reason}): ${decoded.rejection.message}`, entry);
      return this.reject(stream, decoded.rejection, frame.epoch ?? 0);
    }
    const value = decoded.value;
    if (!stream.helloSeen) {
      if (value.kind !== 'hello') {
        this.chain.log.violation(['REQ-WIRE-001', 'REQ-SESS-008'], 'the first frame of a session is not a Hello', entry);
        return this.reject(stream, rejection('OUT_OF_ORDER', 'the first frame of a session must be a Hello'), value.epoch);
      }
      const hello = value.hello;
      if (hello.upstream_stage_id !== this.testee) this.chain.log.violation(['REQ-TOPO-001'], `Hello.upstream_stage_id is "${hello.upstream_stage_id}", not the testee's stage id "${this.testee}"`, entry);
      if (hello.downstream_stage_id !== this.peer) this.chain.log.violation(['REQ-TOPO-003'], `Hello.downstream_stage_id is "${hello.downstream_stage_id}", not "${this.peer}"`, entry);
      if (hello.protocol_version !== protocolVersion) this.chain.log.violation(['REQ-WIRE-009'], `Hello.protocol_version is ${hello.protocol_version}, not ${protocolVersion}`, entry);
      if (value.epoch <= this.epochMax)
        this.chain.log.violation(
          this.testeeRestarted ? ['REQ-SESS-001', 'REQ-SESS-002'] : ['REQ-SESS-002'],
          `hello ${epochText(value.epoch)} is not greater than the ${epochText(this.epochMax)} the testee used before on ${this.link}${this.testeeRestarted ? ' (before its restart)' : ''}`,
          entry,
        );
      else {
        this.epochMax = value.epoch;
        this.testeeRestarted = false;
      }
      stream.helloSeen = true;
      stream.epoch = value.epoch;
      const previous = this.current;
      this.current = stream;
      const disposition = this.chain.deliver(this.peer, { type: 'message.received', link: this.link, message: { type: 'session.hello', epoch: value.epoch } });
      if (disposition !== 'applied') {
        if (this.current === stream) this.current = previous;
        return this.reject(stream, rejection('STALE_EPOCH', `${epochText(value.epoch)} is not newer than the current one`), value.epoch);
      }
      if (previous !== null && previous !== stream && !previous.ended) this.reject(previous, rejection('STALE_EPOCH', `superseded by ${epochText(value.epoch)}`), previous.epoch, false);
      return;
    }
    if (value.kind === 'hello') {
      this.chain.log.violation(['REQ-WIRE-001'], 'a second Hello on one stream', entry);
      return this.reject(stream, rejection('OUT_OF_ORDER', 'a second Hello on one stream'), value.epoch);
    }
    if (stream !== this.current) return;
    if (value.epoch !== stream.epoch) {
      this.chain.log.violation(['REQ-WIRE-001', 'REQ-SESS-003'], `a frame with ${epochText(value.epoch)} on the stream of the session of ${epochText(stream.epoch)}`, entry);
      return this.reject(stream, rejection('STALE_EPOCH', `${epochText(value.epoch)} is not this session's`), value.epoch);
    }
    for (const message of value.messages) {
      if (this.dropAndCut !== null && this.dropAndCut(message)) {
        this.dropAndCut = null;
        this.dropped.push(message);
        this.chain.log.add({ kind: 'fault', from: 'suite', to: this.peer, link: this.link, stream: stream.id, summary: `${message.type} lost, link cut` });
        return this.cut();
      }
      const disposition = this.chain.deliver(this.peer, { type: 'message.received', link: this.link, message });
      if (disposition === 'rejected') {
        this.chain.log.violation(['REQ-WIRE-004'], `the reference ${this.peer} refuses ${message.type} (${epochText(message.epoch)}) from the testee as invalid input`, entry);
        return this.reject(stream, rejection('MALFORMED', `${message.type} refused`), value.epoch);
      }
      if (disposition === 'fenced') {
        const requirements = message.type === 'session.sync' ? ['REQ-SESS-010', 'REQ-SESS-011'] : ['REQ-SESS-012'];
        this.chain.log.violation(requirements, `the reference ${this.peer} fences ${message.type} (${epochText(message.epoch)}): the testee sent it before its session allowed it`, entry);
        return this.reject(stream, rejection('OUT_OF_ORDER', `${message.type} is not allowed in this session state`), value.epoch);
      }
    }
  }

  /** Every name the testee provisions must be new, whether or not the frame is valid otherwise (REQ-POD-001, REQ-CACHE-004). */
  private trackProvisions(frame: UpstreamFrame, entry: LogEntry): void {
    const pods: unknown = frame?.provision?.pods;
    if (!Array.isArray(pods)) return;
    for (const pod of pods as Array<{ name?: unknown }>) {
      const name = String(pod?.name);
      if (this.provisioned.has(name))
        this.chain.log.violation(
          roleOf(this.testee) === 'replicaset' ? ['REQ-POD-001', 'REQ-CACHE-004'] : ['REQ-CACHE-004'],
          `${name} is provisioned a second time (a pod name is never provisioned twice: a rolled-back or terminated pod is replaced by a new name)`,
          entry,
        );
      if (roleOf(this.testee) === 'scheduler' && !this.chain.sentToTestee.has(name))
        this.chain.log.violation(['REQ-TOPO-002'], `the Scheduler provisions ${name}, a pod the ReplicaSet never sent it (only the ReplicaSet creates pods)`, entry);
      this.provisioned.add(name);
      this.provisionCount += 1;
    }
  }

  /** A message the reference peer sends up on its current session. */
  send(message: UpMessage): void {
    if (message.type === 'session.rejected') return; // a stale hello: onFrame rejects its stream once the step is done
    if (message.type === 'pod.failed' && message.reason === 'capacity-exceeded' && roleOf(this.testee) === 'scheduler')
      this.chain.log.violation(['REQ-SCHED-003', 'REQ-SCHED-004'], `the reference ${this.peer} refuses ${message.name} for lack of capacity: the testee placed more pods on the node than its capacity, counting those still being killed`);
    const stream = this.current;
    if (stream === null || stream.ended || message.epoch !== stream.epoch) return;
    for (const frame of encodeUp([message])) this.write(stream, frame);
  }

  private write(stream: ServerStream, frame: DownstreamFrame, note = ''): void {
    this.chain.log.add({ kind: 'frame', from: this.peer, to: this.testee, link: this.link, stream: stream.id, summary: `${summarizeFrame(frame)}${note}`, frame });
    stream.call.write(frame);
  }

  /** Writes a crafted frame on the current stream (a fault). */
  inject(frame: DownstreamFrame, what: string): ServerStream | null {
    const stream = this.current;
    if (stream === null || stream.ended) return null;
    this.chain.log.add({ kind: 'fault', from: 'suite', to: this.testee, link: this.link, stream: stream.id, summary: what });
    this.write(stream, frame, ' (injected)');
    return stream;
  }

  /** Ends a stream with a rejection (REQ-WIRE-005), as a conforming downstream does. */
  private reject(stream: ServerStream, r: Rejection, epoch: number, lose = true): void {
    if (stream.ended) return;
    this.write(stream, { epoch, rejected: { reason: r.reason, message: r.message } });
    stream.call.emit('error', statusOf(r, { epoch, link: this.link }));
    this.onEnd(stream, { code: grpc.status.FAILED_PRECONDITION, details: r.message }, lose);
  }

  /** A link cut: the stream ends; the peer gets link.lost; the testee must reconnect. */
  cut(): void {
    const stream = this.current;
    if (stream === null) return;
    this.chain.log.add({ kind: 'fault', from: 'suite', to: this.testee, link: this.link, stream: stream.id, summary: 'link cut' });
    stream.call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'cut by the conformance suite', metadata: new grpc.Metadata() });
    this.onEnd(stream, { code: grpc.status.UNAVAILABLE, details: 'cut' });
  }

  /** The peer crashed and restarted: its stream ends; the restarted peer has no session. */
  crashed(): void {
    const stream = this.current;
    this.current = null;
    if (stream !== null && !stream.ended) {
      stream.ended = true;
      stream.call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'the peer crashed', metadata: new grpc.Metadata() });
    }
  }

  private onEnd(stream: ServerStream, outcome: StreamOutcome, lose = true): void {
    settle(stream, outcome);
    if (stream.ended) return;
    stream.ended = true;
    this.chain.log.add({ kind: 'status', from: this.peer, to: this.testee, link: this.link, stream: stream.id, summary: `stream ended: ${grpc.status[outcome.code]} ${outcome.details}` });
    if (stream !== this.current) return;
    this.current = null;
    if (lose) this.chain.deliver(this.peer, { type: 'link.lost', link: this.link });
  }
}
