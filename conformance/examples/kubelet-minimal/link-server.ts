/**
 * `Link.Session`, served for the one link `scheduler>kubelet:<node>` (10 §Services): one
 * gRPC stream is one session (REQ-WIRE-001). This is the driver of the
 * downstream-session machine: it validates each frame (frame-validation.ts), applies the
 * fencing and session rules (downstream-session.ts), hands records to the Kubelet, and
 * sends the snapshot, the notifications and the rejections.
 */
import { faultOn } from './faults.js';
import type * as grpc from '@grpc/grpc-js';
import { batchRecordsMax } from '../../../spec/limits.js';
import { DownstreamSession } from './downstream-session.js';
import { checkOpeningFrame, checkSessionFrame } from './frame-validation.js';
import type { LinkIdentity, SessionFrame } from './frame-validation.js';
import type { Kubelet } from './kubelet.js';
import type { Log } from './log.js';
import type { Notification, SandboxEvent } from './sandbox-machine.js';
import { rejectedFrame, rejectionStatus } from './wire.js';
import type { ErrorReason, ReceivedFrame, Rejection } from './wire.js';

type SessionCall = grpc.ServerDuplexStream<ReceivedFrame, object>;

/** One `Link.Session` stream. `epoch` is set once its hello is accepted. */
interface Stream {
  readonly call: SessionCall;
  epoch: number | null;
  open: boolean;
  /** Frames received after this stream's `session.sync`, null before it (only the test faults read it: faults.ts). */
  framesAfterSync: number | null;
}

export interface LinkState {
  readonly linkId: string;
  readonly state: string;
  readonly epoch: number;
  readonly syncedOnce: boolean;
  readonly lastRejection: (Rejection & { readonly linkId: string }) | null;
}

const wireFailureReason = { 'sandbox-failed': 'SANDBOX_FAILED', 'capacity-exceeded': 'CAPACITY_EXCEEDED', 'unknown-owner': 'UNKNOWN_OWNER' } as const;

export class LinkServer {
  private readonly session = new DownstreamSession();
  private readonly linkId: string;
  /** The stream of the current session, if one is open. */
  private current: Stream | null = null;
  private lastRejection: Rejection | null = null;

  constructor(
    private readonly link: LinkIdentity,
    private readonly kubelet: Kubelet,
    private readonly log: Log,
  ) {
    this.linkId = `${link.upstreamStage}>${link.ownStage}`;
  }

  /** The `Link.Session` handler. */
  readonly handle = (call: SessionCall): void => {
    const stream: Stream = { call, epoch: null, open: true, framesAfterSync: null };
    call.on('data', (received: ReceivedFrame) => this.receive(stream, received));
    call.on('end', () => {
      // The upstream half-closed: the session is over; close our half too.
      if (stream.open) call.end();
      this.lost(stream);
    });
    call.on('cancelled', () => this.lost(stream));
    call.on('error', () => this.lost(stream));
  };

  /** Sends notifications up if the session allows it, else drops them (REQ-SESS-013, DEC-04). */
  notify(notifications: readonly Notification[]): void {
    if (notifications.length === 0) return;
    if (this.current === null || !this.session.mayNotify()) {
      for (const notification of notifications) this.log('notification.dropped', { kind: notification.kind, pod: notification.name });
      return;
    }
    for (const notification of notifications) this.log(notification.kind, { pod: notification.name, epoch: this.session.currentEpoch });
    for (const frame of notificationFrames(this.session.currentEpoch, notifications)) this.current.call.write(frame);
  }

  state(): LinkState {
    return {
      linkId: this.linkId,
      state: this.session.state,
      epoch: this.session.currentEpoch,
      syncedOnce: this.session.syncedOnce,
      lastRejection: this.lastRejection === null ? null : { ...this.lastRejection, linkId: this.linkId },
    };
  }

  private receive(stream: Stream, received: ReceivedFrame): void {
    if (!stream.open) return; // a stream we ended: whatever still arrives is discarded (REQ-WIRE-007)
    if (stream.epoch === null) this.receiveOpening(stream, received);
    else this.receiveInSession(stream, stream.epoch, received);
  }

  private receiveOpening(stream: Stream, received: ReceivedFrame): void {
    const checked = checkOpeningFrame(received, this.link);
    if (!checked.ok) return this.reject(stream, checked.rejection);
    const epoch = checked.frame.epoch;
    if (this.session.hello(epoch) === 'stale-epoch') {
      return this.reject(stream, rejection('STALE_EPOCH', epoch, `hello epoch ${epoch} is not newer than ${this.session.currentEpoch}`));
    }
    // A newer hello ends the previous session's stream (REQ-WIRE-007).
    const previous = this.current;
    stream.epoch = epoch;
    this.current = stream;
    if (previous !== null) {
      this.reject(previous, rejection('STALE_EPOCH', previous.epoch ?? 0, `superseded by the session of epoch ${epoch}`));
    }
    this.log('session.hello', { epoch });
    // Taken and sent in one step (REQ-SESS-009); the Kubelet is always warm here.
    const snapshot = this.kubelet.snapshot();
    for (const frame of snapshotFrames(epoch, snapshot)) stream.call.write(frame);
    this.log('session.snapshot', { epoch, pods: snapshot.pods.length, tombstones: snapshot.tombstones.length });
  }

  private receiveInSession(stream: Stream, streamEpoch: number, received: ReceivedFrame): void {
    const checked = checkSessionFrame(received, this.link);
    if (!checked.ok) return this.reject(stream, checked.rejection);
    const frame = checked.frame;
    // Every frame of a stream carries the epoch of its hello (REQ-WIRE-001).
    if (frame.epoch !== streamEpoch) {
      return this.reject(stream, rejection('STALE_EPOCH', frame.epoch, `epoch ${frame.epoch} on the stream of epoch ${streamEpoch}`));
    }
    const verdict = frame.kind === 'sync' ? this.session.sync(frame.epoch) : this.session.record(frame.epoch);
    if (verdict === 'stale-epoch') {
      return this.reject(stream, rejection('STALE_EPOCH', frame.epoch, `epoch ${frame.epoch} is not the current session ${this.session.currentEpoch}`));
    }
    if (verdict === 'out-of-order') {
      return this.reject(stream, rejection('OUT_OF_ORDER', frame.epoch, `${frame.kind} is not allowed before session.sync or after it`));
    }
    const firstAfterSync = stream.framesAfterSync === 0;
    if (frame.kind === 'sync') {
      stream.framesAfterSync = 0;
      this.log('session.sync', { epoch: frame.epoch });
      return;
    }
    if (stream.framesAfterSync !== null) stream.framesAfterSync += 1;
    if (firstAfterSync && frame.kind === 'pod.tombstone' && faultOn('round-2-tombstones-not-killed')) {
      return this.notify(frame.tombstones.map(({ name }) => ({ kind: 'tombstone.done', name })));
    }
    this.notify(this.kubelet.apply(sandboxEvents(frame)));
  }

  /** A `Rejected` frame, then the end of the stream with the status of 10 §Errors. */
  private reject(stream: Stream, rejection: Rejection): void {
    this.log('session.rejected', { link: this.linkId, epoch: rejection.epoch, reason: rejection.reason, message: JSON.stringify(rejection.message) });
    this.lastRejection = rejection;
    stream.call.write(rejectedFrame(rejection));
    const status = rejectionStatus(rejection, this.linkId);
    stream.call.emit('error', faultOn('no-error-detail') ? { code: status.code, details: status.details } : status);
    this.lost(stream);
  }

  /** The end of a stream; for the current session's stream this is `link.lost`. */
  private lost(stream: Stream): void {
    if (!stream.open) return;
    stream.open = false;
    if (this.current !== stream || stream.epoch === null) return;
    this.current = null;
    this.session.linkLost(stream.epoch);
    this.log('link.lost', { epoch: stream.epoch });
  }
}

function rejection(reason: ErrorReason, epoch: number, message: string): Rejection {
  return { reason, epoch: String(epoch), message };
}

function sandboxEvents(frame: Exclude<SessionFrame, { kind: 'sync' }>): SandboxEvent[] {
  if (frame.kind === 'pod.provision') return frame.records.map((record) => ({ kind: 'pod.provision', record }));
  return frame.tombstones.map(({ name, origin }) => ({ kind: 'pod.tombstone', name, origin }));
}

/** Splits a list into chunks of at most batchRecordsMax (10 §Limits). */
function chunks<T>(items: readonly T[]): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += batchRecordsMax) result.push(items.slice(start, start + batchRecordsMax));
  return result;
}

/** One or more `Snapshot` frames, the last with `last = true` (REQ-WIRE-008). */
function snapshotFrames(epoch: number, snapshot: ReturnType<Kubelet['snapshot']>): object[] {
  const records = [
    ...snapshot.pods.map((pod) => ({ pod: { record: pod.record, phase: pod.phase === 'running' ? 'RUNNING' : 'PENDING' } })),
    ...snapshot.tombstones.map((tombstone) => ({ tombstone: { record: tombstone.record, origin: tombstone.origin } })),
  ];
  const parts = records.length === 0 ? [[]] : chunks(records);
  return parts.map((part, index) => ({
    epoch,
    snapshot: {
      pods: part.flatMap((entry) => ('pod' in entry ? [entry.pod] : [])),
      tombstones: part.flatMap((entry) => ('tombstone' in entry ? [entry.tombstone] : [])),
      last: index === parts.length - 1,
    },
  }));
}

/** Consecutive notifications of one kind share a batch frame, in order (REQ-WIRE-002). */
function notificationFrames(epoch: number, notifications: readonly Notification[]): object[] {
  const runs: Notification[][] = [];
  for (const notification of notifications) {
    const run = runs.at(-1);
    if (run !== undefined && run[0]?.kind === notification.kind && run.length < batchRecordsMax) run.push(notification);
    else runs.push([notification]);
  }
  return runs.map((run) => {
    const kind = run[0]?.kind;
    if (kind === 'pod.running') return { epoch, running: { names: run.map((n) => n.name) } };
    if (kind === 'tombstone.done') return { epoch, tombstoneDone: { names: run.map((n) => n.name) } };
    return {
      epoch,
      failed: { failures: run.map((n) => ({ name: n.name, reason: n.kind === 'pod.failed' ? wireFailureReason[n.reason] : 'FAILURE_REASON_UNSPECIFIED' })) },
    };
  });
}
