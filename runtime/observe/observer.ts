/**
 * What a stage process tells the outside about itself, beyond its logs: the NDJSON
 * event trace (trace.ts), Prometheus `/metrics` and `/healthz` on a loopback HTTP port.
 * The stage driver calls `started` once and `step` after each step's effects are carried
 * out; this class only observes and reports, it never changes the stage's state.
 */
import type { Server } from 'node:http';
import {
  nodeOfKubelet,
  podCacheOf,
  roleOf,
  stageIsWarm,
  podCacheClassOf,
  podMachineOfRole,
  type ChainConfig,
  type Effect,
  type StageEvent,
  type StageId,
  type StageState,
  type StepResult,
  type TracePoint,
} from '../../machines/index.js';
import { LabeledCounters, MetricRegistry } from './metrics.js';
import type { StoreHealthReport } from '../store/store-health.js';
import type { ObjectWriterStats } from '../store/store.js';
import { declareStoreMetrics, replaceStoreMetrics } from './store-metrics.js';
import { declareMetricFamilies } from './metric-catalog.js';
import { listenEndpoint, type EndpointHandler, type EndpointSecurity } from './http-endpoint.js';
import { recordIdentityJson } from './trace-encoding.js';
import { StepRecordEncoder } from './trace-bytes.js';
import { TransitionCounts } from './transition-counts.js';
import { isoNow, sessionsOf, summarizeEffect, TraceSessionsCache, TraceWriter, traceFileOf, type TraceSession } from './trace.js';

export interface ObserverOptions {
  readonly chain: ChainConfig;
  readonly stage: StageId;
  readonly incarnation: number;
  readonly dataDir: string;
  /** host:port of /metrics and /healthz (port 0 picks a free one); none: no HTTP endpoint. */
  readonly metricsAddress: string | null;
  /** Mutual TLS of the endpoint, required on a non-loopback metricsAddress (http-endpoint.ts); absent: plain HTTP. */
  readonly endpointSecurity?: EndpointSecurity | null;
  readonly warn: (message: string) => void;
  /** The stage's current state (read at scrape time for the gauges). */
  readonly state: () => StageState;
  /** The backing store's health and Pod object writes at this stage (read at scrape time); none: not reported. */
  readonly store?: () => { readonly health: StoreHealthReport; readonly writes: Readonly<ObjectWriterStats> };
  /** Times a supervisor restarted this stage after a failure, as it told this process at start (0 when unsupervised). */
  readonly restarts?: number;
}

export class StageObserver {
  readonly metrics: MetricRegistry;
  private readonly trace: TraceWriter;
  private readonly node: string;
  /** Writes this incarnation's step records as bytes (trace-bytes.ts). */
  private readonly records: StepRecordEncoder;
  private seq = 0;
  /** The session sides of the last record (the state before the next step), to count sessions opened. */
  private readonly sessions = new TraceSessionsCache();
  private readonly counters: {
    readonly steps: LabeledCounters;
    readonly received: LabeledCounters;
    readonly sent: LabeledCounters;
    readonly fenced: LabeledCounters;
    readonly sessionsOpened: LabeledCounters;
    readonly invalidations: LabeledCounters;
    readonly tombstones: LabeledCounters;
    readonly podTransitions: LabeledCounters;
    readonly sandboxEffects: LabeledCounters;
  };
  /** What each distinct pod transition counts (transition-counts.ts). */
  private readonly transitionCounts: TransitionCounts;
  private server: Server | null = null;
  port = 0;

  constructor(private readonly options: ObserverOptions) {
    this.node = roleOf(options.stage) === 'kubelet' ? nodeOfKubelet(options.stage) : '';
    this.trace = new TraceWriter(traceFileOf(options.dataDir), options.warn);
    this.records = new StepRecordEncoder(recordIdentityJson(options.stage, options.incarnation));
    const m = new MetricRegistry({ stage: options.stage });
    declareMetricFamilies(m, 'observer');
    declareStoreMetrics(m);
    m.set('kubedirect_incarnation', {}, options.incarnation);
    m.set('kubedirect_stage_restarts_total', {}, options.restarts ?? 0);
    this.metrics = m;
    this.counters = {
      steps: new LabeledCounters(m, 'kubedirect_stage_steps_total', ['event']),
      received: new LabeledCounters(m, 'kubedirect_messages_received_total', ['link', 'type', 'disposition']),
      sent: new LabeledCounters(m, 'kubedirect_messages_sent_total', ['link', 'type']),
      fenced: new LabeledCounters(m, 'kubedirect_messages_fenced_total', ['link']),
      sessionsOpened: new LabeledCounters(m, 'kubedirect_sessions_opened_total', ['link']),
      invalidations: new LabeledCounters(m, 'kubedirect_invalidations_total', ['reason']),
      tombstones: new LabeledCounters(m, 'kubedirect_tombstones_total', []),
      podTransitions: new LabeledCounters(m, 'kubedirect_pod_transitions_total', ['machine', 'event']),
      sandboxEffects: new LabeledCounters(m, 'kubedirect_sandbox_effects_total', ['effect']),
    };
    this.transitionCounts = new TransitionCounts(this.counters.podTransitions, this.counters.tombstones, this.counters.invalidations);
  }

  /** The boot record: the state after initStage and the boot effects about to be carried out. */
  started(state: StageState, bootEffects: readonly Effect[]): void {
    const kubelet = state.role === 'kubelet';
    const capacity = this.options.chain.nodes.find((n) => n.name === this.node)?.capacity;
    this.sessions.update(state);
    this.trace.append({
      t: isoNow(),
      stage: this.options.stage,
      incarnation: this.options.incarnation,
      seq: 0,
      event: { type: 'stage.started' },
      disposition: 'none',
      transitions: [],
      effects: bootEffects.map((e) => summarizeEffect(e, this.node)),
      sessions: this.sessions.sessions,
      ...(kubelet ? { capacity: capacity ?? 0, sandboxes: podCacheOf(state).names() } : {}),
    });
  }

  /** One step, recorded before its effects are carried out (a nested step, if any, is then recorded after it). */
  step(event: StageEvent, result: StepResult<StageState>): void {
    this.seq++;
    const before = this.sessions.sessions;
    const sessionsChanged = this.sessions.update(result.state);
    const out = this.trace.begin();
    if (out !== null) {
      this.records.write(out, isoNow(), this.seq, event, result, this.node, sessionsChanged ? this.sessions.json : null);
      this.trace.commit();
    }
    this.count(event, result);
    // Every state change is a step, so the last record's sessions are those of the state before this step.
    if (sessionsChanged) this.countSessionsOpened(before, this.sessions.sessions);
  }

  private count(event: StageEvent, result: StepResult<StageState>): void {
    const counters = this.counters;
    counters.steps.of(event.type).inc();
    if (event.type === 'message.received') {
      counters.received.of(event.link, event.message.type, result.disposition).inc();
      if (result.disposition === 'fenced') counters.fenced.of(event.link).inc();
    }
    for (const effect of result.effects) {
      if (effect.type === 'message.send') counters.sent.of(effect.link, effect.message.type).inc();
      if (effect.type === 'sandbox.start' || effect.type === 'sandbox.kill') counters.sandboxEffects.of(effect.type).inc();
    }
    const trace = result.trace;
    for (let i = 0; i < trace.length; i++) this.transitionCounts.count(trace[i] as TracePoint);
  }

  private countSessionsOpened(before: readonly TraceSession[], after: readonly TraceSession[]): void {
    for (const side of after) {
      if (side.epoch === 0) continue;
      const previous = before.find((s) => s.end === side.end && s.link === side.link);
      if (side.epoch !== previous?.epoch) this.counters.sessionsOpened.of(side.link).inc();
    }
  }

  /** The step's effects were carried out: `elapsedNs` covers the step and its effects (the stage latency). */
  stepDone(elapsedNs: bigint): void {
    this.metrics.observeStepSeconds(Number(elapsedNs) / 1e9);
  }

  /** The gauges read from the current state, then the exposition. */
  exposition(): string {
    const state = this.options.state();
    const counts = { dirty: 0, clean: 0, tombstone: 0, waiting: 0 };
    const pods = podCacheOf(state);
    const machine = podMachineOfRole(roleOf(this.options.stage));
    if (machine !== null)
      for (const lifecycle of pods.lifecycles()) {
        const cacheClass = podCacheClassOf(machine, lifecycle);
        if (cacheClass !== null) counts[cacheClass] += pods.countIn(lifecycle);
      }
    this.metrics.replace(
      'kubedirect_cache_pods',
      Object.entries(counts).map(([cls, value]) => ({ labels: { state: cls }, value })),
    );
    this.metrics.replace(
      'kubedirect_epoch',
      sessionsOf(state).map((s) => ({ labels: { link: s.link }, value: s.epoch })),
    );
    const store = this.options.store?.();
    if (store !== undefined) replaceStoreMetrics(this.metrics, store.health, store.writes);
    return this.metrics.exposition();
  }

  health(): { status: 'serving'; stage: string; incarnation: number; warm: boolean; store?: StoreHealthReport } {
    const store = this.options.store?.().health;
    return { status: 'serving', stage: this.options.stage, incarnation: this.options.incarnation, warm: stageIsWarm(this.options.state()), ...(store === undefined ? {} : { store }) };
  }

  /** Serves /metrics and /healthz on the configured address, if any (runtime/observe/http-endpoint.ts: plain HTTP on loopback, else mutual TLS). */
  async listen(): Promise<void> {
    const address = this.options.metricsAddress;
    if (address === null) return;
    const handler: EndpointHandler = (request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (request.method !== 'GET') {
        response.writeHead(405, { allow: 'GET' }).end();
      } else if (path === '/metrics') {
        response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(this.exposition());
      } else if (path === '/healthz') {
        response.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(this.health())}\n`);
      } else {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
      }
    };
    const { server, port } = await listenEndpoint(address, handler, this.options.endpointSecurity ?? null, (why) => this.options.warn(`metrics endpoint refused a request: ${why}`));
    this.port = port;
    this.server = server;
  }

  /** Writes what is buffered and stops serving. */
  async close(): Promise<void> {
    this.trace.close();
    const server = this.server;
    this.server = null;
    if (server === null) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  /** Writes what is buffered now (before a process exit). */
  flush(): void {
    this.trace.flush();
  }
}
