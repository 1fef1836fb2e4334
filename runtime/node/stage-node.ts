/**
 * One stage of the chain as an OS process: the machines of machines/ driven over gRPC.
 * The driver contract is machines/README.md; this file only delivers events and carries
 * out effects, never decides anything about the protocol.
 *
 * - Upstream link (this stage is the downstream): a Link.Session server; each stream
 *   is one session; frames are validated (runtime/wire/codec.ts) and their records
 *   delivered one by one as `message.received`; the end of the current session's
 *   stream is `link.lost`.
 * - Downstream links (this stage is the upstream): a Link.Session client per link;
 *   when the channel is ready a stream is opened and `link.connected` delivered; when
 *   it ends, `link.lost`, then reconnection with exponential backoff.
 * - Effects, in order: `message.send` to the stream of the session whose epoch it
 *   carries (dropped if that session is over), batched per stream on the next turn of
 *   the event loop; `store.persist` to the backing store (runtime/store/), every later effect held until it is durable (so before any later
 *   send); `sandbox.start` / `sandbox.kill` to the simulated sandbox runtime.
 */
import * as grpc from '@grpc/grpc-js';
import {
  bootEffects,
  initStage,
  linkEnds,
  roleOf,
  stepStage,
  validDesired,
  type DownMessage,
  type Effect,
  type LinkId,
  type StageEvent,
  type StageId,
  type StageState,
  type UpMessage,
  type Disposition,
} from '../../machines/index.js';
import { desiredMax, frameBytesMax, linkDeadMsMax, protocolVersion, reconnectBackoffMsMax, reconnectBackoffMsMin } from '../../spec/limits.js';
import { downstreamLinksOf, endpointOf, upstreamLinkOf, type ClusterConfig } from '../config.js';
import { decodeDownstreamFrame, decodeUpstreamFrame, encodeDown, encodeUp, SnapshotAssembler, validFunctionName, type LinkContext } from '../wire/codec.js';
import { rejection, statusOf, type Rejection } from '../wire/errors.js';
import { InspectClient, LinkClient, ScalerClient, type DownstreamFrame, type UpstreamFrame, type WireErrorDetail } from '../wire/proto.js';
import { nextIncarnation } from './durable.js';
import { openStore } from '../store/open-store.js';
import { podWritesOf } from '../store/pod-objects.js';
import type { BackingStore } from '../store/store.js';
import { inspectState } from './inspect.js';
import { SimulatedSandboxes } from './simulated-sandboxes.js';
import { StageObserver } from '../observe/observer.js';

export type Logger = (record: Record<string, unknown>) => void;

interface ServerSession {
  readonly call: grpc.ServerDuplexStream<UpstreamFrame, DownstreamFrame>;
  epoch: number;
  helloSeen: boolean;
  ended: boolean;
  outbox: UpMessage[];
}

interface ClientSession {
  readonly call: grpc.ClientDuplexStream<UpstreamFrame, DownstreamFrame>;
  epoch: number;
  ended: boolean;
  outbox: DownMessage[];
  readonly assembler: SnapshotAssembler;
}

interface ClientLink {
  readonly link: LinkId;
  readonly downstream: StageId;
  readonly client: grpc.Client;
  current: ClientSession | null;
  backoffMs: number;
  timer: NodeJS.Timeout | null;
}

const channelOptions: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': Math.floor(linkDeadMsMax / 2),
  'grpc.keepalive_timeout_ms': Math.floor(linkDeadMsMax / 2),
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_receive_message_length': frameBytesMax,
  'grpc.max_send_message_length': frameBytesMax,
  'grpc.initial_reconnect_backoff_ms': reconnectBackoffMsMin,
  'grpc.max_reconnect_backoff_ms': reconnectBackoffMsMax,
};

export class StageNode {
  private state: StageState;
  readonly incarnation: number;
  private readonly server = new grpc.Server({ 'grpc.max_receive_message_length': frameBytesMax, 'grpc.keepalive_permit_without_calls': 1 });
  private readonly upstreamLink: LinkId | null;
  private readonly upstreamStage: StageId | null;
  private serverCurrent: ServerSession | null = null;
  private readonly clients = new Map<LinkId, ClientLink>();
  /** The backing store; `store` is it at the Autoscaler (desired counts), null elsewhere. */
  private readonly store: BackingStore | null;
  /** Effects waiting for a `store.persist` in flight (machines/README.md: durable before later sends); null when none is. */
  private heldEffects: Array<readonly [Effect, ServerSession | null]> | null = null;
  private persistedWaiters: Array<() => void> = [];
  private readonly sandboxes: SimulatedSandboxes | null;
  private readonly lastRejections = new Map<LinkId, WireErrorDetail>();
  private readonly functions: ReadonlySet<string>;
  private flushScheduled = false;
  private readonly dirtyServer = new Set<ServerSession>();
  private readonly dirtyClients = new Set<ClientSession>();
  private stopped = false;
  private readonly observer: StageObserver;
  port = 0;

  constructor(
    private readonly config: ClusterConfig,
    readonly stage: StageId,
    private readonly log: Logger,
    private readonly backing: BackingStore,
    durableDesired: Readonly<Record<string, number>>,
  ) {
    const endpoint = endpointOf(config, stage);
    this.functions = new Set(config.chain.functions.map((f) => f.name));
    this.incarnation = nextIncarnation(endpoint.dataDir);
    this.upstreamLink = upstreamLinkOf(config, stage);
    this.upstreamStage = this.upstreamLink === null ? null : linkEnds(this.upstreamLink).upstream;
    const role = roleOf(stage);
    this.store = role === 'autoscaler' ? backing : null;
    this.sandboxes =
      role === 'kubelet'
        ? new SimulatedSandboxes(endpoint.dataDir, config.sandbox, (report) => this.deliver({ type: report.type, pod: report.pod }, null))
        : null;
    this.state = initStage(config.chain, stage, {
      incarnation: this.incarnation,
      ...(this.store === null ? {} : { durableDesired }),
      ...(this.sandboxes === null ? {} : { inventory: this.sandboxes.inventory() }),
    });
    this.log({ event: 'stage.started', stage, incarnation: this.incarnation, sandboxes: this.sandboxes?.count() ?? 0 });
    this.observer = new StageObserver({
      chain: config.chain,
      stage,
      incarnation: this.incarnation,
      dataDir: endpoint.dataDir,
      metricsAddress: endpoint.metricsAddress ?? null,
      warn: (message) => this.log({ event: 'trace.warning', message }),
      state: () => this.state,
    });
    const boot = bootEffects(this.state);
    this.observer.started(this.state, boot);
    for (const effect of boot) this.carryOutInOrder(effect, null);
    this.sandboxes?.resume();
  }

  /** Opens the configured backing store (loading the Autoscaler's durable desired counts) and makes the stage. */
  static async open(config: ClusterConfig, stage: StageId, log: Logger): Promise<StageNode> {
    const backing = openStore(config, (record) => log(record));
    const durableDesired = roleOf(stage) === 'autoscaler' ? await backing.loadDesired() : {};
    log({ event: 'store.opened', store: backing.kind, desired: durableDesired });
    return new StageNode(config, stage, log, backing, durableDesired);
  }

  /** Binds the server (loopback address of the config) and starts the downstream links. */
  async start(): Promise<void> {
    const service = (c: grpc.ServiceClientConstructor): grpc.ServiceDefinition => c.service;
    if (this.upstreamLink !== null) this.server.addService(service(LinkClient), { Session: (call: ServerSession['call']) => this.acceptStream(call) });
    if (this.store !== null) this.server.addService(service(ScalerClient), { SetScale: this.setScale.bind(this) });
    this.server.addService(service(InspectClient), { GetState: this.getState.bind(this) });
    const address = endpointOf(this.config, this.stage).address;
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, port) => (error === null ? resolve(port) : reject(error))),
    );
    for (const link of downstreamLinksOf(this.config, this.stage)) {
      const downstream = linkEnds(link).downstream;
      const client = new LinkClient(endpointOf(this.config, downstream).address, grpc.credentials.createInsecure(), channelOptions);
      const entry: ClientLink = { link, downstream, client, current: null, backoffMs: reconnectBackoffMsMin, timer: null };
      this.clients.set(link, entry);
      this.connect(entry);
    }
    await this.observer.listen();
    this.log({ event: 'stage.listening', stage: this.stage, address, port: this.port, metricsPort: this.observer.port });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.observer.close();
    this.sandboxes?.stop();
    for (const entry of this.clients.values()) {
      if (entry.timer !== null) clearTimeout(entry.timer);
      entry.current?.call.cancel();
      entry.client.close();
    }
    if (this.serverCurrent !== null && !this.serverCurrent.ended) {
      this.serverCurrent.ended = true;
      this.serverCurrent.call.end();
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 2_000);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    await this.backing.close();
  }

  /** The stage's state (read-only; for tests and Inspect). */
  get stageState(): StageState {
    return this.state;
  }

  // -------------------------------------------------------------------------
  // Events and effects
  // -------------------------------------------------------------------------

  /** Steps the machine with one event and carries out its effects in order. `origin` is the stream a received message came on. */
  private deliver(event: StageEvent, origin: ServerSession | null): Disposition {
    if (this.stopped) return 'none';
    const startedNs = process.hrtime.bigint();
    const before = this.state;
    let result;
    try {
      result = stepStage(this.config.chain, this.stage, this.state, event);
    } catch (error) {
      // An InvariantViolation is a bug: stop, never continue (machines/README.md).
      this.log({ event: 'stage.failed', stage: this.stage, error: String((error as Error).stack ?? error), on: event });
      this.observer.flush();
      process.exit(70);
    }
    this.state = result.state;
    for (const t of result.trace) this.log({ event: 'pod.transition', machine: t.machine, pod: t.pod, action: t.event, from: t.from, to: t.to });
    this.observer.step(event, before, result);
    for (const write of podWritesOf(result.trace, before, result.state)) this.backing.enqueuePod(write);
    for (const effect of result.effects) this.carryOutInOrder(effect, origin);
    this.observer.stepDone(process.hrtime.bigint() - startedNs);
    return result.disposition;
  }

  private carryOut(effect: Effect, origin: ServerSession | null): void {
    switch (effect.type) {
      case 'message.send':
        if (effect.link === this.upstreamLink) this.sendUp(effect.message as UpMessage, origin);
        else this.sendDown(effect.link, effect.message as DownMessage);
        return;
      case 'store.persist':
        if (this.store === null) throw new Error(`store.persist at ${this.stage}`);
        this.persist(this.store, effect.function, effect.desired, 0);
        return;
      case 'sandbox.start':
        this.requireSandboxes().start(effect.pod);
        return;
      case 'sandbox.kill':
        this.requireSandboxes().kill(effect.pod);
        return;
    }
  }

  /** Carries out an effect, or holds it while a `store.persist` is in flight (effects keep their order). */
  private carryOutInOrder(effect: Effect, origin: ServerSession | null): void {
    if (this.heldEffects !== null) this.heldEffects.push([effect, origin]);
    else this.carryOut(effect, origin);
  }

  /** Writes a desired count; every later effect waits until the store says it is durable (retried while the store is down). */
  private persist(store: BackingStore, fn: string, desired: number, attempt: number): void {
    this.heldEffects ??= [];
    store.putDesired(fn, desired).then(
      () => {
        this.log({ event: 'store.persisted', function: fn, desired, store: store.kind });
        const held = this.heldEffects ?? [];
        this.heldEffects = null;
        for (const [effect, origin] of held) this.carryOutInOrder(effect, origin);
        if (this.heldEffects !== null) return;
        const waiters = this.persistedWaiters;
        this.persistedWaiters = [];
        for (const w of waiters) w();
      },
      (error: Error) => {
        this.log({ event: 'store.persist-failed', function: fn, desired, store: store.kind, attempt, error: error.message });
        if (this.stopped) return;
        setTimeout(() => this.persist(store, fn, desired, attempt + 1), Math.min(reconnectBackoffMsMax, reconnectBackoffMsMin * 2 ** attempt));
      },
    );
  }

  /** Runs `then` once no `store.persist` is in flight. */
  private whenPersisted(then: () => void): void {
    if (this.heldEffects === null) then();
    else this.persistedWaiters.push(then);
  }

  private requireSandboxes(): SimulatedSandboxes {
    if (this.sandboxes === null) throw new Error(`sandbox effect at ${this.stage}`);
    return this.sandboxes;
  }

  private sendUp(message: UpMessage, origin: ServerSession | null): void {
    if (message.type === 'session.rejected') {
      if (origin !== null) this.reject(origin, rejection('STALE_EPOCH', `epoch ${message.epoch} is not newer than the current epoch`), message.epoch);
      return;
    }
    const session = origin !== null && origin.epoch === message.epoch ? origin : this.serverCurrent;
    if (session === null || session.ended || session.epoch !== message.epoch) return; // the session is over: drop
    session.outbox.push(message);
    this.dirtyServer.add(session);
    this.scheduleFlush();
  }

  private sendDown(link: LinkId, message: DownMessage): void {
    const entry = this.clients.get(link);
    const session = entry?.current;
    if (session === null || session === undefined || session.ended) return;
    if (message.type === 'session.hello') session.epoch = message.epoch;
    if (session.epoch !== message.epoch) return;
    session.outbox.push(message);
    this.dirtyClients.add(session);
    this.scheduleFlush();
  }

  /** Writes waiting messages as batched frames on the next turn (REQ-WIRE-003: only what is already waiting). */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      for (const session of this.dirtyServer) {
        const messages = session.outbox;
        session.outbox = [];
        if (!session.ended) for (const frame of encodeUp(messages)) session.call.write(frame);
      }
      this.dirtyServer.clear();
      for (const session of this.dirtyClients) {
        const messages = session.outbox;
        session.outbox = [];
        const link = [...this.clients.values()].find((c) => c.current === session);
        if (!session.ended && link !== undefined)
          for (const frame of encodeDown(messages, { upstream: this.stage, downstream: link.downstream })) session.call.write(frame);
      }
      this.dirtyClients.clear();
    });
  }

  // -------------------------------------------------------------------------
  // Upstream link: this stage is the server
  // -------------------------------------------------------------------------

  private linkContext(link: LinkId): LinkContext {
    return { link, functions: this.functions };
  }

  private acceptStream(call: ServerSession['call']): void {
    const session: ServerSession = { call, epoch: 0, helloSeen: false, ended: false, outbox: [] };
    call.on('data', (frame: UpstreamFrame) => this.onUpstreamFrame(session, frame));
    const end = (): void => this.endServerSession(session);
    call.on('end', end);
    call.on('cancelled', end);
    call.on('close', end);
  }

  private onUpstreamFrame(session: ServerSession, frame: UpstreamFrame): void {
    if (session.ended || this.upstreamLink === null) return;
    const link = this.upstreamLink;
    const decoded = decodeUpstreamFrame(frame, this.linkContext(link));
    const epoch = typeof frame?.epoch === 'number' ? frame.epoch : 0;
    if (!decoded.ok) return this.reject(session, decoded.rejection, epoch);
    const value = decoded.value;
    if (!session.helloSeen) {
      if (value.kind !== 'hello') return this.reject(session, rejection('OUT_OF_ORDER', 'the first frame of a session must be a Hello'), epoch);
      const hello = value.hello;
      if (hello.upstream_stage_id !== this.upstreamStage)
        return this.reject(session, rejection('UNAUTHORIZED_UPSTREAM', `"${hello.upstream_stage_id}" is not the configured upstream of ${this.stage}`), epoch);
      if (hello.downstream_stage_id !== this.stage)
        return this.reject(session, rejection('WRONG_DOWNSTREAM', `this is ${this.stage}, not "${hello.downstream_stage_id}"`), epoch);
      if (hello.protocol_version !== protocolVersion)
        return this.reject(session, rejection('UNSUPPORTED_VERSION', `protocol version ${hello.protocol_version}; this stage speaks ${protocolVersion}`), epoch);
      session.helloSeen = true;
      session.epoch = value.epoch;
      const disposition = this.deliver({ type: 'message.received', link, message: { type: 'session.hello', epoch: value.epoch } }, session);
      if (disposition !== 'applied' || session.ended) return;
      const previous = this.serverCurrent;
      this.serverCurrent = session;
      this.log({ event: 'session.accepted', link, epoch: value.epoch });
      if (previous !== null && previous !== session && !previous.ended)
        this.reject(previous, rejection('STALE_EPOCH', `superseded by the session of epoch ${value.epoch}`), previous.epoch);
      return;
    }
    if (value.kind === 'hello') return this.reject(session, rejection('OUT_OF_ORDER', 'a second Hello on one stream'), epoch);
    if (session !== this.serverCurrent) return; // a superseded stream: discarded (REQ-WIRE-007)
    if (value.epoch !== session.epoch) return this.reject(session, rejection('STALE_EPOCH', `epoch ${value.epoch} is not this session's (${session.epoch})`), epoch);
    for (const message of value.messages) {
      const disposition = this.deliver({ type: 'message.received', link, message }, session);
      if (disposition === 'fenced') return this.reject(session, rejection('OUT_OF_ORDER', `${message.type} is not allowed in this session state`), epoch);
    }
  }

  /** Sends Rejected and ends the stream with the reason's status (REQ-WIRE-005); the end of the current session is its link.lost. */
  private reject(session: ServerSession, r: Rejection, epoch: number): void {
    if (session.ended || this.upstreamLink === null) return;
    const link = this.upstreamLink;
    const detail: WireErrorDetail = { reason: r.reason, epoch, link_id: link, message: r.message };
    this.lastRejections.set(link, detail);
    this.log({ event: 'session.rejected', link, epoch, reason: r.reason, message: r.message });
    session.ended = true;
    for (const frame of encodeUp(session.outbox)) session.call.write(frame);
    session.outbox = [];
    session.call.write({ epoch, rejected: { reason: r.reason, message: r.message } });
    session.call.emit('error', statusOf(r, { epoch, link }));
    if (this.serverCurrent === session) {
      this.serverCurrent = null;
      this.deliver({ type: 'link.lost', link }, null);
    }
  }

  private endServerSession(session: ServerSession): void {
    if (session.ended) return;
    session.ended = true;
    if (!session.call.writableEnded) session.call.end();
    if (this.serverCurrent === session && this.upstreamLink !== null) {
      this.serverCurrent = null;
      this.log({ event: 'session.ended', link: this.upstreamLink, epoch: session.epoch });
      this.deliver({ type: 'link.lost', link: this.upstreamLink }, null);
    }
  }

  // -------------------------------------------------------------------------
  // Downstream links: this stage is the client
  // -------------------------------------------------------------------------

  private connect(entry: ClientLink): void {
    if (this.stopped) return;
    entry.timer = null;
    entry.client.waitForReady(Date.now() + Math.max(1_000, entry.backoffMs), (error) => {
      if (this.stopped) return;
      if (error !== undefined && error !== null) return this.scheduleReconnect(entry);
      const call = entry.client.makeBidiStreamRequest(
        '/kubedirect.v1.Link/Session',
        (frame: UpstreamFrame) => serializeUpstream(frame),
        (bytes: Buffer) => deserializeDownstream(bytes),
      ) as ClientSession['call'];
      const session: ClientSession = { call, epoch: 0, ended: false, outbox: [], assembler: new SnapshotAssembler() };
      entry.current = session;
      call.on('data', (frame: DownstreamFrame) => this.onDownstreamFrame(entry, session, frame));
      call.on('error', (e: grpc.ServiceError) => this.endClientSession(entry, session, e.details));
      call.on('end', () => this.endClientSession(entry, session, 'stream ended'));
      call.on('status', (s: grpc.StatusObject) => this.endClientSession(entry, session, s.details));
      this.deliver({ type: 'link.connected', link: entry.link }, null);
      if (session.epoch === 0) {
        // No session to open (the side was not disconnected): give the transport back.
        session.ended = true;
        entry.current = null;
        call.cancel();
        this.scheduleReconnect(entry);
      } else this.log({ event: 'session.opened', link: entry.link, epoch: session.epoch });
    });
  }

  private scheduleReconnect(entry: ClientLink): void {
    if (this.stopped || entry.timer !== null || entry.current !== null) return;
    const delay = entry.backoffMs;
    entry.backoffMs = Math.min(reconnectBackoffMsMax, entry.backoffMs * 2);
    entry.timer = setTimeout(() => this.connect(entry), delay);
  }

  private onDownstreamFrame(entry: ClientLink, session: ClientSession, frame: DownstreamFrame): void {
    if (session.ended) return;
    const decoded = decodeDownstreamFrame(frame, this.linkContext(entry.link));
    if (!decoded.ok) {
      this.recordRejection(entry.link, decoded.rejection.reason, frame?.epoch ?? 0, `received an invalid frame: ${decoded.rejection.message}`);
      return this.endClientSession(entry, session, decoded.rejection.message);
    }
    const value = decoded.value;
    if (session.assembler.inProgress && value.kind !== 'snapshot')
      return this.endClientSession(entry, session, 'a frame between the parts of a snapshot (REQ-WIRE-008)');
    switch (value.kind) {
      case 'snapshot': {
        const message = session.assembler.add(value.epoch, value.part);
        if (message !== null) {
          entry.backoffMs = reconnectBackoffMsMin;
          this.deliver({ type: 'message.received', link: entry.link, message }, null);
        }
        return;
      }
      case 'rejected':
        this.recordRejection(entry.link, value.reason, value.epoch, value.message);
        if (value.reason === 'STALE_EPOCH')
          this.deliver({ type: 'message.received', link: entry.link, message: { type: 'session.rejected', epoch: value.epoch, reason: 'stale-epoch' } }, null);
        return;
      case 'records':
        for (const message of value.messages) {
          if (session.ended) return;
          this.deliver({ type: 'message.received', link: entry.link, message }, null);
        }
        return;
    }
  }

  private recordRejection(link: LinkId, reason: string, epoch: number, message: string): void {
    this.lastRejections.set(link, { reason, epoch, link_id: link, message });
    this.log({ event: 'session.rejection-received', link, epoch, reason, message });
  }

  private endClientSession(entry: ClientLink, session: ClientSession, why: string | undefined): void {
    if (session.ended) return;
    session.ended = true;
    session.call.cancel();
    if (entry.current !== session) return;
    entry.current = null;
    this.log({ event: 'session.ended', link: entry.link, epoch: session.epoch, why: why ?? '' });
    this.deliver({ type: 'link.lost', link: entry.link }, null);
    this.scheduleReconnect(entry);
  }

  // -------------------------------------------------------------------------
  // Scaler and Inspect
  // -------------------------------------------------------------------------

  private setScale(call: grpc.ServerUnaryCall<{ function: string; desired: number }, unknown>, callback: grpc.sendUnaryData<unknown>): void {
    const { function: fn, desired } = call.request;
    const fail = (r: Rejection): void => callback(Object.assign(new Error(r.message), statusOf(r, { epoch: 0, link: '' })) as grpc.ServiceError);
    if (!validFunctionName(fn)) return fail(rejection('MALFORMED', `bad function name ${JSON.stringify(fn)}`));
    if (!this.functions.has(fn)) return fail(rejection('UNKNOWN_FUNCTION', `function "${fn}" is not configured; configured: ${[...this.functions].join(', ')}`));
    if (!validDesired(desired)) return fail(rejection('MALFORMED', `desired must be a whole number from 0 to ${desiredMax}, got ${desired}`));
    this.deliver({ type: 'scale.requested', function: fn, desired }, null);
    // Answer once the step's store.persist is durable.
    this.whenPersisted(() => callback(null, { function: fn, desired }));
  }

  private getState(call: grpc.ServerUnaryCall<{ function: string; omit_pods: boolean }, unknown>, callback: grpc.sendUnaryData<unknown>): void {
    callback(
      null,
      inspectState({
        stage: this.stage,
        chain: this.config.chain,
        state: this.state,
        lastRejections: this.lastRejections,
        function: call.request.function ?? '',
        omitPods: call.request.omit_pods === true,
      }),
    );
  }
}

// The client stream uses the Link service's own (de)serializers.
const sessionMethod = (LinkClient.service as grpc.ServiceDefinition)['Session'];
if (sessionMethod === undefined) throw new Error('spec/kubedirect.proto: Link has no Session');
const serializeUpstream = sessionMethod.requestSerialize as (frame: UpstreamFrame) => Buffer;
const deserializeDownstream = sessionMethod.responseDeserialize as (bytes: Buffer) => DownstreamFrame;
