/**
 * Whether a stage's backing store answers, as the stage last saw it: unavailable after a
 * failed request (a desired count not stored, a Pod object write that failed, the
 * desired counts not loaded at start), available again after a request that succeeded.
 * While unavailable it probes the store itself (a read of a key nobody writes), with a
 * pause that doubles from `reconnectBackoffMsMin` to `reconnectBackoffMsMax`, so the
 * stage learns that the store is back even when it has nothing to write. Reported by
 * `/healthz`, the `kubedirect_store_available` metric and `kd status`; listeners run on
 * each change (the Pod object re-sync, pod-object-resync.ts, runs when the store is back).
 */
import { reconnectBackoffMsMax, reconnectBackoffMsMin } from '../../spec/limits.js';

/** The reason that starts the details of the Scaler's answer when a desired count is not stored (`kd scale` exits 4 on it). */
export const storeUnavailableReason = 'STORE_UNAVAILABLE';

export interface StoreHealthReport {
  readonly store: 'file' | 'etcd';
  readonly available: boolean;
  /** When it became unavailable (ISO time); absent while available. */
  readonly unavailableSince?: string;
  /** The last error seen while unavailable. */
  readonly lastError?: string;
  /** Times the store became unavailable since the stage started. */
  readonly outages: number;
}

export class StoreHealth {
  private available = true;
  private unavailableSince: Date | null = null;
  private lastError: string | null = null;
  private outages = 0;
  private probeTimer: NodeJS.Timeout | null = null;
  private probeDelayMs = reconnectBackoffMsMin;
  private closed = false;
  private readonly listeners: Array<(available: boolean) => void> = [];

  constructor(
    private readonly kind: 'file' | 'etcd',
    /** A cheap request that succeeds only when the store answers. */
    private readonly ping: () => Promise<void>,
    private readonly log: (record: Record<string, unknown>) => void,
  ) {}

  get isAvailable(): boolean {
    return this.available;
  }

  /** Runs `listener` on every change, with the new availability. */
  onChange(listener: (available: boolean) => void): void {
    this.listeners.push(listener);
  }

  /** A request to the store succeeded. */
  markAvailable(): void {
    if (this.available || this.closed) return;
    const downMs = this.unavailableSince === null ? 0 : Date.now() - this.unavailableSince.getTime();
    this.available = true;
    this.unavailableSince = null;
    this.lastError = null;
    this.probeDelayMs = reconnectBackoffMsMin;
    if (this.probeTimer !== null) clearTimeout(this.probeTimer);
    this.probeTimer = null;
    this.log({ event: 'store.available', store: this.kind, unavailableMs: downMs });
    for (const listener of this.listeners) listener(true);
  }

  /** A request to the store failed with `error`. */
  markUnavailable(error: string): void {
    if (this.closed) return;
    this.lastError = error;
    if (!this.available) return;
    this.available = false;
    this.unavailableSince = new Date();
    this.outages += 1;
    this.log({ event: 'store.unavailable', store: this.kind, error });
    for (const listener of this.listeners) listener(false);
    this.scheduleProbe();
  }

  report(): StoreHealthReport {
    return {
      store: this.kind,
      available: this.available,
      ...(this.unavailableSince === null ? {} : { unavailableSince: this.unavailableSince.toISOString() }),
      ...(this.available || this.lastError === null ? {} : { lastError: this.lastError }),
      outages: this.outages,
    };
  }

  /** Stops probing; no listener runs after it. */
  close(): void {
    this.closed = true;
    if (this.probeTimer !== null) clearTimeout(this.probeTimer);
    this.probeTimer = null;
  }

  private scheduleProbe(): void {
    if (this.closed || this.available || this.probeTimer !== null) return;
    const delay = this.probeDelayMs;
    this.probeDelayMs = Math.min(reconnectBackoffMsMax, this.probeDelayMs * 2);
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null;
      this.ping().then(
        () => this.markAvailable(),
        (error: Error) => {
          this.lastError = error.message;
          this.scheduleProbe();
        },
      );
    }, delay);
  }
}
