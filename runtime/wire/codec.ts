/**
 * Machine messages <-> proto frames (spec/10-wire-protocol.md §Mapping), with the
 * validation of REQ-WIRE-004: a frame is checked as a whole before any record of it
 * reaches a machine; a bad frame gives a Rejection and no message at all.
 *
 * Batching (REQ-WIRE-002): consecutive records of one kind and one epoch go into one
 * frame of at most batchRecordsMax records; decoding gives exactly those records, in order.
 */
import {
  linkEnds,
  roleOf,
  type AlivePod,
  type DownMessage,
  type FailureReason,
  type PodRecord,
  type Role,
  type ScaleRecord,
  type TombstoneRecord,
  type UpMessage,
} from '../../machines/index.js';
import {
  batchRecordsMax,
  desiredMax,
  epochMax,
  functionNameLengthMax,
  nodeNameLengthMax,
  podNameLengthMax,
  protocolVersion,
  stageIdLengthMax,
} from '../../spec/limits.js';
import { rejection, type Rejection } from './errors.js';
import type { DownstreamFrame, UpstreamFrame, WireHello, WirePodRecord, WireScale, WireSnapshot, WireTombstone } from './proto.js';
import { isUndecodable } from './undecodable.js';

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

const dnsLabel = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const podName = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?-\d{1,16}-\d{1,10}$/;

export function validFunctionName(name: unknown): name is string {
  return typeof name === 'string' && name.length <= functionNameLengthMax && dnsLabel.test(name);
}

export function validNodeName(name: unknown): name is string {
  return typeof name === 'string' && name.length <= nodeNameLengthMax && dnsLabel.test(name);
}

export function validPodName(name: unknown): name is string {
  return typeof name === 'string' && name.length <= podNameLengthMax && podName.test(name);
}

export function validStageId(id: unknown): id is string {
  if (typeof id !== 'string' || id.length > stageIdLengthMax) return false;
  try {
    const role = roleOf(id);
    return role !== 'kubelet' || validNodeName(id.slice('kubelet:'.length));
  } catch {
    return false;
  }
}

export function validEpoch(epoch: unknown): epoch is number {
  return typeof epoch === 'number' && Number.isSafeInteger(epoch) && epoch >= 1 && epoch <= epochMax;
}

/**
 * The epoch a rejection reports for a frame (its Rejected frame, its ErrorDetail, the
 * log and Inspect; REQ-WIRE-005, REQ-WIRE-013): the frame's epoch when it is a valid
 * epoch (1 to epochMax); else 0, proto3's "no epoch", which is never an epoch (such a
 * frame is MALFORMED, and its message says what came).
 */
export function reportedEpochOf(epoch: unknown): number {
  return validEpoch(epoch) ? epoch : 0;
}

// ---------------------------------------------------------------------------
// Kinds of links and what may flow on them (REQ-TOPO-004)
// ---------------------------------------------------------------------------

export type LinkKind = 'scale' | 'pod-to-scheduler' | 'pod-to-kubelet';

/** The kind of each link id seen, worked out once: decoding asks for it with every frame. */
const linkKinds = new Map<string, LinkKind>();

export function linkKindOf(link: string): LinkKind {
  const known = linkKinds.get(link);
  if (known !== undefined) return known;
  const { downstream } = linkEnds(link);
  const role = roleOf(downstream);
  const kind = role === 'deployment' || role === 'replicaset' ? 'scale' : role === 'scheduler' ? 'pod-to-scheduler' : role === 'kubelet' ? 'pod-to-kubelet' : null;
  if (kind === null) throw new Error(`no link leads to ${downstream}`);
  linkKinds.set(link, kind);
  return kind;
}

const downBodies: Readonly<Record<LinkKind, ReadonlySet<string>>> = {
  scale: new Set(['hello', 'sync', 'scale_set']),
  'pod-to-scheduler': new Set(['hello', 'sync', 'provision', 'tombstone']),
  'pod-to-kubelet': new Set(['hello', 'sync', 'provision', 'tombstone']),
};

const upBodies: Readonly<Record<LinkKind, ReadonlySet<string>>> = {
  scale: new Set(['snapshot', 'rejected', 'scale_applied']),
  'pod-to-scheduler': new Set(['snapshot', 'rejected', 'running', 'failed', 'preempted', 'tombstone_done']),
  'pod-to-kubelet': new Set(['snapshot', 'rejected', 'running', 'failed', 'tombstone_done']),
};

/** What the receiver of a link knows to validate against. */
export interface LinkContext {
  readonly link: string;
  /** Configured functions. */
  readonly functions: ReadonlySet<string>;
}

// ---------------------------------------------------------------------------
// Reasons: machine kebab case <-> wire upper snake case
// ---------------------------------------------------------------------------

const failureReasons: readonly FailureReason[] = ['sandbox-failed', 'capacity-exceeded', 'invalidated', 'unknown-owner'];

function toWireName(kebab: string): string {
  return kebab.toUpperCase().replaceAll('-', '_');
}

function failureFromWire(name: unknown): FailureReason | null {
  return failureReasons.find((r) => toWireName(r) === name) ?? null;
}

const tombstoneOrigins: readonly Role[] = ['replicaset', 'scheduler'];

function originFromWire(origin: unknown): Role | null {
  return tombstoneOrigins.find((r) => r === origin) ?? null;
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

function podToWire(pod: PodRecord): WirePodRecord {
  return { name: pod.name, function: pod.function, priority: pod.priority, node: pod.node ?? '' };
}

/**
 * Frames built from messages in order (REQ-WIRE-002): a record joins the last frame when
 * that frame is a batch of the same body and epoch with fewer than batchRecordsMax
 * records; any other message starts a frame. One pass, no closure per message: this runs
 * for every record sent.
 */
class FrameBatcher<F> {
  readonly frames: F[] = [];
  /** The records of the last frame, while it is a batch that may take more. */
  private records: unknown[] | null = null;
  private body = '';
  private epoch = 0;

  /** A record of a batch body; `frameOf` makes a frame holding `records` (later records of the batch are added to that array). */
  record<R>(body: string, epoch: number, record: R, frameOf: (epoch: number, records: R[]) => F): void {
    if (this.records !== null && this.body === body && this.epoch === epoch && this.records.length < batchRecordsMax) {
      this.records.push(record);
      return;
    }
    const records = [record];
    this.frames.push(frameOf(epoch, records));
    this.records = records;
    this.body = body;
    this.epoch = epoch;
  }

  /** Frames that take no other record (hello, sync, rejected, the parts of a snapshot). */
  alone(frames: readonly F[]): void {
    for (const frame of frames) this.frames.push(frame);
    this.records = null;
  }
}

export interface HelloIdentity {
  readonly upstream: string;
  readonly downstream: string;
}

const scaleSetFrame = (epoch: number, scales: WireScale[]): UpstreamFrame => ({ epoch, scale_set: { scales } });
const provisionFrame = (epoch: number, pods: WirePodRecord[]): UpstreamFrame => ({ epoch, provision: { pods } });
const tombstoneFrame = (epoch: number, tombstones: WireTombstone[]): UpstreamFrame => ({ epoch, tombstone: { tombstones } });

/** Frames for messages sent down one link, in order, batched. */
export function encodeDown(messages: readonly DownMessage[], identity: HelloIdentity): UpstreamFrame[] {
  const batcher = new FrameBatcher<UpstreamFrame>();
  for (const m of messages) {
    switch (m.type) {
      case 'session.hello':
        batcher.alone([{ epoch: m.epoch, hello: { upstream_stage_id: identity.upstream, downstream_stage_id: identity.downstream, protocol_version: protocolVersion } }]);
        break;
      case 'session.sync':
        batcher.alone([{ epoch: m.epoch, sync: {} }]);
        break;
      case 'scale.set':
        batcher.record('scale_set', m.epoch, { ...m.scale }, scaleSetFrame);
        break;
      case 'pod.provision':
        batcher.record('provision', m.epoch, podToWire(m.pod), provisionFrame);
        break;
      case 'pod.tombstone':
        batcher.record('tombstone', m.epoch, { name: m.name, origin: m.origin }, tombstoneFrame);
        break;
    }
  }
  return batcher.frames;
}

const scaleAppliedFrame = (epoch: number, scales: WireScale[]): DownstreamFrame => ({ epoch, scale_applied: { scales } });
const runningFrame = (epoch: number, names: string[]): DownstreamFrame => ({ epoch, running: { names } });
const failedFrame = (epoch: number, failures: Array<{ name: string; reason: string }>): DownstreamFrame => ({ epoch, failed: { failures } });
const preemptedFrame = (epoch: number, names: string[]): DownstreamFrame => ({ epoch, preempted: { names } });
const tombstoneDoneFrame = (epoch: number, names: string[]): DownstreamFrame => ({ epoch, tombstone_done: { names } });

/** Frames for messages sent up one link, in order, batched; a snapshot is split into parts of at most batchRecordsMax records. */
export function encodeUp(messages: readonly UpMessage[]): DownstreamFrame[] {
  const batcher = new FrameBatcher<DownstreamFrame>();
  for (const m of messages) {
    switch (m.type) {
      case 'session.snapshot':
        batcher.alone(snapshotFrames(m));
        break;
      case 'session.rejected':
        batcher.alone([{ epoch: m.epoch, rejected: { reason: toWireName(m.reason), message: `epoch ${m.epoch} is not newer than the current one` } }]);
        break;
      case 'scale.applied':
        batcher.record('scale_applied', m.epoch, { ...m.scale }, scaleAppliedFrame);
        break;
      case 'pod.running':
        batcher.record('running', m.epoch, m.name, runningFrame);
        break;
      case 'pod.failed':
        batcher.record('failed', m.epoch, { name: m.name, reason: toWireName(m.reason) }, failedFrame);
        break;
      case 'pod.preempted':
        batcher.record('preempted', m.epoch, m.name, preemptedFrame);
        break;
      case 'tombstone.done':
        batcher.record('tombstone_done', m.epoch, m.name, tombstoneDoneFrame);
        break;
    }
  }
  return batcher.frames;
}

function snapshotFrames(message: Extract<UpMessage, { type: 'session.snapshot' }>): DownstreamFrame[] {
  type Item = { kind: 'scale'; scale: ScaleRecord } | { kind: 'pod'; pod: AlivePod } | { kind: 'tombstone'; tombstone: TombstoneRecord };
  const items: Item[] = [
    ...message.scales.map((scale): Item => ({ kind: 'scale', scale })),
    ...message.pods.map((pod): Item => ({ kind: 'pod', pod })),
    ...message.tombstones.map((tombstone): Item => ({ kind: 'tombstone', tombstone })),
  ];
  const frames: DownstreamFrame[] = [];
  for (let start = 0; start === 0 || start < items.length; start += batchRecordsMax) {
    const part = items.slice(start, start + batchRecordsMax);
    const snapshot: WireSnapshot = { scales: [], pods: [], tombstones: [], last: start + batchRecordsMax >= items.length };
    for (const item of part) {
      if (item.kind === 'scale') snapshot.scales.push({ ...item.scale });
      else if (item.kind === 'pod') snapshot.pods.push({ record: podToWire(item.pod.record), phase: item.pod.phase.toUpperCase() });
      else snapshot.tombstones.push({ record: podToWire(item.tombstone.record), origin: item.tombstone.origin });
    }
    frames.push({ epoch: message.epoch, snapshot });
  }
  return frames;
}

// ---------------------------------------------------------------------------
// Decoding with validation
// ---------------------------------------------------------------------------

type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly rejection: Rejection };

function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

function fail<T>(reason: Rejection['reason'], message: string): Result<T> {
  return { ok: false, rejection: rejection(reason, message) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function arrayOf(value: unknown): unknown[] | null {
  return Array.isArray(value) ? value : null;
}

function checkBatch(items: unknown[] | null, what: string): Result<unknown[]> {
  if (items === null) return fail('MALFORMED', `${what}: not a list`);
  if (items.length === 0) return fail('MALFORMED', `${what}: an empty batch`);
  if (items.length > batchRecordsMax) return fail('BATCH_TOO_LARGE', `${what}: ${items.length} records, at most ${batchRecordsMax}`);
  return ok(items);
}

function decodeScale(value: unknown, context: LinkContext): Result<ScaleRecord> {
  if (!isObject(value)) return fail('MALFORMED', 'scale: not a message');
  const fn = value['function'];
  const desired = value['desired'];
  if (!validFunctionName(fn)) return fail('MALFORMED', `scale: bad function name ${JSON.stringify(fn)}`);
  if (!context.functions.has(fn)) return fail('UNKNOWN_FUNCTION', `function "${fn}" is not configured here`);
  if (typeof desired !== 'number' || !Number.isInteger(desired) || desired < 0 || desired > desiredMax)
    return fail('MALFORMED', `scale of ${fn}: desired must be 0..${desiredMax}, got ${String(desired)}`);
  return ok({ function: fn, desired });
}

/**
 * The function and node names last found valid in the frame being decoded: the records
 * of a batch mostly share them, and the regular expressions are the dearest part of
 * decoding a record.
 */
class ValidNamesOfFrame {
  private functionName: string | null = null;
  private nodeName: string | null = null;

  function(name: unknown): name is string {
    if (name === this.functionName) return true;
    if (!validFunctionName(name)) return false;
    this.functionName = name;
    return true;
  }

  node(name: unknown): name is string {
    if (name === this.nodeName) return true;
    if (!validNodeName(name)) return false;
    this.nodeName = name;
    return true;
  }
}

/**
 * `node` says what the node field must be: 'empty', 'any' (set or empty), or a node name
 * it must equal. `functions` says whether the function must be configured here: a
 * provision for an unconfigured function is valid on the wire and refused per pod by the
 * machines (`pod.failed{unknown-owner}`, DEC-17); a snapshot never holds one.
 */
function decodePod(
  value: unknown,
  context: LinkContext,
  names: ValidNamesOfFrame,
  node: 'empty' | 'any' | { readonly equals: string },
  functions: 'configured' | 'any' = 'configured',
): Result<PodRecord> {
  if (!isObject(value)) return fail('MALFORMED', 'pod record: missing');
  const { name, priority } = value;
  const fn = value['function'];
  const nodeName = value['node'];
  if (!validPodName(name)) return fail('MALFORMED', `pod record: bad pod name ${JSON.stringify(name)}`);
  if (!names.function(fn)) return fail('MALFORMED', `pod ${name}: bad function name ${JSON.stringify(fn)}`);
  // The name starts with `${fn}-` (checked without building that string for every record).
  if (!(name.charCodeAt(fn.length) === 0x2d && name.startsWith(fn))) return fail('MALFORMED', `pod ${name}: the name does not start with its function "${fn}"`);
  if (functions === 'configured' && !context.functions.has(fn)) return fail('MALFORMED', `pod ${name}: function "${fn}" is not configured here`);
  if (typeof priority !== 'number' || !Number.isSafeInteger(priority)) return fail('MALFORMED', `pod ${name}: bad priority`);
  if (typeof nodeName !== 'string') return fail('MALFORMED', `pod ${name}: bad node`);
  if (nodeName !== '' && !names.node(nodeName)) return fail('MALFORMED', `pod ${name}: bad node name ${JSON.stringify(nodeName)}`);
  if (node === 'empty' && nodeName !== '') return fail('MALFORMED', `pod ${name}: a provision to the scheduler must not name a node (REQ-POD-007)`);
  if (typeof node === 'object' && nodeName !== node.equals)
    return fail('MALFORMED', `pod ${name}: placed on "${nodeName}", but this is the kubelet of "${node.equals}" (REQ-POD-007)`);
  return ok({ name, function: fn, priority, node: nodeName === '' ? null : nodeName });
}

function decodeNames(values: unknown, what: string): Result<string[]> {
  const batch = checkBatch(arrayOf(values), what);
  if (!batch.ok) return batch;
  for (const name of batch.value) if (!validPodName(name)) return fail('MALFORMED', `${what}: bad pod name ${JSON.stringify(name)}`);
  return ok(batch.value as string[]);
}

function bodyOfFrame(frame: Record<string, unknown>, bodies: readonly string[]): Result<string> {
  let body: string | null = null;
  let count = 0;
  for (const b of bodies) {
    if (frame[b] === undefined || frame[b] === null) continue;
    body = b;
    count++;
  }
  if (count !== 1 || body === null) return fail('MALFORMED', count === 0 ? 'the frame has no known body' : `the frame has ${count} bodies`);
  return ok(body);
}

/** A received ID for a rejection message: its length and its first characters. */
function describedId(id: string): string {
  return `${JSON.stringify(id.slice(0, 64))}${id.length > 64 ? '...' : ''} (${id.length} characters)`;
}

const allDownBodies = ['hello', 'sync', 'scale_set', 'provision', 'tombstone'] as const;
const allUpBodies = ['snapshot', 'rejected', 'scale_applied', 'running', 'failed', 'preempted', 'tombstone_done'] as const;

export type DecodedUpstreamFrame =
  | { readonly kind: 'hello'; readonly epoch: number; readonly hello: WireHello }
  | { readonly kind: 'records'; readonly epoch: number; readonly messages: readonly DownMessage[] };

/** Validates a frame received by the downstream of `context.link` (REQ-WIRE-004). Hello identity checks are the caller's. */
export function decodeUpstreamFrame(frame: unknown, context: LinkContext): Result<DecodedUpstreamFrame> {
  if (isUndecodable(frame)) return fail('MALFORMED', `undecodable frame: ${frame.undecodable}`);
  if (!isObject(frame)) return fail('MALFORMED', 'not a frame');
  const epoch = frame['epoch'];
  if (!validEpoch(epoch)) return fail('MALFORMED', `bad epoch ${String(epoch)}`);
  const body = bodyOfFrame(frame, allDownBodies);
  if (!body.ok) return body;
  const kind = linkKindOf(context.link);
  if (!downBodies[kind].has(body.value)) return fail('MALFORMED', `a ${body.value} frame is not allowed down ${context.link}`);
  const content = frame[body.value];
  if (!isObject(content)) return fail('MALFORMED', `${body.value}: not a message`);
  switch (body.value) {
    case 'hello': {
      const { upstream_stage_id: upstream, downstream_stage_id: downstream, protocol_version: version } = content;
      if (typeof upstream !== 'string' || typeof downstream !== 'string' || typeof version !== 'number') return fail('MALFORMED', 'hello: missing fields');
      // A stage ID of the syntax and length of 01 (REQ-WIRE-004), before any identity check: a 100,000-character ID is malformed, not unauthorized.
      if (!validStageId(upstream)) return fail('MALFORMED', `hello: upstream_stage_id is not a stage ID: ${describedId(upstream)}`);
      if (!validStageId(downstream)) return fail('MALFORMED', `hello: downstream_stage_id is not a stage ID: ${describedId(downstream)}`);
      return ok({ kind: 'hello', epoch, hello: { upstream_stage_id: upstream, downstream_stage_id: downstream, protocol_version: version } });
    }
    case 'sync':
      return ok({ kind: 'records', epoch, messages: [{ type: 'session.sync', epoch }] });
    case 'scale_set': {
      const batch = checkBatch(arrayOf(content['scales']), 'scale_set');
      if (!batch.ok) return batch;
      const messages: DownMessage[] = [];
      for (const item of batch.value) {
        const scale = decodeScale(item, context);
        if (!scale.ok) return scale;
        messages.push({ type: 'scale.set', epoch, scale: scale.value });
      }
      return ok({ kind: 'records', epoch, messages });
    }
    case 'provision': {
      const batch = checkBatch(arrayOf(content['pods']), 'provision');
      if (!batch.ok) return batch;
      const downstream = linkEnds(context.link).downstream;
      const nodeRule = kind === 'pod-to-kubelet' ? { equals: downstream.slice('kubelet:'.length) } : ('empty' as const);
      const names = new ValidNamesOfFrame();
      const messages: DownMessage[] = [];
      for (const item of batch.value) {
        const pod = decodePod(item, context, names, nodeRule, 'any');
        if (!pod.ok) return pod;
        messages.push({ type: 'pod.provision', epoch, pod: pod.value });
      }
      return ok({ kind: 'records', epoch, messages });
    }
    case 'tombstone': {
      const batch = checkBatch(arrayOf(content['tombstones']), 'tombstone');
      if (!batch.ok) return batch;
      const messages: DownMessage[] = [];
      for (const item of batch.value) {
        if (!isObject(item) || !validPodName(item['name'])) return fail('MALFORMED', 'tombstone: bad pod name');
        const origin = originFromWire(item['origin']);
        if (origin === null) return fail('MALFORMED', `tombstone of ${item['name']}: origin must be replicaset or scheduler (REQ-TOMB-008)`);
        messages.push({ type: 'pod.tombstone', epoch, name: item['name'], origin });
      }
      return ok({ kind: 'records', epoch, messages });
    }
    default:
      return fail('MALFORMED', `unknown body ${body.value}`);
  }
}

export interface SnapshotPart {
  readonly scales: readonly ScaleRecord[];
  readonly pods: readonly AlivePod[];
  readonly tombstones: readonly TombstoneRecord[];
  readonly last: boolean;
}

export type DecodedDownstreamFrame =
  | { readonly kind: 'snapshot'; readonly epoch: number; readonly part: SnapshotPart }
  | { readonly kind: 'rejected'; readonly epoch: number; readonly reason: string; readonly message: string }
  | { readonly kind: 'records'; readonly epoch: number; readonly messages: readonly UpMessage[] };

/** The message of each record of the bodies that are lists of pod names. */
const nameMessageTypes = { running: 'pod.running', preempted: 'pod.preempted', tombstone_done: 'tombstone.done' } as const;

/** Validates a frame received by the upstream of `context.link`. */
export function decodeDownstreamFrame(frame: unknown, context: LinkContext): Result<DecodedDownstreamFrame> {
  if (isUndecodable(frame)) return fail('MALFORMED', `undecodable frame: ${frame.undecodable}`);
  if (!isObject(frame)) return fail('MALFORMED', 'not a frame');
  const epoch = frame['epoch'];
  if (!validEpoch(epoch)) return fail('MALFORMED', `bad epoch ${String(epoch)}`);
  const body = bodyOfFrame(frame, allUpBodies);
  if (!body.ok) return body;
  const kind = linkKindOf(context.link);
  if (!upBodies[kind].has(body.value)) return fail('MALFORMED', `a ${body.value} frame is not allowed up ${context.link}`);
  const content = frame[body.value];
  if (!isObject(content)) return fail('MALFORMED', `${body.value}: not a message`);
  switch (body.value) {
    case 'snapshot': {
      const scales = arrayOf(content['scales']);
      const pods = arrayOf(content['pods']);
      const tombstones = arrayOf(content['tombstones']);
      if (scales === null || pods === null || tombstones === null) return fail('MALFORMED', 'snapshot: missing lists');
      if (scales.length + pods.length + tombstones.length > batchRecordsMax) return fail('BATCH_TOO_LARGE', 'snapshot part: too many records');
      if (kind === 'scale' && (pods.length > 0 || tombstones.length > 0)) return fail('MALFORMED', 'snapshot: pods on a scale link');
      if (kind !== 'scale' && scales.length > 0) return fail('MALFORMED', 'snapshot: scales on a pod link');
      const nodeRule = kind === 'pod-to-kubelet' ? { equals: linkEnds(context.link).downstream.slice('kubelet:'.length) } : ('any' as const);
      const names = new ValidNamesOfFrame();
      const partScales: ScaleRecord[] = [];
      for (const item of scales) {
        const scale = decodeScale(item, context);
        if (!scale.ok) return scale;
        partScales.push(scale.value);
      }
      const partPods: AlivePod[] = [];
      for (const item of pods) {
        if (!isObject(item)) return fail('MALFORMED', 'snapshot pod: not a message');
        const record = decodePod(item['record'], context, names, nodeRule);
        if (!record.ok) return record;
        const phase = item['phase'] === 'PENDING' ? 'pending' : item['phase'] === 'RUNNING' ? 'running' : null;
        if (phase === null) return fail('MALFORMED', `snapshot pod ${record.value.name}: bad phase`);
        partPods.push({ record: record.value, phase });
      }
      const partTombstones: TombstoneRecord[] = [];
      for (const item of tombstones) {
        if (!isObject(item)) return fail('MALFORMED', 'snapshot tombstone: not a message');
        const record = decodePod(item['record'], context, names, nodeRule);
        if (!record.ok) return record;
        const origin = originFromWire(item['origin']);
        if (origin === null) return fail('MALFORMED', `snapshot tombstone ${record.value.name}: bad origin`);
        partTombstones.push({ record: record.value, origin });
      }
      return ok({ kind: 'snapshot', epoch, part: { scales: partScales, pods: partPods, tombstones: partTombstones, last: content['last'] === true } });
    }
    case 'rejected':
      return ok({ kind: 'rejected', epoch, reason: String(content['reason']), message: String(content['message'] ?? '') });
    case 'scale_applied': {
      const batch = checkBatch(arrayOf(content['scales']), 'scale_applied');
      if (!batch.ok) return batch;
      const messages: UpMessage[] = [];
      for (const item of batch.value) {
        const scale = decodeScale(item, context);
        if (!scale.ok) return scale;
        messages.push({ type: 'scale.applied', epoch, scale: scale.value });
      }
      return ok({ kind: 'records', epoch, messages });
    }
    case 'running':
    case 'preempted':
    case 'tombstone_done': {
      const decoded = decodeNames(content['names'], body.value);
      if (!decoded.ok) return decoded;
      const type = nameMessageTypes[body.value];
      const messages: UpMessage[] = [];
      for (const name of decoded.value) messages.push({ type, epoch, name });
      return ok({ kind: 'records', epoch, messages });
    }
    case 'failed': {
      const batch = checkBatch(arrayOf(content['failures']), 'failed');
      if (!batch.ok) return batch;
      const messages: UpMessage[] = [];
      for (const item of batch.value) {
        if (!isObject(item) || !validPodName(item['name'])) return fail('MALFORMED', 'failed: bad pod name');
        const reason = failureFromWire(item['reason']);
        if (reason === null) return fail('MALFORMED', `failed ${item['name']}: bad reason`);
        messages.push({ type: 'pod.failed', epoch, name: item['name'], reason });
      }
      return ok({ kind: 'records', epoch, messages });
    }
    default:
      return fail('MALFORMED', `unknown body ${body.value}`);
  }
}

/** Reassembles the parts of one snapshot (REQ-WIRE-008). */
export class SnapshotAssembler {
  private scales: ScaleRecord[] = [];
  private pods: AlivePod[] = [];
  private tombstones: TombstoneRecord[] = [];
  private epoch: number | null = null;

  get inProgress(): boolean {
    return this.epoch !== null;
  }

  /** Adds a part; returns the whole snapshot message after the last part, else null. */
  add(epoch: number, part: SnapshotPart): UpMessage | null {
    if (this.epoch !== null && this.epoch !== epoch) throw new Error('snapshot parts of two epochs');
    this.epoch = epoch;
    this.scales.push(...part.scales);
    this.pods.push(...part.pods);
    this.tombstones.push(...part.tombstones);
    if (!part.last) return null;
    const message: UpMessage = { type: 'session.snapshot', epoch, scales: this.scales, pods: this.pods, tombstones: this.tombstones };
    this.scales = [];
    this.pods = [];
    this.tombstones = [];
    this.epoch = null;
    return message;
  }
}
