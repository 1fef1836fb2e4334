/**
 * A trace record written straight into bytes: the same UTF-8 text, byte for byte, as the
 * strings of trace-encoding.ts (`stepRecordJson`), without building a string per record.
 * Building the record's string and then flattening and measuring it (`Buffer.byteLength`)
 * was about 70% of the observer's cost per step (`npm run bench:observe`); here each part
 * is copied once, character by character, into a chunk the TraceWriter (trace.ts) writes
 * to the file in one call. runtime/test/trace-bytes.test.ts holds the two encodings equal.
 */
import type { Effect, LinkMessage, StageEvent, StageState, StepResult, TracePoint } from '../../machines/index.js';
import { jsonName, jsonString } from './trace-encoding.js';

/** Bytes a chunk starts with; it doubles when a record does not fit (a step of 1,000 creations writes ~100 KB). */
export const traceChunkBytesInitial = 256 * 1024;

/** Fragments at least this long are copied with one native call; shorter ones byte by byte (a native call costs about as much as 10 to 16 bytes copied in a loop here). */
const fragmentCopiedNativelyMin = 16;

const quote = 0x22;
const comma = 0x2c;

/** A growable byte chunk with JSON writers: records are appended at `pos`. */
export class TraceBytes {
  buf: Buffer = Buffer.allocUnsafeSlow(traceChunkBytesInitial);
  pos = 0;

  /** Room for `n` more bytes (the written bytes are kept). */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** Bytes encoded before (a fragment of trace-fragments): one native copy, not a loop per byte. */
  bytes(fragment: Uint8Array): void {
    const length = fragment.length;
    this.ensure(length);
    if (length >= fragmentCopiedNativelyMin) {
      this.buf.set(fragment, this.pos);
      this.pos += length;
      return;
    }
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < length; i++) buf[pos++] = fragment[i] as number;
    this.pos = pos;
  }

  byte(code: number): void {
    this.ensure(1);
    this.buf[this.pos++] = code;
  }

  /** Text that is already JSON (or any text), as UTF-8. */
  raw(text: string): void {
    const length = text.length;
    this.ensure(length);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < length; i++) {
      const code = text.charCodeAt(i);
      if (code >= 0x80) {
        this.ensure(3 * length); // a UTF-16 unit is at most 3 bytes of UTF-8
        this.pos += this.buf.write(text, this.pos, 'utf8');
        return;
      }
      buf[pos++] = code;
    }
    this.pos = pos;
  }

  /** `JSON.stringify(text)`: copied as is when nothing needs escaping and all is ASCII (names, links, states, pods), else through JSON.stringify. */
  string(text: string): void {
    const length = text.length;
    this.ensure(length + 2);
    const buf = this.buf;
    const start = this.pos;
    let pos = start;
    buf[pos++] = quote;
    for (let i = 0; i < length; i++) {
      const code = text.charCodeAt(i);
      if (code < 0x20 || code === quote || code === 0x5c || code >= 0x80) {
        this.pos = start;
        this.raw(JSON.stringify(text));
        return;
      }
      buf[pos++] = code;
    }
    buf[pos++] = quote;
    this.pos = pos;
  }

  /** `JSON.stringify(value)` of a number (`null` when not finite). */
  number(value: number): void {
    if (!(Number.isInteger(value) && value >= 0 && value < 0x7fffffff)) {
      this.raw(Number.isFinite(value) ? String(value) : 'null');
      return;
    }
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    this.ensure(digits);
    let pos = this.pos + digits;
    this.pos = pos;
    let rest = value;
    do {
      this.buf[--pos] = 0x30 + (rest % 10);
      rest = Math.floor(rest / 10);
    } while (rest > 0);
  }
}

/** Fragments kept per kind; past it a fragment is encoded at each use (a cluster of thousands of nodes has thousands of links). */
export const traceFragmentsKeptMax = 4_096;

type FragmentLevel = Map<string, FragmentLevel | Uint8Array>;

/**
 * The encoded bytes of a record's fragment that depends only on one to three names from
 * small sets (links, message and event types, machines, lifecycle states and events,
 * nodes): its text is made once by `text`, then found through one map per name.
 */
class Fragments {
  private readonly root: FragmentLevel = new Map();
  private kept = 0;

  constructor(
    private readonly arity: 1 | 2 | 3,
    private readonly text: (a: string, b: string, c: string) => string,
  ) {}

  of(a: string, b = '', c = ''): Uint8Array {
    let level: FragmentLevel | null = this.root;
    if (this.arity > 1) level = this.level(level, a);
    if (this.arity > 2 && level !== null) level = this.level(level, b);
    const last = this.arity === 1 ? a : this.arity === 2 ? b : c;
    const found = level?.get(last) as Uint8Array | undefined;
    if (found !== undefined) return found;
    const bytes = Buffer.from(this.text(a, b, c), 'utf8');
    if (level !== null && this.kept < traceFragmentsKeptMax) {
      level.set(last, bytes);
      this.kept++;
    }
    return bytes;
  }

  private level(parent: FragmentLevel, key: string): FragmentLevel | null {
    let level = parent.get(key) as FragmentLevel | undefined;
    if (level === undefined) {
      if (this.kept >= traceFragmentsKeptMax) return null;
      parent.set(key, (level = new Map()));
    }
    return level;
  }
}

const ascii = (text: string): Uint8Array => Buffer.from(text, 'latin1');
const nameKey = ascii(',"name":');
const closeBraceBytes = ascii('}');
const eventKey = ascii(',"event":');
const effectsOpen = ascii('],"effects":[');
const sessionsKey = ascii(',"sessions":');

/** `{"type":"message.received","link":L,"message":{"type":T,"epoch":` and the same for `message.send`. */
const messageHeads = new Fragments(3, (outer, link, type) => `{"type":${jsonName(outer)},"link":${jsonName(link)},"message":{"type":${jsonName(type)},"epoch":`);
/** `{"type":T,"pod":` of a sandbox event or effect. */
const podHeads = new Fragments(1, (type) => `{"type":${jsonName(type)},"pod":`);
/** `,"K":V}`: a message's or effect's last field, a name (node, origin, reason). */
const nameTails = new Fragments(2, (key, value) => `,"${key}":${jsonName(value)}}`);
const dispositions = new Fragments(1, (disposition) => `,"disposition":${jsonName(disposition)},"transitions":[`);
const transitionHeads = new Fragments(1, (machine) => `{"machine":${jsonName(machine)},"pod":`);
const transitionTails = new Fragments(3, (event, from, to) => `,"event":${jsonName(event)},"from":${jsonName(from)},"to":${jsonName(to)}}`);

/** A message from its `epoch` value on: `messageJson(message)` after `,"epoch":`. */
function writeMessageTail(out: TraceBytes, message: LinkMessage): void {
  out.number(message.epoch);
  switch (message.type) {
    case 'pod.provision':
      out.bytes(nameKey);
      out.string(message.pod.name);
      out.bytes(message.pod.node === null ? closeBraceBytes : nameTails.of('node', message.pod.node));
      return;
    case 'pod.tombstone':
      out.bytes(nameKey);
      out.string(message.name);
      out.bytes(nameTails.of('origin', message.origin));
      return;
    case 'pod.failed':
      out.bytes(nameKey);
      out.string(message.name);
      out.bytes(nameTails.of('reason', message.reason));
      return;
    case 'pod.running':
    case 'pod.preempted':
    case 'tombstone.done':
      out.bytes(nameKey);
      out.string(message.name);
      out.byte(0x7d);
      return;
    case 'scale.set':
    case 'scale.applied':
      out.raw(`,"function":${jsonString(message.scale.function)},"desired":`);
      out.number(message.scale.desired);
      out.byte(0x7d);
      return;
    case 'session.rejected':
      out.raw(`,"reason":${jsonString(message.reason)}}`);
      return;
    case 'session.snapshot':
      out.raw(',"pods":');
      out.number(message.pods.length + message.tombstones.length);
      out.byte(0x7d);
      return;
    default:
      out.byte(0x7d);
  }
}

/** `eventJson(event)`. */
function writeEvent(out: TraceBytes, event: StageEvent): void {
  switch (event.type) {
    case 'message.received':
      out.bytes(messageHeads.of(event.type, event.link, event.message.type));
      writeMessageTail(out, event.message);
      break;
    case 'sandbox.started':
    case 'sandbox.failed':
    case 'sandbox.killed':
      out.bytes(podHeads.of(event.type));
      out.string(event.pod);
      break;
    case 'link.connected':
    case 'link.lost':
      out.raw(`{"type":${jsonName(event.type)},"link":${jsonName(event.link)}`);
      break;
    case 'scale.requested':
      out.raw(`{"type":${jsonName(event.type)},"function":${jsonString(event.function)},"desired":`);
      out.number(event.desired);
      break;
    case 'scales.requested':
      out.raw(`{"type":${jsonName(event.type)},"scales":[`);
      event.scales.forEach((s, i) => {
        out.raw(`${i === 0 ? '' : ','}{"function":${jsonString(s.function)},"desired":`);
        out.number(s.desired);
        out.byte(0x7d);
      });
      out.byte(0x5d);
      break;
  }
  out.byte(0x7d);
}

/** `effectJson(effect, node)`. */
function writeEffect(out: TraceBytes, effect: Effect, node: string): void {
  switch (effect.type) {
    case 'message.send':
      out.bytes(messageHeads.of(effect.type, effect.link, effect.message.type));
      writeMessageTail(out, effect.message);
      out.byte(0x7d);
      return;
    case 'sandbox.start':
    case 'sandbox.kill':
      out.bytes(podHeads.of(effect.type));
      out.string(effect.pod.name);
      out.bytes(nameTails.of('node', effect.pod.node ?? node));
      return;
    case 'store.persist':
      out.raw(`{"type":${jsonName(effect.type)},"function":${jsonString(effect.function)},"desired":`);
      out.number(effect.desired);
      out.byte(0x7d);
  }
}

/** The transitions' items: `transitionsJson(trace)` without its brackets. */
function writeTransitions(out: TraceBytes, trace: readonly TracePoint[]): void {
  for (let i = 0; i < trace.length; i++) {
    const point = trace[i] as TracePoint;
    if (i > 0) out.byte(comma);
    out.bytes(transitionHeads.of(point.machine));
    out.string(point.pod);
    out.bytes(transitionTails.of(point.event, point.from, point.to));
  }
}

/** Writes the step records of one incarnation: `{"t":…` up to the `seq` value is encoded once per millisecond. */
export class StepRecordEncoder {
  private lastT = '';
  private head: Uint8Array = new Uint8Array(0);

  /** `identityJson`: recordIdentityJson(stage, incarnation) (trace-encoding.ts). */
  constructor(private readonly identityJson: string) {}

  /** `stepRecordJson(t, identityJson, seq, event, result, node, sessionsText)`, written at `out.pos`. */
  write(out: TraceBytes, t: string, seq: number, event: StageEvent, result: StepResult<StageState>, node: string, sessionsText: string | null): void {
    if (t !== this.lastT) {
      this.lastT = t;
      this.head = Buffer.from(`{"t":${jsonString(t)}${this.identityJson}`, 'utf8');
    }
    out.bytes(this.head);
    out.number(seq);
    out.bytes(eventKey);
    writeEvent(out, event);
    out.bytes(dispositions.of(result.disposition));
    writeTransitions(out, result.trace);
    out.bytes(effectsOpen);
    const effects = result.effects;
    for (let i = 0; i < effects.length; i++) {
      if (i > 0) out.byte(comma);
      writeEffect(out, effects[i] as Effect, node);
    }
    out.byte(0x5d);
    if (sessionsText !== null) {
      out.bytes(sessionsKey);
      out.raw(sessionsText);
    }
    out.byte(0x7d);
  }
}
