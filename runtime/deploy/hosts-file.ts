/**
 * The hosts file of a multi-host deployment: what an operator writes once, and what
 * `kd deploy plan` turns into each host's configuration and certificates (plan.ts).
 *
 *   {
 *     "cluster": { "functions": ["fn"], "trustDomain": "cluster.local",
 *                  "ports": { "stage": 7400, "metrics": 9400 },
 *                  "sandbox": { "driver": "simulated", "startDelayMs": 20, "killDelayMs": 10 } },
 *     "hosts": [
 *       { "name": "ctl1", "address": "10.0.0.2", "stages": ["autoscaler", "deployment"] },
 *       { "name": "ctl2", "address": "10.0.0.3", "stages": ["replicaset", "scheduler"] },
 *       { "name": "w1",   "address": "10.0.0.5", "stages": ["kubelet"], "node": { "name": "n1", "capacity": 50 } }
 *     ]
 *   }
 *
 * Every controller (autoscaler, deployment, replicaset, scheduler) runs on exactly one
 * host; a host with "kubelet" runs the Kubelet of its node (one node per host). A stage
 * listens on its host's address at `ports.stage` plus its role's offset (autoscaler 0,
 * deployment 1, replicaset 2, scheduler 3, kubelet 4); its /metrics and /healthz at
 * `ports.metrics` plus the same offset, over mutual TLS (runtime/observe/http-endpoint.ts).
 */
import { functionNameLengthMax, nodeCapacityMax, nodeNameLengthMax } from '../../spec/limits.js';
import { roles, type Role } from '../../machines/index.js';
import { trustDomainProblem } from '../security/identity.js';
import { criSandboxConfigProblems } from '../node/cri/cri-config.js';

export interface HostEntry {
  readonly name: string;
  /** IPv4 address or DNS name the host's stages listen on and are dialled at. */
  readonly address: string;
  readonly stages: readonly Role[];
  /** The node of the host's Kubelet (required with "kubelet"). */
  readonly node?: { readonly name: string; readonly capacity: number };
}

export interface HostsFile {
  readonly cluster: {
    readonly functions: readonly string[];
    readonly trustDomain?: string;
    readonly ports?: { readonly stage?: number; readonly metrics?: number };
    readonly sandbox?: { readonly driver?: 'simulated' | 'process' | 'cri'; readonly startDelayMs?: number; readonly killDelayMs?: number; readonly cri?: { readonly endpoint: string; readonly image?: string } };
  };
  readonly hosts: readonly HostEntry[];
}

export const defaultStagePort = 7400;
export const defaultMetricsPort = 9400;
/** Each role's offset from the base ports: one port of each kind per stage of a host. */
export const rolePortOffsets: Readonly<Record<Role, number>> = { autoscaler: 0, deployment: 1, replicaset: 2, scheduler: 3, kubelet: 4 };
export const hostsMax = 5_000;

const controllerRoles: readonly Role[] = ['autoscaler', 'deployment', 'replicaset', 'scheduler'];
const dnsLabel = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const hostAddress = /^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)$|^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unknownKeys(value: Record<string, unknown>, known: readonly string[], where: string): string[] {
  return Object.keys(value)
    .filter((k) => !known.includes(k))
    .map((k) => `${where}: unknown key "${k}" (known: ${known.join(', ')})`);
}

function portProblem(value: unknown, where: string): string | null {
  if (value === undefined) return null;
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65_535 - 4 ? null : `${where} must be a port from 1 to ${65_535 - 4}, got ${JSON.stringify(value)}`;
}

function clusterProblems(cluster: unknown): string[] {
  if (!isObject(cluster)) return ['cluster must be an object: {"functions": ["fn"], ...}'];
  const problems = unknownKeys(cluster, ['functions', 'trustDomain', 'ports', 'sandbox'], 'cluster');
  const functions = cluster['functions'];
  if (!Array.isArray(functions) || functions.length === 0) problems.push('cluster.functions must be a non-empty list of function names, for example ["fn"]');
  else
    for (const fn of functions)
      if (typeof fn !== 'string' || !dnsLabel.test(fn) || fn.length > functionNameLengthMax) problems.push(`cluster.functions: ${JSON.stringify(fn)} is not a function name (a DNS label: a-z, 0-9, '-')`);
  if (cluster['trustDomain'] !== undefined) {
    const bad = trustDomainProblem(cluster['trustDomain']);
    if (bad !== null) problems.push(`cluster.trustDomain: ${bad}`);
  }
  const ports = cluster['ports'];
  if (ports !== undefined) {
    if (!isObject(ports)) problems.push('cluster.ports must be {"stage": 7400, "metrics": 9400}');
    else {
      problems.push(...unknownKeys(ports, ['stage', 'metrics'], 'cluster.ports'));
      for (const kind of ['stage', 'metrics'] as const) {
        const bad = portProblem(ports[kind], `cluster.ports.${kind}`);
        if (bad !== null) problems.push(bad);
      }
      const stage = (ports['stage'] as number | undefined) ?? defaultStagePort;
      const metrics = (ports['metrics'] as number | undefined) ?? defaultMetricsPort;
      if (Math.abs(stage - metrics) < 5) problems.push(`cluster.ports: stage ${stage} and metrics ${metrics} must be at least 5 apart (one port per role from each)`);
    }
  }
  const sandbox = cluster['sandbox'];
  if (sandbox !== undefined) {
    if (!isObject(sandbox)) problems.push('cluster.sandbox must be {"driver": "simulated"|"process"|"cri", ...}');
    else {
      problems.push(...unknownKeys(sandbox, ['driver', 'startDelayMs', 'killDelayMs', 'cri'], 'cluster.sandbox'));
      const driver = sandbox['driver'];
      if (driver !== undefined && driver !== 'simulated' && driver !== 'process' && driver !== 'cri') problems.push(`cluster.sandbox.driver must be simulated, process or cri, got ${JSON.stringify(driver)}`);
      if (driver === 'cri') problems.push(...criSandboxConfigProblems(sandbox['cri']).map((p) => `cluster.${p}`));
      for (const key of ['startDelayMs', 'killDelayMs'])
        if (sandbox[key] !== undefined && (!Number.isInteger(sandbox[key]) || (sandbox[key] as number) < 0 || (sandbox[key] as number) > 60_000))
          problems.push(`cluster.sandbox.${key} must be whole milliseconds from 0 to 60000, got ${JSON.stringify(sandbox[key])}`);
    }
  }
  return problems;
}

function hostProblems(host: unknown, i: number): string[] {
  const where = `hosts[${i}]`;
  if (!isObject(host)) return [`${where} must be {"name", "address", "stages"}`];
  const problems = unknownKeys(host, ['name', 'address', 'stages', 'node'], where);
  if (typeof host['name'] !== 'string' || !dnsLabel.test(host['name']) || host['name'].length > 63) problems.push(`${where}.name must be a DNS label (a-z, 0-9, '-'), got ${JSON.stringify(host['name'])}`);
  if (typeof host['address'] !== 'string' || !hostAddress.test(host['address'])) problems.push(`${where}.address must be an IPv4 address or a DNS name without a port, got ${JSON.stringify(host['address'])}`);
  const stages = host['stages'];
  if (!Array.isArray(stages) || stages.length === 0) problems.push(`${where}.stages must be a non-empty list of roles (${roles.join(', ')})`);
  else {
    for (const stage of stages) if (!(roles as readonly unknown[]).includes(stage)) problems.push(`${where}.stages: ${JSON.stringify(stage)} is not a role (${roles.join(', ')})`);
    if (new Set(stages).size !== stages.length) problems.push(`${where}.stages lists a role twice`);
  }
  const node = host['node'];
  const kubelet = Array.isArray(stages) && stages.includes('kubelet');
  if (kubelet && !isObject(node)) problems.push(`${where}: a host with "kubelet" needs "node": {"name": "n1", "capacity": 50}`);
  if (!kubelet && node !== undefined) problems.push(`${where}.node is only for a host with "kubelet" in its stages`);
  if (isObject(node)) {
    problems.push(...unknownKeys(node, ['name', 'capacity'], `${where}.node`));
    if (typeof node['name'] !== 'string' || !dnsLabel.test(node['name']) || node['name'].length > nodeNameLengthMax) problems.push(`${where}.node.name must be a DNS label, got ${JSON.stringify(node['name'])}`);
    if (!Number.isInteger(node['capacity']) || (node['capacity'] as number) < 0 || (node['capacity'] as number) > nodeCapacityMax)
      problems.push(`${where}.node.capacity must be a whole number from 0 to ${nodeCapacityMax}, got ${JSON.stringify(node['capacity'])}`);
  }
  return problems;
}

/** Why a parsed JSON value is not a usable hosts file; empty when it is one. Never throws. */
export function hostsFileProblems(raw: unknown): string[] {
  if (!isObject(raw)) return ['the hosts file must be a JSON object {"cluster": {...}, "hosts": [...]}'];
  const problems = [...unknownKeys(raw, ['cluster', 'hosts'], 'hosts file'), ...clusterProblems(raw['cluster'])];
  const hosts = raw['hosts'];
  if (!Array.isArray(hosts) || hosts.length === 0) return [...problems, 'hosts must be a non-empty list of {"name", "address", "stages"}'];
  if (hosts.length > hostsMax) return [...problems, `hosts: at most ${hostsMax} hosts`];
  hosts.forEach((h, i) => problems.push(...hostProblems(h, i)));
  if (problems.length > 0) return problems;
  const entries = hosts as HostEntry[];
  for (const key of ['name', 'address'] as const) {
    const seen = new Set<string>();
    for (const h of entries) {
      if (seen.has(h[key])) problems.push(`hosts: ${key} "${h[key]}" is used by two hosts`);
      seen.add(h[key]);
    }
  }
  const nodes = new Set<string>();
  for (const h of entries)
    if (h.node !== undefined) {
      if (nodes.has(h.node.name)) problems.push(`hosts: node "${h.node.name}" is on two hosts`);
      nodes.add(h.node.name);
    }
  for (const role of controllerRoles) {
    const on = entries.filter((h) => h.stages.includes(role)).map((h) => h.name);
    if (on.length !== 1) problems.push(`the ${role} must run on exactly one host; ${on.length === 0 ? 'no host lists it' : `listed by ${on.join(', ')}`}`);
  }
  if (nodes.size === 0) problems.push('no host runs a kubelet: add a host with "stages": ["kubelet"] and its "node"');
  return problems;
}
