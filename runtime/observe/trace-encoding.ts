/**
 * The JSON text of a trace record's parts, written straight from the step's event and
 * effects: the same text, key for key, as `JSON.stringify` of the summaries in
 * trace.ts (`summarizeEvent`, `summarizeEffect`, `summarizeMessage`), without building
 * the summary objects first. A stage writes one record per step, so this is the
 * runtime's hottest observation path; runtime/test/trace-encoding.test.ts holds the two
 * encodings equal.
 */
import type { Effect, LinkMessage, StageEvent, StageId, StageState, StepResult, TracePoint } from '../../machines/index.js';

/** A session side after the step: `end` is this stage's end of the link (`upstream` = client). */
export interface TraceSession {
  readonly link: string;
  readonly end: 'upstream' | 'downstream';
  readonly session: string;
  readonly epoch: number;
}

/** Whether JSON.stringify would escape a character of `text` (control characters, quote, backslash; surrogates it may). Names, links and states have none. */
function hasEscapedCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x22 || code === 0x5c || (code >= 0xd800 && code <= 0xdfff)) return true;
  }
  return false;
}

export function jsonString(text: string): string {
  return hasEscapedCharacter(text) ? JSON.stringify(text) : `"${text}"`;
}

/**
 * Quoted names from small sets (message, event and effect types, links, machines,
 * lifecycle states and events, dispositions): each is checked and quoted once, then
 * found in a map. Pod names are not kept (each is new), and the map stops growing at
 * `quotedNamesKeptMax` entries (a cluster of thousands of nodes has thousands of links).
 */
const quotedNames = new Map<string, string>();
const quotedNamesKeptMax = 4_096;

export function jsonName(text: string): string {
  let quoted = quotedNames.get(text);
  if (quoted === undefined) {
    quoted = jsonString(text);
    if (quotedNames.size < quotedNamesKeptMax) quotedNames.set(text, quoted);
  }
  return quoted;
}

export function jsonNumber(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}

/** `JSON.stringify(summarizeMessage(message))`. */
export function messageJson(message: LinkMessage): string {
  const head = `{"type":${jsonName(message.type)},"epoch":${jsonNumber(message.epoch)}`;
  switch (message.type) {
    case 'scale.set':
    case 'scale.applied':
      return `${head},"function":${jsonString(message.scale.function)},"desired":${jsonNumber(message.scale.desired)}}`;
    case 'pod.provision':
      return message.pod.node === null
        ? `${head},"name":${jsonString(message.pod.name)}}`
        : `${head},"name":${jsonString(message.pod.name)},"node":${jsonName(message.pod.node)}}`;
    case 'pod.tombstone':
      return `${head},"name":${jsonString(message.name)},"origin":${jsonName(message.origin)}}`;
    case 'pod.failed':
      return `${head},"name":${jsonString(message.name)},"reason":${jsonName(message.reason)}}`;
    case 'pod.running':
    case 'pod.preempted':
    case 'tombstone.done':
      return `${head},"name":${jsonString(message.name)}}`;
    case 'session.rejected':
      return `${head},"reason":${jsonString(message.reason)}}`;
    case 'session.snapshot':
      return `${head},"pods":${jsonNumber(message.pods.length + message.tombstones.length)}}`;
    default:
      return `${head}}`;
  }
}

/** `JSON.stringify(summarizeEvent(event))`. */
export function eventJson(event: StageEvent): string {
  const head = `{"type":${jsonName(event.type)}`;
  switch (event.type) {
    case 'message.received':
      return `${head},"link":${jsonName(event.link)},"message":${messageJson(event.message)}}`;
    case 'link.connected':
    case 'link.lost':
      return `${head},"link":${jsonName(event.link)}}`;
    case 'scale.requested':
      return `${head},"function":${jsonString(event.function)},"desired":${jsonNumber(event.desired)}}`;
    case 'scales.requested':
      return `${head},"scales":[${event.scales.map((s) => `{"function":${jsonString(s.function)},"desired":${jsonNumber(s.desired)}}`).join(',')}]}`;
    case 'sandbox.started':
    case 'sandbox.failed':
    case 'sandbox.killed':
      return `${head},"pod":${jsonString(event.pod)}}`;
  }
}

/** `JSON.stringify(summarizeEffect(effect, node))`. */
export function effectJson(effect: Effect, node: string): string {
  const head = `{"type":${jsonName(effect.type)}`;
  switch (effect.type) {
    case 'message.send':
      return `${head},"link":${jsonName(effect.link)},"message":${messageJson(effect.message)}}`;
    case 'sandbox.start':
    case 'sandbox.kill':
      return `${head},"pod":${jsonString(effect.pod.name)},"node":${jsonName(effect.pod.node ?? node)}}`;
    case 'store.persist':
      return `${head},"function":${jsonString(effect.function)},"desired":${jsonNumber(effect.desired)}}`;
  }
}

/** `JSON.stringify(effects.map((e) => summarizeEffect(e, node)))`. */
export function effectsJson(effects: readonly Effect[], node: string): string {
  if (effects.length === 0) return '[]';
  let text = '[';
  for (let i = 0; i < effects.length; i++) text += (i === 0 ? '' : ',') + effectJson(effects[i] as Effect, node);
  return `${text}]`;
}

/** `JSON.stringify(trace)`. */
export function transitionsJson(trace: readonly TracePoint[]): string {
  if (trace.length === 0) return '[]';
  let text = '[';
  for (let i = 0; i < trace.length; i++) {
    const point = trace[i] as TracePoint;
    text += `${i === 0 ? '{' : ',{'}"machine":${jsonName(point.machine)},"pod":${jsonString(point.pod)},"event":${jsonName(point.event)},"from":${jsonName(point.from)},"to":${jsonName(point.to)}}`;
  }
  return `${text}]`;
}

/** `JSON.stringify(sessions)`. */
export function sessionsJson(sessions: readonly TraceSession[]): string {
  let text = '[';
  for (let i = 0; i < sessions.length; i++) {
    const side = sessions[i] as TraceSession;
    text += `${i === 0 ? '{' : ',{'}"link":${jsonString(side.link)},"end":${jsonString(side.end)},"session":${jsonString(side.session)},"epoch":${jsonNumber(side.epoch)}}`;
  }
  return `${text}]`;
}

/** The text of a record between its `t` and its `seq` value: the same for every record of one incarnation. */
export function recordIdentityJson(stage: StageId, incarnation: number): string {
  return `,"stage":${jsonString(stage)},"incarnation":${jsonNumber(incarnation)},"seq":`;
}

/** `JSON.stringify` of a step's TraceRecord (no capacity or sandboxes: those are the boot record's), given the text of its sessions, or null to leave them out (unchanged). */
export function stepRecordJson(t: string, identityJson: string, seq: number, event: StageEvent, result: StepResult<StageState>, node: string, sessionsText: string | null): string {
  const sessions = sessionsText === null ? '' : `,"sessions":${sessionsText}`;
  return `{"t":${jsonString(t)}${identityJson}${jsonNumber(seq)},"event":${eventJson(event)},"disposition":${jsonName(result.disposition)},"transitions":${transitionsJson(result.trace)},"effects":${effectsJson(result.effects, node)}${sessions}}`;
}
