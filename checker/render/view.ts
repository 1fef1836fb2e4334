/**
 * What the trace renderers share: the lanes (one per stage, in chain order), the note an
 * action puts on the lanes it touches, message labels with their epoch, and where the
 * property breaks and the liveness cycle lies. Pure functions of a `CounterexampleTrace`.
 */
import { chainStages, describeEpoch, kubeletId, linkEnds, stagesOf, type StageId } from '../../machines/index.js';
import type { CounterexampleTrace, TraceMessage, TraceStep } from '../chain/trace.js';

/** What kind of thing a note marks; each kind has its own colour. */
export type NoteKind = 'fault' | 'scale' | 'connect' | 'sandbox' | 'drop' | 'other';

/** An action drawn on lanes rather than as an arrow. */
export interface TraceNote {
  readonly kind: NoteKind;
  /** The lanes the note covers, in chain order (one or two). */
  readonly stages: readonly StageId[];
  /** The full text: the action description. */
  readonly text: string;
  /** A few words for a small box on a lifeline. */
  readonly short: string;
}

/** The stages of the chain in chain order, then any other stage the trace mentions. */
export function traceStages(trace: CounterexampleTrace): StageId[] {
  const stages = [...stagesOf(trace.check.chain)];
  const extra = (stage: StageId): void => {
    if (!stages.includes(stage)) stages.push(stage);
  };
  for (const step of trace.steps) {
    if (step.delivered !== null) {
      extra(step.delivered.from);
      extra(step.delivered.to);
    }
    for (const stage of noteOf(step)?.stages ?? []) extra(stage);
  }
  return stages;
}

/** An epoch as everywhere in this project: `epoch <incarnation>.<counter>` (spec/02-sessions-and-epochs.md). */
export function epochLabel(epoch: number): string {
  return `epoch ${describeEpoch(epoch)}`;
}

/** The arrow label of a delivered message: `[late ]<label> epoch <incarnation>.<counter>`. */
export function deliveryLabel(message: TraceMessage): string {
  return `${message.stale ? 'late ' : ''}${message.label} ${epochLabel(message.epoch)}`;
}

function inChainOrder(order: readonly StageId[], stages: readonly StageId[]): StageId[] {
  const unique = [...new Set(stages)];
  const rank = (stage: StageId): number => {
    const at = order.indexOf(stage);
    return at < 0 ? order.length : at;
  };
  return unique.sort((a, b) => rank(a) - rank(b));
}

/** The note an action puts on the lanes, or null when the step is drawn as an arrow. */
export function noteOf(step: TraceStep, order: readonly StageId[] = []): TraceNote | null {
  const action = step.action;
  const text = step.description;
  const note = (kind: NoteKind, stages: readonly StageId[], short: string): TraceNote => ({
    kind,
    stages: inChainOrder(order, stages),
    text,
    short,
  });
  switch (action.kind) {
    case 'deliver':
    case 'deliverStale': {
      if (step.delivered !== null) return null;
      const { upstream, downstream } = linkEnds(action.link);
      return note('other', [action.direction === 'down' ? downstream : upstream], 'nothing delivered');
    }
    case 'dropStale': {
      const { upstream, downstream } = linkEnds(action.link);
      return note('drop', [action.direction === 'down' ? downstream : upstream], 'drop stale');
    }
    case 'connect':
    case 'cut': {
      const { upstream, downstream } = linkEnds(action.link);
      // A note spanning lanes between the two ends says which end is meant.
      const between = Math.abs(order.indexOf(upstream) - order.indexOf(downstream)) > 1;
      const short = `${action.kind === 'cut' ? 'cut link' : 'connect'}${between ? ` to ${downstream}` : ''}`;
      return note(action.kind === 'cut' ? 'fault' : 'connect', [upstream, downstream], short);
    }
    case 'forgeHello':
      return note('fault', [linkEnds(action.link).downstream], 'forged hello');
    case 'forgePod':
      return note('fault', [kubeletId(action.node)], 'forged pod');
    case 'crash':
      return note('fault', [action.stage], 'crash');
    case 'nodeCrash':
      return note('fault', [kubeletId(action.node)], 'node crash');
    case 'scale':
      return note('scale', [chainStages.autoscaler], `scale ${action.function}=${action.desired}`);
    case 'sandboxDone':
      return note('sandbox', [kubeletId(action.node)], `${action.pod} ${action.outcome}`);
  }
}

/** The step at which the trace's property is first reported broken, if any step reports it. */
export function propertyStep(trace: CounterexampleTrace): number | null {
  const found = trace.steps.find((s) => s.violations.some((v) => v.property === trace.property));
  return found === undefined ? null : found.step;
}

/** The liveness cycle as 1-based steps, first and last inclusive; null without one. */
export function cycleSteps(trace: CounterexampleTrace): { readonly first: number; readonly last: number } | null {
  if (trace.cycleStartStep === undefined || trace.steps.length === 0) return null;
  const last = trace.steps[trace.steps.length - 1]?.step ?? trace.steps.length;
  return { first: trace.cycleStartStep, last };
}

/** Escapes text for XML and HTML content and attribute values. */
export function escapeMarkup(text: string): string {
  return text.replace(/[&<>"']/g, (c) => markupEntities[c] ?? c);
}

const markupEntities: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** The configuration in a few lines: label, value. */
export function configurationLines(trace: CounterexampleTrace): Array<readonly [string, string]> {
  const check = trace.check;
  const budgets = Object.entries(check.budgets)
    .map(([name, value]) => `${name} ${String(value)}`)
    .join(', ');
  const lines: Array<readonly [string, string]> = [
    ['preset', check.name],
    ['description', check.description],
    ['variant', check.chain.variant],
    ['nodes', check.chain.nodes.map((n) => `${n.name} (capacity ${n.capacity})`).join(', ')],
    ['functions', check.chain.functions.map((f) => `${f.name} (priority ${f.priority})`).join(', ')],
    ['scale script', check.scaleScript.map((s) => `${s.function}=${s.desired}`).join(', then ') || 'none'],
    ...(check.scaleChoices !== undefined ? [['scale choices', `${check.scaleChoices.steps} requests chosen by the model, each ${(check.scaleChoices.functions ?? check.chain.functions.map((f) => f.name)).join(' or ')} to ${check.scaleChoices.range[0]}..${check.scaleChoices.range[1]}`] as [string, string]] : []),
    ['fault budgets', budgets],
  ];
  if (check.startSynced === true) lines.push(['start', 'booted and synced']);
  if (check.crashable !== undefined) lines.push(['crashable', check.crashable.join(', ')]);
  const bounds = [
    check.maxStates !== undefined ? `states ${check.maxStates}` : '',
    check.maxDepth !== undefined ? `depth ${check.maxDepth}` : '',
    check.maxSeconds !== undefined ? `seconds ${check.maxSeconds}` : '',
  ].filter(Boolean);
  if (bounds.length > 0) lines.push(['search bounds', bounds.join(', ')]);
  return lines;
}
