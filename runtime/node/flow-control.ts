/**
 * Flow control of one session's sending side (spec 10 §Limits): the messages the
 * machines send on a session wait in a bounded queue and leave as frames only while
 * the transport accepts them.
 *
 * - Batching (REQ-WIRE-002, REQ-WIRE-003): when the stream can take frames, every
 *   message waiting is encoded at once (batches of at most `batchRecordsMax` records,
 *   runtime/wire/codec.ts), and each frame is cut to the link's frame size limit
 *   (runtime/wire/frame-size.ts). Nothing is delayed on purpose to fill a batch.
 * - Backpressure: a `write` that returns false means the stream's buffer is full; no
 *   further frame is written until the stream emits `drain`. Messages sent meanwhile
 *   wait in the queue (and are batched together when it drains).
 * - Bound: the queue holds at most `recordsQueuedMax` records (`sessionRecordsQueuedMax`;
 *   a snapshot counts each record). A message that would exceed it is refused
 *   (`enqueue` returns false) and the caller ends the session, as a link cut
 *   (REQ-FAIL-004): the queue is dropped and the next session reconciles through its
 *   snapshot. Blocking the stage instead would stall every other link of the stage
 *   behind one slow peer; dropping single messages would break FIFO delivery within a
 *   session (REQ-SESS-014).
 */
import { assert } from '../../machines/index.js';
import { declareMetricFamilies } from '../observe/metric-catalog.js';

/** What the writer needs of a stream: a Node writable stream in object mode taking serialized frames. */
export interface FrameStream {
  write(chunk: Buffer): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

export interface SessionWriterOptions<M> {
  /** Serialized frames, each within the frame size limit, for the messages in order. */
  readonly frames: (messages: readonly M[]) => Array<{ readonly bytes: Buffer; readonly records: number }>;
  /** Records a message counts for in the queue bound. */
  readonly recordsOf: (message: M) => number;
  readonly recordsQueuedMax: number;
  /** Called for every frame written (bytes, records). */
  readonly onFrame?: (bytes: number, records: number) => void;
  /** Called when a write returned false (the writer now waits for `drain`). */
  readonly onBlocked?: () => void;
}

export class SessionWriter<M> {
  private outbox: M[] = [];
  private outboxRecords = 0;
  private encoded: Array<{ readonly bytes: Buffer; readonly records: number }> = [];
  private encodedRecords = 0;
  private waitingForDrain = false;
  private closed = false;
  /** Times a write returned false on this session. */
  blockedCount = 0;

  constructor(
    private readonly stream: FrameStream,
    private readonly options: SessionWriterOptions<M>,
  ) {}

  /** Records waiting (not yet taken by the stream). */
  get recordsQueued(): number {
    return this.outboxRecords + this.encodedRecords;
  }

  /** True when nothing waits. */
  get idle(): boolean {
    return this.outbox.length === 0 && this.encoded.length === 0;
  }

  /** Queues a message; false (and nothing queued) when the queue would exceed `recordsQueuedMax`: the caller must end the session. */
  enqueue(message: M): boolean {
    if (this.closed) return true; // the session is over: dropped, as the driver contract says
    const records = this.options.recordsOf(message);
    if (this.recordsQueued + records > this.options.recordsQueuedMax) return false;
    this.outbox.push(message);
    this.outboxRecords += records;
    return true;
  }

  /** Writes waiting messages as frames while the stream accepts them. */
  flush(): void {
    while (!this.closed && !this.waitingForDrain) {
      if (this.encoded.length === 0) {
        if (this.outbox.length === 0) return;
        const messages = this.outbox;
        this.outbox = [];
        this.outboxRecords = 0;
        this.encoded = this.options.frames(messages);
        this.encodedRecords = this.encoded.reduce((sum, f) => sum + f.records, 0);
      }
      const next = this.encoded.shift();
      if (next === undefined) continue;
      this.encodedRecords -= next.records;
      const accepted = this.stream.write(next.bytes);
      this.options.onFrame?.(next.bytes.length, next.records);
      if (!accepted) {
        this.waitingForDrain = true;
        this.blockedCount++;
        this.options.onBlocked?.();
        this.stream.once('drain', () => {
          this.waitingForDrain = false;
          this.flush();
        });
      }
    }
  }

  /** The session is over: drops what waits; later messages are dropped. */
  close(): void {
    this.closed = true;
    this.outbox = [];
    this.encoded = [];
    this.outboxRecords = 0;
    this.encodedRecords = 0;
  }
}

// ---------------------------------------------------------------------------
// Per-link settings and metrics
// ---------------------------------------------------------------------------

/** Flow control settings of one link end. */
export interface LinkFlow {
  /** The frame size limit of the link (the config's `flow.frameBytesMax`, else the spec's `frameBytesMax`). */
  readonly frameBytesMax: number;
  /** `sessionRecordsQueuedMax`. */
  readonly recordsQueuedMax: number;
  /** The first receive slice after an empty queue (the config's `flow.receiveSliceMsFirst`, else `receiveSliceMsMax`; DEC-69). */
  readonly receiveSliceMsFirst: number;
  /** Where flow metrics go (declared by `declareFlowMetrics`); null: none. */
  readonly metrics: FlowMetrics | null;
}

/** The part of the stage's metric registry (runtime/observe/metrics.ts) flow control uses. */
export interface FlowMetrics {
  declare(name: string, kind: 'counter' | 'gauge', help: string): void;
  add(name: string, labels: Readonly<Record<string, string>>, by?: number): void;
  set(name: string, labels: Readonly<Record<string, string>>, value: number): void;
}

export function declareFlowMetrics(m: FlowMetrics): FlowMetrics {
  declareMetricFamilies(m, 'flow');
  return m;
}

/** The writer options' metric callbacks for one link. */
export function flowObserversOf(flow: LinkFlow, link: string): Pick<SessionWriterOptions<unknown>, 'onFrame' | 'onBlocked'> {
  const m = flow.metrics;
  if (m === null) return {};
  let largest = 0;
  return {
    onFrame: (bytes) => {
      m.add('kubedirect_frames_sent_total', { link });
      if (bytes > largest) {
        largest = bytes;
        m.set('kubedirect_frame_bytes_largest', { link }, bytes);
      }
    },
    onBlocked: () => m.add('kubedirect_send_blocked_total', { link }),
  };
}

// ---------------------------------------------------------------------------
// Receiving: bounded, sliced, with backpressure to the sender
// ---------------------------------------------------------------------------

/** What the receive queue needs of a stream: pause and resume its 'data' events. */
export interface PausableStream {
  pause(): unknown;
  resume(): unknown;
}

/**
 * The frames received on one session stream, applied in order in slices of at most
 * `receiveSliceMsMax` so that one large burst never holds the event loop: between
 * slices the stage writes its frames, answers keepalive pings and serves Inspect.
 * Each frame is a generator that yields after every record it delivers (REQ-WIRE-002:
 * a batch means its records one by one, as if each were its own frame, so other events
 * may come between them). While `receivedFramesQueuedMax` frames wait, the stream is
 * paused: gRPC stops reading, the HTTP/2 window fills, and the sender's writes report
 * a full stream (backpressure end to end). A frame still queued when its session ends
 * finds the session over and applies nothing (its records are lost with the session).
 */
export class ReceiveQueue {
  private readonly frames: Array<Iterator<unknown>> = [];
  private scheduled = false;
  private paused = false;
  private closed = false;

  /** The length of the next slice: `sliceMsFirst` after the queue was empty, doubled after each slice that left frames, up to `sliceMsMax`. */
  private sliceMs: number;

  constructor(
    private readonly stream: PausableStream,
    private readonly limits: {
      readonly sliceMsMax: number;
      readonly framesQueuedMax: number;
      /** The first slice after the queue was empty (default `sliceMsMax`: every slice as long as allowed). */
      readonly sliceMsFirst?: number;
    },
  ) {
    this.sliceMs = limits.sliceMsFirst ?? limits.sliceMsMax;
    assert(this.sliceMs > 0 && this.sliceMs <= limits.sliceMsMax, 'the first receive slice is positive and at most sliceMsMax');
  }

  /** Queues the processing of one frame (a generator yielding after each record it delivers). */
  push(work: Iterator<unknown>): void {
    if (this.closed) return;
    this.frames.push(work);
    if (!this.paused && this.frames.length >= this.limits.framesQueuedMax) {
      this.paused = true;
      this.stream.pause();
    }
    this.schedule();
  }

  /** The session is over: nothing queued is applied. */
  close(): void {
    this.closed = true;
    this.frames.length = 0;
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.runSlice();
    });
  }

  /**
   * Applies records until the slice's time is up. Reading the clock costs about as much
   * as a small record, so it is read after the first record, then again after as many
   * records as fit, at the pace of the slice so far, in half the time left (at most
   * twice as many as so far): at a steady pace a slice still ends within about its
   * length, with a few clock reads instead of one per record.
   *
   * With `sliceMsFirst`, slices start short and double (DEC-69): what a slice sends leaves
   * only when it ends, so with one long slice a stage handed a large frame sends nothing
   * downstream until it has applied all of it (a Scheduler applied a 1,000-record frame in
   * 26 to 50 ms before the first Kubelet got a provision). A short first slice gets the
   * first records downstream at once; the doubling keeps the slices of a long burst at
   * `sliceMsMax`, and so its records per frame (DEC-31). Not the default: measured side
   * by side under load it cost more (smaller frames) than the overlap won (DEC-69).
   */
  private runSlice(): void {
    const start = performance.now();
    const deadline = start + this.sliceMs;
    let steps = 0;
    let nextClockRead = 1;
    while (!this.closed) {
      const head = this.frames[0];
      if (head === undefined) break;
      if (head.next().done === true) this.frames.shift();
      if (++steps < nextClockRead) continue;
      const now = performance.now();
      if (now >= deadline) break;
      const stepsInHalfTheTimeLeft = Math.floor(((deadline - now) / 2 / Math.max(now - start, Number.EPSILON)) * steps);
      nextClockRead = steps + Math.max(1, Math.min(steps, stepsInHalfTheTimeLeft));
    }
    if (this.closed) return;
    if (this.paused && this.frames.length < this.limits.framesQueuedMax / 2) {
      this.paused = false;
      this.stream.resume();
    }
    if (this.frames.length > 0) {
      this.sliceMs = Math.min(this.limits.sliceMsMax, this.sliceMs * 2);
      this.schedule();
    } else this.sliceMs = this.limits.sliceMsFirst ?? this.limits.sliceMsMax;
  }
}
