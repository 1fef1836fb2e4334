/**
 * The metrics one pod transition adds to (`kubedirect_pod_transitions_total`, and
 * `kubedirect_tombstones_total` or `kubedirect_invalidations_total` when it enters a
 * tombstone or is a snapshot's invalidation), found once per distinct transition
 * (machine, event, from, to): a step then counts each of its transitions with one lookup
 * per name and field updates, not a labeled lookup plus two tag lookups and a prefix test.
 */
import { stateIsTombstone, type TracePoint } from '../../machines/index.js';
import type { Counter, LabeledCounters } from './metrics.js';

interface TransitionCount {
  readonly transitions: Counter;
  /** Counted when the transition enters a tombstone state; null otherwise. */
  readonly tombstones: Counter | null;
  /** Counted when a snapshot event changed the pod's state; null otherwise. */
  readonly invalidations: Counter | null;
}

type Level<T> = Map<string, T>;

export class TransitionCounts {
  private readonly index: Level<Level<Level<Level<TransitionCount>>>> = new Map();

  constructor(
    private readonly podTransitions: LabeledCounters,
    private readonly tombstones: LabeledCounters,
    private readonly invalidations: LabeledCounters,
  ) {}

  count(point: TracePoint): void {
    const found = this.index.get(point.machine)?.get(point.event)?.get(point.from)?.get(point.to) ?? this.found(point);
    found.transitions.inc();
    found.tombstones?.inc();
    found.invalidations?.inc();
  }

  private found(point: TracePoint): TransitionCount {
    const count: TransitionCount = {
      transitions: this.podTransitions.of(point.machine, point.event),
      tombstones: stateIsTombstone(point.to) && !stateIsTombstone(point.from) ? this.tombstones.of() : null,
      invalidations: point.event.startsWith('snapshot.') && point.from !== point.to ? this.invalidations.of(point.event) : null,
    };
    levelOf(levelOf(levelOf(this.index, point.machine), point.event), point.from).set(point.to, count);
    return count;
  }
}

function levelOf<T>(parent: Level<Level<T>>, key: string): Level<T> {
  let level = parent.get(key);
  if (level === undefined) parent.set(key, (level = new Map()));
  return level;
}
