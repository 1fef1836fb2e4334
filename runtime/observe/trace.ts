/**
 * The NDJSON event trace of one stage process: one JSON object per step, appended to
 * `<dataDir>/trace.ndjson` (all incarnations of the stage share the file). Events,
 * transitions and effects keep the names of the spec and the machines (`message.received`,
 * `decide.create`, `sandbox.start`), so `kd validate` can check runs against the spec.
 * Observation only: nothing here feeds back into the machines.
 *
 * The summaries below (`summarizeEvent`, `summarizeEffect`, `summarizeMessage`) define
 * what a record says; per step, trace-encoding.ts writes their JSON text directly.
 */
import { appendFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  clientSides,
  serverSide,
  type ClientSide,
  type Disposition,
  type Effect,
  type LinkMessage,
  type ServerSide,
  type StageEvent,
  type StageId,
  type StageState,
  type TracePoint,
} from '../../machines/index.js';
import { sessionsJson, type TraceSession } from './trace-encoding.js';
import { TraceBytes } from './trace-bytes.js';

/** Size limit of one trace file; past it the stage stops tracing with a warning (a trace with holes could not be checked). */
export const traceBytesMax = 256 * 1024 * 1024;
/** Longest time a trace record waits in memory before it is written. */
export const traceFlushMsMax = 200;

export const traceFileName = 'trace.ndjson';

export function traceFileOf(dataDir: string): string {
  return join(dataDir, traceFileName);
}

/** A message in the trace: its type, epoch and the fields that name what it is about (never whole snapshots). */
export interface MessageSummary {
  readonly type: string;
  readonly epoch: number;
  readonly name?: string;
  readonly node?: string;
  readonly function?: string;
  readonly desired?: number;
  readonly reason?: string;
  readonly origin?: string;
  readonly pods?: number;
}

export interface TraceEvent {
  readonly type: string;
  readonly link?: string;
  readonly message?: MessageSummary;
  readonly function?: string;
  readonly desired?: number;
  /** `scales.requested`: the entries, in request order. */
  readonly scales?: ReadonlyArray<{ readonly function: string; readonly desired: number }>;
  readonly pod?: string;
}

export type TraceEffect =
  | { readonly type: 'message.send'; readonly link: string; readonly message: MessageSummary }
  | { readonly type: 'sandbox.start' | 'sandbox.kill'; readonly pod: string; readonly node: string }
  | { readonly type: 'store.persist'; readonly function: string; readonly desired: number };

export type { TraceSession };

export interface TraceRecord {
  readonly t: string;
  readonly stage: StageId;
  readonly incarnation: number;
  /** 0 for the boot record (`stage.started`), then 1, 2, … per step of this incarnation. */
  readonly seq: number;
  readonly event: TraceEvent;
  readonly disposition: Disposition;
  readonly transitions: readonly TracePoint[];
  readonly effects: readonly TraceEffect[];
  /**
   * The session sides after the step. On the boot record and on every record whose step
   * changed a side; absent when they are those of the previous record of this incarnation
   * (most steps change none, and a Scheduler's nine sides were two thirds of each line).
   */
  readonly sessions?: readonly TraceSession[];
  /** Boot record of a Kubelet: its capacity and the sandboxes it found on the node. */
  readonly capacity?: number;
  readonly sandboxes?: readonly string[];
}

let lastIsoMs = -1;
let lastIso = '';

/** The current time as an ISO 8601 string (made once per millisecond: many steps share one). */
export function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastIsoMs) {
    lastIsoMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

export function summarizeMessage(message: LinkMessage): MessageSummary {
  const base = { type: message.type, epoch: message.epoch };
  switch (message.type) {
    case 'scale.set':
    case 'scale.applied':
      return { ...base, function: message.scale.function, desired: message.scale.desired };
    case 'pod.provision':
      return { ...base, name: message.pod.name, ...(message.pod.node === null ? {} : { node: message.pod.node }) };
    case 'pod.tombstone':
      return { ...base, name: message.name, origin: message.origin };
    case 'pod.failed':
      return { ...base, name: message.name, reason: message.reason };
    case 'pod.running':
    case 'pod.preempted':
    case 'tombstone.done':
      return { ...base, name: message.name };
    case 'session.rejected':
      return { ...base, reason: message.reason };
    case 'session.snapshot':
      return { ...base, pods: message.pods.length + message.tombstones.length };
    default:
      return base;
  }
}

export function summarizeEvent(event: StageEvent): TraceEvent {
  switch (event.type) {
    case 'message.received':
      return { type: event.type, link: event.link, message: summarizeMessage(event.message) };
    case 'link.connected':
    case 'link.lost':
      return { type: event.type, link: event.link };
    case 'scale.requested':
      return { type: event.type, function: event.function, desired: event.desired };
    case 'scales.requested':
      return { type: event.type, scales: event.scales.map((s) => ({ function: s.function, desired: s.desired })) };
    case 'sandbox.started':
    case 'sandbox.failed':
    case 'sandbox.killed':
      return { type: event.type, pod: event.pod };
  }
}

export function summarizeEffect(effect: Effect, node: string): TraceEffect {
  switch (effect.type) {
    case 'message.send':
      return { type: effect.type, link: effect.link, message: summarizeMessage(effect.message) };
    case 'sandbox.start':
    case 'sandbox.kill':
      return { type: effect.type, pod: effect.pod.name, node: effect.pod.node ?? node };
    case 'store.persist':
      return { type: effect.type, function: effect.function, desired: effect.desired };
  }
}

export function sessionsOf(state: StageState): TraceSession[] {
  return sessionsFrom(serverSide(state), clientSides(state));
}

function sessionsFrom(server: ServerSide | null, clients: readonly ClientSide[]): TraceSession[] {
  const sessions: TraceSession[] = [];
  if (server !== null) sessions.push({ link: server.link, end: 'downstream', session: server.session, epoch: server.epoch });
  for (const side of clients) sessions.push({ link: side.link, end: 'upstream', session: side.session, epoch: side.epoch });
  return sessions;
}

function sameSides(a: readonly ClientSide[], b: readonly ClientSide[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The session sides of the last state seen and their JSON text, rebuilt only when a side
 * changed: states are never mutated, so the same side object is the same side, and most
 * steps change none.
 */
export class TraceSessionsCache {
  /** undefined until the first state is seen. */
  private server: ServerSide | null | undefined = undefined;
  private clients: readonly ClientSide[] = [];
  sessions: readonly TraceSession[] = [];
  json = '[]';

  /** Takes the sides of `state`; says whether any differs from the last state's. */
  update(state: StageState): boolean {
    const server = serverSide(state);
    const clients = clientSides(state);
    if (server === this.server && sameSides(clients, this.clients)) return false;
    this.server = server;
    this.clients = clients;
    this.sessions = sessionsFrom(server, clients);
    this.json = sessionsJson(this.sessions);
    return true;
  }
}

/** Committed bytes past which a record's commit writes the chunk out before the next flush tick. */
export const traceChunkFlushBytes = 192 * 1024;

/**
 * Appends records to a trace file: buffered, written at least every `traceFlushMsMax` and
 * on exit, never past `traceBytesMax`. Records are written as bytes into one chunk
 * (trace-bytes.ts) and measured as they are committed, so no record's text is kept as a
 * string: keeping each record's text an unflattened string tree until a write (up to
 * 200 ms) let it survive scavenges, and a Scheduler used 1.85 to 2.85 CPU-s for 20,000
 * pods against 0.97 to 1.39 s (docs/pages/benchmarks.md).
 */
export class TraceWriter {
  private readonly chunk = new TraceBytes();
  /** Where the record being written starts in the chunk (the bytes before it are committed). */
  private recordStart = 0;
  private bytes: number;
  private stoppedWhy: string | null = null;
  private readonly timer: NodeJS.Timeout;
  private readonly onExit = (): void => this.flush();

  constructor(
    readonly file: string,
    private readonly warn: (message: string) => void,
    private readonly bytesMax: number = traceBytesMax,
  ) {
    mkdirSync(dirname(file), { recursive: true });
    this.bytes = existsSync(file) ? statSync(file).size : 0;
    this.timer = setInterval(() => this.flush(), traceFlushMsMax);
    this.timer.unref();
    process.on('exit', this.onExit);
  }

  append(record: TraceRecord): void {
    this.appendLine(JSON.stringify(record));
  }

  /** Appends a record already in its JSON text (trace-encoding.ts), without its newline. */
  appendLine(json: string): void {
    const out = this.begin();
    if (out === null) return;
    out.raw(json);
    this.commit();
  }

  /** The chunk to write one record into (then `commit`), or null when tracing stopped. */
  begin(): TraceBytes | null {
    if (this.stoppedWhy !== null) return null;
    this.recordStart = this.chunk.pos;
    return this.chunk;
  }

  /** Ends the record written since `begin` with its newline, or drops it for the trace.stopped note at `traceBytesMax`. */
  commit(): void {
    const chunk = this.chunk;
    const start = this.recordStart;
    if (chunk.pos < start) throw new Error(`a trace record ends (${chunk.pos}) before it starts (${start})`);
    const size = chunk.pos - start + 1; // and its newline
    if (this.bytes + size > this.bytesMax) {
      this.stoppedWhy = `${this.file} reached traceBytesMax (${this.bytesMax} bytes): tracing stopped for this incarnation`;
      // The record's t, stage, incarnation and seq open its text: the first `,"event":` is its key (quotes in the values before it are escaped).
      const identityEnd = chunk.buf.indexOf(',"event":', start, 'latin1');
      const identity = chunk.buf.toString('utf8', start, identityEnd < 0 ? start : identityEnd);
      chunk.pos = start;
      chunk.raw(`${identity},"event":{"type":"trace.stopped"},"reason":"traceBytesMax"}`);
      chunk.byte(0x0a);
      this.flush();
      this.warn(this.stoppedWhy);
      return;
    }
    this.bytes += size;
    chunk.byte(0x0a);
    if (chunk.pos >= traceChunkFlushBytes) this.flush();
  }

  flush(): void {
    const chunk = this.chunk;
    if (chunk.pos === 0) return;
    const length = chunk.pos;
    chunk.pos = 0;
    this.recordStart = 0;
    try {
      appendFileSync(this.file, chunk.buf.subarray(0, length));
    } catch (error) {
      this.stoppedWhy = `cannot write ${this.file}: ${(error as Error).message}`;
      this.warn(this.stoppedWhy);
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
    process.off('exit', this.onExit);
  }
}
