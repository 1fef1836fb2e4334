/**
 * The transport-independent half of a stage process: it owns the stage's state, steps
 * the machines of machines/ with one event at a time and carries out their effects in
 * order (machines/README.md is the contract). It decides nothing about the protocol.
 *
 * - `message.send` goes to the link's transport (link-transport.ts).
 * - `store.persist` goes to the backing store (runtime/store/); every later effect is
 *   held until the write is durable (REQ-FAIL-002: before any later send). The counts
 *   persisted in one event-loop turn, and those met among the held effects, are written
 *   together (group commit): a burst over 100 functions is 100 concurrent scale requests,
 *   and one fsynced write each put 2 ms apiece on the Autoscaler's critical path.
 * - `sandbox.start` / `sandbox.kill` go to the sandbox runtime of a Kubelet.
 */
import {
  assert,
  bootEffects,
  nodeOfKubelet,
  unreachable,
  initStage,
  roleOf,
  stepStage,
  type Disposition,
  type DownMessage,
  type Effect,
  type InputRejection,
  type LinkIntent,
  type StepResult,
  type LinkId,
  type StageEvent,
  type StageId,
  type StageState,
  type UpMessage,
} from '../../machines/index.js';
import { reconnectBackoffMsMax, reconnectBackoffMsMin } from '../../spec/limits.js';
import { endpointOf, sandboxDriverOf, type ClusterConfig } from '../config.js';
import { StageObserver } from '../observe/observer.js';
import { stageRestartsEnv } from '../cluster/supervisor.js';
import { metricsEndpointSecurityOf } from '../security/credentials.js';
import { podWritesOf } from '../store/pod-objects.js';
import { PodObjectResync } from '../store/pod-object-resync.js';
import type { BackingStore } from '../store/store.js';
import type { StoreHealth } from '../store/store-health.js';
import type { WireErrorDetail } from '../wire/proto.js';
import { nextIncarnation } from './durable.js';
import type { DownstreamLinkTransport, Logger, SessionOrigin, StagePort, UpstreamLinkTransport } from './link-transport.js';
import { ProcessSandboxes } from './process-sandboxes.js';
import type { SandboxReporter, SandboxRuntime } from './sandbox-runtime.js';
import { SimulatedSandboxes } from './simulated-sandboxes.js';
import { CriSandboxes, type CriInventory } from './cri/cri-sandboxes.js';

type HeldEffect = readonly [Effect, SessionOrigin | null];

export class StageDriver implements StagePort {
  private state: StageState;
  readonly incarnation: number;
  /** The backing store at the Autoscaler (desired counts); null at every other stage. */
  readonly desiredStore: BackingStore | null;
  readonly sandboxes: SandboxRuntime | null;
  readonly observer: StageObserver;
  /** Whether this stage writes Pod objects to the store (`store.podObjects`, default true). */
  private readonly podObjects: boolean;
  /** Writes the Pod objects again from what this stage knows after writes were lost (pod-object-resync.ts); null when it writes none. */
  private readonly podObjectResync: PodObjectResync | null;
  /** The pending retry of a desired-count write the store refused; null when none. */
  private persistRetry: NodeJS.Timeout | null = null;
  readonly lastRejections = new Map<LinkId, WireErrorDetail>();
  stopped = false;
  private upstream: UpstreamLinkTransport | null = null;
  private readonly downstreams = new Map<LinkId, DownstreamLinkTransport>();
  /** Effects waiting for a `store.persist` pending or in flight; null when none is. */
  private heldEffects: HeldEffect[] | null = null;
  /** Desired counts of the batch not yet handed to the store (it is written at the end of this turn); null when none is open. */
  private openDesiredBatch: Map<string, number> | null = null;
  /** `store.persist` effects the machines asked for, and how many of them are durable (a prefix: batches are written in order). */
  private persistsRequested = 0;
  private persistsDurable = 0;
  /** `store.persist` effects in the open batch (a function may come twice). */
  private openBatchPersists = 0;
  /** Callers of `whenPersisted`, each with the persists that must be durable first. */
  private persistedWaiters: Array<{ readonly needed: number; readonly then: () => void; notStored: ((error: string) => void) | null }> = [];

  constructor(
    readonly config: ClusterConfig,
    readonly stage: StageId,
    readonly log: Logger,
    private readonly backing: BackingStore,
    durableDesired: Readonly<Record<string, number>>,
    /** A cri Kubelet's sandboxes as its runtime lists them (read before, since listing is asynchronous: StageNode.open). */
    criInventory: CriInventory | null = null,
  ) {
    const endpoint = endpointOf(config, stage);
    this.incarnation = nextIncarnation(endpoint.dataDir);
    const role = roleOf(stage);
    this.desiredStore = role === 'autoscaler' ? backing : null;
    this.podObjects = config.store?.podObjects !== false;
    // A report is already the event the Kubelet is delivered (same type and pod).
    const report: SandboxReporter = (r) => this.deliver(r, null);
    this.sandboxes = role !== 'kubelet' ? null : sandboxRuntimeOf(config, stage, endpoint.dataDir, criInventory, report);
    this.state = initStage(config.chain, stage, {
      incarnation: this.incarnation,
      ...(this.desiredStore === null ? {} : { durableDesired }),
      ...(this.sandboxes === null ? {} : { inventory: this.sandboxes.inventory() }),
    });
    this.log({ event: 'stage.started', stage, incarnation: this.incarnation, sandboxes: this.sandboxes?.count() ?? 0, ...(this.sandboxes === null ? {} : { sandboxDriver: sandboxDriverOf(config) }) });
    this.observer = new StageObserver({
      chain: config.chain,
      stage,
      incarnation: this.incarnation,
      dataDir: endpoint.dataDir,
      metricsAddress: endpoint.metricsAddress ?? null,
      endpointSecurity: metricsEndpointSecurityOf(config, stage),
      warn: (message) => this.log({ event: 'trace.warning', message }),
      state: () => this.state,
      store: () => ({ health: backing.health.report(), writes: backing.stats }),
      restarts: restartsOfEnvironment(),
    });
    this.podObjectResync = this.podObjects && role !== 'autoscaler' && role !== 'deployment' ? new PodObjectResync(backing, () => this.state, log) : null;
    this.podObjectResync?.start();
  }

  /** The stage's state (read-only; for Inspect and tests). */
  get stageState(): StageState {
    return this.state;
  }

  /** Connects the link transports, then carries out the boot effects and resumes the sandboxes. */
  boot(upstream: UpstreamLinkTransport | null, downstreams: readonly DownstreamLinkTransport[]): void {
    this.upstream = upstream;
    for (const d of downstreams) this.downstreams.set(d.link, d);
    const boot = bootEffects(this.state);
    this.observer.started(this.state, boot);
    for (const effect of boot) this.carryOutOfStep(effect, null);
    this.sandboxes?.resume();
  }

  /** Stops delivering, flushes the trace, stops the sandbox timers and ends every session. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.persistRetry !== null) clearTimeout(this.persistRetry);
    this.persistRetry = null;
    this.podObjectResync?.stop();
    await this.observer.close();
    this.sandboxes?.stop();
    await Promise.all([...this.downstreams.values()].map((d) => d.stop()));
    await this.upstream?.stop();
  }

  /** Closes the backing store (after the server is down). */
  async closeStore(): Promise<void> {
    await this.backing.close();
  }

  recordRejection(link: LinkId, detail: WireErrorDetail): void {
    this.lastRejections.set(link, detail);
  }

  /** Steps the machine with one event and carries out its effects in order. `origin` is the session a received message came on. */
  deliver(event: StageEvent, origin: SessionOrigin | null): Disposition {
    return this.step(event, origin)?.disposition ?? 'none';
  }

  /** Delivers a request (`scale.requested`, or `scales.requested`, taken all or none by the machines); returns why the machines refused it, or null when they took it. */
  request(event: StageEvent): InputRejection | null {
    return this.step(event, null)?.rejection ?? null;
  }

  private step(event: StageEvent, origin: SessionOrigin | null): StepResult<StageState> | null {
    if (this.stopped) return null;
    const startedNs = process.hrtime.bigint();
    const before = this.state;
    let result;
    try {
      result = stepStage(this.config.chain, this.stage, this.state, event);
    } catch (error) {
      // An InvariantViolation is a bug: stop, never continue (REQ-FAIL-008, machines/README.md).
      this.log({ event: 'stage.failed', stage: this.stage, error: String((error as Error).stack ?? error), on: event });
      this.observer.flush();
      process.exit(70);
    }
    this.state = result.state;
    if (result.rejection !== undefined) this.log({ event: 'input.rejected', on: event.type, reason: result.rejection.reason, message: result.rejection.message });
    this.observer.step(event, result);
    if (this.podObjects) for (const write of podWritesOf(result.trace, before, result.state)) this.backing.enqueuePod(write);
    // Link intents first: the transport of a session just opened must carry the hello among the effects.
    for (const intent of result.links) this.carryOutLinkIntent(intent);
    for (const effect of result.effects) this.carryOutOfStep(effect, origin);
    this.observer.stepDone(process.hrtime.bigint() - startedNs);
    return result;
  }

  /**
   * Runs `then` once every `store.persist` asked for so far is durable. If a write of
   * them fails first, `notStored` runs (once) with the store's error: the counts are still
   * retried, so `then` may still run later (the Scaler has answered by then).
   */
  whenPersisted(then: () => void, notStored: (error: string) => void = () => {}): void {
    if (this.persistsDurable >= this.persistsRequested) then();
    else this.persistedWaiters.push({ needed: this.persistsRequested, then, notStored });
  }

  /** The backing store's health at this stage (store-health.ts). */
  get storeHealth(): StoreHealth {
    return this.backing.health;
  }

  /** A session opened or ended at this end (machines/README.md, "Link intents"): told to the link's transport. */
  private carryOutLinkIntent(intent: LinkIntent): void {
    if (intent.link === this.upstream?.link) {
      if (intent.kind === 'close') this.upstream.sessionClosed?.(intent.epoch);
      return;
    }
    const transport = this.downstreamOf(intent.link);
    if (intent.kind === 'open') transport.sessionOpened?.(intent.epoch);
    else transport.sessionClosed?.(intent.epoch);
  }

  /** An effect of a step (or of the boot), in order: counted when it is a `store.persist`, then carried out or held. */
  private carryOutOfStep(effect: Effect, origin: SessionOrigin | null): void {
    if (effect.type === 'store.persist') this.persistsRequested++;
    this.carryOutInOrder(effect, origin);
  }

  private carryOut(effect: Effect, origin: SessionOrigin | null): void {
    switch (effect.type) {
      case 'message.send':
        if (effect.link === this.upstream?.link) this.upstream.send(effect.message as UpMessage, origin);
        else this.downstreamOf(effect.link).send(effect.message as DownMessage);
        return;
      case 'store.persist':
        this.openBatchWith(effect.function, effect.desired);
        return;
      case 'sandbox.start':
        this.requireSandboxes().start(effect.pod);
        return;
      case 'sandbox.kill':
        this.requireSandboxes().kill(effect.pod, effect.origin);
        return;
    }
  }

  /**
   * Carries out an effect, or holds it while a `store.persist` is pending or in flight
   * (effects keep their order). A `store.persist` joins the open batch even behind held
   * effects: a count made durable sooner than needed delays nothing, and the held effects
   * still wait for it.
   */
  private carryOutInOrder(effect: Effect, origin: SessionOrigin | null): void {
    if (effect.type === 'store.persist' && this.openDesiredBatch !== null) {
      this.openDesiredBatch.set(effect.function, effect.desired);
      this.openBatchPersists++;
    } else if (this.heldEffects !== null) this.heldEffects.push([effect, origin]);
    else this.carryOut(effect, origin);
  }

  /** Opens a batch of desired counts with this one, written at the end of the turn; every later effect is held until it is durable. */
  private openBatchWith(fn: string, desired: number): void {
    const store = this.desiredStore;
    if (store === null) throw new Error(`store.persist at ${this.stage}`);
    assert(this.openDesiredBatch === null && this.heldEffects === null, 'a batch of desired counts opens only when nothing is held');
    const batch = new Map([[fn, desired]]);
    this.openDesiredBatch = batch;
    this.openBatchPersists = 1;
    this.heldEffects = [];
    setImmediate(() => {
      const persists = this.openBatchPersists;
      this.openDesiredBatch = null;
      this.openBatchPersists = 0;
      // Stopped first: nothing after these counts was sent or answered, as if they were never asked for.
      if (!this.stopped) this.persist(store, batch, persists, 0);
    });
  }

  /** Writes a batch of desired counts (`persists` effects); every later effect waits until the store says it is durable (retried while the store is down). */
  private persist(store: BackingStore, batch: ReadonlyMap<string, number>, persists: number, attempt: number): void {
    store.putDesiredCounts(batch).then(
      () => {
        store.health.markAvailable();
        this.log({ event: 'store.persisted', desired: Object.fromEntries(batch), store: store.kind });
        this.persistsDurable += persists;
        assert(this.persistsDurable <= this.persistsRequested, 'no more persists durable than asked for');
        const held = this.heldEffects ?? [];
        this.heldEffects = null;
        for (const [effect, origin] of held) this.carryOutInOrder(effect, origin);
        const due = this.persistedWaiters.filter((w) => w.needed <= this.persistsDurable);
        this.persistedWaiters = this.persistedWaiters.filter((w) => w.needed > this.persistsDurable);
        // The waiters (Scaler answers) run after the frames just queued are written: the
        // links flush in a setImmediate queued while the held effects were carried out.
        // Answering 100 SetScale calls first took 13 to 20 ms, all before the Deployment
        // saw the first count.
        if (due.length > 0) setImmediate(() => { for (const w of due) w.then(); });
      },
      (error: Error) => {
        this.log({ event: 'store.persist-failed', desired: Object.fromEntries(batch), store: store.kind, attempt, error: error.message });
        store.health.markUnavailable(error.message);
        for (const waiter of this.persistedWaiters) {
          const notStored = waiter.notStored;
          waiter.notStored = null;
          notStored?.(error.message);
        }
        if (this.stopped) return;
        // Kept to be cleared at stop: a pending retry kept a stopped Autoscaler alive past kd down's grace (5 s).
        this.persistRetry = setTimeout(() => {
          this.persistRetry = null;
          if (!this.stopped) this.persist(store, batch, persists, attempt + 1);
        }, Math.min(reconnectBackoffMsMax, reconnectBackoffMsMin * 2 ** attempt));
      },
    );
  }

  private downstreamOf(link: LinkId): DownstreamLinkTransport {
    const transport = this.downstreams.get(link);
    if (transport === undefined) throw new Error(`message.send on ${link}, which is not a link of ${this.stage}`);
    return transport;
  }

  private requireSandboxes(): SandboxRuntime {
    if (this.sandboxes === null) throw new Error(`sandbox effect at ${this.stage}`);
    return this.sandboxes;
  }
}

/** The restart count a supervisor handed this process (runtime/cluster/supervisor.ts, KD_STAGE_RESTARTS); 0 without one or for a value that is not a count. */
function restartsOfEnvironment(): number {
  const raw = process.env[stageRestartsEnv];
  if (raw === undefined || !/^\d{1,9}$/.test(raw)) return 0;
  return Number(raw);
}

/** The sandbox runtime of a Kubelet, by the configuration's driver. */
function sandboxRuntimeOf(config: ClusterConfig, stage: StageId, dataDir: string, criInventory: CriInventory | null, report: SandboxReporter): SandboxRuntime {
  const driver = sandboxDriverOf(config);
  switch (driver) {
    case 'process':
      return new ProcessSandboxes(dataDir, report);
    case 'simulated':
      return new SimulatedSandboxes(dataDir, config.sandbox, report);
    case 'cri': {
      const cri = config.sandbox.cri;
      if (cri === undefined || criInventory === null) throw new Error(`${stage}: the cri driver needs sandbox.cri and the runtime's inventory read first (StageNode.open)`);
      return new CriSandboxes(dataDir, nodeOfKubelet(stage), cri, criInventory, report);
    }
    default:
      return unreachable(driver, 'sandbox driver');
  }
}
