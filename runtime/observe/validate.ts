/**
 * `kd validate`: merges the NDJSON traces of one run (trace.ts) and checks the spec's
 * safety invariants that per-stage traces can judge without a global clock, by spec ID
 * (spec/properties.ts). The checks mirror simulator/ghost.ts, which checks the same
 * properties on every simulated step.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describeEpoch, linkEnds, messageIsCurrent, roleOf, stateIsAlive, stateIsTombstone } from '../../machines/index.js';
import { properties, safetyInvariantIds, type SafetyInvariantId } from '../../spec/properties.js';
import { traceFileName, type TraceRecord, type TraceSession } from './trace.js';

/** A trace record and where it was read. */
export interface LocatedRecord {
  readonly record: TraceRecord;
  readonly file: string;
  readonly line: number;
}

export interface PropertyVerdict {
  readonly id: SafetyInvariantId;
  readonly verdict: 'OK' | 'VIOLATED';
  /** How many events the check looked at (creates, starts, applied messages, …). */
  readonly checked: number;
  readonly violation?: { readonly message: string; readonly at: string; readonly record: TraceRecord };
}

export interface ValidationReport {
  readonly files: number;
  readonly records: number;
  readonly incarnations: number;
  readonly verdicts: readonly PropertyVerdict[];
  readonly notJudged: ReadonlyArray<{ readonly id: SafetyInvariantId; readonly why: string }>;
  readonly notes: readonly string[];
}

/** Input that cannot be read as a trace: `kd validate` exits 3 with this message. */
export class TraceInputError extends Error {
  override readonly name = 'TraceInputError';
}

/** The invariants per-stage traces cannot decide, and why. */
export const notJudgedFromTraces: ReadonlyArray<{ id: SafetyInvariantId; why: string }> = [
  { id: 'INV-CACHE-COVERAGE', why: 'compares two stages at one moment: needs a consistent cut, traces have no global clock' },
  { id: 'INV-TOMBSTONE-DOMINANCE', why: 'compares two stages at one moment: needs a consistent cut' },
  { id: 'INV-NO-OVERSHOOT', why: 'sums sandboxes over all Kubelets at one moment: needs a consistent cut' },
  { id: 'INV-NO-NEEDLESS-KILL', why: "needs the Autoscaler's history of desired counts ordered against the ReplicaSet's decisions across processes" },
  { id: 'INV-SANDBOX-HELD', why: "compares a Kubelet's pod list with the sandbox runtime's own state, which traces do not record" },
  { id: 'INV-KILL-ACK-AFTER-DEATH', why: 'needs the sandbox runtime\'s report of a kill ordered against the Kubelet\'s tombstone.done, which traces do not record' },
  { id: 'INV-APPLIED-IN-FORCE', why: "needs the Deployment's scale entries (applied or not) after each step, which its trace records do not carry" },
  { id: 'INV-NO-INVENTED-POD', why: "needs every name a step's whole input held (the stage's state and event), which trace records carry only in part" },
  { id: 'INV-PLACEMENT-RULE', why: "needs the Scheduler's whole cache (every node's pods, the waiting pods' priorities) when it decides, which its trace records do not carry" },
  { id: 'INV-PREEMPTION-RULE', why: "needs the Scheduler's whole cache (candidates, waiting pods, terminations under way) when it decides, which its trace records do not carry" },
  { id: 'INV-SCALE-DOWN-ORDER', why: "needs the ReplicaSet's other pods of the function (and their states) when it decides, which its trace records do not carry" },
  { id: 'INV-STEP-ASSERTION', why: 'an assertion that fails in a running stage is an error in its log, not a trace record' },
];

/**
 * Trace files named on the command line: files as given, directories searched for the
 * stages' trace files (`trace.ndjson`) only. A stage's data dir holds other NDJSON files
 * (a Kubelet's sandbox journal `sandboxes.ndjson`, the file store's objects) that are not
 * traces, so `kd validate .kd/data` must not read them.
 */
export function traceFilesOf(paths: readonly string[]): string[] {
  const files: string[] = [];
  const walk = (path: string): void => {
    if (!existsSync(path)) throw new TraceInputError(`${path}: no such file or directory`);
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) {
        const child = join(path, name);
        if (statSync(child).isDirectory() || name === traceFileName) walk(child);
      }
    } else files.push(path);
  };
  for (const p of paths) walk(p);
  return files;
}

function isRecord(value: unknown): value is TraceRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return (
    typeof r['t'] === 'string' &&
    typeof r['stage'] === 'string' &&
    typeof r['incarnation'] === 'number' &&
    typeof r['seq'] === 'number' &&
    typeof r['event'] === 'object' &&
    r['event'] !== null &&
    typeof (r['event'] as Record<string, unknown>)['type'] === 'string'
  );
}

/** Reads trace files; throws TraceInputError on anything that is not a trace (a torn last line of a killed stage is skipped). */
export function readTraces(files: readonly string[]): { records: LocatedRecord[]; notes: string[] } {
  const records: LocatedRecord[] = [];
  const notes: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new TraceInputError(`${file}: cannot read: ${(error as Error).message}`);
    }
    const lines = text.split('\n');
    lines.forEach((raw, i) => {
      if (raw.trim() === '') return;
      const torn = i === lines.length - 1; // no newline after it: the writer was killed mid-write
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch {
        if (torn) {
          notes.push(`${file}:${i + 1}: torn last line skipped (the stage was killed while writing)`);
          return;
        }
        throw new TraceInputError(`${file}:${i + 1}: not a JSON object (is this an NDJSON trace from a stage's data dir?)`);
      }
      if (!isRecord(value)) throw new TraceInputError(`${file}:${i + 1}: not a trace record (needs t, stage, incarnation, seq, event.type)`);
      if (value.event.type === 'trace.stopped') notes.push(`${file}:${i + 1}: ${value.stage} incarnation ${value.incarnation} stopped tracing (traceBytesMax); judged up to there`);
      records.push({ record: value, file, line: i + 1 });
    });
  }
  return { records, notes };
}

class Verdicts {
  private readonly first = new Map<SafetyInvariantId, PropertyVerdict['violation']>();
  private readonly counts = new Map<SafetyInvariantId, number>();

  count(id: SafetyInvariantId): void {
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
  }

  violated(id: SafetyInvariantId, message: string, at: LocatedRecord): void {
    if (!this.first.has(id)) this.first.set(id, { message, at: `${at.file}:${at.line}`, record: at.record });
  }

  verdict(id: SafetyInvariantId): PropertyVerdict {
    const violation = this.first.get(id);
    const checked = this.counts.get(id) ?? 0;
    return violation === undefined ? { id, verdict: 'OK', checked } : { id, verdict: 'VIOLATED', checked, violation };
  }
}

/** Whether `message` (type, epoch) belongs to the receiver's current session, judged on its sessions before the step (as simulator/ghost.ts). */
function isCurrent(sessions: readonly TraceSession[], stage: string, link: string, type: string, epoch: number): boolean {
  const receiverIsUpstream = linkEnds(link).upstream === stage;
  const side = sessions.find((s) => s.link === link && s.end === (receiverIsUpstream ? 'upstream' : 'downstream'));
  return side !== undefined && messageIsCurrent(receiverIsUpstream ? 'upstream' : 'downstream', side, type, epoch);
}

const deathEvents = new Set(['sandbox.killed', 'sandbox.failed']);

/** Each stage incarnation's records in its own order (seq); the incarnations of a stage in order, stages by their first record's time. */
function incarnationRunsOf(all: readonly LocatedRecord[]): LocatedRecord[][] {
  const byIncarnation = new Map<string, LocatedRecord[]>();
  for (const r of all) {
    const key = `${r.record.stage}#${r.record.incarnation}`;
    const list = byIncarnation.get(key) ?? [];
    list.push(r);
    byIncarnation.set(key, list);
  }
  const runs = [...byIncarnation.values()].map((list) => list.sort((a, b) => a.record.seq - b.record.seq));
  runs.sort((a, b) => {
    const x = a[0]?.record;
    const y = b[0]?.record;
    if (x === undefined || y === undefined) return 0;
    return x.stage === y.stage ? x.incarnation - y.incarnation : x.t.localeCompare(y.t);
  });
  return runs;
}

/** What one stage incarnation's records are judged against, record by record. */
interface IncarnationView {
  readonly stage: string;
  readonly role: ReturnType<typeof roleOf>;
  readonly incarnation: number;
  /** Its sessions before the record being judged; null until known (no boot record). */
  sessions: readonly TraceSession[] | null;
  /** The lowest epoch each end may have (`end link`). */
  readonly epochs: Map<string, number>;
  readonly tombstoned: Set<string>;
  /** Sandboxes held (starting, running, being killed), at a Kubelet. */
  readonly sandboxes: Set<string>;
  readonly capacity: number | undefined;
}

/** Judges the safety invariants over the records of every stage incarnation (validateRecords). */
class TraceJudge {
  readonly verdicts = new Verdicts();
  private readonly created = new Map<string, LocatedRecord>();
  private readonly bound = new Map<string, { node: string; at: LocatedRecord }>();
  /** Sandbox deaths per pod: node, the Kubelet's position (incarnation, seq) and wall time. */
  private readonly deaths = new Map<string, Array<{ node: string; incarnation: number; seq: number; t: string }>>();
  private readonly starts: Array<{ pod: string; node: string; at: LocatedRecord }> = [];

  constructor(private readonly notes: string[]) {}

  judgeRun(run: readonly LocatedRecord[]): void {
    const head = run[0];
    if (head === undefined) return;
    const { stage, incarnation } = head.record;
    if (head.record.seq !== 0) this.notes.push(`${stage} incarnation ${incarnation}: no boot record (trace starts at seq ${head.record.seq}); fencing judged from its first record on`);
    const view: IncarnationView = {
      stage,
      role: roleOf(stage),
      incarnation,
      sessions: head.record.seq === 0 ? (head.record.sessions ?? []) : null,
      epochs: new Map(),
      tombstoned: new Set(),
      sandboxes: new Set(head.record.sandboxes ?? []),
      capacity: head.record.capacity,
    };
    for (const at of run) {
      this.judgeFencing(view, at);
      this.judgeEpochs(view, at);
      if (at.record.sessions !== undefined) view.sessions = at.record.sessions;
      this.judgeTransitions(view, at);
      this.judgeEffects(view, at);
      const event = at.record.event;
      if (view.role === 'kubelet' && event.pod !== undefined && deathEvents.has(event.type)) {
        view.sandboxes.delete(event.pod);
        const node = stage.slice('kubelet:'.length);
        this.deaths.set(event.pod, [...(this.deaths.get(event.pod) ?? []), { node, incarnation, seq: at.record.seq, t: at.record.t }]);
      }
    }
  }

  /** INV-FENCING: a message applied belongs to the receiver's current session. */
  private judgeFencing(view: IncarnationView, at: LocatedRecord): void {
    const event = at.record.event;
    if (event.type !== 'message.received' || at.record.disposition !== 'applied' || event.link === undefined || event.message === undefined || view.sessions === null) return;
    this.verdicts.count('INV-FENCING');
    if (!isCurrent(view.sessions, view.stage, event.link, event.message.type, event.message.epoch))
      this.verdicts.violated('INV-FENCING', `${view.stage} applied ${event.message.type} of epoch ${describeEpoch(event.message.epoch)} on ${event.link}, which is not its current session`, at);
  }

  /** INV-EPOCH-MONOTONIC: an upstream's epochs only grow; a downstream's never go below the highest one that synced (DEC-40). */
  private judgeEpochs(view: IncarnationView, at: LocatedRecord): void {
    for (const side of at.record.sessions ?? []) {
      const key = `${side.end} ${side.link}`;
      const floor = view.epochs.get(key);
      this.verdicts.count('INV-EPOCH-MONOTONIC');
      if (floor !== undefined && side.epoch < floor)
        this.verdicts.violated('INV-EPOCH-MONOTONIC', `${view.stage} (incarnation ${view.incarnation}): epoch on ${side.link} went back from ${floor} to ${side.epoch}`, at);
      if (side.end === 'upstream' || side.session === 'synced') view.epochs.set(key, Math.max(floor ?? 0, side.epoch));
      if (side.end === 'downstream') this.judgeOnlySyncFences(view, side, floor ?? 0, at);
    }
  }

  /** INV-ONLY-SYNC-FENCES (DEC-40): a downstream side with no session keeps the highest epoch it synced, no other. */
  private judgeOnlySyncFences(view: IncarnationView, side: TraceSession, syncedEpoch: number, at: LocatedRecord): void {
    this.verdicts.count('INV-ONLY-SYNC-FENCES');
    if (side.session === 'idle' && side.epoch !== syncedEpoch)
      this.verdicts.violated('INV-ONLY-SYNC-FENCES', `${view.stage} (incarnation ${view.incarnation}) has no session on ${side.link} but keeps epoch ${side.epoch}, not its synced epoch ${syncedEpoch}`, at);
  }

  /** INV-NAME-UNIQUE and INV-NO-RESURRECTION, from the pod transitions of the record. */
  private judgeTransitions(view: IncarnationView, at: LocatedRecord): void {
    for (const point of at.record.transitions ?? []) {
      if (view.role === 'replicaset' && point.event === 'decide.create') {
        this.verdicts.count('INV-NAME-UNIQUE');
        const first = this.created.get(point.pod);
        if (first !== undefined) this.verdicts.violated('INV-NAME-UNIQUE', `the ReplicaSet created ${point.pod} a second time (first at ${first.file}:${first.line})`, at);
        else this.created.set(point.pod, at);
      }
      this.verdicts.count('INV-NO-RESURRECTION');
      if (view.tombstoned.has(point.pod) && stateIsAlive(point.to))
        this.verdicts.violated(
          'INV-NO-RESURRECTION',
          `${view.stage} (incarnation ${view.incarnation}) held a tombstone for ${point.pod} and now holds it alive (${point.event}: ${point.from} -> ${point.to})`,
          at,
        );
      if (stateIsTombstone(point.to)) view.tombstoned.add(point.pod);
    }
  }

  /** INV-CAPACITY and the Scheduler's side of INV-UNIQUE-PLACEMENT, from the effects of the record. */
  private judgeEffects(view: IncarnationView, at: LocatedRecord): void {
    for (const effect of at.record.effects ?? []) {
      if (effect.type === 'sandbox.start') {
        this.starts.push({ pod: effect.pod, node: effect.node, at });
        view.sandboxes.add(effect.pod);
        this.verdicts.count('INV-CAPACITY');
        if (view.capacity !== undefined && view.sandboxes.size > view.capacity)
          this.verdicts.violated('INV-CAPACITY', `${view.stage} holds ${view.sandboxes.size} sandboxes, capacity ${view.capacity}`, at);
      }
      if (effect.type !== 'message.send') continue;
      const m = effect.message;
      if (m.type === 'pod.failed' && m.reason === 'capacity-exceeded')
        this.verdicts.violated('INV-CAPACITY', `${view.stage} refuses ${m.name ?? '?'} for want of room: the Scheduler bound more pods than the node holds`, at);
      if (view.role === 'scheduler' && m.type === 'pod.provision' && m.name !== undefined) {
        const node = linkEnds(effect.link).downstream.slice('kubelet:'.length);
        this.verdicts.count('INV-UNIQUE-PLACEMENT');
        const first = this.bound.get(m.name);
        if (first === undefined) this.bound.set(m.name, { node, at });
        else if (first.node !== node) this.verdicts.violated('INV-UNIQUE-PLACEMENT', `the Scheduler bound ${m.name} to ${first.node} (${first.at.file}:${first.at.line}) and now to ${node}`, at);
      }
    }
  }

  /** INV-UNIQUE-PLACEMENT (sandboxes) and INV-NO-RESTART-AFTER-DEATH, over all Kubelets, once every run is read. */
  judgeStarts(): void {
    const placement = new Map<string, { node: string; at: LocatedRecord }>();
    for (const start of this.starts) {
      this.verdicts.count('INV-UNIQUE-PLACEMENT');
      const first = placement.get(start.pod);
      if (first === undefined) placement.set(start.pod, { node: start.node, at: start.at });
      else if (first.node !== start.node)
        this.verdicts.violated('INV-UNIQUE-PLACEMENT', `${start.pod} is started on ${start.node} but was started on ${first.node} (${first.at.file}:${first.at.line})`, start.at);
      this.verdicts.count('INV-NO-RESTART-AFTER-DEATH');
      const r = start.at.record;
      for (const death of this.deaths.get(start.pod) ?? []) {
        const earlier = death.node === start.node ? death.incarnation < r.incarnation || (death.incarnation === r.incarnation && death.seq < r.seq) : death.t < r.t;
        if (!earlier) continue;
        const how = death.node === start.node ? `on the same node (Kubelet order: incarnation ${death.incarnation} seq ${death.seq})` : `on ${death.node} at ${death.t} (wall time)`;
        this.verdicts.violated('INV-NO-RESTART-AFTER-DEATH', `${start.node} starts ${start.pod}, whose sandbox had already ended ${how}`, start.at);
        break;
      }
    }
    this.notes.push('INV-NO-RESTART-AFTER-DEATH orders events on one node by the Kubelet\'s own sequence and across nodes by trace wall time (t): clocks of one machine are assumed.');
  }
}

export function validateRecords(all: readonly LocatedRecord[], files: number, notesIn: readonly string[] = []): ValidationReport {
  const notes = [...notesIn];
  const runs = incarnationRunsOf(all);
  const judge = new TraceJudge(notes);
  for (const run of runs) judge.judgeRun(run);
  judge.judgeStarts();
  const judged = safetyInvariantIds.filter((id) => !notJudgedFromTraces.some((n) => n.id === id));
  return {
    files,
    records: all.length,
    incarnations: runs.length,
    verdicts: judged.map((id) => judge.verdicts.verdict(id)),
    notJudged: notJudgedFromTraces,
    notes,
  };
}

/** Validates trace files (and directories of them). Throws TraceInputError on unreadable input. */
export function validateTraces(paths: readonly string[]): ValidationReport {
  const files = traceFilesOf(paths);
  if (files.length === 0) throw new TraceInputError(`no trace files in ${paths.join(', ')}: a directory is searched for ${traceFileName} (each stage's DATA_DIR/${traceFileName}, e.g. kd validate .kd/data), or name trace files`);
  const { records, notes } = readTraces(files);
  return validateRecords(records, files.length, notes);
}

export function formatReport(report: ValidationReport): string[] {
  const title = (id: string): string => properties.find((p) => p.id === id)?.title ?? '';
  const lines = [`kd validate: ${report.files} trace file(s), ${report.records} records, ${report.incarnations} stage incarnation(s)`];
  for (const v of report.verdicts) {
    if (v.violation === undefined) lines.push(`OK          ${v.id.padEnd(28)} ${title(v.id)} (${v.checked} checked)`);
    else {
      lines.push(`VIOLATED    ${v.id.padEnd(28)} ${v.violation.message}`);
      lines.push(`            at ${v.violation.at}: ${JSON.stringify(v.violation.record)}`);
    }
  }
  for (const n of report.notJudged) lines.push(`NOT JUDGED  ${n.id.padEnd(28)} ${n.why}`);
  for (const note of report.notes) lines.push(`note: ${note}`);
  return lines;
}
