/**
 * The conformance launch contract (spec/11-conformance.md §Launch contract, version 1):
 * the launch config a stage under test is started with, read and checked, and its
 * translation to the runtime's ClusterConfig (runtime/config.ts) so that the reference
 * runtime can be a testee (`kd node --launch-config FILE`, or KD_LAUNCH_CONFIG).
 *
 * The launch config names only the testee and its neighbours; the ClusterConfig names
 * every stage of the chain. Stages that are not neighbours get an endpoint the testee
 * never uses (it only binds its own address and dials its downstreams).
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { kubeletId, linkEnds, roleOf, roles, stagesOf, type ChainConfig, type Role, type StageId } from '../machines/index.js';
import { isVariantName, variantNames, type ProtocolVariant } from '../spec/variants.js';
import { clusterConfigProblems, downstreamLinksOf, upstreamLinkOf, type ClusterConfig, type StageEndpoint } from './config.js';

export const launchVersion = 1;

/** The environment variable that carries the launch config's absolute path. */
export const launchConfigEnv = 'KD_LAUNCH_CONFIG';

export interface LaunchPeer {
  readonly stage: StageId;
  readonly role: Role;
  readonly address: string;
}

export interface LaunchConfig {
  readonly launchVersion: number;
  readonly role: Role;
  readonly stage: StageId;
  readonly node?: string;
  readonly listen: string;
  readonly dataDir: string;
  readonly upstream: LaunchPeer | null;
  readonly downstreams: readonly LaunchPeer[];
  readonly chain: { readonly functions: ChainConfig['functions']; readonly nodes: ChainConfig['nodes'] };
  readonly sandbox: { readonly startDelayMs: number; readonly killDelayMs: number };
}

/** A launch config this runtime cannot run; `unsupportedVersion` asks for exit status 2 (spec/11). */
export class LaunchConfigError extends Error {
  override readonly name = 'LaunchConfigError';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function peerProblems(value: unknown, where: string): string[] {
  if (!isObject(value)) return [`${where} must be {stage, role, address}`];
  const problems: string[] = [];
  if (typeof value['stage'] !== 'string') problems.push(`${where}.stage must be a stage id`);
  if (typeof value['role'] !== 'string' || !(roles as readonly string[]).includes(value['role'])) problems.push(`${where}.role must be one of ${roles.join(', ')}`);
  if (typeof value['address'] !== 'string') problems.push(`${where}.address must be host:port`);
  else if (typeof value['stage'] === 'string' && typeof value['role'] === 'string') {
    try {
      if (roleOf(value['stage']) !== value['role']) problems.push(`${where}: stage "${value['stage']}" does not have role "${value['role']}"`);
    } catch {
      problems.push(`${where}.stage "${value['stage']}" is not a stage id`);
    }
  }
  return problems;
}

/** Why a parsed JSON value is not a launch config of version 1; empty when it is one. */
export function launchConfigProblems(raw: unknown): string[] {
  if (!isObject(raw)) return ['the launch config must be a JSON object'];
  if (raw['launchVersion'] !== launchVersion) return [`launchVersion ${JSON.stringify(raw['launchVersion'])} is not supported; this runtime knows ${launchVersion}`];
  const problems: string[] = [];
  const role = raw['role'];
  if (typeof role !== 'string' || !(roles as readonly string[]).includes(role)) problems.push(`role must be one of ${roles.join(', ')}`);
  for (const field of ['stage', 'listen', 'dataDir'] as const) if (typeof raw[field] !== 'string' || raw[field] === '') problems.push(`${field} must be a non-empty string`);
  if (role === 'kubelet') {
    if (typeof raw['node'] !== 'string') problems.push('node is required for a kubelet');
    else if (raw['stage'] !== kubeletId(raw['node'])) problems.push(`stage must be "${kubeletId(raw['node'])}" for node "${raw['node']}"`);
  } else if (typeof role === 'string' && raw['stage'] !== role) problems.push(`stage must be "${role}" for role ${role}`);
  if (typeof raw['dataDir'] === 'string' && !isAbsolute(raw['dataDir'])) problems.push('dataDir must be an absolute path');
  if (role === 'autoscaler') {
    if (raw['upstream'] !== null) problems.push('upstream must be null for the autoscaler');
  } else problems.push(...peerProblems(raw['upstream'], 'upstream'));
  if (!Array.isArray(raw['downstreams'])) problems.push('downstreams must be a list');
  else raw['downstreams'].forEach((d, i) => problems.push(...peerProblems(d, `downstreams[${i}]`)));
  const chain = raw['chain'];
  if (!isObject(chain) || !Array.isArray(chain['functions']) || !Array.isArray(chain['nodes'])) problems.push('chain must be {functions: [...], nodes: [...]}');
  const sandbox = raw['sandbox'];
  if (!isObject(sandbox) || !Number.isInteger(sandbox['startDelayMs']) || !Number.isInteger(sandbox['killDelayMs']))
    problems.push('sandbox must be {startDelayMs, killDelayMs} in whole milliseconds');
  return problems;
}

/** Reads and checks a launch config file. */
export function loadLaunchConfig(file: string): LaunchConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new LaunchConfigError(`${file}: not readable as JSON: ${(error as Error).message}`);
  }
  const problems = launchConfigProblems(raw);
  if (problems.length > 0) throw new LaunchConfigError(`${file}: ${problems.join('; ')}`);
  return raw as LaunchConfig;
}

/** An address no stage uses: the testee never dials a stage that is not its downstream. */
const unusedAddress = '127.0.0.1:1';

/**
 * The runtime's configuration for the testee of a launch config: its own endpoint, its
 * neighbours' addresses, and unused endpoints for the other stages of the chain.
 * Throws a LaunchConfigError when the neighbours do not match the chain's topology.
 */
export function clusterConfigOfLaunch(launch: LaunchConfig, variant: ProtocolVariant = 'correct'): ClusterConfig {
  const chain: ChainConfig = { functions: launch.chain.functions, nodes: launch.chain.nodes, variant };
  const stages: Record<StageId, StageEndpoint> = {};
  for (const stage of stagesOf(chain)) stages[stage] = { address: unusedAddress, dataDir: join(launch.dataDir, 'unused', stage.replace(':', '-')) };
  if (stages[launch.stage] === undefined) throw new LaunchConfigError(`stage "${launch.stage}" is not part of the chain (nodes: ${launch.chain.nodes.map((n) => n.name).join(', ')})`);
  stages[launch.stage] = { address: launch.listen, dataDir: launch.dataDir };
  const config0: ClusterConfig = { chain, stages, sandbox: launch.sandbox };
  const upstreamLink = upstreamLinkOf(config0, launch.stage);
  const expectedUpstream = upstreamLink === null ? null : linkEnds(upstreamLink).upstream;
  if ((launch.upstream?.stage ?? null) !== expectedUpstream)
    throw new LaunchConfigError(`upstream is "${launch.upstream?.stage ?? 'null'}", but the chain gives ${launch.stage} the upstream "${expectedUpstream ?? 'null'}"`);
  if (launch.upstream !== null) stages[launch.upstream.stage] = { address: launch.upstream.address, dataDir: join(launch.dataDir, 'unused', 'upstream') };
  const expectedDownstreams = downstreamLinksOf(config0, launch.stage).map((l) => linkEnds(l).downstream);
  const given = launch.downstreams.map((d) => d.stage);
  if ([...given].sort().join(',') !== [...expectedDownstreams].sort().join(','))
    throw new LaunchConfigError(`downstreams are [${given.join(', ')}], but the chain gives ${launch.stage} the downstreams [${expectedDownstreams.join(', ')}]`);
  for (const d of launch.downstreams) stages[d.stage] = { address: d.address, dataDir: join(launch.dataDir, 'unused', d.stage.replace(':', '-')) };
  const config: ClusterConfig = { chain, stages, sandbox: launch.sandbox };
  const problems = clusterConfigProblems(config);
  if (problems.length > 0) throw new LaunchConfigError(problems.join('; '));
  return config;
}

/** Parses a variant name for `--variant`, or explains the choices. */
export function variantOf(name: string | undefined): ProtocolVariant {
  if (name === undefined || name === 'correct') return 'correct';
  if (!isVariantName(name)) throw new LaunchConfigError(`unknown variant "${name}"; known variants: ${variantNames.join(', ')}`);
  return name;
}
