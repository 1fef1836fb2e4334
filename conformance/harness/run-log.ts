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
  /** How many times this violation (same requirements, same message) happened; one line in the report, not one per time. */
  count: number;
}

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
   * broke the rule). A violation equal to an earlier one (same requirements and message) is
   * counted on the first, not repeated.
   */
  violation(requirements: readonly string[], message: string, entry?: LogEntry): void {
    this.add({ kind: 'note', from: 'suite', to: 'suite', summary: `VIOLATION ${requirements.join(', ')}: ${message}` });
    const same = this.violations.find((v) => v.message === message && v.requirements.join() === requirements.join());
    if (same !== undefined) {
      same.count += 1;
      return;
    }
    const step = entry?.step ?? this.step;
    this.violations.push({ requirements, step, stepName: this.steps[step] ?? this.stepName, message, count: 1, ...(entry === undefined ? {} : { entry }) });
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
