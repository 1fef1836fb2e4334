/**
 * The configuration of a cluster of stage processes: the chain (functions, nodes),
 * where each stage listens, where it keeps its durable data, and the simulated
 * sandbox runtime. One JSON file shared by every stage (`kd node --config FILE`).
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, dirname, resolve } from 'node:path';
import { storeConfigOf, type StoreConfig } from './store/store.js';
import { transportConfigOf, type TransportConfig } from './mediated/transport-config.js';
import { tlsConfigOf, type TlsConfig } from './security/tls-config.js';
import { chainConfigProblems, linkEnds, linksOf, stagesOf, type ChainConfig, type LinkId, type StageId } from '../machines/index.js';
import { frameBytesMax, frameBytesMin, receiveSliceMsMax } from '../spec/limits.js';
import { criSandboxConfigProblems, type CriSandboxConfig } from './node/cri/cri-config.js';

export interface StageEndpoint {
  /** host:port the stage serves on; loopback only unless the cluster has `tls`. */
  readonly address: string;
  /** Directory of the stage's durable data (incarnation counter, store, sandboxes). */
  readonly dataDir: string;
  /**
   * host:port of the stage's /metrics and /healthz; absent: no HTTP endpoint. Loopback: plain
   * HTTP. Any other address (e.g. 0.0.0.0:9100 for a Prometheus on another host) needs the
   * `tls` section and is served over mutual TLS (runtime/observe/http-endpoint.ts).
   */
  readonly metricsAddress?: string;
}

export interface ClusterConfig {
  readonly chain: ChainConfig;
  readonly stages: Readonly<Record<StageId, StageEndpoint>>;
  /** The Kubelets' sandbox runtime (runtime/node/sandbox-runtime.ts): `driver` absent is `simulated`; the delays are the simulated driver's; `cri` (endpoint, image) is the cri driver's (runtime/node/cri/). */
  readonly sandbox: { readonly driver?: SandboxDriver; readonly startDelayMs: number; readonly killDelayMs: number; readonly cri?: CriSandboxConfig };
  /**
   * Flow control (runtime/node/flow-control.ts); absent: the spec's limits. `frameBytesMax` may lower the frame size limit
   * (frameBytesMin..frameBytesMax), e.g. to test splitting; `receiveSliceMsFirst` makes the first receive slice after an
   * empty queue shorter, doubling up to receiveSliceMsMax (1..receiveSliceMsMax; absent: every slice as long as allowed; DEC-69).
   */
  readonly flow?: { readonly frameBytesMax?: number; readonly receiveSliceMsFirst?: number };
  /**
   * For tests of faults: the address the upstream of a link dials instead of the
   * downstream's own address (e.g. a fault-injecting proxy, runtime/faults/tcp-proxy.ts).
   * Loopback host:port only. Absent for a link: its downstream's address.
   */
  readonly linkDialAddresses?: Readonly<Record<LinkId, string>>;
  /** The backing store (runtime/store/store.ts); absent: the file store. */
  readonly store?: StoreConfig;
  /** How the links travel (runtime/mediated/transport-config.ts): absent or `direct` gRPC streams; `store-mediated` through etcd (the benchmark baseline). */
  readonly transport?: TransportConfig;
  /** Mutual TLS between stages and for operator calls (runtime/security/tls-config.ts); absent: plaintext, loopback only. */
  readonly tls?: TlsConfig;
  /**
   * The configuration of one host of a multi-host deployment (`kd deploy plan`): the stages
   * that run here. Only their certificates must be present, only they may be started here
   * (`kd node`, `kd supervise`); `[]` for an operator's machine. Absent: every stage (one host).
   */
  readonly host?: HostSection;
}

export interface HostSection {
  readonly name: string;
  readonly stages: readonly StageId[];
}

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '[::1]']);

export const sandboxDrivers = ['simulated', 'process', 'cri'] as const;
export type SandboxDriver = (typeof sandboxDrivers)[number];

/** True when `address` (host:port) is on a loopback host. */
export function isLoopbackAddress(address: string): boolean {
  return loopbackHosts.has(hostOf(address));
}

export function hostOf(address: string): string {
  const at = address.lastIndexOf(':');
  return at <= 0 ? '' : address.slice(0, at);
}

/** Why a cluster configuration is unusable; empty when it is fine. */
export function clusterConfigProblems(config: ClusterConfig): string[] {
  const problems = chainConfigProblems(config.chain);
  if (problems.length > 0) return problems;
  for (const stage of stagesOf(config.chain)) {
    const endpoint = config.stages[stage];
    if (endpoint === undefined) {
      problems.push(`stage "${stage}" has no entry in stages: add {"address": "127.0.0.1:PORT", "dataDir": "..."}`);
      continue;
    }
    if (!/^[^:]+:\d{1,5}$/.test(endpoint.address) && !/^\[::1\]:\d{1,5}$/.test(endpoint.address))
      problems.push(`stage "${stage}": address "${endpoint.address}" must be host:port`);
    else if (config.tls === undefined && !loopbackHosts.has(hostOf(endpoint.address)))
      problems.push(`stage "${stage}": address "${endpoint.address}" is not loopback; without TLS a stage serves on loopback only (127.0.0.1): add a "tls" section (npx kd certs, then kd up --tls) or use 127.0.0.1`);
    if (typeof endpoint.dataDir !== 'string' || endpoint.dataDir === '') problems.push(`stage "${stage}": dataDir is missing`);
    if (endpoint.metricsAddress !== undefined) problems.push(...metricsAddressProblems(stage, endpoint.metricsAddress, config.tls !== undefined));
  }
  const driver: unknown = config.sandbox.driver;
  if (driver !== undefined && !(sandboxDrivers as readonly unknown[]).includes(driver))
    problems.push(`sandbox.driver must be "simulated", "process" or "cri", got ${JSON.stringify(driver)}`);
  if (driver === 'cri') problems.push(...criSandboxConfigProblems(config.sandbox.cri));
  else if (config.sandbox.cri !== undefined) problems.push('sandbox.cri is only for sandbox.driver "cri"');
  if (config.flow !== undefined) {
    const bytes: unknown = config.flow.frameBytesMax;
    if (bytes !== undefined && (!Number.isInteger(bytes) || (bytes as number) < frameBytesMin || (bytes as number) > frameBytesMax))
      problems.push(`flow.frameBytesMax must be a whole number of bytes from ${frameBytesMin} to ${frameBytesMax}, got ${JSON.stringify(bytes)}`);
    const first: unknown = config.flow.receiveSliceMsFirst;
    if (first !== undefined && (!Number.isInteger(first) || (first as number) < 1 || (first as number) > receiveSliceMsMax))
      problems.push(`flow.receiveSliceMsFirst must be a whole number of milliseconds from 1 to ${receiveSliceMsMax}, got ${JSON.stringify(first)}`);
  }
  const links = new Set<string>(linksOf(config.chain));
  for (const [link, address] of Object.entries(config.linkDialAddresses ?? {})) {
    if (!links.has(link)) problems.push(`linkDialAddresses: "${link}" is not a link of this chain (links: ${[...links].join(', ')})`);
    if (typeof address !== 'string' || !loopbackHosts.has(hostOf(address)) || !/:\d{1,5}$/.test(address))
      problems.push(`linkDialAddresses["${link}"]: ${JSON.stringify(address)} must be a loopback host:port (127.0.0.1:PORT)`);
  }
  const { startDelayMs, killDelayMs } = config.sandbox;
  if (!Number.isInteger(startDelayMs) || startDelayMs < 0 || !Number.isInteger(killDelayMs) || killDelayMs < 0)
    problems.push('sandbox.startDelayMs and sandbox.killDelayMs must be whole numbers of milliseconds');
  return problems;
}

/** Why a stage's metricsAddress is unusable: not host:port, or not loopback in a cluster without tls. */
function metricsAddressProblems(stage: StageId, address: unknown, tls: boolean): string[] {
  if (typeof address !== 'string' || !/^(\[[0-9a-fA-F:]+\]|[^:[\]]+):\d{1,5}$/.test(address) || Number(address.slice(address.lastIndexOf(':') + 1)) > 65_535)
    return [`stage "${stage}": metricsAddress ${JSON.stringify(address)} must be host:port (for example 127.0.0.1:9100)`];
  if (tls || isLoopbackAddress(address)) return [];
  return [
    `stage "${stage}": metricsAddress "${address}" is not loopback; beyond loopback /metrics and /healthz are served only over mutual TLS: add a "tls" section (kd certs, kd up --tls, or kd deploy) or use 127.0.0.1:PORT`,
  ];
}

/** The `host` section, checked: a name and stages of this configuration. */
function hostSectionOf(raw: unknown, stages: readonly string[], file: string): HostSection | undefined {
  if (raw === undefined) return undefined;
  const section = raw as { name?: unknown; stages?: unknown } | null;
  if (typeof section !== 'object' || section === null || typeof section.name !== 'string' || section.name === '' || !Array.isArray(section.stages))
    throw new Error(`${file}: host must be {"name": "HOST", "stages": ["scheduler", ...]}`);
  for (const stage of section.stages)
    if (typeof stage !== 'string' || !stages.includes(stage)) throw new Error(`${file}: host.stages: ${JSON.stringify(stage)} is not a stage of this configuration (stages: ${stages.join(', ')})`);
  return { name: section.name, stages: section.stages as StageId[] };
}

/** The stages that run on this configuration's host: `host.stages`, or every stage of the chain. */
export function localStagesOf(config: ClusterConfig): readonly StageId[] {
  return config.host?.stages ?? stagesOf(config.chain);
}

/** Reads a cluster configuration; relative data dirs are taken from the file's directory. */
export function loadClusterConfig(file: string): ClusterConfig {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as ClusterConfig;
  const base = dirname(resolve(file));
  const stages: Record<StageId, StageEndpoint> = {};
  for (const [stage, endpoint] of Object.entries(raw.stages ?? {}))
    stages[stage] = {
      address: endpoint.address,
      dataDir: isAbsolute(endpoint.dataDir) ? endpoint.dataDir : join(base, endpoint.dataDir),
      ...(endpoint.metricsAddress === undefined ? {} : { metricsAddress: endpoint.metricsAddress }),
    };
  const host = hostSectionOf((raw as { host?: unknown }).host, Object.keys(stages), file);
  const tls = tlsConfigOf((raw as { tls?: unknown }).tls, base, file, host?.stages ?? Object.keys(stages));
  if (tls.problems.length > 0) throw new Error(`${file}: ${tls.problems.join('; ')}`);
  const config: ClusterConfig = {
    chain: raw.chain,
    stages,
    sandbox: raw.sandbox ?? { startDelayMs: 20, killDelayMs: 10 },
    store: storeConfigOf(raw.store, base),
    ...(raw.transport === undefined ? {} : { transport: transportConfigOf(raw.transport) }),
    ...(tls.tls === undefined ? {} : { tls: tls.tls }),
    ...(raw.flow === undefined ? {} : { flow: raw.flow }),
    ...(raw.linkDialAddresses === undefined ? {} : { linkDialAddresses: raw.linkDialAddresses }),
    ...(host === undefined ? {} : { host }),
  };
  const problems = clusterConfigProblems(config);
  if (problems.length > 0) throw new Error(`${file}: ${problems.join('; ')}`);
  return config;
}

/** The link on which `stage` is the downstream, if any. */
export function upstreamLinkOf(config: ClusterConfig, stage: StageId): LinkId | null {
  return linksOf(config.chain).find((l) => linkEnds(l).downstream === stage) ?? null;
}

/** The links on which `stage` is the upstream. */
export function downstreamLinksOf(config: ClusterConfig, stage: StageId): LinkId[] {
  return linksOf(config.chain).filter((l) => linkEnds(l).upstream === stage);
}

export function endpointOf(config: ClusterConfig, stage: StageId): StageEndpoint {
  const endpoint = config.stages[stage];
  if (endpoint === undefined) throw new Error(`no endpoint configured for ${stage}`);
  return endpoint;
}

/** The address the upstream of `link` dials: the override for tests if any, else the downstream's own address. */
export function dialAddressOf(config: ClusterConfig, link: LinkId): string {
  return config.linkDialAddresses?.[link] ?? endpointOf(config, linkEnds(link).downstream).address;
}

/** The frame size limit of this cluster's links: `flow.frameBytesMax`, else the spec's `frameBytesMax`. */
export function frameBytesLimitOf(config: ClusterConfig): number {
  return config.flow?.frameBytesMax ?? frameBytesMax;
}

/** The first receive slice of this cluster's stages after an empty queue: `flow.receiveSliceMsFirst`, else `receiveSliceMsMax` (every slice as long as allowed; DEC-69). */
export function receiveSliceMsFirstOf(config: ClusterConfig): number {
  return config.flow?.receiveSliceMsFirst ?? receiveSliceMsMax;
}

/** The Kubelets' sandbox driver (default `simulated`). */
export function sandboxDriverOf(config: ClusterConfig): SandboxDriver {
  return config.sandbox.driver ?? 'simulated';
}
