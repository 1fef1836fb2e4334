/**
 * What one case saw and judged: every frame between the suite and the testee (both
 * directions, every stream), the faults the suite injected, the steps of the case,
 * and the violations, each naming requirement IDs, the step and the message.
 */
import { describeEpoch } from '../../machines/index.js';

export type Party = string;

export interface LogEntry {
  readonly seq: number;
  /** Milliseconds since the case started. */
  readonly t: number;
  readonly step: number;
  readonly kind: 'frame' | 'status' | 'fault' | 'step' | 'note';
  readonly from: Party;
  readonly to: Party;
  readonly link?: string;
  /** The gRPC stream, numbered per case. */
  readonly stream?: number;
  readonly summary: string;
  readonly frame?: unknown;
}

export interface Violation {
  readonly requirements: readonly string[];
  readonly step: number;
  readonly stepName: string;
  readonly message: string;
  /** The log entry of the offending frame, when one is to blame (the first, when the violation repeated). */
  readonly entry?: LogEntry;
  /** How many times this violation (same requirements, same message up to pod names and numbers) happened; one line in the report, not one per time. */
  count: number;
  /** The pod names its repetitions were about, in order of first report (the message names the first). */
  readonly pods: string[];
}

/** Pod names as the protocol writes them: function, incarnation, ordinal (the function may contain `-`). */
const podNamePattern = /\b[a-z][a-z0-9-]*?-\d+-\d+\b/g;

/** A message with its pod names and numbers left out: repetitions of one rule broken for many pods, or by many counts, share it. */
export function violationShapeOf(message: string): string {
  return message.replace(podNamePattern, '<pod>').replace(/\b\d+\b/g, '<n>');
}

/** How a grouped violation reads in a report: its first message, and how often and for which pods it repeated. */
export function describeRepetitions(violation: Pick<Violation, 'count' | 'pods'>): string {
  if (violation.count <= 1) return '';
  const pods = violation.pods.length <= 1 ? '' : `, pods ${violation.pods.slice(0, reportedPodsMax).join(', ')}${violation.pods.length > reportedPodsMax ? ` and ${violation.pods.length - reportedPodsMax} more` : ''}`;
  return ` (${violation.count} times${pods})`;
}

/** Pod names listed for a repeated violation; the rest are counted. */
const reportedPodsMax = 5;

export class RunLog {
  readonly entries: LogEntry[] = [];
  readonly violations: Violation[] = [];
  readonly steps: string[] = ['setup'];
  private readonly started = Date.now();

  get step(): number {
    return this.steps.length - 1;
  }

  get stepName(): string {
    return this.steps[this.steps.length - 1] ?? '';
  }

  beginStep(name: string): void {
    this.steps.push(name);
    this.add({ kind: 'step', from: 'suite', to: 'suite', summary: name });
  }

  add(entry: Omit<LogEntry, 'seq' | 't' | 'step'>): LogEntry {
    const full: LogEntry = { seq: this.entries.length + 1, t: Date.now() - this.started, step: this.step, ...entry };
    this.entries.push(full);
    return full;
  }

  /**
   * Records a violation. With the offending frame's entry it is attributed to the step in
   * which that frame arrived (a check made later still blames the step of the frame that
   * broke the rule). A violation like an earlier one (same requirements, same message but
   * for pod names and numbers) is counted on the first, with its pods, not repeated.
   */
  violation(requirements: readonly string[], message: string, entry?: LogEntry): void {
    this.add({ kind: 'note', from: 'suite', to: 'suite', summary: `VIOLATION ${requirements.join(', ')}: ${message}` });
    const shape = violationShapeOf(message);
    const pods = [...new Set(message.match(podNamePattern) ?? [])];
    const same = this.violations.find((v) => v.requirements.join() === requirements.join() && violationShapeOf(v.message) === shape);
    if (same !== undefined) {
      same.count += 1;
      for (const pod of pods) if (!same.pods.includes(pod)) same.pods.push(pod);
      return;
    }
    const step = entry?.step ?? this.step;
    this.violations.push({ requirements, step, stepName: this.steps[step] ?? this.stepName, message, count: 1, pods, ...(entry === undefined ? {} : { entry }) });
  }

  ndjson(): string {
    return this.entries.map((e) => JSON.stringify(e)).join('\n') + '\n';
  }
}

/** A frame's epoch as `epoch incarnation.counter`, as every output of this project writes it (a value that is not an epoch as it came). */
export function epochText(value: unknown): string {
  const epoch = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof epoch === 'number' && Number.isSafeInteger(epoch) && epoch > 0 ? `epoch ${describeEpoch(epoch)}` : `epoch ${String(value)}`;
}

/** A one-line description of a frame, for logs and diagrams. */
export function summarizeFrame(frame: unknown): string {
  if (typeof frame !== 'object' || frame === null) return String(frame);
  const f = frame as Record<string, unknown>;
  const body = typeof f['body'] === 'string' ? f['body'] : Object.keys(f).find((k) => k !== 'epoch' && f[k] !== undefined && f[k] !== null) ?? '?';
  const content = f[body] as Record<string, unknown> | undefined;
  const epoch = epochText(f['epoch']);
  if (content === undefined || content === null) return `${body} ${epoch}`;
  switch (body) {
    case 'hello':
      return `hello ${epoch} ${String(content['upstream_stage_id'])}->${String(content['downstream_stage_id'])} v${String(content['protocol_version'])}`;
    case 'provision':
      return `provision ${epoch} [${listOf(content['pods']).map((p) => `${String(p['name'])}${p['node'] ? `@${String(p['node'])}` : ''}`).join(' ')}]`;
    case 'tombstone':
      return `tombstone ${epoch} [${listOf(content['tombstones']).map((t) => `${String(t['name'])}/${String(t['origin'])}`).join(' ')}]`;
    case 'scale_set':
    case 'scale_applied':
      return `${body} ${epoch} [${listOf(content['scales']).map((s) => `${String(s['function'])}=${String(s['desired'])}`).join(' ')}]`;
    case 'snapshot': {
      const pods = listOf(content['pods']).map((p) => `${String((p['record'] as Record<string, unknown> | null)?.['name'])}:${String(p['phase']).toLowerCase()}`);
      const tombs = listOf(content['tombstones']).map((t) => `${String((t['record'] as Record<string, unknown> | null)?.['name'])}:tomb`);
      const scales = listOf(content['scales']).map((s) => `${String(s['function'])}=${String(s['desired'])}`);
      return `snapshot ${epoch}${content['last'] === false ? ' (part)' : ''} [${[...scales, ...pods, ...tombs].join(' ')}]`;
    }
    case 'running':
    case 'preempted':
    case 'tombstone_done':
      return `${body} ${epoch} [${(Array.isArray(content['names']) ? content['names'] : []).join(' ')}]`;
    case 'failed':
      return `failed ${epoch} [${listOf(content['failures']).map((x) => `${String(x['name'])}:${String(x['reason'])}`).join(' ')}]`;
    case 'rejected':
      return `rejected ${epoch} ${String(content['reason'])}`;
    default:
      return `${body} ${epoch}`;
  }
}

function listOf(value: unknown): Array<Record<string, unknown>> {
  return Array.isArray(value) ? (value.filter((v) => typeof v === 'object' && v !== null) as Array<Record<string, unknown>>) : [];
}
