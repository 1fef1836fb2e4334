/**
 * Property tests of single stages: each stage is driven alone through `initStage` /
 * `stepStage` by random, well-formed but adversarial event sequences (messages of the
 * right shape with current, stale and future epochs, random snapshots, link churn,
 * sandbox reports, crash-restarts), and stage-local invariants are checked after
 * every step. Sequences are generated as templates resolved against the stage's state
 * at delivery time, so a failure prints the seed, the path and the template list.
 *
 * "Well-formed" means what a correct neighbour could send: e.g. a Kubelet snapshot is
 * within the node's capacity, and after the first one of a Scheduler incarnation it
 * holds only pods that Scheduler forwarded to that node.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Effect, StepResult } from '../core/effects.js';
import type { StageEvent } from '../core/events.js';
import type { LinkId, Role, StageId } from '../core/ids.js';
import { isDownMessage, type DownMessage, type UpMessage } from '../core/messages.js';
import type { AlivePod, FailureReason, PodRecord, ScaleRecord, TombstoneRecord } from '../core/records.js';
import { initStage, reviveStageState, stepStage, type StageBoot, type StageState } from '../stages/chain.js';
import type { ChainConfig } from '../stages/config.js';
import { sandboxesHeld, type SandboxInventoryItem } from '../stages/kubelet.js';
import { stateIsAlive, stateIsTombstone } from '../stages/lifecycle-states.js';
import type { ClientSide, ServerSide } from '../stages/session-sides.js';
import { clientSides, podCacheOf, serverSide } from '../stages/views.js';

const config: ChainConfig = {
  functions: [
    { name: 'f', priority: 0 },
    { name: 'g', priority: 5 },
  ],
  nodes: [
    { name: 'n1', capacity: 2 },
    { name: 'n2', capacity: 1 },
  ],
  variant: 'correct',
};
const functionNames = config.functions.map((f) => f.name);
const nodeNames = config.nodes.map((n) => n.name);
const capacityOf = new Map(config.nodes.map((n) => [n.name, n.capacity]));
const priorityOf = new Map(config.functions.map((f) => [f.name, f.priority]));

/** Pod names a neighbour may hold that this run's ReplicaSet never creates (incarnations 0 and 1; runs boot at 2). */
const poolNames = ['f-1-0', 'f-1-1', 'f-1-2', 'g-1-0', 'g-1-1', 'f-0-7', 'g-0-3'];
const bootIncarnation = 2;
const numRuns = 120;

// ---------------------------------------------------------------------------------
// Templates: events described relative to the state they will be delivered to.

type EpochPick = 'current' | 'stale' | 'future';
/** A pod in the stage's cache (by index), a neighbour's pod from the pool, or a fresh name of incarnation 1. */
type PodRef = { readonly known: number } | { readonly pool: number } | { readonly fresh: number };
interface PodSeed {
  readonly ref: PodRef;
  readonly as: 'pending' | 'running' | 'tombstone';
  readonly origin: Role;
  /** Index into [null, ...nodeNames]. */
  readonly node: number;
}
interface ScaleSeed {
  readonly fn: number;
  readonly desired: number;
}
interface Payload {
  readonly epoch: EpochPick;
  readonly delta: number;
  readonly fn: number;
  readonly desired: number;
  readonly ref: PodRef;
  readonly origin: 'replicaset' | 'scheduler';
  readonly reason: FailureReason;
  readonly node: number;
  readonly seeds: readonly PodSeed[];
  readonly scales: readonly ScaleSeed[];
}

type DownKind = DownMessage['type'];
type UpKind = UpMessage['type'];

type Op =
  | { readonly op: 'connect'; readonly client: number }
  | { readonly op: 'lost'; readonly client: number | 'server' }
  /** link.connected, then the snapshot of the new session (current epoch). */
  | { readonly op: 'handshake.client'; readonly client: number; readonly payload: Payload }
  /** A hello with a newer epoch, then its session.sync. */
  | { readonly op: 'handshake.server'; readonly delta: number }
  | { readonly op: 'down'; readonly kind: DownKind; readonly payload: Payload }
  | { readonly op: 'up'; readonly client: number; readonly kind: UpKind; readonly payload: Payload }
  | { readonly op: 'scale'; readonly fn: number; readonly desired: number }
  | { readonly op: 'sandbox'; readonly kind: 'started' | 'failed' | 'killed'; readonly index: number; readonly random: boolean; readonly ref: PodRef }
  | { readonly op: 'restart'; readonly nodeCrash: boolean };

const roles: readonly Role[] = ['autoscaler', 'deployment', 'replicaset', 'scheduler', 'kubelet'];
const podRefArb: fc.Arbitrary<PodRef> = fc.oneof(
  { weight: 3, arbitrary: fc.nat(20).map((known) => ({ known })) },
  { weight: 1, arbitrary: fc.nat(poolNames.length - 1).map((pool) => ({ pool })) },
  { weight: 2, arbitrary: fc.nat(40).map((fresh) => ({ fresh })) },
);
const podSeedArb: fc.Arbitrary<PodSeed> = fc.record({
  ref: podRefArb,
  as: fc.constantFrom('pending', 'running', 'tombstone'),
  origin: fc.constantFrom(...roles),
  node: fc.nat(nodeNames.length),
});
const scaleSeedArb: fc.Arbitrary<ScaleSeed> = fc.record({ fn: fc.nat(functionNames.length - 1), desired: fc.nat(4) });
const payloadArb: fc.Arbitrary<Payload> = fc.record({
  epoch: fc.oneof(
    { weight: 6, arbitrary: fc.constant<EpochPick>('current') },
    { weight: 2, arbitrary: fc.constant<EpochPick>('stale') },
    { weight: 2, arbitrary: fc.constant<EpochPick>('future') },
  ),
  delta: fc.integer({ min: 1, max: 3 }),
  fn: fc.nat(functionNames.length - 1),
  desired: fc.nat(4),
  ref: podRefArb,
  origin: fc.constantFrom('replicaset', 'scheduler'),
  reason: fc.constantFrom<FailureReason>('sandbox-failed', 'capacity-exceeded', 'invalidated'),
  node: fc.nat(10),
  seeds: fc.array(podSeedArb, { maxLength: 4 }),
  scales: fc.array(scaleSeedArb, { maxLength: 3 }),
});

interface StageShape {
  readonly server: boolean;
  readonly clients: number;
  readonly downKinds: readonly DownKind[];
  readonly upKinds: readonly UpKind[];
}

function shapeOf(stage: StageId): StageShape {
  switch (stage) {
    case 'autoscaler':
      return { server: false, clients: 1, downKinds: [], upKinds: ['session.snapshot', 'session.rejected', 'scale.applied'] };
    case 'deployment':
      return { server: true, clients: 1, downKinds: ['session.hello', 'session.sync', 'scale.set'], upKinds: ['session.snapshot', 'session.rejected', 'scale.applied'] };
    case 'replicaset':
      return {
        server: true,
        clients: 1,
        downKinds: ['session.hello', 'session.sync', 'scale.set'],
        upKinds: ['session.snapshot', 'session.rejected', 'pod.running', 'pod.failed', 'pod.preempted', 'tombstone.done'],
      };
    case 'scheduler':
      return {
        server: true,
        clients: nodeNames.length,
        downKinds: ['session.hello', 'session.sync', 'pod.provision', 'pod.tombstone'],
        upKinds: ['session.snapshot', 'session.rejected', 'pod.running', 'pod.failed', 'tombstone.done'],
      };
    default:
      return { server: true, clients: 0, downKinds: ['session.hello', 'session.sync', 'pod.provision', 'pod.tombstone'], upKinds: [] };
  }
}

function opArb(stage: StageId): fc.Arbitrary<Op> {
  const shape = shapeOf(stage);
  const client = fc.nat(Math.max(0, shape.clients - 1));
  const options: Array<fc.WeightedArbitrary<Op>> = [{ weight: 1, arbitrary: fc.boolean().map((nodeCrash): Op => ({ op: 'restart', nodeCrash })) }];
  if (shape.clients > 0) {
    options.push(
      { weight: 2, arbitrary: client.map((c): Op => ({ op: 'connect', client: c })) },
      { weight: 2, arbitrary: client.map((c): Op => ({ op: 'lost', client: c })) },
      { weight: 4, arbitrary: fc.record({ client, payload: payloadArb }).map((r): Op => ({ op: 'handshake.client', ...r })) },
      { weight: 8, arbitrary: fc.record({ client, kind: fc.constantFrom(...shape.upKinds), payload: payloadArb }).map((r): Op => ({ op: 'up', ...r })) },
    );
  }
  if (shape.server) {
    options.push(
      { weight: 2, arbitrary: fc.constant<Op>({ op: 'lost', client: 'server' }) },
      { weight: 4, arbitrary: fc.integer({ min: 1, max: 3 }).map((delta): Op => ({ op: 'handshake.server', delta })) },
      { weight: 8, arbitrary: fc.record({ kind: fc.constantFrom(...shape.downKinds), payload: payloadArb }).map((r): Op => ({ op: 'down', ...r })) },
    );
  }
  if (stage === 'autoscaler')
    options.push({ weight: 6, arbitrary: fc.record({ fn: fc.nat(functionNames.length - 1), desired: fc.nat(4) }).map((r): Op => ({ op: 'scale', ...r })) });
  if (stage.startsWith('kubelet:'))
    options.push({
      weight: 8,
      arbitrary: fc
        .record({ kind: fc.constantFrom('started', 'failed', 'killed'), index: fc.nat(10), random: fc.oneof({ weight: 1, arbitrary: fc.constant(true) }, { weight: 4, arbitrary: fc.constant(false) }), ref: podRefArb })
        .map((r): Op => ({ op: 'sandbox', ...r })),
    });
  return fc.oneof(...options);
}

// ---------------------------------------------------------------------------------
// The single-stage driver: resolves templates, steps the stage, checks every step.

function recordOf(name: string, node: string | null): PodRecord {
  const fn = name.split('-')[0] ?? 'f';
  return { name, function: fn, priority: priorityOf.get(fn) ?? 0, node };
}

function pick<T>(items: readonly T[], index: number): T | undefined {
  return items.length === 0 ? undefined : items[index % items.length];
}

function refIndex(ref: PodRef): number {
  return 'known' in ref ? ref.known : 'pool' in ref ? ref.pool : ref.fresh;
}

function sortedKeys(record: object): boolean {
  const keys = Object.keys(record);
  return keys.every((k, i) => i === 0 || (keys[i - 1] as string) < k);
}

function countOf(state: StageState, fn: string, predicate: (lifecycle: string) => boolean): number {
  return [...podCacheOf(state).entries()].filter((e) => e.record.function === fn && predicate(e.lifecycle)).length;
}

const holdsNodeCapacity = new Set(['pending', 'bound', 'running', 'terminating.unsent', 'terminating.sent']);
const downOrder: Readonly<Record<string, number>> = { 'session.hello': 0, 'session.sync': 1, 'pod.tombstone': 2, 'pod.provision': 3, 'scale.set': 4 };
const upNotifications = new Set<string>(['scale.applied', 'pod.running', 'pod.failed', 'pod.preempted', 'tombstone.done']);

class StageRun {
  state: StageState;
  incarnation = bootIncarnation;
  /** Autoscaler: what the backing store holds. */
  durable: Record<string, number> = {};
  /** Kubelet: sandboxes asked to start / kill and not yet reported. */
  starts: string[] = [];
  kills: string[] = [];
  /** ReplicaSet: every pod name created in this run, across incarnations. */
  readonly created = new Set<string>();
  steps = 0;

  constructor(
    readonly stage: StageId,
    inventory: readonly SandboxInventoryItem[],
  ) {
    this.state = this.boot(inventory);
  }

  private boot(inventory: readonly SandboxInventoryItem[]): StageState {
    const boot: StageBoot = { incarnation: this.incarnation, durableDesired: { ...this.durable }, inventory };
    const state = initStage(config, this.stage, boot);
    checkState(this, state);
    return state;
  }

  private clientSide(index: number): ClientSide {
    const sides = clientSides(this.state);
    const side = sides[index % sides.length];
    if (side === undefined) throw new Error(`stage ${this.stage} has no client side`);
    return side;
  }

  private server(): ServerSide {
    const side = serverSide(this.state);
    if (side === null) throw new Error(`stage ${this.stage} has no server side`);
    return side;
  }

  private name(ref: PodRef): string {
    if ('pool' in ref) return poolNames[ref.pool % poolNames.length] as string;
    if ('fresh' in ref) return `${functionNames[ref.fresh % functionNames.length] as string}-1-${10 + ref.fresh}`;
    const known = [...podCacheOf(this.state).names(), ...this.starts, ...this.kills];
    return pick(known, ref.known) ?? (poolNames[ref.known % poolNames.length] as string);
  }

  private epoch(base: number, payload: Payload): number {
    if (payload.epoch === 'current') return base;
    if (payload.epoch === 'stale') return Math.max(0, base - payload.delta);
    return base + payload.delta;
  }

  run(op: Op): void {
    switch (op.op) {
      case 'connect':
        return this.deliver({ type: 'link.connected', link: this.clientSide(op.client).link });
      case 'lost':
        return this.deliver({ type: 'link.lost', link: op.client === 'server' ? this.server().link : this.clientSide(op.client).link });
      case 'handshake.client': {
        const link = this.clientSide(op.client).link;
        this.deliver({ type: 'link.connected', link });
        return this.deliver({ type: 'message.received', link, message: this.snapshot(link, this.clientSide(op.client), { ...op.payload, epoch: 'current' }) });
      }
      case 'handshake.server': {
        const link = this.server().link;
        this.deliver({ type: 'message.received', link, message: { type: 'session.hello', epoch: this.server().epoch + op.delta } });
        return this.deliver({ type: 'message.received', link, message: { type: 'session.sync', epoch: this.server().epoch } });
      }
      case 'down':
        return this.deliver({ type: 'message.received', link: this.server().link, message: this.downMessage(op.kind, op.payload) });
      case 'up': {
        const side = this.clientSide(op.client);
        return this.deliver({ type: 'message.received', link: side.link, message: this.upMessage(side, op.kind, op.payload) });
      }
      case 'scale':
        return this.deliver({ type: 'scale.requested', function: functionNames[op.fn] as string, desired: op.desired });
      case 'sandbox':
        return this.sandbox(op);
      case 'restart':
        return this.restart(op.nodeCrash);
    }
  }

  private downMessage(kind: DownKind, p: Payload): DownMessage {
    const epoch = this.epoch(this.server().epoch, p);
    switch (kind) {
      case 'session.hello':
      case 'session.sync':
        return { type: kind, epoch };
      case 'scale.set':
        return { type: kind, epoch, scale: { function: functionNames[p.fn] as string, desired: p.desired } };
      case 'pod.provision': {
        // A Kubelet gets pods bound to its node (rarely another node: it must ignore them); the Scheduler gets unbound pods.
        const own = this.stage.startsWith('kubelet:') ? this.stage.slice('kubelet:'.length) : null;
        const node = own === null ? null : p.node === 0 ? (nodeNames.find((n) => n !== own) ?? own) : own;
        return { type: kind, epoch, pod: recordOf(this.name(p.ref), node) };
      }
      case 'pod.tombstone':
        return { type: kind, epoch, name: this.name(p.ref), origin: p.origin };
    }
  }

  private upMessage(side: ClientSide, kind: UpKind, p: Payload): UpMessage {
    const epoch = this.epoch(side.epoch, p);
    const scale: ScaleRecord = { function: functionNames[p.fn] as string, desired: p.desired };
    switch (kind) {
      case 'session.snapshot':
        return this.snapshot(side.link, side, p);
      case 'session.rejected':
        return { type: kind, epoch, reason: 'stale-epoch' };
      case 'scale.applied':
        return { type: kind, epoch, scale };
      case 'pod.failed':
        return { type: kind, epoch, name: this.name(p.ref), reason: p.reason };
      case 'pod.running':
      case 'pod.preempted':
      case 'tombstone.done':
        return { type: kind, epoch, name: this.name(p.ref) };
    }
  }

  /** A snapshot a correct downstream could send on `link`. */
  private snapshot(link: LinkId, side: ClientSide, p: Payload): UpMessage {
    const epoch = this.epoch(side.epoch, p);
    const scales: ScaleRecord[] = [];
    for (const s of p.scales) {
      const fn = functionNames[s.fn] as string;
      if (!scales.some((x) => x.function === fn)) scales.push({ function: fn, desired: s.desired });
    }
    if (this.state.role === 'autoscaler' || this.state.role === 'deployment') return { type: 'session.snapshot', epoch, scales, pods: [], tombstones: [] };

    const pods: AlivePod[] = [];
    const tombstones: TombstoneRecord[] = [];
    const seen = new Set<string>();
    let names: (seed: PodSeed) => string | undefined = (seed) => this.name(seed.ref);
    let limit = Number.POSITIVE_INFINITY;
    let nodeFor: (seed: PodSeed) => string | null = (seed) => (seed.node === 0 ? null : (nodeNames[seed.node - 1] ?? null));
    if (this.state.role === 'scheduler') {
      const node = link.slice(link.indexOf('>kubelet:') + '>kubelet:'.length);
      limit = capacityOf.get(node) ?? 0;
      nodeFor = () => node;
      if (side.everSynced) {
        // After its first snapshot, a Kubelet holds only pods this Scheduler forwarded to it.
        const forwarded = [...this.state.pods.entries()]
          .filter((e) => e.record.node === node && e.lifecycle !== 'pending' && holdsNodeCapacity.has(e.lifecycle))
          .map((e) => e.record.name);
        names = (seed) => pick(forwarded, refIndex(seed.ref));
      } else {
        names = (seed) => ('known' in seed.ref ? pick(poolNames, refIndex(seed.ref)) : this.name(seed.ref));
      }
    }
    for (const seed of p.seeds) {
      const name = names(seed);
      if (name === undefined || seen.has(name) || seen.size >= limit) continue;
      seen.add(name);
      const record = recordOf(name, nodeFor(seed));
      if (seed.as === 'tombstone') tombstones.push({ record, origin: seed.origin });
      else pods.push({ record, phase: seed.as });
    }
    return { type: 'session.snapshot', epoch, scales: [], pods, tombstones };
  }

  private sandbox(op: Extract<Op, { op: 'sandbox' }>): void {
    if (this.state.role !== 'kubelet') return;
    let pod: string | undefined;
    if (op.random) pod = this.name(op.ref);
    else if (op.kind === 'started') pod = pick(this.starts, op.index);
    else if (op.kind === 'killed') pod = pick(this.kills, op.index);
    else {
      const running = [...this.state.pods.entries()].filter((e) => e.lifecycle === 'running').map((e) => e.record.name);
      pod = pick([...this.starts, ...this.kills, ...running], op.index);
    }
    if (pod === undefined) return;
    const name = pod;
    if (op.kind === 'killed' || (op.kind === 'failed' && this.kills.includes(name))) this.kills = this.kills.filter((n) => n !== name);
    else this.starts = this.starts.filter((n) => n !== name);
    this.deliver({ type: `sandbox.${op.kind}`, pod: name });
  }

  private restart(nodeCrash: boolean): void {
    this.incarnation++;
    let inventory: SandboxInventoryItem[] = [];
    if (this.state.role === 'kubelet') {
      if (nodeCrash) {
        this.starts = [];
        this.kills = [];
      } else {
        for (const e of [...this.state.pods.entries()])
          if (e.lifecycle === 'starting' || e.lifecycle === 'running') inventory.push({ pod: e.record, state: e.lifecycle });
          else if (e.lifecycle === 'killing') inventory.push({ pod: e.record, state: e.lifecycle, origin: e.origin ?? 'kubelet' }); // a kill always has an origin (asserted where the kill is issued)
      }
    } else {
      inventory = [];
    }
    this.state = this.boot(inventory);
  }

  deliver(event: StageEvent): void {
    const before = this.state;
    const frozen = JSON.stringify(before);
    const result = stepStage(config, this.stage, before, event);
    expect(JSON.stringify(before), 'a step never mutates its input state').toBe(frozen);
    const again = stepStage(config, this.stage, reviveStageState(JSON.parse(frozen)), event);
    expect(JSON.stringify(again), 'the same state and event give the same result').toBe(JSON.stringify(result));
    checkStep(this, before, event, result);
    for (const effect of result.effects) {
      if (effect.type === 'store.persist') this.durable[effect.function] = effect.desired;
      if (effect.type === 'sandbox.start') this.starts.push(effect.pod.name);
      if (effect.type === 'sandbox.kill') this.kills.push(effect.pod.name);
    }
    checkState(this, result.state);
    this.state = result.state;
    this.steps++;
  }
}

// ---------------------------------------------------------------------------------
// Invariants.

/** Invariants of any state a stage can be in. */
function checkState(run: StageRun, state: StageState): void {
  const json = JSON.stringify(state);
  const revived = reviveStageState(JSON.parse(json));
  expect(JSON.stringify(revived), 'the state survives its JSON form').toBe(json);
  expect({ ...revived, pods: null }, 'apart from the pod cache, the state is JSON-only').toStrictEqual({ ...state, pods: null });
  if (state.role === 'replicaset' || state.role === 'scheduler' || state.role === 'kubelet') state.pods.checkGroups();
  for (const key of ['pods', 'desired', 'scales', 'toKubelets'] as const) {
    const record = (JSON.parse(json) as Record<string, unknown>)[key];
    if (record !== undefined) expect(sortedKeys(record as object), `keys of ${key} are sorted`).toBe(true);
  }
  expect(state.incarnation).toBe(run.incarnation);

  switch (state.role) {
    case 'kubelet': {
      const capacity = capacityOf.get(run.stage.slice('kubelet:'.length)) ?? 0;
      expect(sandboxesHeld(state.pods), 'a Kubelet never holds more sandboxes than its capacity').toBeLessThanOrEqual(capacity);
      break;
    }
    case 'scheduler':
      for (const node of nodeNames) {
        const used = [...state.pods.entries()].filter((e) => e.record.node === node && holdsNodeCapacity.has(e.lifecycle)).length;
        expect(used, `pods bound to ${node} within its capacity`).toBeLessThanOrEqual(capacityOf.get(node) ?? 0);
      }
      for (const e of [...state.pods.entries()])
        if (e.lifecycle === 'pending') expect(state.toKubelets[e.record.node ?? '']?.everSynced, `${e.record.name} is placed only on a warm node`).toBe(true);
      break;
    case 'replicaset':
      for (const [fn, desired] of Object.entries(state.desired))
        expect(countOf(state, fn, stateIsAlive), `alive pods of ${fn} never exceed desired once settled`).toBeLessThanOrEqual(desired);
      break;
    case 'autoscaler':
      for (const [fn, entry] of Object.entries(state.scales)) expect(entry.desired, `the count of ${fn} is durable`).toBe(run.durable[fn]);
      break;
    case 'deployment':
      break;
  }
}

function serverOf(state: StageState): ServerSide | null {
  return serverSide(state);
}

/** Invariants of one step (before, event) -> result. */
function checkStep(run: StageRun, before: StageState, event: StageEvent, result: StepResult<StageState>): void {
  const after = result.state;
  const serverBefore = serverOf(before);
  const serverAfter = serverOf(after);
  const clientsAfter = new Map(clientSides(after).map((s) => [s.link, s]));

  // Dispositions.
  if (event.type !== 'message.received') expect(result.disposition).toBe('none');
  else expect(result.disposition).not.toBe('none');

  // Fencing: a fenced message changes no state and causes no effect but a rejection.
  if (result.disposition === 'fenced') {
    expect(after, 'a fenced message changes no state').toStrictEqual(before);
    expect(result.effects.filter((e) => !(e.type === 'message.send' && e.message.type === 'session.rejected'))).toEqual([]);
  }

  // Fencing rules (INV-FENCING, stage-local).
  if (event.type === 'message.received') {
    const m = event.message;
    if (serverBefore !== null && event.link === serverBefore.link && serverAfter !== null) {
      if (m.type === 'session.hello') {
        if (m.epoch <= serverBefore.epoch) expect(result.disposition, 'a hello with an old epoch is fenced').toBe('fenced');
        if (result.disposition === 'applied') expect(serverAfter.epoch).toBe(m.epoch);
      } else {
        if (m.epoch !== serverBefore.epoch) expect(result.disposition, 'a record of another epoch is fenced').toBe('fenced');
        if (m.type !== 'session.sync' && serverBefore.session !== 'synced') expect(result.disposition, 'records wait for the sync').toBe('fenced');
      }
    }
    const clientBefore = clientSides(before).find((s) => s.link === event.link);
    if (clientBefore !== undefined && m.epoch !== clientBefore.epoch) expect(result.disposition, 'an upward message of another epoch is fenced').toBe('fenced');
  }

  // Epochs and session counters never go back within an incarnation (INV-EPOCH-MONOTONIC): at a
  // downstream, the synced epoch; its current epoch falls back to it only when an unsynced session ends (REQ-SESS-021).
  if (serverBefore !== null && serverAfter !== null) {
    expect(serverAfter.syncedEpoch).toBeGreaterThanOrEqual(serverBefore.syncedEpoch);
    expect(serverAfter.epoch).toBeGreaterThanOrEqual(serverAfter.syncedEpoch);
    if (serverAfter.epoch < serverBefore.epoch) {
      expect(event.type, 'only the end of a session lowers the current epoch').toBe('link.lost');
      expect(serverBefore.session, 'only an unsynced session ending lowers the current epoch').not.toBe('synced');
      expect(serverAfter.epoch).toBe(serverAfter.syncedEpoch);
    }
  }
  for (const side of clientSides(before)) {
    const next = clientsAfter.get(side.link);
    expect(next).toBeDefined();
    if (next === undefined) continue;
    expect(next.epoch).toBeGreaterThanOrEqual(side.epoch);
    expect(next.sessionsOpened).toBeGreaterThanOrEqual(side.sessionsOpened);
    if (side.everSynced) expect(next.everSynced).toBe(true);
  }

  // Sends: on the stage's own links, in the right direction, with the current epoch,
  // and only on a synced session except for the handshake messages and rejections.
  for (const effect of result.effects) {
    if (effect.type === 'store.persist') expect(after.role).toBe('autoscaler');
    if (effect.type === 'sandbox.start' || effect.type === 'sandbox.kill') expect(after.role).toBe('kubelet');
    if (effect.type !== 'message.send') continue;
    const m = effect.message;
    const client = clientsAfter.get(effect.link);
    if (client !== undefined) {
      expect(isDownMessage(m), `${m.type} goes down on ${effect.link}`).toBe(true);
      expect(m.epoch, `${m.type} carries the session epoch`).toBe(client.epoch);
      if (m.type === 'session.hello') expect(client.session).toBe('awaitingSnapshot');
      else expect(client.session, `${m.type} is sent on a synced link only`).toBe('synced');
      continue;
    }
    expect(serverAfter?.link, `a message is sent on one of the stage's links: ${effect.link}`).toBe(effect.link);
    if (serverAfter === null || serverBefore === null) continue;
    expect(isDownMessage(m), `${m.type} goes up on ${effect.link}`).toBe(false);
    if (m.type === 'session.rejected') {
      expect(event.type === 'message.received' && event.message.type === 'session.hello' && event.message.epoch === m.epoch).toBe(true);
      expect(m.epoch).toBeLessThanOrEqual(serverBefore.epoch);
    } else if (m.type === 'session.snapshot') {
      expect(serverAfter.session).toBe('awaitingSync');
      expect(m.epoch).toBe(serverAfter.epoch);
    } else {
      // Truth flows up once the snapshot of the current epoch is sent (serverMaySendUp): FIFO after it.
      expect(upNotifications.has(m.type)).toBe(true);
      expect(['awaitingSync', 'synced'], `${m.type} is sent only after the snapshot of the session`).toContain(serverAfter.session);
      expect(m.epoch, `${m.type} carries the current epoch`).toBe(serverAfter.epoch);
    }
  }

  // Round-2 order on every client link (REQ-SESS-010): hello, sync, then tombstones,
  // provisions and desired counts, each group in name (function) order.
  for (const link of clientsAfter.keys()) {
    const sent = result.effects.flatMap((e) => (e.type === 'message.send' && e.link === link ? [e.message] : []));
    const keys = sent.map((m) => `${downOrder[m.type] ?? 9}|${m.type === 'pod.tombstone' ? m.name : m.type === 'pod.provision' ? m.pod.name : m.type === 'scale.set' ? m.scale.function : ''}`);
    expect(keys, `messages on ${link} in round-2 order`).toEqual([...keys].sort());
  }

  switch (after.role) {
    case 'autoscaler':
      checkAutoscalerStep(run, result.effects);
      break;
    case 'deployment':
      // Tail-first acknowledgement (REQ-SCALE-004): `scale.applied{f, d}` goes up only for a
      // value in force below: on `scale.set{f, d}` for an entry already clean at d, or when
      // the ReplicaSet's `scale.applied{f, d}` makes the entry clean at d.
      for (const effect of result.effects)
        if (effect.type === 'message.send' && effect.message.type === 'scale.applied') {
          expect(event.type === 'message.received' && result.disposition === 'applied').toBe(true);
          if (event.type !== 'message.received' || before.role !== 'deployment' || after.role !== 'deployment') continue;
          const m = event.message;
          expect(m.type === 'scale.set' || m.type === 'scale.applied', `acknowledged on ${m.type}`).toBe(true);
          if (m.type !== 'scale.set' && m.type !== 'scale.applied') continue;
          expect(effect.message.scale).toStrictEqual(m.scale);
          const held = after.scales[m.scale.function];
          expect(held?.desired).toBe(m.scale.desired);
          expect(held?.lifecycle).toBe('applied');
          if (m.type === 'scale.set') expect(before.scales[m.scale.function]?.lifecycle).toBe('applied');
          else expect(before.scales[m.scale.function]?.lifecycle).not.toBe('applied');
        }
      break;
    case 'replicaset':
      if (before.role === 'replicaset') checkReplicaSetStep(run, before, after);
      break;
    case 'scheduler':
      for (const effect of result.effects)
        if (effect.type === 'message.send' && effect.message.type === 'pod.provision') {
          const node = effect.link.slice(effect.link.indexOf('>kubelet:') + '>kubelet:'.length);
          expect(effect.message.pod.node, 'a provision goes to the node the pod is bound to').toBe(node);
          expect(after.pods.get(effect.message.pod.name)?.lifecycle).toBe('bound');
        }
      break;
    case 'kubelet':
      if (before.role === 'kubelet')
        for (const effect of result.effects) {
          if (effect.type === 'sandbox.start') {
            expect(before.pods.get(effect.pod.name), 'a sandbox starts only for a pod not held').toBeUndefined();
            expect(after.pods.get(effect.pod.name)?.lifecycle).toBe('starting');
          }
          if (effect.type === 'sandbox.kill') {
            expect(['starting', 'running']).toContain(before.pods.get(effect.pod.name)?.lifecycle);
            expect(after.pods.get(effect.pod.name)?.lifecycle).toBe('killing');
          }
        }
      break;
  }
}

/** store.persist of a count comes before any scale.set carrying it, in effect order. */
function checkAutoscalerStep(run: StageRun, effects: readonly Effect[]): void {
  const durable = { ...run.durable };
  for (const effect of effects) {
    if (effect.type === 'store.persist') durable[effect.function] = effect.desired;
    if (effect.type === 'message.send' && effect.message.type === 'scale.set')
      expect(effect.message.scale.desired, 'a count is persisted before it is sent').toBe(durable[effect.message.scale.function]);
  }
}

function checkReplicaSetStep(run: StageRun, before: Extract<StageState, { role: 'replicaset' }>, after: Extract<StageState, { role: 'replicaset' }>): void {
  expect(after.podsCreated).toBeGreaterThanOrEqual(before.podsCreated);
  const fresh = after.pods.names().filter((name) => !before.pods.has(name));
  const created: string[] = [];
  for (const name of fresh) {
    const match = /^([a-z0-9]+)-(\d+)-(\d+)$/.exec(name);
    if (match === null || Number(match[2]) !== after.incarnation) continue; // adopted from a snapshot
    created.push(name);
    expect(Number(match[3])).toBeGreaterThanOrEqual(before.podsCreated);
    expect(Number(match[3])).toBeLessThan(after.podsCreated);
    expect(functionNames).toContain(match[1]);
    expect(after.desired[match[1] as string], `${name} is created only once the desired count of ${match[1]} is known`).toBeDefined();
  }
  expect(created.length, 'every created pod is in the cache: one per ordinal').toBe(after.podsCreated - before.podsCreated);
  for (const name of created) {
    expect(run.created.has(name), `pod name ${name} is never created twice (INV-NAME-UNIQUE)`).toBe(false);
    run.created.add(name);
  }
  // Creation fills exactly to the desired count, counting terminating pods (no overshoot).
  for (const fn of new Set(created.map((n) => n.split('-')[0] as string))) {
    const desired = after.desired[fn] ?? -1;
    expect(countOf(after, fn, stateIsAlive) + countOf(after, fn, stateIsTombstone), `alive + terminating of ${fn} equals desired after creating`).toBe(desired);
  }
}

// ---------------------------------------------------------------------------------
// Properties.

const inventoryArb = (capacity: number): fc.Arbitrary<SandboxInventoryItem[]> =>
  fc
    .uniqueArray(
      fc.record({
        name: fc.constantFrom(...poolNames),
        state: fc.constantFrom<SandboxInventoryItem['state']>('starting', 'running', 'killing'),
        origin: fc.constantFrom<'replicaset' | 'scheduler'>('replicaset', 'scheduler'),
      }),
      { selector: (i) => i.name, maxLength: capacity },
    )
    .map((items) => items.map((i): SandboxInventoryItem => (i.state === 'killing' ? { pod: recordOf(i.name, null), state: i.state, origin: i.origin } : { pod: recordOf(i.name, null), state: i.state })));

const stages: readonly StageId[] = ['autoscaler', 'deployment', 'replicaset', 'scheduler', 'kubelet:n1', 'kubelet:n2'];

describe('stage properties over random event sequences (variant correct)', () => {
  for (const stage of stages) {
    it(`${stage}: stage-local invariants hold after every step`, () => {
      const node = stage.startsWith('kubelet:') ? stage.slice('kubelet:'.length) : null;
      const inventory = node === null ? fc.constant([]) : inventoryArb(capacityOf.get(node) ?? 0).map((items) => items.map((i) => ({ ...i, pod: { ...i.pod, node } })));
      let totalSteps = 0;
      fc.assert(
        fc.property(inventory, fc.array(opArb(stage), { minLength: 1, maxLength: 60, size: 'max' }), (items, ops) => {
          const run = new StageRun(stage, items);
          for (const op of ops) run.run(op);
          totalSteps += run.steps;
        }),
        { numRuns },
      );
      expect(totalSteps).toBeGreaterThan(numRuns);
    });
  }
});

describe('the generators reach the interesting states (sanity of the property tests)', () => {
  it('the ReplicaSet creates, forwards and terminates pods, and the Scheduler places them', () => {
    const seen = new Set<string>();
    for (const stage of ['replicaset', 'scheduler', 'kubelet:n1'] as const) {
      fc.assert(
        fc.property(fc.array(opArb(stage), { minLength: 1, maxLength: 60, size: 'max' }), (ops) => {
          const run = new StageRun(stage, []);
          for (const op of ops) {
            run.run(op);
            for (const e of podCacheOf(run.state).entries()) seen.add(`${stage}:${e.lifecycle}`);
          }
        }),
        { numRuns: 60, seed: 42 },
      );
    }
    console.log(`lifecycle states reached by the generators: ${[...seen].sort().join(", ")}`);
    for (const expected of [
      'replicaset:pending',
      'replicaset:provisioned',
      'replicaset:running',
      'replicaset:terminating.sent',
      'scheduler:unscheduled',
      'scheduler:bound',
      'scheduler:running',
      'scheduler:terminating.sent',
      'kubelet:n1:starting',
      'kubelet:n1:running',
      'kubelet:n1:killing',
    ])
      expect(seen, expected).toContain(expected);
  });
});
