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

export function validateRecords(all: readonly LocatedRecord[], files: number, notesIn: readonly string[] = []): ValidationReport {
  const v = new Verdicts();
  const notes = [...notesIn];
  // Each stage incarnation in its own order (seq); incarnations of a stage in order.
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

  const created = new Map<string, LocatedRecord>();
  const placement = new Map<string, { node: string; at: LocatedRecord }>();
  const bound = new Map<string, { node: string; at: LocatedRecord }>();
  // Sandbox deaths per pod: node, the Kubelet's position (incarnation, seq) and wall time.
  const deaths = new Map<string, Array<{ node: string; incarnation: number; seq: number; t: string }>>();
  const starts: Array<{ pod: string; node: string; at: LocatedRecord }> = [];

  for (const run of runs) {
    const head = run[0];
    if (head === undefined) continue;
    const { stage, incarnation } = head.record;
    const role = roleOf(stage);
    if (head.record.seq !== 0) notes.push(`${stage} incarnation ${incarnation}: no boot record (trace starts at seq ${head.record.seq}); fencing judged from its first record on`);
    let sessions: readonly TraceSession[] | null = head.record.seq === 0 ? (head.record.sessions ?? []) : null;
    const epochs = new Map<string, number>();
    const tombstoned = new Set<string>();
    const sandboxes = new Set<string>(head.record.sandboxes ?? []);
    const capacity = head.record.capacity;
    for (const at of run) {
      const r = at.record;
      const event = r.event;
      // INV-FENCING
      if (event.type === 'message.received' && r.disposition === 'applied' && event.link !== undefined && event.message !== undefined && sessions !== null) {
        v.count('INV-FENCING');
        if (!isCurrent(sessions, stage, event.link, event.message.type, event.message.epoch))
          v.violated('INV-FENCING', `${stage} applied ${event.message.type} of epoch ${describeEpoch(event.message.epoch)} on ${event.link}, which is not its current session`, at);
      }
      // INV-EPOCH-MONOTONIC: an upstream's epochs only grow; a downstream's never go below the highest one that synced (DEC-40).
      for (const side of r.sessions ?? []) {
        const key = `${side.end} ${side.link}`;
        const floor = epochs.get(key);
        v.count('INV-EPOCH-MONOTONIC');
        if (floor !== undefined && side.epoch < floor)
          v.violated('INV-EPOCH-MONOTONIC', `${stage} (incarnation ${incarnation}): epoch on ${side.link} went back from ${floor} to ${side.epoch}`, at);
        if (side.end === 'upstream' || side.session === 'synced') epochs.set(key, Math.max(floor ?? 0, side.epoch));
      }
      if (r.sessions !== undefined) sessions = r.sessions;
      for (const point of r.transitions ?? []) {
        // INV-NAME-UNIQUE
        if (role === 'replicaset' && point.event === 'decide.create') {
          v.count('INV-NAME-UNIQUE');
          const first = created.get(point.pod);
          if (first !== undefined) v.violated('INV-NAME-UNIQUE', `the ReplicaSet created ${point.pod} a second time (first at ${first.file}:${first.line})`, at);
          else created.set(point.pod, at);
        }
        // INV-NO-RESURRECTION
        v.count('INV-NO-RESURRECTION');
        if (tombstoned.has(point.pod) && stateIsAlive(point.to))
          v.violated('INV-NO-RESURRECTION', `${stage} (incarnation ${incarnation}) held a tombstone for ${point.pod} and now holds it alive (${point.event}: ${point.from} -> ${point.to})`, at);
        if (stateIsTombstone(point.to)) tombstoned.add(point.pod);
      }
      for (const effect of r.effects ?? []) {
        if (effect.type === 'sandbox.start') {
          starts.push({ pod: effect.pod, node: effect.node, at });
          sandboxes.add(effect.pod);
          // INV-CAPACITY: sandboxes held (starting, running, being killed)
          v.count('INV-CAPACITY');
          if (capacity !== undefined && sandboxes.size > capacity)
            v.violated('INV-CAPACITY', `${stage} holds ${sandboxes.size} sandboxes, capacity ${capacity}`, at);
        }
        if (effect.type === 'message.send') {
          const m = effect.message;
          if (m.type === 'pod.failed' && m.reason === 'capacity-exceeded') v.violated('INV-CAPACITY', `${stage} refuses ${m.name ?? '?'} for want of room: the Scheduler bound more pods than the node holds`, at);
          if (role === 'scheduler' && m.type === 'pod.provision' && m.name !== undefined) {
            const node = linkEnds(effect.link).downstream.slice('kubelet:'.length);
            v.count('INV-UNIQUE-PLACEMENT');
            const first = bound.get(m.name);
            if (first === undefined) bound.set(m.name, { node, at });
            else if (first.node !== node)
              v.violated('INV-UNIQUE-PLACEMENT', `the Scheduler bound ${m.name} to ${first.node} (${first.at.file}:${first.at.line}) and now to ${node}`, at);
          }
        }
      }
      if (role === 'kubelet' && event.pod !== undefined && deathEvents.has(event.type)) {
        sandboxes.delete(event.pod);
        const node = stage.slice('kubelet:'.length);
        deaths.set(event.pod, [...(deaths.get(event.pod) ?? []), { node, incarnation, seq: r.seq, t: r.t }]);
      }
    }
  }

  // INV-UNIQUE-PLACEMENT (sandboxes) and INV-NO-RESTART-AFTER-DEATH, over all Kubelets.
  for (const start of starts) {
    v.count('INV-UNIQUE-PLACEMENT');
    const first = placement.get(start.pod);
    if (first === undefined) placement.set(start.pod, { node: start.node, at: start.at });
    else if (first.node !== start.node)
      v.violated('INV-UNIQUE-PLACEMENT', `${start.pod} is started on ${start.node} but was started on ${first.node} (${first.at.file}:${first.at.line})`, start.at);
    v.count('INV-NO-RESTART-AFTER-DEATH');
    const r = start.at.record;
    for (const death of deaths.get(start.pod) ?? []) {
      const earlier =
        death.node === start.node
          ? death.incarnation < r.incarnation || (death.incarnation === r.incarnation && death.seq < r.seq)
          : death.t < r.t;
      if (earlier) {
        const how = death.node === start.node ? `on the same node (Kubelet order: incarnation ${death.incarnation} seq ${death.seq})` : `on ${death.node} at ${death.t} (wall time)`;
        v.violated('INV-NO-RESTART-AFTER-DEATH', `${start.node} starts ${start.pod}, whose sandbox had already ended ${how}`, start.at);
        break;
      }
    }
  }
  notes.push('INV-NO-RESTART-AFTER-DEATH orders events on one node by the Kubelet\'s own sequence and across nodes by trace wall time (t): clocks of one machine are assumed.');

  const judged = safetyInvariantIds.filter((id) => !notJudgedFromTraces.some((n) => n.id === id));
  return {
    files,
    records: all.length,
    incarnations: runs.length,
    verdicts: judged.map((id) => v.verdict(id)),
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
