/**
 * The watches of one end of a store-mediated link: the peer's records and the peer's
 * presence, re-created together from the last revision seen after a pause when either
 * breaks (the pause doubles per failure from `reconnectBackoffMsMin` to
 * `reconnectBackoffMsMax`, and is reset by any record).
 */
import { reconnectBackoffMsMax, reconnectBackoffMsMin } from '../../spec/limits.js';
import type { EtcdGrpcClient, Watch, WatchEvent } from './etcd-grpc.js';

export interface LinkWatchHandlers {
  readonly onRecords: (events: readonly WatchEvent[]) => void;
  readonly onPresence: (events: readonly WatchEvent[]) => void;
  /** A watch broke (records may have been missed); called before the pause. */
  readonly onBroken: (why: string) => void;
}

export class LinkWatches {
  private watches: Watch[] = [];
  private backoffMs = reconnectBackoffMsMin;
  private stopped = false;
  /** The highest etcd revision seen; the watches restart after it. */
  lastRevision = 0;

  constructor(
    private readonly etcd: EtcdGrpcClient,
    private readonly recordsPrefix: string,
    private readonly presencePrefix: string,
    private readonly handlers: LinkWatchHandlers,
  ) {}

  /** Watches both prefixes from `fromRevision`. */
  start(fromRevision: number): void {
    if (this.stopped) return;
    this.lastRevision = Math.max(this.lastRevision, fromRevision - 1);
    const onEnd = (why: string): void => this.broken(why);
    this.watches = [
      this.etcd.watchPrefix(this.recordsPrefix, fromRevision, {
        onEvents: (events) => {
          this.backoffMs = reconnectBackoffMsMin;
          this.handlers.onRecords(events);
        },
        onEnd,
      }),
      this.etcd.watchPrefix(this.presencePrefix, fromRevision, { onEvents: (events) => this.handlers.onPresence(events), onEnd }),
    ];
  }

  /** Records that the events up to `revision` were seen. */
  saw(revision: number): void {
    this.lastRevision = Math.max(this.lastRevision, revision);
  }

  stop(): void {
    this.stopped = true;
    this.cancel();
  }

  private cancel(): void {
    for (const w of this.watches) w.cancel();
    this.watches = [];
  }

  private broken(why: string): void {
    this.cancel();
    if (this.stopped) return;
    this.handlers.onBroken(why);
    const delay = this.backoffMs;
    this.backoffMs = Math.min(reconnectBackoffMsMax, this.backoffMs * 2);
    setTimeout(() => this.start(this.lastRevision + 1), delay);
  }
}
