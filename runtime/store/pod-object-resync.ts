/**
 * Re-sync of the Pod objects after the backing store lost writes (an outage: a write is
 * given up after objectWriteAttemptsMax tries; or a full queue). Pod objects are written
 * edge-triggered, one write per pod transition (pod-objects.ts), so a lost write leaves
 * an object wrong for good. The re-sync is level-triggered: each stage writes again what
 * it knows now, from its pod cache, the same facts it writes on transitions:
 *
 * - the ReplicaSet: every pod it holds (alive or terminating) exists (Pending, created if
 *   missing); and every object in the store of a pod it no longer holds is deleted (only
 *   the ReplicaSet creates objects, so such an object is of a pod that is gone);
 * - the Scheduler: every pod it has bound has its node (Pending with spec.nodeName);
 * - a Kubelet: every pod it runs is Running.
 *
 * The store's rules do the rest: a write never lowers a phase and never recreates a
 * deleted object. It runs once the stage is warm after it starts (the writes its previous
 * incarnation still had queued died with it: a SIGKILL loses them; the ReplicaSet waits
 * until warm, when its cache holds every pod below, before it deletes anything), when the
 * store becomes available again after this stage saw it unavailable, and every
 * `podObjectResyncCheckMs` if writes were given up since the last re-sync while the store
 * answered. Observation only: nothing of the protocol reads the objects back.
 */
import { podCacheOf, stageIsWarm, stateIsAlive, type StageState } from '../../machines/index.js';
import { podObjectOf } from './pod-objects.js';
import type { BackingStore } from './store.js';

/** How often a stage checks whether Pod object writes were given up since its last re-sync. */
export const podObjectResyncCheckMs = 5_000;

export class PodObjectResync {
  private timer: NodeJS.Timeout | null = null;
  /** Writes given up (dropped + failed) when the last re-sync ran. */
  private lostAtLastResync = 0;
  private running = false;
  private stopped = false;
  /** Whether the re-sync after this incarnation started has run. */
  private startResyncDone = false;
  resyncs = 0;

  constructor(
    private readonly store: BackingStore,
    private readonly state: () => StageState,
    private readonly log: (record: Record<string, unknown>) => void,
  ) {}

  start(): void {
    this.store.health.onChange((available) => {
      if (available) void this.resync('the store is available again');
    });
    this.timer = setInterval(() => {
      if (!this.store.health.isAvailable) return;
      if (!this.startResyncDone && stageIsWarm(this.state())) {
        this.startResyncDone = true;
        void this.resync('the stage started: writes its previous incarnation had queued may be lost');
      } else if (this.lost() > this.lostAtLastResync) void this.resync('Pod object writes were given up');
    }, podObjectResyncCheckMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private lost(): number {
    return this.store.stats.dropped + this.store.stats.failed;
  }

  /** Queues the writes of everything this stage knows; the ReplicaSet also deletes the objects of pods it no longer holds. */
  async resync(why: string): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    this.lostAtLastResync = this.lost();
    try {
      const state = this.state();
      let puts = 0;
      for (const entry of podCacheOf(state).entries()) {
        const { name, function: fn, node } = entry.record;
        if (entry.lifecycle === 'gone' || entry.lifecycle === 'unknown') continue;
        if (state.role === 'replicaset') this.store.enqueuePod({ kind: 'put', pod: name, create: true, object: podObjectOf(name, fn, 'Pending', node) });
        else if (state.role === 'scheduler' && node !== null && stateIsAlive(entry.lifecycle)) this.store.enqueuePod({ kind: 'put', pod: name, create: false, object: podObjectOf(name, fn, 'Pending', node) });
        else if (state.role === 'kubelet' && entry.lifecycle === 'running') this.store.enqueuePod({ kind: 'put', pod: name, create: false, object: podObjectOf(name, fn, 'Running', node) });
        else continue;
        puts += 1;
      }
      let deletes = 0;
      if (state.role === 'replicaset') {
        const held = podCacheOf(this.state());
        for (const object of await this.store.listPods()) {
          const name = object.metadata.name;
          if (held.has(name) || podCacheOf(this.state()).has(name)) continue;
          this.store.enqueuePod({ kind: 'delete', pod: name });
          deletes += 1;
        }
      }
      this.resyncs += 1;
      this.log({ event: 'store.objects-resynced', why, puts, deletes, writesGivenUp: this.lostAtLastResync });
    } catch (error) {
      this.log({ event: 'store.objects-resync-failed', why, error: (error as Error).message });
    } finally {
      this.running = false;
    }
  }
}
