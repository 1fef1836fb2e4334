/**
 * How well the direct links batch: frames written and records sent per hop during a
 * burst, from the stages' own counters (`kubedirect_frames_sent_total` and
 * `kubedirect_messages_sent_total` on /metrics, by link, at the sending stage). A hop is
 * a link in one direction, Kubelets grouped: `scheduler→kubelets` is every provision
 * frame the Scheduler wrote to any Kubelet. Few records per frame means each record
 * pays a whole gRPC message's cost.
 */
import { linkEnds, type StageId } from '../../machines/index.js';

/** Frames and records one hop carried. */
export interface HopFlow {
  readonly frames: number;
  readonly records: number;
}

export type FlowCounters = Record<string, HopFlow>;

function groupOf(stage: StageId): string {
  return stage.startsWith('kubelet:') ? 'kubelets' : stage;
}

/** The hop a sender's counter on `link` belongs to: from the sender to the link's other end. */
function hopOf(sender: StageId, link: string): string {
  const { upstream, downstream } = linkEnds(link);
  const receiver = sender === upstream ? downstream : upstream;
  return `${groupOf(sender)}→${groupOf(receiver)}`;
}

const counterLine = /^(kubedirect_frames_sent_total|kubedirect_messages_sent_total)\{([^}]*)\} (\d+(?:\.\d+)?)$/;

/** Adds the frame and record counters of one stage's /metrics text into `into`, by hop. */
export function addFlowCounters(into: Record<string, { frames: number; records: number }>, sender: StageId, metricsText: string): void {
  for (const line of metricsText.split('\n')) {
    const match = counterLine.exec(line);
    if (match === null) continue;
    const link = /(?:^|,)link="([^"]+)"/.exec(match[2] as string)?.[1];
    if (link === undefined) continue;
    const hop = (into[hopOf(sender, link)] ??= { frames: 0, records: 0 });
    if (match[1] === 'kubedirect_frames_sent_total') hop.frames += Number(match[3]);
    else hop.records += Number(match[3]);
  }
}

/** What each hop carried between two readings (hops that carried nothing left out). */
export function flowBetween(before: FlowCounters, after: FlowCounters): FlowCounters {
  const between: Record<string, HopFlow> = {};
  for (const [hop, flow] of Object.entries(after)) {
    const frames = flow.frames - (before[hop]?.frames ?? 0);
    const records = flow.records - (before[hop]?.records ?? 0);
    if (frames > 0 || records > 0) between[hop] = { frames, records };
  }
  return between;
}
