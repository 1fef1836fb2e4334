/**
 * One stage of the chain as an OS process: the stage driver (stage-driver.ts, the
 * machines of machines/ and their effects) plus the gRPC server and the link
 * transports (grpc-upstream-link.ts, grpc-downstream-link.ts). This file only wires
 * them together and serves the `Scaler`, `Inspect` and health services; it decides
 * nothing about the protocol.
 */
import * as grpc from '@grpc/grpc-js';
import { linkEnds, roleOf, type StageId, type StageState } from '../../machines/index.js';
import { readCriInventory, type CriInventory } from './cri/cri-sandboxes.js';
import { sessionRecordsQueuedMax } from '../../spec/limits.js';
import { dialAddressOf, downstreamLinksOf, endpointOf, frameBytesLimitOf, receiveSliceMsFirstOf, sandboxDriverOf, upstreamLinkOf, type ClusterConfig } from '../config.js';
import { openStore } from '../store/open-store.js';
import { validFunctionName } from '../wire/codec.js';
import { rejection, statusOf, type Rejection } from '../wire/errors.js';
import { installFramingChecks } from '../wire/grpc-framing.js';
import { HealthClient, healthSchema, healthService } from '../wire/health.js';
import { InspectClient, isUndecodable, ScalerClient, strictServiceOf, type Undecodable } from '../wire/proto.js';
import { GrpcDownstreamLink } from './grpc-downstream-link.js';
import { GrpcUpstreamLink, linkService, serverReceiveBytesMaxOf } from './grpc-upstream-link.js';
import { connectionLimitOptions, limitPeerConnections } from './connection-limits.js';
import { declareFlowMetrics, type LinkFlow } from './flow-control.js';
import { inspectState } from './inspect.js';
import type { Logger } from './link-transport.js';
import { StageDriver } from './stage-driver.js';
import { mediatedTransportsOf, type MediatedTransports } from '../mediated/transport.js';
import { stageSecurityOf, type StageSecurity } from '../security/credentials.js';
import type { BackingStore } from '../store/store.js';
import { storeUnavailableReason, type StoreHealthReport } from '../store/store-health.js';
import { loadDesiredWhenAvailable } from './store-wait.js';

export type { Logger } from './link-transport.js';

const service = (c: grpc.ServiceClientConstructor): grpc.ServiceDefinition => c.service;

/**
 * The Scaler's answer when the backing store does not store a desired count: gRPC
 * `UNAVAILABLE`, details `STORE_UNAVAILABLE: …` (what `kd scale` reports with exit code 4,
 * "not stored"), saying whether the count may still be applied.
 */
function storeUnavailableError(store: StoreHealthReport, outcome: string): grpc.ServiceError {
  const since = store.unavailableSince === undefined ? '' : ` since ${store.unavailableSince}`;
  const why = store.lastError === undefined ? '' : ` (${store.lastError})`;
  const details = `${storeUnavailableReason}: the backing store (${store.store}) is unavailable${since}${why}: ${outcome}`;
  return Object.assign(new Error(details), { code: grpc.status.UNAVAILABLE, details, metadata: new grpc.Metadata() });
}

export class StageNode {
  private readonly driver: StageDriver;
  private readonly server: grpc.Server;
  private readonly upstream: GrpcUpstreamLink | null;
  private readonly downstreams: GrpcDownstreamLink[];
  /** The store-mediated transports (runtime/mediated/) when the config's transport says so; then no gRPC link is made. */
  private readonly mediated: MediatedTransports | null;
  private readonly functions: ReadonlySet<string>;
  /** Plaintext, or mutual TLS with the access policy of the stage (runtime/security/credentials.ts). */
  private readonly security: StageSecurity;
  private listening = false;
  /** Removes this stage's listener of gRPC framing errors (runtime/wire/grpc-framing.ts). */
  private stopFramingLog: () => void = () => {};
  port = 0;

  constructor(
    private readonly config: ClusterConfig,
    readonly stage: StageId,
    private readonly log: Logger,
    backing: BackingStore,
    durableDesired: Readonly<Record<string, number>>,
    criInventory: CriInventory | null = null,
  ) {
    this.functions = new Set(config.chain.functions.map((f) => f.name));
    this.security = stageSecurityOf(config, stage, log);
    this.driver = new StageDriver(config, stage, log, backing, durableDesired, criInventory);
    // Flow control (flow-control.ts): the link's frame size limit, the send queue bound, and their metrics.
    const flow: LinkFlow = { frameBytesMax: frameBytesLimitOf(config), recordsQueuedMax: sessionRecordsQueuedMax, receiveSliceMsFirst: receiveSliceMsFirstOf(config), metrics: declareFlowMetrics(this.driver.observer.metrics) };
    // Only received messages are capped on the server: Link frames sent are cut to the limit by the writer, and Inspect answers may be larger.
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': serverReceiveBytesMaxOf(flow.frameBytesMax),
      'grpc.keepalive_permit_without_calls': 1,
      ...connectionLimitOptions,
    });
    const upstreamLink = upstreamLinkOf(config, stage);
    this.mediated = mediatedTransportsOf(config, stage, this.functions, this.driver, this.driver.incarnation);
    this.upstream = upstreamLink === null || this.mediated !== null ? null : new GrpcUpstreamLink(upstreamLink, stage, this.functions, this.driver, flow);
    this.downstreams = (this.mediated !== null ? [] : downstreamLinksOf(config, stage)).map((link) => {
      const downstream = linkEnds(link).downstream;
      const channel = this.security.channelTo(downstream);
      return new GrpcDownstreamLink(link, stage, dialAddressOf(config, link), channel.credentials, this.functions, this.driver, channel.options, flow);
    });
    this.driver.boot(this.mediated?.upstream ?? this.upstream, this.mediated?.downstreams ?? this.downstreams);
  }

  get incarnation(): number {
    return this.driver.incarnation;
  }

  /** Opens the configured backing store (loading the Autoscaler's durable desired counts) and makes the stage. */
  static async open(config: ClusterConfig, stage: StageId, log: Logger): Promise<StageNode> {
    const backing = openStore(config, (record) => log(record));
    const durableDesired = stage === 'autoscaler' ? await loadDesiredWhenAvailable(backing, stage, config.stages[stage]?.metricsAddress ?? null, log) : {};
    log({ event: 'store.opened', store: backing.kind, desired: durableDesired });
    // A cri Kubelet lists what its container runtime holds for it before it is made (the machines' inventory is read synchronously).
    const cri = config.sandbox.cri;
    const criInventory = roleOf(stage) === 'kubelet' && sandboxDriverOf(config) === 'cri' && cri !== undefined ? await readCriInventory(endpointOf(config, stage).dataDir, cri) : null;
    if (criInventory !== null) log({ event: 'cri.inventory', endpoint: cri?.endpoint, sandboxes: criInventory.sandboxes.length, containers: criInventory.containers.length });
    return new StageNode(config, stage, log, backing, durableDesired, criInventory);
  }

  /** Binds the server (loopback address of the config) and starts the downstream links. */
  async start(): Promise<void> {
    this.stopFramingLog = installFramingChecks((path, why) => this.log({ event: 'request.rejected', path, reason: 'MALFORMED', message: why }));
    if (this.upstream !== null) this.server.addService(linkService, { Session: this.upstream.accept });
    // Every request is read by the strict decoder (runtime/wire/strict-decoder.ts): bytes that are not a request get MALFORMED, never INTERNAL.
    if (this.driver.desiredStore !== null) this.server.addService(strictServiceOf(service(ScalerClient)), { SetScale: this.setScale.bind(this), SetScales: this.setScales.bind(this) });
    this.server.addService(strictServiceOf(service(InspectClient)), { GetState: this.getState.bind(this) });
    this.server.addService(strictServiceOf(service(HealthClient), healthSchema), healthService(() => this.listening && !this.driver.stopped, (why) => this.refuseUndecodable('Health', why)));
    const address = endpointOf(this.config, this.stage).address;
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(address, this.security.server, (error, port) => (error === null ? resolve(port) : reject(error))),
    );
    limitPeerConnections(this.server, this.log);
    await this.mediated?.start();
    for (const link of this.downstreams) link.start();
    await this.driver.observer.listen();
    this.listening = true;
    this.log({ event: 'stage.listening', stage: this.stage, address, port: this.port, metricsPort: this.driver.observer.port, tls: this.security.tls });
  }

  async stop(): Promise<void> {
    this.stopFramingLog();
    await this.driver.stop();
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
    await this.driver.closeStore();
  }

  /** The stage's state (read-only; for tests and Inspect). */
  get stageState(): StageState {
    return this.driver.stageState;
  }

  /** The status of a request that is not one (REQ-WIRE-014): MALFORMED with its ErrorDetail, and a log line. */
  private refuseUndecodable(service: string, why: string): grpc.ServiceError {
    const r = rejection('MALFORMED', `undecodable ${service} request: ${why}`);
    this.log({ event: 'request.rejected', service, reason: r.reason, message: r.message });
    return Object.assign(new Error(r.message), statusOf(r, { epoch: 0, link: '' })) as grpc.ServiceError;
  }

  private setScale(call: grpc.ServerUnaryCall<{ function: string; desired: number } | Undecodable, unknown>, callback: grpc.sendUnaryData<unknown>): void {
    if (isUndecodable(call.request)) return callback(this.refuseUndecodable('Scaler', call.request.undecodable));
    const { function: fn, desired } = call.request;
    const fail = (r: Rejection): void => {
      this.log({ event: 'request.rejected', service: 'Scaler', reason: r.reason, message: r.message });
      callback(Object.assign(new Error(r.message), statusOf(r, { epoch: 0, link: '' })) as grpc.ServiceError);
    };
    if (!validFunctionName(fn)) return fail(rejection('MALFORMED', `bad function name ${JSON.stringify(fn)}`));
    // The store is known to be down: nothing is asked of the machines, so nothing changes.
    const health = this.driver.storeHealth;
    if (!health.isAvailable) return callback(storeUnavailableError(health.report(), `the desired count of ${fn} was not stored and not applied: nothing changed; scale again once the store is back (kd status shows it)`));
    // The machines decide what a valid request is (REQ-SCALE-001); this only maps their answer to a status.
    const refused = this.driver.request({ type: 'scale.requested', function: fn, desired });
    if (refused !== null) return fail(rejection(refused.reason === 'unknown-function' ? 'UNKNOWN_FUNCTION' : 'MALFORMED', refused.message));
    // Answer once the step's store.persist is durable, or as soon as a write of it fails.
    let answered = false;
    this.driver.whenPersisted(
      () => {
        if (answered) return;
        answered = true;
        callback(null, { function: fn, desired });
      },
      () => {
        if (answered) return;
        answered = true;
        callback(storeUnavailableError(health.report(), `the desired count ${desired} of ${fn} is not stored yet; the Autoscaler holds it and keeps retrying, so it may still be stored and applied once the store is back (kd status shows the desired count it holds)`));
      },
    );
  }

  /** Scaler.SetScales (REQ-SCALE-007, REQ-SCALE-008): every entry stored and forwarded, or none (the first bad entry gives the status SetScale would). */
  private setScales(call: grpc.ServerUnaryCall<{ scales?: Array<{ function: string; desired: number }> } | Undecodable, unknown>, callback: grpc.sendUnaryData<unknown>): void {
    if (isUndecodable(call.request)) return callback(this.refuseUndecodable('Scaler', call.request.undecodable));
    const scales = (call.request.scales ?? []).map((s) => ({ function: s.function ?? '', desired: s.desired ?? 0 }));
    const fail = (r: Rejection): void => {
      this.log({ event: 'request.rejected', service: 'Scaler', reason: r.reason, message: r.message });
      callback(Object.assign(new Error(r.message), statusOf(r, { epoch: 0, link: '' })) as grpc.ServiceError);
    };
    // A name that is no function name is a malformed message (as for SetScale); what a valid request is, the machines decide.
    for (const [index, { function: fn }] of scales.entries()) if (!validFunctionName(fn)) return fail(rejection('MALFORMED', `entry ${index}: bad function name ${JSON.stringify(fn)}; nothing was stored`));
    const health = this.driver.storeHealth;
    if (!health.isAvailable) return callback(storeUnavailableError(health.report(), `none of the ${scales.length} desired counts was stored or applied: nothing changed; scale again once the store is back (kd status shows it)`));
    // The Autoscaler machine judges the whole request (REQ-SCALE-007: entries, count, duplicates) and takes all of it or none, in one step.
    const refused = this.driver.request({ type: 'scales.requested', scales });
    if (refused !== null) return fail(rejection(refused.reason === 'unknown-function' ? 'UNKNOWN_FUNCTION' : 'MALFORMED', refused.message));
    let answered = false;
    this.driver.whenPersisted(
      () => {
        if (answered) return;
        answered = true;
        callback(null, { scales });
      },
      () => {
        if (answered) return;
        answered = true;
        callback(storeUnavailableError(health.report(), `the ${scales.length} desired counts are not stored yet; the Autoscaler holds them and keeps retrying, so they may still be stored and applied once the store is back (kd status shows the desired counts it holds)`));
      },
    );
  }

  private getState(call: grpc.ServerUnaryCall<{ function: string; omit_pods: boolean } | Undecodable, unknown>, callback: grpc.sendUnaryData<unknown>): void {
    if (isUndecodable(call.request)) return callback(this.refuseUndecodable('Inspect', call.request.undecodable));
    callback(
      null,
      inspectState({
        stage: this.stage,
        chain: this.config.chain,
        state: this.driver.stageState,
        lastRejections: this.driver.lastRejections,
        function: call.request.function ?? '',
        omitPods: call.request.omit_pods === true,
      }),
    );
  }
}
