/**
 * The store-mediated transport of the link on which this stage is the downstream
 * (the counterpart of runtime/node/grpc-upstream-link.ts). Instead of a Link.Session
 * stream, the upstream writes one etcd object per record under the link's `down/`
 * prefix and this stage learns of them through a prefix watch; what it sends up is
 * written the same way under `up/` (keys.ts). Records are validated with the gRPC
 * transport's codec and delivered one by one as `message.received`, in the sender's
 * order (sequence numbers). The same wire checks as the gRPC transport are made here
 * (first record a hello, the configured upstream, this stage, the protocol version);
 * the session rules themselves are the machines'.
 *
 * Sessions (README.md): an epoch's records are one session; a hello the machines
 * accept makes it current. It ends (`link.lost`) when this transport rejects it, when
 * the upstream's presence key changes (a new incarnation, or removed when it stops) or
 * when the watch breaks.
 */
import { assert, linkEnds, type LinkId, type StageId, type UpMessage } from '../../machines/index.js';
import { protocolVersion } from '../../spec/limits.js';
import type { SessionOrigin, StagePort, UpstreamLinkTransport } from '../node/link-transport.js';
import { decodeUpstreamFrame, encodeUp, type LinkContext } from '../wire/codec.js';
import { rejection, type Rejection } from '../wire/errors.js';
import type { DownstreamFrame, UpstreamFrame } from '../wire/proto.js';
import type { EtcdGrpcClient, WatchEvent } from './etcd-grpc.js';
import { LinkWatches } from './link-watches.js';
import { isEndRecord, labelOfUp, linkKeysOf, parseRecordKey, recordKeyOf, SequenceBuffer, type EndRecord, type LinkKeys } from './keys.js';
import { Presence } from './presence.js';
import type { SharedEtcdClient } from './shared-client.js';

interface StoreServerSession {
  readonly epoch: number;
  helloSeen: boolean;
  /** etcd revision of the session's hello record: a change of the upstream's presence after it ends the session. */
  helloRevision: number;
  ended: boolean;
  /** Sequence number of the last record written up in this session. */
  sent: number;
  readonly inbound: SequenceBuffer<UpstreamFrame>;
}

/** Sessions (epochs) this side keeps track of at once; older ones are forgotten (their records are ignored). */
const sessionsTrackedMax = 16;

export class StoreUpstreamLink implements UpstreamLinkTransport {
  private readonly keys: LinkKeys;
  private readonly etcd: EtcdGrpcClient;
  private readonly presence: Presence;
  private readonly context: LinkContext;
  private readonly upstreamStage: StageId;
  private readonly sessions = new Map<number, StoreServerSession>();
  private current: StoreServerSession | null = null;
  /** The epoch of the hello being delivered, while it is (names the superseding session in a close). */
  private accepting: number | null = null;
  /** The highest epoch whose records were seen: records of lower unknown epochs are stale. */
  private highestEpoch = 0;
  private readonly watches: LinkWatches;
  private stopped = false;

  constructor(
    readonly link: LinkId,
    private readonly stage: StageId,
    functions: ReadonlySet<string>,
    private readonly port: StagePort,
    private readonly shared: SharedEtcdClient,
    incarnation: number,
    prefix: string,
  ) {
    this.keys = linkKeysOf(link, prefix);
    this.etcd = shared.acquire();
    this.presence = new Presence(shared.leases, this.keys.downstreamPresence, JSON.stringify({ stage, incarnation }), (record) => this.port.log({ ...record, link }));
    this.watches = new LinkWatches(this.etcd, this.keys.down, this.keys.upstreamPresence, {
      onRecords: (events) => this.onRecords(events),
      onPresence: (events) => this.onUpstreamPresence(events),
      onBroken: (why) => {
        this.port.log({ event: 'mediated.watch-ended', link: this.link, why });
        if (this.current !== null) this.endCurrent(`watch ended: ${why}`, true);
      },
    });
    this.context = { link, functions };
    this.upstreamStage = linkEnds(link).upstream;
  }

  /** Announces this stage (its presence key) and watches the upstream's records and presence from then on. */
  async start(): Promise<void> {
    const revision = await this.presence.announce();
    this.watches.start(revision + 1);
    this.port.log({ event: 'mediated.listening', link: this.link, prefix: this.keys.down, revision });
  }

  send(message: UpMessage, origin: SessionOrigin | null): void {
    if (message.type === 'session.rejected') {
      if (origin !== null) this.reject(origin as StoreServerSession, rejection('STALE_EPOCH', `epoch ${message.epoch} is not newer than the current epoch`), message.epoch);
      return;
    }
    const from = origin as StoreServerSession | null;
    const session = from !== null && from.epoch === message.epoch ? from : this.current;
    if (session === null || session.ended || session.epoch !== message.epoch) return; // the session is over: drop
    for (const frame of encodeUp([message])) this.write(session, frame);
  }

  /** As in grpc-upstream-link.ts: the machines ended the session `epoch` (a `close` link intent); no `link.lost` follows. */
  sessionClosed(epoch: number): void {
    const session = this.current;
    if (session === null || session.ended || session.epoch !== epoch) return;
    this.current = null;
    const by = this.accepting === null ? 'ended by this stage' : `superseded by the session of epoch ${this.accepting}`;
    this.reject(session, rejection('STALE_EPOCH', by), epoch);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.watches.stop();
    await this.presence.withdraw();
    this.shared.release();
  }

  /** One put per record, issued at once; a failed put breaks the session's order, so it ends the session. */
  private write(session: StoreServerSession, frame: DownstreamFrame | EndRecord): void {
    session.sent += 1;
    const key = recordKeyOf(this.keys.up, session.epoch, session.sent, isEndRecord(frame) ? 'ended' : labelOfUp(frame));
    this.etcd.put(key, JSON.stringify(frame)).catch((error: Error) => {
      this.port.log({ event: 'mediated.put-failed', link: this.link, key, error: error.message });
      if (session === this.current) this.endCurrent(`put failed: ${error.message}`, false);
    });
  }

  /**
   * The upstream restarted (a new presence) or stopped (presence removed): the current
   * session ends if its hello is older than the change. Watches deliver the presence and
   * the records separately, so a newer session's hello may have arrived first: it stays.
   */
  private onUpstreamPresence(events: readonly WatchEvent[]): void {
    const last = events[events.length - 1];
    if (last === undefined || this.stopped) return;
    this.watches.saw(last.modRevision);
    const current = this.current;
    if (current !== null && current.helloRevision < last.modRevision) this.endCurrent(last.type === 'delete' ? 'the upstream stopped' : 'the upstream restarted', true);
  }

  private onRecords(events: readonly WatchEvent[]): void {
    for (const event of events) {
      this.watches.saw(event.modRevision);
      if (this.stopped || this.port.stopped) return;
      if (event.type !== 'put') continue;
      const at = parseRecordKey(this.keys.down, event.key);
      if (at === null) continue;
      let session = this.sessions.get(at.epoch);
      if (session === undefined) {
        if (at.epoch <= this.highestEpoch) continue; // a session already over
        this.highestEpoch = at.epoch;
        session = { epoch: at.epoch, helloSeen: false, helloRevision: 0, ended: false, sent: 0, inbound: new SequenceBuffer() };
        this.sessions.set(at.epoch, session);
        this.forgetOldSessions();
      }
      if (session.ended) continue;
      let frame: unknown;
      try {
        frame = JSON.parse(event.value.toString('utf8'));
      } catch {
        this.reject(session, rejection('MALFORMED', `${event.key}: not JSON`), at.epoch);
        continue;
      }
      if (at.seq === 1) session.helloRevision = event.modRevision;
      for (const next of session.inbound.take(at.seq, frame as UpstreamFrame)) {
        if (session.ended) break;
        if (isEndRecord(next)) {
          if (session === this.current) this.endCurrent(`the upstream ended the session: ${next.ended.why}`, false);
          session.ended = true;
          break;
        }
        this.onFrame(session, next);
      }
    }
  }

  private forgetOldSessions(): void {
    if (this.sessions.size <= sessionsTrackedMax) return;
    for (const [epoch, session] of this.sessions) {
      if (this.sessions.size <= sessionsTrackedMax) break;
      if (session !== this.current) this.sessions.delete(epoch);
    }
  }

  /** What grpc-upstream-link.ts does with one frame, with the same checks and rejections. */
  private onFrame(session: StoreServerSession, frame: UpstreamFrame): void {
    const decoded = decodeUpstreamFrame(frame, this.context);
    const epoch = typeof frame?.epoch === 'number' ? frame.epoch : 0;
    if (!decoded.ok) return this.reject(session, decoded.rejection, epoch);
    const value = decoded.value;
    if (value.epoch !== session.epoch) return this.reject(session, rejection('STALE_EPOCH', `epoch ${value.epoch} is not this session's (${session.epoch})`), epoch);
    if (!session.helloSeen) {
      if (value.kind !== 'hello') return this.reject(session, rejection('OUT_OF_ORDER', 'the first record of a session must be a Hello'), epoch);
      const hello = value.hello;
      if (hello.upstream_stage_id !== this.upstreamStage)
        return this.reject(session, rejection('UNAUTHORIZED_UPSTREAM', `"${hello.upstream_stage_id}" is not the configured upstream of ${this.stage}`), epoch);
      if (hello.downstream_stage_id !== this.stage) return this.reject(session, rejection('WRONG_DOWNSTREAM', `this is ${this.stage}, not "${hello.downstream_stage_id}"`), epoch);
      if (hello.protocol_version !== protocolVersion)
        return this.reject(session, rejection('UNSUPPORTED_VERSION', `protocol version ${hello.protocol_version}; this stage speaks ${protocolVersion}`), epoch);
      session.helloSeen = true;
      // The session this hello supersedes is ended by the step's close intent (sessionClosed), not here.
      this.accepting = value.epoch;
      const disposition = this.port.deliver({ type: 'message.received', link: this.link, message: { type: 'session.hello', epoch: value.epoch } }, session);
      this.accepting = null;
      if (disposition !== 'applied' || session.ended) return;
      assert(this.current === null || this.current.ended, `link ${this.link}: the session of epoch ${this.current?.epoch} was not closed by the hello of epoch ${value.epoch}`);
      this.current = session;
      this.port.log({ event: 'session.accepted', link: this.link, epoch: value.epoch, transport: 'store-mediated' });
      return;
    }
    if (value.kind === 'hello') return this.reject(session, rejection('OUT_OF_ORDER', 'a second Hello in one session'), epoch);
    if (session !== this.current) return; // a superseded session: discarded (REQ-WIRE-007)
    for (const message of value.messages) {
      const disposition = this.port.deliver({ type: 'message.received', link: this.link, message }, session);
      if (disposition === 'fenced') return this.reject(session, rejection('OUT_OF_ORDER', `${message.type} is not allowed in this session state`), epoch);
    }
  }

  /** Writes a Rejected record up and ends the session; the end of the current session is its link.lost. */
  private reject(session: StoreServerSession, r: Rejection, epoch: number): void {
    if (session.ended) return;
    this.port.recordRejection(this.link, { reason: r.reason, epoch, link_id: this.link, message: r.message });
    this.port.log({ event: 'session.rejected', link: this.link, epoch, reason: r.reason, message: r.message });
    this.write(session, { epoch: session.epoch, rejected: { reason: r.reason, message: r.message } });
    session.ended = true;
    if (this.current === session) {
      this.current = null;
      this.port.deliver({ type: 'link.lost', link: this.link }, null);
    }
  }

  /** Ends the current session (link.lost); with `notify`, tells the upstream with an end record (as a closed stream would). */
  private endCurrent(why: string, notify: boolean): void {
    const session = this.current;
    if (session === null) return;
    if (notify) this.write(session, { epoch: session.epoch, ended: { why } });
    session.ended = true;
    this.current = null;
    this.port.log({ event: 'session.ended', link: this.link, epoch: session.epoch, why });
    this.port.deliver({ type: 'link.lost', link: this.link }, null);
  }
}
