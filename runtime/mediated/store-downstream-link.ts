/**
 * The store-mediated transport of a link on which this stage is the upstream (the
 * counterpart of runtime/node/grpc-downstream-link.ts). The link is "connected" while
 * the downstream's presence key exists in etcd: then `link.connected` is delivered and
 * the machines' hello opens a session of a fresh epoch. Every record the machines send
 * is one etcd put under the link's `down/` prefix (keys.ts), issued at once; what the
 * downstream writes under `up/` for the current epoch comes back through a prefix watch
 * and is delivered in its sender's order. The session ends (`link.lost`, then a new
 * `link.connected` after a backoff) when the downstream rejects it, when its presence
 * key changes (it restarted or stopped) or when the watch breaks.
 */
import { linkEnds, type DownMessage, type LinkId, type StageId } from '../../machines/index.js';
import { reconnectBackoffMsMax, reconnectBackoffMsMin } from '../../spec/limits.js';
import type { DownstreamLinkTransport, StagePort } from '../node/link-transport.js';
import { decodeDownstreamFrame, encodeDown, SnapshotAssembler, type LinkContext } from '../wire/codec.js';
import type { DownstreamFrame, UpstreamFrame } from '../wire/proto.js';
import type { EtcdGrpcClient, WatchEvent } from './etcd-grpc.js';
import { LinkWatches } from './link-watches.js';
import { isEndRecord, labelOfDown, linkKeysOf, parseRecordKey, recordKeyOf, SequenceBuffer, type EndRecord, type LinkKeys } from './keys.js';
import { Presence } from './presence.js';
import type { SharedEtcdClient } from './shared-client.js';

interface StoreClientSession {
  epoch: number;
  ended: boolean;
  /** The put of the session's hello: its revision orders the session against the downstream's presence changes. */
  helloPut: Promise<number> | null;
  sent: number;
  readonly inbound: SequenceBuffer<DownstreamFrame>;
  readonly assembler: SnapshotAssembler;
}

export class StoreDownstreamLink implements DownstreamLinkTransport {
  private readonly keys: LinkKeys;
  private readonly etcd: EtcdGrpcClient;
  private readonly presence: Presence;
  private readonly downstream: StageId;
  private readonly context: LinkContext;
  private current: StoreClientSession | null = null;
  private downstreamPresent = false;
  private backoffMs = reconnectBackoffMsMin;
  private timer: NodeJS.Timeout | null = null;
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
    this.presence = new Presence(shared.leases, this.keys.upstreamPresence, JSON.stringify({ stage, incarnation }), (record) => this.port.log({ ...record, link }));
    this.watches = new LinkWatches(this.etcd, this.keys.up, this.keys.downstreamPresence, {
      onRecords: (events) => this.onRecords(events),
      onPresence: (events) => this.onDownstreamPresence(events),
      onBroken: (why) => {
        this.port.log({ event: 'mediated.watch-ended', link: this.link, why });
        if (this.current !== null) this.endSession(this.current, `watch ended: ${why}`, true);
      },
    });
    this.downstream = linkEnds(link).downstream;
    this.context = { link, functions };
  }

  start(): void {
    void this.begin().catch((error: Error) => {
      this.port.log({ event: 'mediated.start-failed', link: this.link, error: error.message });
      if (!this.stopped) this.timer = setTimeout(() => this.start(), reconnectBackoffMsMax);
    });
  }

  /** Announces this stage, reads whether the downstream is there, and watches its presence and records from then on. */
  private async begin(): Promise<void> {
    await this.presence.announce();
    const presence = await this.etcd.rangePrefix(this.keys.downstreamPresence);
    this.watches.start(presence.revision + 1);
    this.downstreamPresent = presence.kvs.some((kv) => kv.key === this.keys.downstreamPresence);
    if (this.downstreamPresent) this.connect();
  }

  send(message: DownMessage): void {
    const session = this.current;
    if (session === null || session.ended) return;
    if (message.type === 'session.hello') session.epoch = message.epoch;
    if (session.epoch !== message.epoch) return;
    for (const frame of encodeDown([message], { upstream: this.stage, downstream: this.downstream })) this.write(session, frame);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.watches.stop();
    await this.presence.withdraw();
    this.shared.release();
  }

  /** One put per record, issued at once; a failed put breaks the session's order, so it ends the session. */
  private write(session: StoreClientSession, frame: UpstreamFrame | EndRecord): void {
    session.sent += 1;
    const key = recordKeyOf(this.keys.down, session.epoch, session.sent, isEndRecord(frame) ? 'ended' : labelOfDown(frame));
    const put = this.etcd.put(key, JSON.stringify(frame));
    if (session.sent === 1) session.helloPut = put;
    put.catch((error: Error) => {
      this.port.log({ event: 'mediated.put-failed', link: this.link, key, error: error.message });
      this.endSession(session, `put failed: ${error.message}`, false);
    });
  }

  /** Opens a session if none is open and the downstream is there (the machines answer link.connected with a hello). */
  private connect(): void {
    this.timer = null;
    if (this.stopped || this.port.stopped || this.current !== null || !this.downstreamPresent) return;
    const session: StoreClientSession = { epoch: 0, ended: false, helloPut: null, sent: 0, inbound: new SequenceBuffer(), assembler: new SnapshotAssembler() };
    this.current = session;
    this.port.deliver({ type: 'link.connected', link: this.link }, null);
    if (session.epoch === 0) {
      // No session to open (the side was not disconnected): try again later.
      session.ended = true;
      this.current = null;
      this.scheduleReconnect();
    } else this.port.log({ event: 'session.opened', link: this.link, epoch: session.epoch, transport: 'store-mediated' });
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.timer !== null || this.current !== null) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(reconnectBackoffMsMax, this.backoffMs * 2);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /**
   * The downstream restarted (a new presence) or stopped (presence removed). The current
   * session ends if its hello was written before the change (the restarted downstream
   * watches only from its presence on); a hello written after it is seen and stays.
   */
  private onDownstreamPresence(events: readonly WatchEvent[]): void {
    const last = events[events.length - 1];
    if (last === undefined || this.stopped) return;
    this.watches.saw(last.modRevision);
    this.downstreamPresent = last.type === 'put';
    const session = this.current;
    if (session === null) {
      if (this.downstreamPresent) this.connect();
      return;
    }
    const why = last.type === 'put' ? 'the downstream restarted' : 'the downstream stopped';
    const helloPut = session.helloPut;
    if (helloPut === null) return this.endSession(session, why, false);
    void helloPut.then(
      (helloRevision) => {
        if (helloRevision < last.modRevision || last.type === 'delete') this.endSession(session, why, false);
      },
      () => this.endSession(session, why, false),
    );
  }

  private onRecords(events: readonly WatchEvent[]): void {
    for (const event of events) {
      this.watches.saw(event.modRevision);
      const session = this.current;
      if (session === null || session.ended || this.stopped || this.port.stopped) continue;
      if (event.type !== 'put') continue;
      const at = parseRecordKey(this.keys.up, event.key);
      if (at === null || at.epoch !== session.epoch) continue; // another session's record: dropped
      let frame: unknown;
      try {
        frame = JSON.parse(event.value.toString('utf8'));
      } catch {
        this.endSession(session, `${event.key}: not JSON`, true);
        continue;
      }
      for (const next of session.inbound.take(at.seq, frame as DownstreamFrame)) {
        if (session.ended) break;
        if (isEndRecord(next)) {
          this.endSession(session, `the downstream ended the session: ${next.ended.why}`, false);
          break;
        }
        this.onFrame(session, next);
      }
    }
  }

  /** What grpc-downstream-link.ts does with one frame. */
  private onFrame(session: StoreClientSession, frame: DownstreamFrame): void {
    const decoded = decodeDownstreamFrame(frame, this.context);
    if (!decoded.ok) {
      this.noteRejection(decoded.rejection.reason, frame?.epoch ?? 0, `received an invalid record: ${decoded.rejection.message}`);
      return this.endSession(session, decoded.rejection.message, true);
    }
    const value = decoded.value;
    if (session.assembler.inProgress && value.kind !== 'snapshot') return this.endSession(session, 'a record between the parts of a snapshot (REQ-WIRE-008)', true);
    switch (value.kind) {
      case 'snapshot': {
        const message = session.assembler.add(value.epoch, value.part);
        if (message !== null) {
          this.backoffMs = reconnectBackoffMsMin;
          this.port.deliver({ type: 'message.received', link: this.link, message }, null);
        }
        return;
      }
      case 'rejected':
        this.noteRejection(value.reason, value.epoch, value.message);
        if (value.reason === 'STALE_EPOCH')
          this.port.deliver({ type: 'message.received', link: this.link, message: { type: 'session.rejected', epoch: value.epoch, reason: 'stale-epoch' } }, null);
        // The downstream ended the session with its rejection (as a gRPC stream ends with its status).
        return this.endSession(session, `rejected: ${value.reason}`, false);
      case 'records':
        for (const message of value.messages) {
          if (session.ended) return;
          this.port.deliver({ type: 'message.received', link: this.link, message }, null);
        }
        return;
    }
  }

  private noteRejection(reason: string, epoch: number, message: string): void {
    this.port.recordRejection(this.link, { reason, epoch, link_id: this.link, message });
    this.port.log({ event: 'session.rejection-received', link: this.link, epoch, reason, message });
  }

  /** Ends a session (link.lost if it is the current one, then a reconnection); with `notify`, tells the downstream with an end record (as a cancelled stream would). */
  private endSession(session: StoreClientSession, why: string, notify: boolean): void {
    if (session.ended) return;
    if (notify && session.epoch !== 0) this.write(session, { epoch: session.epoch, ended: { why } });
    session.ended = true;
    if (this.current !== session) return;
    this.current = null;
    this.port.log({ event: 'session.ended', link: this.link, epoch: session.epoch, why });
    this.port.deliver({ type: 'link.lost', link: this.link }, null);
    this.scheduleReconnect();
  }
}
