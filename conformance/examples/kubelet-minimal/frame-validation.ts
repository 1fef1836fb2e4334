/**
 * Validation of every frame received on `scheduler>kubelet:<node>` (REQ-WIRE-004), whole
 * frame first, before any record is applied. Pure. Each check answers with the reason of
 * 10 §Errors, in the order of REQ-WIRE-016 (which settled the order this file first had to
 * guess, README.md §Unclear points 2).
 */
import {
  batchRecordsMax,
  epochMax,
  frameBytesMax,
  functionNameLengthMax,
  podNameLengthMax,
  protocolVersion,
} from '../../../spec/limits.js';
import { isFunctionName } from './launch-config.js';
import type { PodRecord, TombstoneOrigin } from './sandbox-machine.js';
import type { ErrorReason, ReceivedFrame, Rejection, UpstreamFrameObject } from './wire.js';

export interface HelloFrame {
  readonly epoch: number;
}

export type SessionFrame =
  | { readonly kind: 'sync'; readonly epoch: number }
  | { readonly kind: 'pod.provision'; readonly epoch: number; readonly records: readonly PodRecord[] }
  | { readonly kind: 'pod.tombstone'; readonly epoch: number; readonly tombstones: readonly { readonly name: string; readonly origin: TombstoneOrigin }[] };

export type Checked<T> = { readonly ok: true; readonly frame: T } | { readonly ok: false; readonly rejection: Rejection };

export interface LinkIdentity {
  /** The configured upstream's stage ID (the Scheduler). */
  readonly upstreamStage: string;
  /** This Kubelet's stage ID. */
  readonly ownStage: string;
  readonly node: string;
}

class FrameRejected extends Error {
  constructor(
    readonly reason: ErrorReason,
    message: string,
  ) {
    super(message);
  }
}

function reject(reason: ErrorReason, message: string): never {
  throw new FrameRejected(reason, message);
}

function checked<T>(received: ReceivedFrame, check: (frame: UpstreamFrameObject) => T): Checked<T> {
  // A Rejected frame carries the rejected frame's epoch only when it is a valid epoch, else 0 (REQ-WIRE-005).
  const number = received.decoded ? Number(received.frame.epoch) : 0;
  const epoch = Number.isSafeInteger(number) && number >= 1 && number <= epochMax ? String(number) : '0';
  try {
    if (received.bytes > frameBytesMax) reject('BATCH_TOO_LARGE', `frame of ${received.bytes} bytes exceeds frameBytesMax (${frameBytesMax})`);
    if (!received.decoded) reject('MALFORMED', received.problem);
    if (received.frame.body === undefined) reject('MALFORMED', 'frame has no body');
    return { ok: true, frame: check(received.frame) };
  } catch (error) {
    if (!(error instanceof FrameRejected)) throw error;
    return { ok: false, rejection: { reason: error.reason, epoch, message: error.message } };
  }
}

/** The epoch as a number; 0 is never an epoch (REQ-SESS-003), and none exceeds epochMax. */
function epochOf(frame: UpstreamFrameObject): number {
  const epoch = Number(frame.epoch);
  if (epoch === 0) reject('MALFORMED', 'epoch 0 is not an epoch (REQ-SESS-003)');
  if (!Number.isSafeInteger(epoch) || epoch > epochMax) reject('MALFORMED', `epoch ${frame.epoch} exceeds the largest epoch ${epochMax}`);
  return epoch;
}

/**
 * The first frame of a stream (REQ-WIRE-001), in the order of REQ-WIRE-016: the frame's
 * own validity (epoch, body allowed on the link, records); a hello at all
 * (`OUT_OF_ORDER`); the upstream's identity; the downstream's identity; the version
 * (REQ-WIRE-009). The epoch rule is the caller's.
 */
export function checkOpeningFrame(received: ReceivedFrame, link: LinkIdentity): Checked<HelloFrame> {
  return checked(received, (frame) => {
    const epoch = epochOf(frame);
    if (frame.hello === undefined) {
      sessionFrameOf(frame, epoch, link);
      reject('OUT_OF_ORDER', `a stream must open with a Hello, not ${frame.body}`);
    }
    const hello = frame.hello;
    if (hello.upstreamStageId !== link.upstreamStage) {
      reject('UNAUTHORIZED_UPSTREAM', `"${hello.upstreamStageId}" is not the configured upstream "${link.upstreamStage}"`);
    }
    if (hello.downstreamStageId !== link.ownStage) {
      reject('WRONG_DOWNSTREAM', `this is "${link.ownStage}", not "${hello.downstreamStageId}"`);
    }
    if (hello.protocolVersion !== protocolVersion) {
      reject('UNSUPPORTED_VERSION', `protocol version ${hello.protocolVersion} is not ${protocolVersion}`);
    }
    return { epoch };
  });
}

/** Every later frame of a stream. The epoch and session-state rules are the caller's. */
export function checkSessionFrame(received: ReceivedFrame, link: LinkIdentity): Checked<SessionFrame> {
  return checked(received, (frame): SessionFrame => {
    const epoch = epochOf(frame);
    if (frame.hello !== undefined) reject('OUT_OF_ORDER', 'a second Hello on one stream');
    return sessionFrameOf(frame, epoch, link);
  });
}

/** A frame other than a hello, checked whole (REQ-WIRE-004). */
function sessionFrameOf(frame: UpstreamFrameObject, epoch: number, link: LinkIdentity): SessionFrame {
  if (frame.sync !== undefined) return { kind: 'sync', epoch };
  if (frame.provision !== undefined) {
    const pods = frame.provision.pods;
    checkBatchSize(pods.length);
    return { kind: 'pod.provision', epoch, records: pods.map((pod) => checkPodRecord(pod, link.node)) };
  }
  if (frame.tombstone !== undefined) {
    const tombstones = frame.tombstone.tombstones;
    checkBatchSize(tombstones.length);
    return { kind: 'pod.tombstone', epoch, tombstones: tombstones.map(checkTombstone) };
  }
  // scale.set is not a record of a Kubelet link (01 §Links, REQ-TOPO-004).
  return reject('MALFORMED', `${frame.body} is not allowed on a scheduler>kubelet link`);
}

function checkBatchSize(records: number): void {
  if (records === 0) reject('MALFORMED', 'an empty batch');
  if (records > batchRecordsMax) reject('BATCH_TOO_LARGE', `batch of ${records} records exceeds batchRecordsMax (${batchRecordsMax})`);
}

const podNameSuffix = /^[0-9]{1,16}-[0-9]{1,10}$/;
const podNameWithFunction = /^([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)-([0-9]{1,16}-[0-9]{1,10})$/;

/** `<incarnation>-<n>` of a pod name: its form only, as REQ-POD-005 settled (the values of the numbers are not checked). */
function isPodNameSuffix(suffix: string): boolean {
  return podNameSuffix.test(suffix);
}

function checkPodRecord(pod: { name: string; function: string; priority: number; node: string }, node: string): PodRecord {
  if (!isFunctionName(pod.function)) reject('MALFORMED', `function "${pod.function}" is not a DNS-1123 label of at most ${functionNameLengthMax} characters`);
  const prefix = `${pod.function}-`;
  if (pod.name.length > podNameLengthMax || !pod.name.startsWith(prefix) || !isPodNameSuffix(pod.name.slice(prefix.length))) {
    reject('MALFORMED', `pod name "${pod.name}" is not "<function>-<incarnation>-<n>" for function "${pod.function}" (REQ-POD-005)`);
  }
  if (pod.node !== node) reject('MALFORMED', `pod "${pod.name}" is for node "${pod.node}", this Kubelet runs "${node}" (REQ-POD-007)`);
  return { name: pod.name, function: pod.function, priority: pod.priority, node: pod.node };
}

function checkTombstone(tombstone: { name: string; origin: string }): { name: string; origin: TombstoneOrigin } {
  const match = podNameWithFunction.exec(tombstone.name);
  if (tombstone.name.length > podNameLengthMax || match === null || !isFunctionName(match[1] ?? '') || !isPodNameSuffix(match[2] ?? '')) {
    reject('MALFORMED', `pod name "${tombstone.name}" is not "<function>-<incarnation>-<n>" (REQ-POD-005)`);
  }
  if (tombstone.origin !== 'replicaset' && tombstone.origin !== 'scheduler') {
    reject('MALFORMED', `tombstone origin "${tombstone.origin}" is neither "replicaset" nor "scheduler" (REQ-TOMB-008)`);
  }
  return { name: tombstone.name, origin: tombstone.origin };
}
