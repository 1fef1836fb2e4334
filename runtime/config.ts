/**
 * The configuration of a cluster of stage processes: the chain (functions, nodes),
 * where each stage listens, where it keeps its durable data, and the simulated
 * sandbox runtime. One JSON file shared by every stage (`kd node --config FILE`).
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, dirname, resolve } from 'node:path';
import { storeConfigOf, type StoreConfig } from './store/store.js';
import { chainConfigProblems, linkEnds, linksOf, stagesOf, type ChainConfig, type LinkId, type StageId } from '../machines/index.js';

export interface StageEndpoint {
  /** host:port the stage serves on; loopback only. */
  readonly address: string;
  /** Directory of the stage's durable data (incarnation counter, store, sandboxes). */
  readonly dataDir: string;
  /** host:port of the stage's /metrics and /healthz (loopback only); absent: no HTTP endpoint. */
  readonly metricsAddress?: string;
}

export interface ClusterConfig {
  readonly chain: ChainConfig;
  readonly stages: Readonly<Record<StageId, StageEndpoint>>;
  readonly sandbox: { readonly startDelayMs: number; readonly killDelayMs: number };
  /** The backing store (runtime/store/store.ts); absent: the file store. */
  readonly store?: StoreConfig;
}

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '[::1]']);

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
    else if (!loopbackHosts.has(hostOf(endpoint.address)))
      problems.push(`stage "${stage}": address "${endpoint.address}" is not loopback; this runtime has no TLS yet and serves on loopback only (127.0.0.1)`);
    if (typeof endpoint.dataDir !== 'string' || endpoint.dataDir === '') problems.push(`stage "${stage}": dataDir is missing`);
    if (endpoint.metricsAddress !== undefined && !loopbackHosts.has(hostOf(endpoint.metricsAddress)))
      problems.push(`stage "${stage}": metricsAddress "${endpoint.metricsAddress}" must be a loopback host:port (127.0.0.1:PORT)`);
  }
  const { startDelayMs, killDelayMs } = config.sandbox;
  if (!Number.isInteger(startDelayMs) || startDelayMs < 0 || !Number.isInteger(killDelayMs) || killDelayMs < 0)
    problems.push('sandbox.startDelayMs and sandbox.killDelayMs must be whole numbers of milliseconds');
  return problems;
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
  const config: ClusterConfig = { chain: raw.chain, stages, sandbox: raw.sandbox ?? { startDelayMs: 20, killDelayMs: 10 }, store: storeConfigOf(raw.store, base) };
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
