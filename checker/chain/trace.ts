/**
 * Counterexample traces: the steps of a path with what each delivered, sent and changed,
 * as plain JSON (schema `kubedirect.counterexample/v1`). `kd replay` re-executes one;
 * the renderers draw it as a sequence diagram.
 */
import { linkEnds, podCacheOf, type LinkId, type LinkMessage, type StageId, type StageState } from '../../machines/index.js';
import type { World, WorldAction } from '../../simulator/world.js';
import { walkPath } from '../engine/search.js';
import type { Counterexample } from '../engine/search.js';
import { ChainModel, describeAction, type ChainState } from './model.js';
import type { CheckConfig } from './presets.js';

export const traceSchema = 'kubedirect.counterexample/v1';

export interface TraceMessage {
  readonly link: LinkId;
  readonly from: StageId;
  readonly to: StageId;
  readonly type: string;
  readonly epoch: number;
  /** A short label: type and the pod or function it is about. */
  readonly label: string;
  /** A message of an ended session delivered late. */
  readonly stale: boolean;
}

export interface TraceStep {
  /** 1-based step number. */
  readonly step: number;
  readonly action: WorldAction;
  readonly description: string;
  /** The message this step delivered, if any. */
  readonly delivered: TraceMessage | null;
  /** Messages sent during this step, in order. */
  readonly sent: readonly TraceMessage[];
  /** Stages whose state changed, each with a one-line summary of its new state. */
  readonly changed: ReadonlyArray<{ readonly stage: StageId; readonly summary: string }>;
  /** Properties found broken right after this step. */
  readonly violations: ReadonlyArray<{ readonly property: string; readonly message: string }>;
}

export interface CounterexampleTrace {
  readonly schema: typeof traceSchema;
  readonly check: CheckConfig;
  readonly property: string;
  readonly kind: Counterexample['kind'];
  readonly message: string;
  /** For a liveness lasso: the 1-based step at which the repeated cycle begins. */
  readonly cycleStartStep?: number;
  /** Action indices from the initial state (what the checker found). */
  readonly path: readonly number[];
  readonly steps: readonly TraceStep[];
}

export function messageLabel(message: LinkMessage): string {
  switch (message.type) {
    case 'pod.provision':
      return `provision ${message.pod.name}${message.pod.node === null ? '' : ` @${message.pod.node}`}`;
    case 'pod.tombstone':
      return `tombstone ${message.name}`;
    case 'pod.running':
      return `running ${message.name}`;
    case 'pod.failed':
      return `failed ${message.name} (${message.reason})`;
    case 'pod.preempted':
      return `preempted ${message.name}`;
    case 'tombstone.done':
      return `tombstone.done ${message.name}`;
    case 'scale.set':
      return `scale.set ${message.scale.function}=${message.scale.desired}`;
    case 'scale.applied':
      return `scale.applied ${message.scale.function}=${message.scale.desired}`;
    case 'session.snapshot':
      return `snapshot (${message.pods.length} alive, ${message.tombstones.length} tombstones)`;
    case 'session.rejected':
      return `rejected (${message.reason})`;
    default:
      return message.type;
  }
}

function traceMessage(link: LinkId, direction: 'down' | 'up', message: LinkMessage, stale: boolean): TraceMessage {
  const { upstream, downstream } = linkEnds(link);
  const [from, to] = direction === 'down' ? [upstream, downstream] : [downstream, upstream];
  return { link, from, to, type: message.type, epoch: message.epoch, label: messageLabel(message), stale };
}

/** One line per stage: sessions and pod cache. */
export function summarizeStage(state: StageState): string {
  const pods = [...podCacheOf(state).entries()]
    .map((e) => `${e.record.name}:${e.lifecycle}${e.record.node !== null && state.role === 'scheduler' ? `@${e.record.node}` : ''}`)
    .join(' ');
  const sessions: string[] = [];
  if ('toDeployment' in state) sessions.push(`to deployment ${state.toDeployment.session}`);
  if ('fromAutoscaler' in state) sessions.push(`from autoscaler ${state.fromAutoscaler.session}`);
  if ('toReplicaSet' in state) sessions.push(`to replicaset ${state.toReplicaSet.session}`);
  if ('fromDeployment' in state) sessions.push(`from deployment ${state.fromDeployment.session}`);
  if ('toScheduler' in state) sessions.push(`to scheduler ${state.toScheduler.session}`);
  if ('fromReplicaSet' in state) sessions.push(`from replicaset ${state.fromReplicaSet.session}`);
  if ('toKubelets' in state) for (const [n, side] of Object.entries(state.toKubelets)) sessions.push(`to ${n} ${side.session}`);
  if ('fromScheduler' in state) sessions.push(`from scheduler ${state.fromScheduler.session}`);
  const scales = 'scales' in state ? Object.entries(state.scales).map(([f, e]) => `${f}=${e.desired}(${e.lifecycle})`).join(' ') : '';
  const desired = 'desired' in state ? Object.entries(state.desired).map(([f, d]) => `${f}=${d}`).join(' ') : '';
  return [`#${state.incarnation}`, sessions.join(', '), scales && `scales ${scales}`, desired && `desired ${desired}`, pods && `pods ${pods}`].filter(Boolean).join('; ');
}

function sentMessages(before: World, after: World): TraceMessage[] {
  const sent: TraceMessage[] = [];
  for (const [link, channels] of Object.entries(after.links)) {
    const old = before.links[link];
    for (const direction of ['down', 'up'] as const) {
      const now = channels[direction].current;
      const was = old?.[direction].current ?? [];
      // Appended messages are the tail beyond the old queue minus what was delivered from its head.
      const kept = was.filter((m) => now.includes(m)).length;
      for (const m of now.slice(kept)) sent.push(traceMessage(link, direction, m, false));
    }
  }
  return sent;
}

export function buildTrace(check: CheckConfig, counterexample: Counterexample): CounterexampleTrace {
  const model = new ChainModel(check);
  const walked = walkPath(model, counterexample.path);
  let previous: ChainState = model.initialState();
  const steps: TraceStep[] = walked.map((w, i) => {
    const before = previous.world;
    const after = w.state.world;
    previous = w.state;
    let delivered: TraceMessage | null = null;
    if (w.action.kind === 'deliver' || w.action.kind === 'deliverStale') {
      const channel = before.links[w.action.link]?.[w.action.direction];
      const message = w.action.kind === 'deliver' ? channel?.current[0] : channel?.stale[0];
      if (message !== undefined) delivered = traceMessage(w.action.link, w.action.direction, message, w.action.kind === 'deliverStale');
    }
    const changed = Object.entries(after.stages)
      .filter(([stage, state]) => before.stages[stage] !== state)
      .map(([stage, state]) => ({ stage, summary: summarizeStage(state) }));
    return {
      step: i + 1,
      action: w.action,
      description: describeAction(w.action),
      delivered,
      sent: sentMessages(before, after),
      changed,
      violations: w.violations.map((v) => ({ property: v.property, message: v.message })),
    };
  });
  return {
    schema: traceSchema,
    check,
    property: counterexample.property,
    kind: counterexample.kind,
    message: counterexample.message,
    ...(counterexample.cycleStart !== undefined ? { cycleStartStep: counterexample.cycleStart + 1 } : {}),
    path: counterexample.path,
    steps,
  };
}
