/**
 * The launch config of the conformance launch contract (spec/11-conformance.md), read
 * from the file named by KD_LAUNCH_CONFIG and checked before anything else happens.
 * Only the fields a Kubelet needs are kept.
 */
import { readFileSync } from 'node:fs';
import { functionNameLengthMax, nodeCapacityMax, nodeNameLengthMax } from '../../../spec/limits.js';

/** The only launch contract version this Kubelet knows (11 §Launch contract). */
export const launchVersionSupported = 1;

export interface FunctionConfig {
  readonly name: string;
  readonly priority: number;
}

export interface KubeletConfig {
  /** Own stage ID, `kubelet:<node>` (01 §Stages). */
  readonly stage: string;
  readonly node: string;
  /** Pods the node can hold: sandboxes starting, running and being killed (01 §Configuration). */
  readonly capacity: number;
  /** `host:port` to serve gRPC on. */
  readonly listen: string;
  /** The only directory for durable state: incarnation counter and sandboxes. */
  readonly dataDir: string;
  /** Stage ID of the one upstream allowed to open sessions (REQ-SEC-002): the Scheduler. */
  readonly upstreamStage: string;
  /** Configured functions by name (REQ-TOPO-005). */
  readonly functions: ReadonlyMap<string, FunctionConfig>;
  readonly startDelayMs: number;
  readonly killDelayMs: number;
}

/** A launch config this Kubelet cannot run with. main.ts exits with status 2 on it. */
export class LaunchConfigError extends Error {}

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isFunctionName(name: string): boolean {
  return name.length <= functionNameLengthMax && dns1123Label.test(name);
}

function isNodeName(name: string): boolean {
  return name.length <= nodeNameLengthMax && dns1123Subdomain.test(name);
}

function fail(problem: string): never {
  throw new LaunchConfigError(`launch config: ${problem}`);
}

function field(object: Record<string, unknown>, name: string): unknown {
  if (!(name in object)) fail(`missing field "${name}"`);
  return object[name];
}

function stringField(object: Record<string, unknown>, name: string): string {
  const value = field(object, name);
  if (typeof value !== 'string' || value === '') fail(`"${name}" must be a non-empty string`);
  return value;
}

function delayMs(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) fail(`"sandbox.${name}" must be an integer >= 0`);
  return value;
}

export function readLaunchConfig(path: string | undefined): KubeletConfig {
  if (path === undefined || path === '') fail('KD_LAUNCH_CONFIG is not set');
  const raw: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (typeof raw !== 'object' || raw === null) fail('not a JSON object');
  const config = raw as Record<string, unknown>;
  if (field(config, 'launchVersion') !== launchVersionSupported) fail(`unknown launchVersion ${String(config.launchVersion)}`);
  if (field(config, 'role') !== 'kubelet') fail(`this is a Kubelet, not "${String(config.role)}"`);

  const node = stringField(config, 'node');
  const stage = stringField(config, 'stage');
  if (!isNodeName(node)) fail(`node name "${node}" is not a DNS-1123 subdomain (REQ-TOPO-006)`);
  if (stage !== `kubelet:${node}`) fail(`stage "${stage}" is not "kubelet:${node}"`);

  const upstream = field(config, 'upstream') as Record<string, unknown> | null;
  if (upstream === null || typeof upstream !== 'object') fail('a Kubelet needs an upstream');
  const upstreamStage = stringField(upstream, 'stage');

  const chain = field(config, 'chain') as Record<string, unknown>;
  const functions = new Map<string, FunctionConfig>();
  for (const entry of field(chain, 'functions') as FunctionConfig[]) {
    if (!isFunctionName(entry.name)) fail(`function name "${entry.name}" is not a DNS-1123 label (REQ-TOPO-006)`);
    if (!Number.isInteger(entry.priority)) fail(`function "${entry.name}" has no integer priority`);
    functions.set(entry.name, { name: entry.name, priority: entry.priority });
  }
  const nodes = field(chain, 'nodes') as { name: string; capacity: number }[];
  const ownNode = nodes.find((entry) => entry.name === node);
  if (ownNode === undefined) fail(`node "${node}" is not in chain.nodes`);
  if (!Number.isInteger(ownNode.capacity) || ownNode.capacity < 0 || ownNode.capacity > nodeCapacityMax) {
    fail(`capacity of "${node}" must be an integer in 0..${nodeCapacityMax}`);
  }

  const sandbox = (config.sandbox ?? {}) as Record<string, unknown>;
  return {
    stage,
    node,
    capacity: ownNode.capacity,
    listen: stringField(config, 'listen'),
    dataDir: stringField(config, 'dataDir'),
    upstreamStage,
    functions,
    startDelayMs: delayMs(sandbox.startDelayMs ?? 0, 'startDelayMs'),
    killDelayMs: delayMs(sandbox.killDelayMs ?? 0, 'killDelayMs'),
  };
}
