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
import type { DownstreamFrame, UpstreamFrame, WireHello, WirePodRecord, WireSnapshot } from './proto.js';

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

// ---------------------------------------------------------------------------
// Kinds of links and what may flow on them (REQ-TOPO-004)
// ---------------------------------------------------------------------------

export type LinkKind = 'scale' | 'pod-to-scheduler' | 'pod-to-kubelet';

export function linkKindOf(link: string): LinkKind {
  const { downstream } = linkEnds(link);
  const role = roleOf(downstream);
  if (role === 'deployment' || role === 'replicaset') return 'scale';
  if (role === 'scheduler') return 'pod-to-scheduler';
  if (role === 'kubelet') return 'pod-to-kubelet';
  throw new Error(`no link leads to ${downstream}`);
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

/** Which frame body a message is carried in; records of one body and epoch may share a frame. */
function downBodyOf(message: DownMessage): string {
  switch (message.type) {
    case 'session.hello':
      return 'hello';
    case 'session.sync':
      return 'sync';
    case 'scale.set':
      return 'scale_set';
    case 'pod.provision':
      return 'provision';
    case 'pod.tombstone':
      return 'tombstone';
  }
}

function upBodyOf(message: UpMessage): string {
  switch (message.type) {
    case 'session.snapshot':
      return 'snapshot';
    case 'session.rejected':
      return 'rejected';
    case 'scale.applied':
      return 'scale_applied';
    case 'pod.running':
      return 'running';
    case 'pod.failed':
      return 'failed';
    case 'pod.preempted':
      return 'preempted';
    case 'tombstone.done':
      return 'tombstone_done';
  }
}

/** Runs of consecutive messages of one body and epoch, each at most batchRecordsMax long. */
function runsOf<M extends { readonly epoch: number }>(messages: readonly M[], bodyOf: (m: M) => string, batchable: (body: string) => boolean): M[][] {
  const runs: M[][] = [];
  let current: M[] = [];
  for (const message of messages) {
    const head = current[0];
    const joins =
      head !== undefined && batchable(bodyOf(message)) && bodyOf(head) === bodyOf(message) && head.epoch === message.epoch && current.length < batchRecordsMax;
    if (!joins && current.length > 0) {
      runs.push(current);
      current = [];
    }
    current.push(message);
  }
  if (current.length > 0) runs.push(current);
  return runs;
}

export interface HelloIdentity {
  readonly upstream: string;
  readonly downstream: string;
}

/** Frames for messages sent down one link, in order, batched. */
export function encodeDown(messages: readonly DownMessage[], identity: HelloIdentity): UpstreamFrame[] {
  const frames: UpstreamFrame[] = [];
  for (const run of runsOf(messages, downBodyOf, (b) => b !== 'hello' && b !== 'sync')) {
    const first = run[0];
    if (first === undefined) continue;
    const epoch = first.epoch;
    switch (first.type) {
      case 'session.hello':
        frames.push({ epoch, hello: { upstream_stage_id: identity.upstream, downstream_stage_id: identity.downstream, protocol_version: protocolVersion } });
        break;
      case 'session.sync':
        frames.push({ epoch, sync: {} });
        break;
      case 'scale.set':
        frames.push({ epoch, scale_set: { scales: run.map((m) => (m.type === 'scale.set' ? { ...m.scale } : unreachable())) } });
        break;
      case 'pod.provision':
        frames.push({ epoch, provision: { pods: run.map((m) => (m.type === 'pod.provision' ? podToWire(m.pod) : unreachable())) } });
        break;
      case 'pod.tombstone':
        frames.push({ epoch, tombstone: { tombstones: run.map((m) => (m.type === 'pod.tombstone' ? { name: m.name, origin: m.origin } : unreachable())) } });
        break;
    }
  }
  return frames;
}

function unreachable(): never {
  throw new Error('a batch holds records of one kind only');
}

/** Frames for messages sent up one link, in order, batched; a snapshot is split into parts of at most batchRecordsMax records. */
export function encodeUp(messages: readonly UpMessage[]): DownstreamFrame[] {
  const frames: DownstreamFrame[] = [];
  for (const run of runsOf(messages, upBodyOf, (b) => b !== 'snapshot' && b !== 'rejected')) {
    const first = run[0];
    if (first === undefined) continue;
    const epoch = first.epoch;
    switch (first.type) {
      case 'session.snapshot':
        frames.push(...snapshotFrames(first));
        break;
      case 'session.rejected':
        frames.push({ epoch, rejected: { reason: toWireName(first.reason), message: `epoch ${epoch} is not newer than the current one` } });
        break;
      case 'scale.applied':
        frames.push({ epoch, scale_applied: { scales: run.map((m) => (m.type === 'scale.applied' ? { ...m.scale } : unreachable())) } });
        break;
      case 'pod.running':
        frames.push({ epoch, running: { names: run.map((m) => (m.type === 'pod.running' ? m.name : unreachable())) } });
        break;
      case 'pod.failed':
        frames.push({
          epoch,
          failed: { failures: run.map((m) => (m.type === 'pod.failed' ? { name: m.name, reason: toWireName(m.reason) } : unreachable())) },
        });
        break;
      case 'pod.preempted':
        frames.push({ epoch, preempted: { names: run.map((m) => (m.type === 'pod.preempted' ? m.name : unreachable())) } });
        break;
      case 'tombstone.done':
        frames.push({ epoch, tombstone_done: { names: run.map((m) => (m.type === 'tombstone.done' ? m.name : unreachable())) } });
        break;
    }
  }
  return frames;
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
 * `node` says what the node field must be: 'empty', 'any' (set or empty), or a node name
 * it must equal. `functions` says whether the function must be configured here: a
 * provision for an unconfigured function is valid on the wire and refused per pod by the
 * machines (`pod.failed{unknown-owner}`, DEC-17); a snapshot never holds one.
 */
function decodePod(
  value: unknown,
  context: LinkContext,
  node: 'empty' | 'any' | { readonly equals: string },
  functions: 'configured' | 'any' = 'configured',
): Result<PodRecord> {
  if (!isObject(value)) return fail('MALFORMED', 'pod record: missing');
  const { name, priority } = value;
  const fn = value['function'];
  const nodeName = value['node'];
  if (!validPodName(name)) return fail('MALFORMED', `pod record: bad pod name ${JSON.stringify(name)}`);
  if (!validFunctionName(fn)) return fail('MALFORMED', `pod ${name}: bad function name ${JSON.stringify(fn)}`);
  if (!name.startsWith(`${fn}-`)) return fail('MALFORMED', `pod ${name}: the name does not start with its function "${fn}"`);
  if (functions === 'configured' && !context.functions.has(fn)) return fail('MALFORMED', `pod ${name}: function "${fn}" is not configured here`);
  if (typeof priority !== 'number' || !Number.isSafeInteger(priority)) return fail('MALFORMED', `pod ${name}: bad priority`);
  if (typeof nodeName !== 'string') return fail('MALFORMED', `pod ${name}: bad node`);
  if (nodeName !== '' && !validNodeName(nodeName)) return fail('MALFORMED', `pod ${name}: bad node name ${JSON.stringify(nodeName)}`);
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
  const set = bodies.filter((b) => frame[b] !== undefined && frame[b] !== null);
  if (set.length !== 1) return fail('MALFORMED', set.length === 0 ? 'the frame has no known body' : `the frame has ${set.length} bodies`);
  return ok(set[0] as string);
}

const allDownBodies = ['hello', 'sync', 'scale_set', 'provision', 'tombstone'] as const;
const allUpBodies = ['snapshot', 'rejected', 'scale_applied', 'running', 'failed', 'preempted', 'tombstone_done'] as const;

export type DecodedUpstreamFrame =
  | { readonly kind: 'hello'; readonly epoch: number; readonly hello: WireHello }
  | { readonly kind: 'records'; readonly epoch: number; readonly messages: readonly DownMessage[] };

/** Validates a frame received by the downstream of `context.link` (REQ-WIRE-004). Hello identity checks are the caller's. */
export function decodeUpstreamFrame(frame: unknown, context: LinkContext): Result<DecodedUpstreamFrame> {
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
      const messages: DownMessage[] = [];
      for (const item of batch.value) {
        const pod = decodePod(item, context, nodeRule, 'any');
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

/** Validates a frame received by the upstream of `context.link`. */
export function decodeDownstreamFrame(frame: unknown, context: LinkContext): Result<DecodedDownstreamFrame> {
  if (!isObject(frame)) return fail('MALFORMED', 'not a frame');
  const epoch = frame['epoch'];
  if (!validEpoch(epoch)) return fail('MALFORMED', `bad epoch ${String(epoch)}`);
  const body = bodyOfFrame(frame, allUpBodies);
  if (!body.ok) return body;
  const kind = linkKindOf(context.link);
  if (!upBodies[kind].has(body.value)) return fail('MALFORMED', `a ${body.value} frame is not allowed up ${context.link}`);
  const content = frame[body.value];
  if (!isObject(content)) return fail('MALFORMED', `${body.value}: not a message`);
  const names = (make: (name: string) => UpMessage): Result<DecodedDownstreamFrame> => {
    const decoded = decodeNames(content['names'], body.value);
    if (!decoded.ok) return decoded;
    return ok({ kind: 'records', epoch, messages: decoded.value.map(make) });
  };
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
      const partScales: ScaleRecord[] = [];
      for (const item of scales) {
        const scale = decodeScale(item, context);
        if (!scale.ok) return scale;
        partScales.push(scale.value);
      }
      const partPods: AlivePod[] = [];
      for (const item of pods) {
        if (!isObject(item)) return fail('MALFORMED', 'snapshot pod: not a message');
        const record = decodePod(item['record'], context, nodeRule);
        if (!record.ok) return record;
        const phase = item['phase'] === 'PENDING' ? 'pending' : item['phase'] === 'RUNNING' ? 'running' : null;
        if (phase === null) return fail('MALFORMED', `snapshot pod ${record.value.name}: bad phase`);
        partPods.push({ record: record.value, phase });
      }
      const partTombstones: TombstoneRecord[] = [];
      for (const item of tombstones) {
        if (!isObject(item)) return fail('MALFORMED', 'snapshot tombstone: not a message');
        const record = decodePod(item['record'], context, nodeRule);
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
      return names((name) => ({ type: 'pod.running', epoch, name }));
    case 'preempted':
      return names((name) => ({ type: 'pod.preempted', epoch, name }));
    case 'tombstone_done':
      return names((name) => ({ type: 'tombstone.done', epoch, name }));
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
