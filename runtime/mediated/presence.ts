/**
 * A stage's presence key on a store-mediated link (README.md, "Keys"): what a TCP
 * connection is to the gRPC transport. It is held under an etcd lease of
 * `presenceLeaseSeconds`, renewed while the stage runs, so etcd deletes the key of a
 * stage that is SIGKILLed or hangs and its peer sees it go (as a dead TCP peer is seen
 * through keepalives), instead of waiting for the stage to come back. If the lease is
 * lost while the stage runs (etcd unreachable, or the stage's event loop stalled, for
 * the whole lease), the key is put again under a new lease after a pause: the peer sees
 * the key go and come back, as after a restart, and opens a new session.
 */
import { reconnectBackoffMsMax } from '../../spec/limits.js';
import type { EtcdClient, LeasedKey } from '../store/etcd-client.js';
import { bounded, presenceRemovalMsMax } from './shared-client.js';

/**
 * Time-to-live of a presence lease: how long after a stage dies its peers notice. etcd3
 * renews it every third of it; a stage that does not run its event loop for the whole of
 * it (a long step on a loaded machine) loses its sessions, so it is far above the longest
 * step seen here (a few seconds).
 */
export const presenceLeaseSeconds = 15;

export class Presence {
  private leased: LeasedKey | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly etcd: EtcdClient,
    private readonly key: string,
    private readonly value: string,
    private readonly log: (record: Record<string, unknown>) => void,
  ) {}

  /** Puts the key under a new lease (unless it holds one); resolves with the revision of the put. */
  async announce(): Promise<number> {
    if (this.leased !== null) return this.leased.revision;
    const leased = await this.etcd.putLeased(this.key, this.value, presenceLeaseSeconds, (why) => this.lost(why));
    if (this.stopped) {
      await leased.revoke().catch(() => undefined);
      return leased.revision;
    }
    this.leased = leased;
    return leased.revision;
  }

  /** Deletes the key (revokes its lease), waiting at most presenceRemovalMsMax. */
  async withdraw(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    const leased = this.leased;
    this.leased = null;
    if (leased !== null) await bounded(leased.revoke().catch(() => undefined), presenceRemovalMsMax);
  }

  private lost(why: string): void {
    this.leased = null;
    if (this.stopped) return;
    this.log({ event: 'mediated.presence-lost', key: this.key, why });
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.stopped) return;
      this.announce().catch((error: Error) => this.lost(`announce failed: ${error.message}`));
    }, reconnectBackoffMsMax);
  }
}
