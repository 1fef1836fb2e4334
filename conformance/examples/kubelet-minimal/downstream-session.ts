/**
 * The downstream-session machine of the one link of a Kubelet, `scheduler>kubelet:<node>`:
 * the "Downstream session" state table of spec/04-lifecycles.md with the fencing rule
 * of 02 §Fencing.
 *
 * Pure: the driver (link-server.ts) calls it with the epoch of each message and acts on
 * the verdict. A Kubelet is warm before it serves (02 §Warm and cold: it has rebuilt its
 * pods from the sandbox inventory), so `helloDeferred` is never entered here.
 */

import { faultOn } from './faults.js';

export type DownstreamSessionState = 'idle' | 'awaitingSync' | 'synced';

export type SessionVerdict = 'apply' | 'stale-epoch' | 'out-of-order';

export class DownstreamSession {
  /** Epoch of the newest accepted hello; 0 = no session yet; never lowered (REQ-SESS-006). */
  currentEpoch = 0;
  state: DownstreamSessionState = 'idle';
  /** Whether a session has reached `synced` in this incarnation (Inspect). */
  syncedOnce = false;

  /** `session.hello{e}`: accepted only when newer; the caller then sends the snapshot. */
  hello(epoch: number): 'apply' | 'stale-epoch' {
    if (epoch <= this.currentEpoch) return 'stale-epoch';
    this.currentEpoch = epoch;
    this.state = 'awaitingSync';
    return 'apply';
  }

  /** `session.sync{e}`: only in `awaitingSync`; anywhere else it ends the session. */
  sync(epoch: number): SessionVerdict {
    if (!this.isCurrent(epoch)) return 'stale-epoch';
    if (this.state !== 'awaitingSync') return this.endOutOfOrder();
    this.state = 'synced';
    this.syncedOnce = true;
    return 'apply';
  }

  /** A record (`pod.provision`, `pod.tombstone`): applied only when `synced`. */
  record(epoch: number): SessionVerdict {
    if (!this.isCurrent(epoch)) return 'stale-epoch';
    if (this.state !== 'synced') return this.endOutOfOrder();
    return 'apply';
  }

  /** `link.lost`: only the current session's counts; `currentEpoch` is kept (REQ-SESS-018). */
  linkLost(epoch: number): void {
    if (!this.isCurrent(epoch)) return;
    this.state = 'idle';
    if (faultOn('link-lost-resets-epoch')) this.currentEpoch = 0;
  }

  /** Notifications go up only once the current session's snapshot is out (REQ-SESS-013). */
  mayNotify(): boolean {
    return this.state === 'awaitingSync' || this.state === 'synced';
  }

  private isCurrent(epoch: number): boolean {
    return this.state !== 'idle' && epoch === this.currentEpoch;
  }

  private endOutOfOrder(): 'out-of-order' {
    this.state = 'idle';
    return 'out-of-order';
  }
}
