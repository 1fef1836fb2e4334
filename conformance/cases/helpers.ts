/** Small helpers the cases share: the links around the testee, raw sessions, peer views. */
import { clientSideOf, serverSide, stateIsAlive, stateIsTombstone, type StageId } from '../../machines/index.js';
import { protocolVersion } from '../../spec/limits.js';
import type { UpstreamFrame, WireHello } from '../../runtime/wire/proto.js';
import type { CaseContext } from '../harness/context.js';
import type { LogEntry } from '../harness/run-log.js';
import type { ClientLinkToTestee, ClientStream, ServerLinkForTestee } from '../harness/links.js';

/** The link on which a peer dials the testee (every role but the Autoscaler has one). */
export function upstreamLink(ctx: CaseContext): ClientLinkToTestee {
  const link = ctx.chain.toTestee;
  if (link === null) throw new Error(`${ctx.stage} has no upstream link`);
  return link;
}

/** The link on which the testee dials the peer `downstream`. */
export function downstreamLink(ctx: CaseContext, downstream: StageId): ServerLinkForTestee {
  for (const link of ctx.chain.fromTestee.values()) if (link.peer === downstream) return link;
  throw new Error(`${ctx.stage} has no link to ${downstream}`);
}

/** Whether the upstream peer's session with the testee is synced at the peer. */
export function upstreamSynced(ctx: CaseContext): boolean {
  const link = upstreamLink(ctx);
  const side = clientSideOf(ctx.chain.state(link.peer), link.link);
  return side?.session === 'synced' && link.current !== null;
}

/** Whether the downstream peer's session with the testee is synced at the peer. */
export function downstreamSynced(ctx: CaseContext, downstream: StageId): boolean {
  const link = downstreamLink(ctx, downstream);
  const side = serverSide(ctx.chain.state(downstream));
  return side?.session === 'synced' && link.current !== null;
}

export function everyDownstreamSynced(ctx: CaseContext): boolean {
  return [...ctx.chain.fromTestee.values()].every((l) => downstreamSynced(ctx, l.peer));
}

/** The pods a peer holds alive / as tombstones, by name. */
export function alivePods(ctx: CaseContext, stage: StageId, node?: string): string[] {
  return ctx.chain
    .podsOf(stage)
    .filter((p) => stateIsAlive(p.lifecycle) && (node === undefined || p.node === node))
    .map((p) => p.name)
    .sort();
}

export function podsIn(ctx: CaseContext, stage: StageId, lifecycle: string, node?: string): string[] {
  return ctx.chain
    .podsOf(stage)
    .filter((p) => p.lifecycle === lifecycle && (node === undefined || p.node === node))
    .map((p) => p.name)
    .sort();
}

export function tombstonePods(ctx: CaseContext, stage: StageId): string[] {
  return ctx.chain
    .podsOf(stage)
    .filter((p) => stateIsTombstone(p.lifecycle))
    .map((p) => p.name)
    .sort();
}

export function hello(ctx: CaseContext, epoch: number, overrides: Partial<WireHello> = {}): UpstreamFrame {
  const link = upstreamLink(ctx);
  return { epoch, hello: { upstream_stage_id: link.peer, downstream_stage_id: ctx.stage, protocol_version: protocolVersion, ...overrides } };
}

export interface RawSession {
  readonly stream: ClientStream;
  readonly epoch: number;
  write(frame: UpstreamFrame): void;
  end(): void;
  halfClose(): void;
}

/**
 * The suite itself becomes the testee's upstream: the peer's link is paused and cut,
 * and a raw stream opens a session with a newer epoch and finishes the handshake
 * (hello, snapshot, sync). `restoreUpstream` gives the link back to the peer.
 */
export async function rawSyncedSession(ctx: CaseContext, what: string): Promise<RawSession | null> {
  const link = upstreamLink(ctx);
  link.pause();
  link.cut();
  const epoch = link.epochMax + 1;
  const raw = link.rawStream(what);
  raw.write(hello(ctx, epoch));
  const ok = await ctx.waitFor(['REQ-SESS-009', 'REQ-WIRE-008'], `a snapshot answering the hello of epoch ${epoch}`, () => raw.stream.snapshotDone || raw.stream.ended);
  if (!ok || raw.stream.ended) {
    ctx.check(['REQ-SESS-006'], !raw.stream.ended, `the testee ended the session of epoch ${epoch} instead of answering its hello`);
    return null;
  }
  raw.write({ epoch, sync: {} });
  return { stream: raw.stream, epoch, write: raw.write, end: raw.end, halfClose: raw.halfClose };
}

/** Ends a raw session and lets the upstream peer take the link back as a new incarnation. */
export async function restoreUpstream(ctx: CaseContext, raw: RawSession | null): Promise<boolean> {
  raw?.end();
  const link = upstreamLink(ctx);
  ctx.chain.crashPeer(link.peer);
  link.resume();
  return ctx.waitFor(['REQ-SESS-006', 'REQ-SESS-018'], `the upstream peer ${link.peer} synced again with a newer epoch`, () => upstreamSynced(ctx));
}

/** Names received in notification frames of one kind on a stream. */
export function namesIn(stream: ClientStream, body: 'running' | 'tombstone_done' | 'preempted'): string[] {
  const names: string[] = [];
  for (const frame of stream.received as Array<Record<string, { names?: string[] } | undefined>>) names.push(...(frame[body]?.names ?? []));
  return names;
}

export function failuresIn(stream: ClientStream): Array<{ name: string; reason: string }> {
  const failures: Array<{ name: string; reason: string }> = [];
  for (const frame of stream.received as Array<{ failed?: { failures?: Array<{ name: string; reason: string }> } }>) failures.push(...(frame.failed?.failures ?? []));
  return failures;
}

/** A pod record as a snapshot carried it. */
export interface SnapshotRecord {
  readonly name: string;
  readonly function: string;
  readonly priority: number;
  readonly node: string;
}

export interface ReceivedSnapshot {
  /** Alive pods: name -> phase. */
  readonly pods: Map<string, string>;
  readonly tombstones: Set<string>;
  readonly scales: Map<string, number>;
  /** The record of every pod and tombstone, by name. */
  readonly records: Map<string, SnapshotRecord>;
}

type SnapshotFrame = {
  snapshot?: { pods?: Array<{ record: SnapshotRecord | null; phase: string }>; tombstones?: Array<{ record: SnapshotRecord | null }>; scales?: Array<{ function: string; desired: number }>; last?: boolean };
};

/** The last complete snapshot received on a stream. */
export function snapshotIn(stream: ClientStream): ReceivedSnapshot | null {
  let current: ReceivedSnapshot = { pods: new Map(), tombstones: new Set(), scales: new Map(), records: new Map() };
  let complete = false;
  for (const frame of stream.received as SnapshotFrame[]) {
    const s = frame.snapshot;
    if (s === undefined || s === null) continue;
    if (complete) {
      current = { pods: new Map(), tombstones: new Set(), scales: new Map(), records: new Map() };
      complete = false;
    }
    for (const p of s.pods ?? []) {
      if (p.record === null) continue;
      current.pods.set(p.record.name, p.phase);
      current.records.set(p.record.name, p.record);
    }
    for (const t of s.tombstones ?? []) {
      if (t.record === null) continue;
      current.tombstones.add(t.record.name);
      current.records.set(t.record.name, t.record);
    }
    for (const sc of s.scales ?? []) current.scales.set(sc.function, sc.desired);
    if (s.last === true) complete = true;
  }
  return complete ? current : null;
}

export function podRecord(name: string, node: string, fn = 'fn', priority = 0): { name: string; function: string; priority: number; node: string } {
  return { name, function: fn, priority, node };
}

/** The testee's frames of one body (e.g. `preempted`, `failed`) in the case's log, oldest first, on every link and stream. */
export function framesFromTestee(ctx: CaseContext, body: string): LogEntry[] {
  return ctx.log.entries.filter((e) => e.kind === 'frame' && e.from === ctx.stage && typeof e.frame === 'object' && e.frame !== null && (e.frame as Record<string, unknown>)[body] != null);
}
