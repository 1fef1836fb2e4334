/**
 * Messages on a link, as the machines see them: one record per message. The wire
 * (spec/kubedirect.proto) batches consecutive records of one kind; a batch means
 * exactly its records delivered in order.
 */
import type { Epoch } from './epoch.js';
import type { Role } from './ids.js';
import type { AlivePod, FailureReason, PodRecord, RejectionReason, ScaleRecord, TombstoneRecord } from './records.js';

/** Upstream to downstream. */
export type DownMessage =
  | { readonly type: 'session.hello'; readonly epoch: Epoch }
  | { readonly type: 'session.sync'; readonly epoch: Epoch }
  | { readonly type: 'scale.set'; readonly epoch: Epoch; readonly scale: ScaleRecord }
  | { readonly type: 'pod.provision'; readonly epoch: Epoch; readonly pod: PodRecord }
  | { readonly type: 'pod.tombstone'; readonly epoch: Epoch; readonly name: string; readonly origin: Role };

/** Downstream to upstream. */
export type UpMessage =
  | {
      readonly type: 'session.snapshot';
      readonly epoch: Epoch;
      readonly scales: readonly ScaleRecord[];
      readonly pods: readonly AlivePod[];
      readonly tombstones: readonly TombstoneRecord[];
    }
  | { readonly type: 'session.rejected'; readonly epoch: Epoch; readonly reason: RejectionReason }
  | { readonly type: 'scale.applied'; readonly epoch: Epoch; readonly scale: ScaleRecord }
  | { readonly type: 'pod.running'; readonly epoch: Epoch; readonly name: string }
  | { readonly type: 'pod.failed'; readonly epoch: Epoch; readonly name: string; readonly reason: FailureReason }
  | { readonly type: 'pod.preempted'; readonly epoch: Epoch; readonly name: string }
  | { readonly type: 'tombstone.done'; readonly epoch: Epoch; readonly name: string };

export type LinkMessage = DownMessage | UpMessage;

const downTypes: ReadonlySet<string> = new Set(['session.hello', 'session.sync', 'scale.set', 'pod.provision', 'pod.tombstone']);

export function isDownMessage(message: LinkMessage): message is DownMessage {
  return downTypes.has(message.type);
}
