/**
 * How the store-mediated transport's etcd client issues puts: at most
 * `etcdPutsInFlightMax` in flight (more wait, in the order they were asked for), and a
 * put that etcd refused because it is overloaded ("etcdserver: too many requests", which
 * writes nothing) asked again after a doubling pause.
 *
 * etcd refuses writes once the entries it has committed run 5,000 ahead of those it has
 * applied. 20,000 puts issued at once (a 20,000-pod run, bench/burst/sustained.ts) got
 * thousands of refusals, and each ended a mediated session: the run never finished. In
 * Kubernetes the API server's `--max-mutating-requests-inflight` (200 by default, for all
 * clients together) plays this part. 1,000 per stage process is far above what etcd
 * commits per round trip here, so the baseline is not slowed: puts still go as fast as
 * etcd takes them.
 */

export const etcdPutsInFlightMax = 1_000;
/** First and longest pause before a refused put is asked again. */
export const etcdPutRetryMsMin = 10;
export const etcdPutRetryMsMax = 1_000;

/** etcd's refusal of a request it did not take because it is overloaded (ErrTooManyRequests): nothing was written. */
export function isTooManyRequests(error: unknown): boolean {
  return error instanceof Error && /too many requests/i.test(error.message);
}

export class PutLimiter {
  private inFlight = 0;
  /** Puts waiting for a place among those in flight, in order. */
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly inFlightMax: number = etcdPutsInFlightMax,
    private readonly pause: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  /** Puts in flight now (tests). */
  get running(): number {
    return this.inFlight;
  }

  /** Runs `put` once a place is free, again after a pause while etcd refuses it as overloaded (unless `gaveUp()`); any other error is passed on. */
  async run<T>(put: () => Promise<T>, gaveUp: () => boolean = () => false): Promise<T> {
    // A waiter is handed the place of a put that ends (still counted), so none can slip in between.
    if (this.inFlight >= this.inFlightMax) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.inFlight++;
    try {
      for (let pauseMs = etcdPutRetryMsMin; ; pauseMs = Math.min(etcdPutRetryMsMax, pauseMs * 2)) {
        try {
          return await put();
        } catch (error) {
          if (gaveUp() || !isTooManyRequests(error)) throw error;
          await this.pause(pauseMs);
        }
      }
    } finally {
      const next = this.waiting.shift();
      if (next === undefined) this.inFlight--;
      else next();
    }
  }
}
