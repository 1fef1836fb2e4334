/**
 * Per-stage timings of one burst, from the stages' NDJSON traces
 * (runtime/observe/trace.ts): each stage's records written after the burst's scale
 * request are read (from the byte offset noted before it), and for each stage the first
 * and last record that handled the burst's downward path are kept: a scale request, a
 * received `scale.set` or `pod.provision`, a sent `scale.set` or `pod.provision`, a
 * `sandbox.start`, or a `sandbox.started`. The burst ends with the last `sandbox.started`.
 *
 * The steady rate (`steadyRateOf`) is how fast pods start once the chain is full: the
 * pods started between the 10th and the 90th percentile of the start times, over the
 * time between them. The whole-burst rate (N / latency) also counts the time to fill
 * the chain (the first pod's way down) and to drain it; the steady rate does not, so it
 * is what a stream of scale requests would get, the chain's sustained throughput.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { roleOf, type StageId } from '../../machines/index.js';

export interface TraceLine {
  readonly t: string;
  readonly event: { readonly type: string; readonly message?: { readonly type: string } };
  readonly effects: ReadonlyArray<{ readonly type: string; readonly message?: { readonly type: string } }>;
}

const downward = new Set(['scale.set', 'pod.provision']);

function handlesBurst(line: TraceLine): boolean {
  const e = line.event;
  if (e.type === 'scale.requested' || e.type === 'scales.requested' || e.type === 'sandbox.started') return true;
  if (e.type === 'message.received' && e.message !== undefined && downward.has(e.message.type)) return true;
  return line.effects.some((f) => f.type === 'sandbox.start' || (f.type === 'message.send' && f.message !== undefined && downward.has(f.message.type)));
}

/** The bytes of `file` past byte `from` (none when it is missing or no longer), with its size now. */
function bytesAfter(file: string, from: number): { bytes: Buffer; size: number } | null {
  if (!existsSync(file)) return null;
  const size = statSync(file).size;
  if (size <= from) return null;
  const bytes = Buffer.alloc(size - from);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, bytes, 0, bytes.length, from);
  } finally {
    closeSync(fd);
  }
  return { bytes, size };
}

/** Byte offsets of trace files, to read only what a burst appended. */
export class TraceCursor {
  private readonly offsets = new Map<string, number>();

  mark(files: readonly string[]): void {
    for (const file of files) this.offsets.set(file, existsSync(file) ? statSync(file).size : 0);
  }

  /** The complete lines appended to `file` since `mark`. */
  readNew(file: string): TraceLine[] {
    const appended = bytesAfter(file, this.offsets.get(file) ?? 0);
    if (appended === null) return [];
    const text = appended.bytes.toString('utf8');
    const lines: TraceLine[] = [];
    for (const raw of text.split('\n')) {
      if (raw === '') continue;
      try {
        lines.push(JSON.parse(raw) as TraceLine);
      } catch {
        // a line cut by a flush in progress: the burst is read after the traces settle
      }
    }
    return lines;
  }
}

/** What a trace's step record of a started sandbox holds (trace-bytes.ts: the event key, then the event's type). */
const sandboxStartedNeedle = Buffer.from(',"event":{"type":"sandbox.started",', 'latin1');

/**
 * Counts the `sandbox.started` step records appended to trace files since it was made,
 * reading only the bytes new since its last look: how a burst waits for its last pod
 * without asking any stage (a /metrics request costs a Kubelet about 0.5 ms of CPU, and
 * that CPU fell inside the burst's measured window). The count is the Kubelets'
 * `kubedirect_stage_steps_total{event="sandbox.started"}` for the same steps; the
 * records reach the files within traceFlushMsMax.
 */
export class StartedCounter {
  private readonly offsets = new Map<string, number>();
  /** Bytes after each file's last newline: a record being written, counted once complete. */
  private readonly partial = new Map<string, Buffer>();
  private started = 0;

  constructor(private readonly files: readonly string[]) {
    for (const file of files) this.offsets.set(file, existsSync(file) ? statSync(file).size : 0);
  }

  /** Sandboxes started since the counter was made, as far as the files tell now. */
  count(): number {
    for (const file of this.files) {
      const appended = bytesAfter(file, this.offsets.get(file) ?? 0);
      if (appended === null) continue;
      this.offsets.set(file, appended.size);
      const bytes = Buffer.concat([this.partial.get(file) ?? Buffer.alloc(0), appended.bytes]);
      const complete = bytes.lastIndexOf(0x0a) + 1;
      this.partial.set(file, bytes.subarray(complete));
      for (let at = bytes.indexOf(sandboxStartedNeedle); at >= 0 && at < complete; at = bytes.indexOf(sandboxStartedNeedle, at + 1)) this.started++;
    }
    return this.started;
  }
}

export interface StageSpan {
  /** First and last record that handled the burst, in ms after the scale request. */
  readonly firstMs: number;
  readonly lastMs: number;
  readonly records: number;
}

export interface BurstTimings {
  /** Last sandbox.started after the scale request, in ms; null when none. */
  readonly endMs: number | null;
  readonly sandboxesStarted: number;
  /** Pods started per second between the 10th and the 90th percentile of the start times; null with too few starts to tell. */
  readonly steadyPodsPerSecond: number | null;
  /** Per stage group: autoscaler, deployment, replicaset, scheduler, kubelets. */
  readonly stages: Record<string, StageSpan>;
}

export function groupOf(stage: StageId): string {
  return roleOf(stage) === 'kubelet' ? 'kubelets' : stage;
}

export function burstTimings(linesByStage: ReadonlyMap<StageId, readonly TraceLine[]>, requestedAtMs: number): BurstTimings {
  const spans = new Map<string, { first: number; last: number; records: number }>();
  let end: number | null = null;
  const startTimes: number[] = [];
  for (const [stage, lines] of linesByStage) {
    const group = groupOf(stage);
    for (const line of lines) {
      const at = Date.parse(line.t) - requestedAtMs;
      if (!handlesBurst(line)) continue;
      const span = spans.get(group) ?? { first: at, last: at, records: 0 };
      span.first = Math.min(span.first, at);
      span.last = Math.max(span.last, at);
      span.records += 1;
      spans.set(group, span);
      if (line.event.type === 'sandbox.started') {
        startTimes.push(at);
        end = end === null ? at : Math.max(end, at);
      }
    }
  }
  const order = ['autoscaler', 'deployment', 'replicaset', 'scheduler', 'kubelets'];
  const stages: Record<string, StageSpan> = {};
  for (const group of order) {
    const span = spans.get(group);
    if (span !== undefined) stages[group] = { firstMs: span.first, lastMs: span.last, records: span.records };
  }
  return { endMs: end, sandboxesStarted: startTimes.length, steadyPodsPerSecond: steadyRateOf(startTimes), stages };
}

/** Fewest starts for a steady rate: below it, the trace timestamps (whole ms) are too coarse for the window. */
export const steadyRateStartsMin = 100;

/**
 * Pods started per second in the middle 80% of the starts: from the start at the 10th
 * percentile to the one at the 90th. Null below `steadyRateStartsMin` starts, or when the
 * window is under a millisecond (the timestamps' resolution).
 */
export function steadyRateOf(startTimesMs: readonly number[]): number | null {
  if (startTimesMs.length < steadyRateStartsMin) return null;
  const sorted = [...startTimesMs].sort((a, b) => a - b);
  const first = Math.floor(sorted.length * 0.1);
  const last = Math.ceil(sorted.length * 0.9) - 1;
  const windowMs = (sorted[last] as number) - (sorted[first] as number);
  if (windowMs < 1) return null;
  return ((last - first) / windowMs) * 1000;
}
