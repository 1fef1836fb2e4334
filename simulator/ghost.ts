/**
 * History variables for checking properties, and the checks made on each stage step
 * (those that need to see a transition, not just a state). Nothing here feeds back
 * into the machines.
 */
import { isForgedPodName } from './forged-pods.js';
import { scaleDownOrderViolations } from './replicaset-rules.js';
import { schedulerRuleViolations } from './scheduler-rules.js';
import type { Violation } from './violation.js';
import {
  describeEpoch,
  roleOf,
  roleRank,
  stateIsAlive,
  stateIsTombstone,
  podCacheOf,
  serverSide,
  clientSideOf,
  linkEnds,
  messageIsCurrent,
  type ChainConfig,
  type Disposition,
  type Effect,
  type StageEvent,
  type StageId,
  type StageState,
  type TracePoint,
  withEntry,
  type LinkMessage,
} from '../machines/index.js';

export interface Ghost {
  /** Every pod name the ReplicaSet has created. */
  readonly created: readonly string[];
  /** Pods whose sandbox has ended (killed, failed, or died with its node). */
  readonly dead: readonly string[];
  /** The node each pod was first bound or started on. */
  readonly placement: Readonly<Record<string, string>>;
  /** Per stage, pods its current incarnation has held a tombstone for. */
  readonly tombstoned: Readonly<Record<StageId, readonly string[]>>;
  /** Highest desired count ever set, per function. */
  readonly maxDesired: Readonly<Record<string, number>>;
  /** Functions whose desired count has decreased at least once. */
  readonly decreased: readonly string[];
}

export type { Violation } from './violation.js';

export function emptyGhost(_config: ChainConfig): Ghost {
  return { created: [], dead: [], placement: {}, tombstoned: {}, maxDesired: {}, decreased: [] };
}

export interface ObservedStep {
  readonly stage: StageId;
  readonly event: StageEvent;
  readonly before: StageState;
  readonly after: StageState;
  readonly effects: readonly Effect[];
  readonly trace: readonly TracePoint[];
  readonly disposition: Disposition;
}

function sortedAdd(list: readonly string[], names: Iterable<string>): readonly string[] {
  const set = new Set(list);
  let changed = false;
  for (const n of names) {
    if (!set.has(n)) {
      set.add(n);
      changed = true;
    }
  }
  return changed ? [...set].sort() : list;
}

export function observeStep(config: ChainConfig, ghost: Ghost, step: ObservedStep): { ghost: Ghost; violations: Violation[] } {
  const violations: Violation[] = [];
  let next = ghost;
  const { stage, event, before, after } = step;

  if (event.type === 'message.received' && step.disposition === 'applied' && !isCurrent(before, event.link, event.message))
    violations.push({ property: 'INV-FENCING', message: `${stage} applied ${event.message.type} of epoch ${describeEpoch(event.message.epoch)} on ${event.link}, which is not its current session` });

  const serverBefore = serverSide(before);
  const serverAfter = serverSide(after);
  // DEC-40: the synced epoch never goes back, and the current epoch never below it (it falls back to it when an unsynced session ends).
  if (serverBefore !== null && serverAfter !== null && serverAfter.syncedEpoch < serverBefore.syncedEpoch)
    violations.push({ property: 'INV-EPOCH-MONOTONIC', message: `${stage}'s synced epoch on ${serverAfter.link} went back from ${describeEpoch(serverBefore.syncedEpoch)} to ${describeEpoch(serverAfter.syncedEpoch)}` });
  // DEC-40, REQ-SESS-021: only a completed handshake fences; with no session on the link, the current epoch is the synced one.
  if (serverAfter !== null && serverAfter.session === 'idle' && serverAfter.epoch !== serverAfter.syncedEpoch)
    violations.push({ property: 'INV-ONLY-SYNC-FENCES', message: `${stage} has no session on ${serverAfter.link} but keeps epoch ${describeEpoch(serverAfter.epoch)} above its synced epoch ${describeEpoch(serverAfter.syncedEpoch)}: a hello whose session ended before its sync still fences later upstreams` });
  if (serverAfter !== null && serverAfter.epoch < serverAfter.syncedEpoch)
    violations.push({ property: 'INV-EPOCH-MONOTONIC', message: `${stage}'s epoch on ${serverAfter.link} (${describeEpoch(serverAfter.epoch)}) is below its synced epoch ${describeEpoch(serverAfter.syncedEpoch)}` });

  if (event.type === 'scale.requested') {
    const previous = ghost.maxDesired[event.function];
    const current = before.role === 'autoscaler' ? before.scales[event.function]?.desired : undefined;
    if (current !== undefined && event.desired < current) next = { ...next, decreased: sortedAdd(next.decreased, [event.function]) };
    if (previous === undefined || event.desired > previous) next = { ...next, maxDesired: { ...next.maxDesired, [event.function]: event.desired } };
  }

  const podsBefore = podCacheOf(before);
  const podsAfter = podCacheOf(after);
  if (after.role === 'replicaset') {
    violations.push(...scaleDownOrderViolations(after, step.trace));
    const createdNow: string[] = [];
    for (const point of step.trace) {
      if (point.event !== 'decide.create') continue;
      if (next.created.includes(point.pod) || createdNow.includes(point.pod))
        violations.push({ property: 'INV-NAME-UNIQUE', message: `the ReplicaSet created ${point.pod} a second time` });
      createdNow.push(point.pod);
    }
    for (const [name, entry] of podsAfter.entriesByName()) {
      const old = podsBefore.get(name);
      if (old !== undefined && stateIsAlive(old.lifecycle) && stateIsTombstone(entry.lifecycle) && entry.origin === 'replicaset' && !next.decreased.includes(entry.record.function))
        violations.push({ property: 'INV-NO-NEEDLESS-KILL', message: `the ReplicaSet terminated ${name} although the desired count of ${entry.record.function} never decreased` });
    }
    next = { ...next, created: sortedAdd(next.created, createdNow) };
  }
  if (after.role === 'scheduler') {
    violations.push(...schedulerRuleViolations({ nodes: config.nodes, after, trace: step.trace }));
    for (const [name, entry] of podsAfter.entriesByName()) {
      const node = entry.record.node;
      if (node === null) continue;
      const first = next.placement[name];
      if (first === undefined) next = { ...next, placement: withEntry(next.placement, name, node) };
      else if (first !== node) violations.push({ property: 'INV-UNIQUE-PLACEMENT', message: `${name} was bound to ${first} and now to ${node}` });
    }
  }

  const tombstonedBefore = ghost.tombstoned[stage] ?? [];
  for (const name of tombstonedBefore) {
    const entry = podsAfter.get(name);
    if (entry !== undefined && stateIsAlive(entry.lifecycle))
      violations.push({ property: 'INV-NO-RESURRECTION', message: `${stage} held a tombstone for ${name} and now holds it alive (${entry.lifecycle})` });
  }
  const tombstonesNow = [...podsAfter.entries()].filter((e) => stateIsTombstone(e.lifecycle)).map((e) => e.record.name);
  const tombstonedAfter = sortedAdd(tombstonedBefore, tombstonesNow);
  if (tombstonedAfter !== tombstonedBefore) next = { ...next, tombstoned: { ...next.tombstoned, [stage]: tombstonedAfter } };

  for (const effect of step.effects) {
    if (effect.type === 'sandbox.start') {
      const node = effect.pod.node ?? '?';
      if (ghost.dead.includes(effect.pod.name))
        violations.push({ property: 'INV-NO-RESTART-AFTER-DEATH', message: `${stage} starts ${effect.pod.name}, whose sandbox has already ended` });
      const first = next.placement[effect.pod.name];
      if (first !== undefined && first !== node)
        violations.push({ property: 'INV-UNIQUE-PLACEMENT', message: `${effect.pod.name} starts on ${node} but was placed on ${first}` });
      if (first === undefined) next = { ...next, placement: withEntry(next.placement, effect.pod.name, node) };
    }
    if (effect.type === 'message.send' && effect.message.type === 'scale.applied' && after.role === 'deployment') {
      const { function: fn, desired } = effect.message.scale;
      const entry = after.scales[fn];
      if (entry === undefined || entry.desired !== desired || entry.lifecycle !== 'applied')
        violations.push({ property: 'INV-APPLIED-IN-FORCE', message: `${stage} acknowledges ${fn} at ${desired} to the Autoscaler while its entry is ${entry === undefined ? 'absent' : `${entry.lifecycle} at ${entry.desired}`}: the count is not yet in force at the ReplicaSet` });
    }
    // INV-SANDBOX-HELD's "a Kubelet that reports a pod running holds its running sandbox", judged on the report itself.
    if (effect.type === 'message.send' && effect.message.type === 'pod.running' && after.role === 'kubelet') {
      const held = podsAfter.get(effect.message.name);
      if (held?.lifecycle !== 'running')
        violations.push({ property: 'INV-SANDBOX-HELD', message: `${stage} reports ${effect.message.name} running while it holds it ${held === undefined ? 'not at all' : `as ${held.lifecycle}`}: its sandbox has not started` });
    }
    if (effect.type === 'message.send' && effect.message.type === 'tombstone.done' && after.role === 'kubelet') {
      const held = podsAfter.get(effect.message.name);
      if (held !== undefined && (held.lifecycle === 'starting' || held.lifecycle === 'running' || held.lifecycle === 'killing'))
        violations.push({ property: 'INV-KILL-ACK-AFTER-DEATH', message: `${stage} acknowledges the tombstone of ${effect.message.name} while it still holds its sandbox (${held.lifecycle})` });
    }
    // A Kubelet that holds a forged pod (forgedPod fault) is fuller than its Scheduler knows: its refusal is no fault of the Scheduler.
    if (effect.type === 'message.send' && effect.message.type === 'pod.failed' && effect.message.reason === 'capacity-exceeded' && !isForgedPodName(effect.message.name) && !podsAfter.names().some(isForgedPodName))
      violations.push({ property: 'INV-CAPACITY', message: `${stage} refuses ${effect.message.name} for want of room: the Scheduler bound more pods than the node holds` });
  }
  return { ghost: next, violations };
}

/** Whether `message` belongs to the receiver's current session, judged on its state before the step. */
function isCurrent(receiver: StageState, link: string, message: LinkMessage): boolean {
  const { upstream } = linkEnds(link);
  const receiverIsUpstream = roleOf(upstream) === receiver.role && (receiver.role !== 'kubelet');
  const client = receiverIsUpstream ? clientSideOf(receiver, link) : undefined;
  if (client !== undefined) return messageIsCurrent('upstream', client, message.type, message.epoch);
  const server = serverSide(receiver);
  return server !== null && messageIsCurrent('downstream', server, message.type, message.epoch);
}

/** Rank of the role of a stage in the chain, top first (for tombstone origins). */
export function rankOfStage(stage: StageId): number {
  return roleRank(roleOf(stage));
}
