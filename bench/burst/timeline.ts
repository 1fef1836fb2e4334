/**
 * The critical path of one burst, stage by stage, from the stages' NDJSON traces
 * (runtime/observe/trace.ts; read as traces.ts does). For each stage group
 * (autoscaler, deployment, replicaset, scheduler, kubelets):
 *
 * - in: when the first and the last record of the burst arrived (`message.received` of a
 *   `scale.set` or `pod.provision`; at the Autoscaler the scale request);
 * - out: when the first and the last record left the machines (a `message.send` of a
 *   downward record; at the Kubelets `sandbox.start`, then `sandbox.started`);
 * - active: the milliseconds between the stage's first and last burst record in which it
 *   traced at least one burst record; idle: the rest of that span, and its largest gap;
 * - the hop into the stage: from its upstream's first (last) send to its own first (last)
 *   arrival, which is the link's delay plus the time the record waited for the stage.
 *
 * Trace timestamps are whole milliseconds, so every figure here is within 1 ms. A send
 * here is the moment the machines asked for it; the frame leaves at the link's next flush
 * (grpc-downstream-link.ts), so a stage's "out" is when its records were ready, and the hop
 * into the next stage also holds the wait for that flush.
 */
import { groupOf } from './traces.js';
import type { StageId } from '../../machines/index.js';

/** What a timeline needs of a trace line (a step record). */
export interface TimelineLine {
  readonly t: string;
  readonly event: { readonly type: string; readonly message?: { readonly type: string } };
  readonly effects: ReadonlyArray<{ readonly type: string; readonly message?: { readonly type: string } }>;
}

/** First and last of a set of times, in ms after the scale request, and how many. */
export interface Span {
  readonly firstMs: number;
  readonly lastMs: number;
  readonly count: number;
}

export interface StageTimeline {
  readonly stage: string;
  /** Burst records that arrived (at the Autoscaler: scale requests). */
  readonly in: Span | null;
  /** Burst records the machines sent on (at the Kubelets: sandbox starts asked for). */
  readonly out: Span | null;
  /** Kubelets only: sandboxes reported started. */
  readonly started: Span | null;
  /** Milliseconds with at least one burst record between the stage's first and last. */
  readonly activeMs: number;
  /** The rest of that span: milliseconds in which the stage traced no burst record. */
  readonly idleMs: number;
  /** The longest stretch without a burst record inside the span, and when it began (ms after the request). */
  readonly largestGapMs: number;
  readonly largestGapAtMs: number | null;
  /** Upstream's first send to this stage's first arrival, and last send to last arrival, ms; null at the Autoscaler. */
  readonly hopFirstMs: number | null;
  readonly hopLastMs: number | null;
}

export interface BurstTimeline {
  readonly stages: StageTimeline[];
  /** Last sandbox.started, ms after the request; null when none. */
  readonly endMs: number | null;
}

const downward = new Set(['scale.set', 'pod.provision']);
export const timelineOrder = ['autoscaler', 'deployment', 'replicaset', 'scheduler', 'kubelets'] as const;

class SpanBuilder {
  first = Infinity;
  last = -Infinity;
  count = 0;
  add(at: number, by = 1): void {
    if (by <= 0) return;
    this.first = Math.min(this.first, at);
    this.last = Math.max(this.last, at);
    this.count += by;
  }
  span(): Span | null {
    return this.count === 0 ? null : { firstMs: this.first, lastMs: this.last, count: this.count };
  }
}

interface GroupBuilder {
  readonly in: SpanBuilder;
  readonly out: SpanBuilder;
  readonly started: SpanBuilder;
  /** Every ms (after the request) with a burst record. */
  readonly activeAt: Set<number>;
}

function arrivals(line: TimelineLine): number {
  const e = line.event;
  if (e.type === 'scale.requested' || e.type === 'scales.requested') return 1;
  return e.type === 'message.received' && e.message !== undefined && downward.has(e.message.type) ? 1 : 0;
}

function departures(line: TimelineLine): number {
  let n = 0;
  for (const f of line.effects) if (f.type === 'sandbox.start' || (f.type === 'message.send' && f.message !== undefined && downward.has(f.message.type))) n++;
  return n;
}

function gapsOf(activeAt: ReadonlySet<number>): { largest: number; at: number | null } {
  const sorted = [...activeAt].sort((a, b) => a - b);
  let largest = 0;
  let at: number | null = null;
  for (let i = 1; i < sorted.length; i++) {
    const gap = (sorted[i] as number) - (sorted[i - 1] as number) - 1;
    if (gap > largest) {
      largest = gap;
      at = (sorted[i - 1] as number) + 1;
    }
  }
  return { largest, at };
}

/** The per-stage timeline of one burst; `requestedAtMs` is the wall-clock time of the scale request. */
export function burstTimeline(linesByStage: ReadonlyMap<StageId, readonly TimelineLine[]>, requestedAtMs: number): BurstTimeline {
  const groups = new Map<string, GroupBuilder>();
  for (const [stage, lines] of linesByStage) {
    const group = groupOf(stage);
    let g = groups.get(group);
    if (g === undefined) {
      g = { in: new SpanBuilder(), out: new SpanBuilder(), started: new SpanBuilder(), activeAt: new Set() };
      groups.set(group, g);
    }
    for (const line of lines) {
      const at = Date.parse(line.t) - requestedAtMs;
      const arrived = arrivals(line);
      const left = departures(line);
      const started = line.event.type === 'sandbox.started' ? 1 : 0;
      if (arrived + left + started === 0) continue;
      g.in.add(at, arrived);
      g.out.add(at, left);
      g.started.add(at, started);
      g.activeAt.add(at);
    }
  }
  const stages: StageTimeline[] = [];
  let previous: GroupBuilder | undefined;
  for (const name of timelineOrder) {
    const g = groups.get(name);
    if (g === undefined) continue;
    const all = [...g.activeAt];
    const spanMs = all.length === 0 ? 0 : Math.max(...all) - Math.min(...all) + 1;
    const gaps = gapsOf(g.activeAt);
    const into = previous?.out.span() ?? null;
    const arrived = g.in.span();
    stages.push({
      stage: name,
      in: arrived,
      out: g.out.span(),
      started: g.started.span(),
      activeMs: g.activeAt.size,
      idleMs: spanMs - g.activeAt.size,
      largestGapMs: gaps.largest,
      largestGapAtMs: gaps.at,
      hopFirstMs: into === null || arrived === null || name === 'autoscaler' ? null : arrived.firstMs - into.firstMs,
      hopLastMs: into === null || arrived === null || name === 'autoscaler' ? null : arrived.lastMs - into.lastMs,
    });
    previous = g;
  }
  return { stages, endMs: groups.get('kubelets')?.started.span()?.lastMs ?? null };
}

function spanText(span: Span | null): string {
  return span === null ? '-' : `${span.firstMs}..${span.lastMs} (${span.count})`;
}

function msText(ms: number | null): string {
  return ms === null ? '-' : String(ms);
}

/** The timeline as a table, one row per stage group; `cpuMs` (the stage group's CPU during the burst) beside it when known. */
export function timelineText(timeline: BurstTimeline, cpuMs: Readonly<Record<string, number>> = {}): string {
  const header = ['stage', 'in first..last (n)', 'out first..last (n)', 'hop first/last', 'active', 'idle', 'largest gap @', 'cpu ms'];
  const rows = timeline.stages.map((s) => [
    s.stage,
    spanText(s.in),
    s.stage === 'kubelets' ? `${spanText(s.out)} started ${spanText(s.started)}` : spanText(s.out),
    `${msText(s.hopFirstMs)}/${msText(s.hopLastMs)}`,
    String(s.activeMs),
    String(s.idleMs),
    s.largestGapAtMs === null ? '0' : `${s.largestGapMs} @${s.largestGapAtMs}`,
    cpuMs[s.stage] === undefined ? '-' : (cpuMs[s.stage] as number).toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd();
  return [line(header), ...rows.map(line), `end (last sandbox.started): ${msText(timeline.endMs)} ms after the scale request; times in ms after it, whole ms (trace resolution)`].join('\n');
}

/** CPU-ms of each stage group from per-process CPU-ms (Kubelets summed). */
export function cpuByGroup(cpuMs: Readonly<Record<string, number>>): Record<string, number> {
  const grouped: Record<string, number> = {};
  for (const [stage, ms] of Object.entries(cpuMs)) {
    const group = stage.startsWith('kubelet:') ? 'kubelets' : stage;
    grouped[group] = (grouped[group] ?? 0) + ms;
  }
  return grouped;
}
