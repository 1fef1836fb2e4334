/** `kd up`, `kd scale`, `kd status`, `kd down`: a local cluster of stage processes on loopback. */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { desiredMax, nodeCapacityMax, stagesOf } from '../machines/index.js';
import { isLoopbackAddress, loadClusterConfig, type ClusterConfig } from '../runtime/config.js';
import {
  configFileOf,
  logFileOf,
  runningStages,
  runningSupervisorOf,
  startSupervisor,
  stopCluster,
  waitHealthy,
  writeClusterConfig,
} from '../runtime/cluster/local-cluster.js';
import { setScale, stageTargetOf } from '../runtime/cluster/rpc.js';
import { CertsError } from '../runtime/security/certs.js';
import { operatorChannelOf } from '../runtime/security/credentials.js';
import { defaultTrustDomain, trustDomainProblem } from '../runtime/security/identity.js';
import { EtcdStore } from '../runtime/store/etcd-store.js';
import { etcdEndpointProblem } from '../runtime/store/store.js';
import type { TransportConfig } from '../runtime/mediated/transport-config.js';
import { criSandboxConfigProblems, type CriSandboxConfig } from '../runtime/node/cri/cri-config.js';
import { clusterStatus, formatStatus } from '../runtime/cluster/status.js';
import { readSupervisorState, restartsOf } from '../runtime/cluster/supervisor.js';
import { reasonOfStatus } from '../runtime/wire/errors.js';
import { exitCodes, parseWholeNumber, UsageError } from './usage-error.js';

const defaultDir = '.kd';

interface Parsed {
  readonly values: Readonly<Record<string, string | boolean | undefined>> & { readonly dir?: string; readonly help?: boolean };
  readonly positionals: readonly string[];
}

function text(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function parse(command: string, argv: readonly string[], options: Record<string, { type: 'string' | 'boolean' }>, positionals = false): Parsed {
  try {
    return parseArgs({ args: [...argv], strict: true, allowPositionals: positionals, options: { ...options, dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. Run "kd ${command} --help" for the options.`);
  }
}

function loadRunning(dir: string, command: string): ClusterConfig {
  const file = configFileOf(dir);
  if (!existsSync(file)) throw new UsageError(`no cluster in ${dir} (${file} is missing): run "kd up" first, or pass --dir`);
  try {
    const config = loadClusterConfig(file);
    // With tls, the operator identity must be usable before any call (its problems said once, with the fix).
    if (config.tls !== undefined) operatorChannelOf(config, 'autoscaler');
    return config;
  } catch (error) {
    throw new UsageError(`${command}: ${(error as Error).message}`);
  }
}

export const upHelp = `Usage: kd up [--nodes N] [--capacity N] [--functions a,b] [--start-delay-ms N] [--sandbox simulated|process|cri [--cri-endpoint SOCKET]] [--store file|etcd] [--transport direct|store-mediated] [--etcd URL] [--tls [--trust-domain D]] [--metrics-host HOST] [--dir DIR]

Starts a local cluster: the Autoscaler, Deployment, ReplicaSet, Scheduler and one
Kubelet per node, each as its own OS process on 127.0.0.1 (free ports), with the
simulated sandbox runtime (or real processes: --sandbox process). Writes DIR/cluster.json, logs to DIR/logs, data to DIR/data.
A supervisor (kd supervise) restarts a stage that fails, with backoff; kd status shows
the restarts.

Options:
  --nodes N           nodes, one Kubelet each (default 4)
  --capacity N        sandboxes per node (default 100)
  --functions LIST    comma-separated function names (default fn)
  --start-delay-ms N  simulated sandbox start delay (default 20)
  --sandbox DRIVER    sandbox runtime of the Kubelets: simulated (default), process (each
                      sandbox a real child process, started and killed; kd down kills them)
                      or cri (each pod a real container through the CRI of containerd,
                      host network; images from npm run cri:image; kd down removes them)
  --cri-endpoint SOCK the container runtime's socket for --sandbox cri
                      (default unix:///run/containerd/containerd.sock)
  --store KIND        backing store: file (default; DIR/data, DIR/objects/pods) or etcd
  --transport KIND    how the links travel: direct (default; gRPC streams) or store-mediated
                      (the benchmark baseline: one etcd object per record, watches; needs --etcd)
  --etcd URL          etcd client URL for --store etcd and --transport store-mediated
                      (default http://127.0.0.1:2379)
  --tls               mutual TLS (1.3) between stages and for kd scale/status: makes the
                      development CA and certificates in DIR/certs (kd certs), or reuses them
  --trust-domain D    the SPIFFE trust domain of --tls (default ${defaultTrustDomain})
  --metrics-host HOST where /metrics and /healthz listen (default 127.0.0.1, plain HTTP);
                      another host (0.0.0.0 for every interface) needs --tls and is then
                      HTTPS with a client certificate of the CA (tls.metricsClientIdentities)
  --dir DIR           where the cluster lives (default .kd)`;

export async function runUp(argv: readonly string[], print: (line: string) => void): Promise<number> {
  const v = parse('up', argv, {
    nodes: { type: 'string' },
    capacity: { type: 'string' },
    functions: { type: 'string' },
    'start-delay-ms': { type: 'string' },
    sandbox: { type: 'string' },
    'cri-endpoint': { type: 'string' },
    store: { type: 'string' },
    etcd: { type: 'string' },
    transport: { type: 'string' },
    tls: { type: 'boolean' },
    'trust-domain': { type: 'string' },
    'metrics-host': { type: 'string' },
  }).values;
  if (v.help === true) {
    print(upHelp);
    return exitCodes.ok;
  }
  const dir = v.dir ?? defaultDir;
  const running = runningStages(dir);
  const supervisor = runningSupervisorOf(dir);
  if (supervisor !== null) running.push({ stage: `supervisor`, pid: supervisor });
  if (running.length > 0) throw new UsageError(`a cluster is already running in ${dir} (${running.map((r) => r.stage).join(', ')}): run "kd down${v.dir === undefined ? '' : ` --dir ${dir}`}" first`);
  const nodes = parseWholeNumber('nodes', text(v['nodes']), 4, 1, 64);
  const capacity = parseWholeNumber('capacity', text(v['capacity']), 100, 0, nodeCapacityMax);
  const startDelayMs = parseWholeNumber('start-delay-ms', text(v['start-delay-ms']), 20, 0, 60_000);
  const functions = (text(v['functions']) ?? 'fn').split(',').map((f) => f.trim());
  const sandboxDriver = text(v['sandbox']) ?? 'simulated';
  if (sandboxDriver !== 'simulated' && sandboxDriver !== 'process' && sandboxDriver !== 'cri') throw new UsageError(`--sandbox must be simulated, process or cri, got "${sandboxDriver}"`);
  const cri = criOption(sandboxDriver, text(v['cri-endpoint']));
  const transport = await transportOption(text(v['transport']), text(v['etcd']));
  const store = await storeOption(text(v['store']), transport !== undefined && text(v['store']) !== 'etcd' ? undefined : text(v['etcd']));
  const tls = tlsOption(v['tls'] === true, text(v['trust-domain']));
  const metricsHost = text(v['metrics-host']);
  if (metricsHost !== undefined && !/^[A-Za-z0-9.-]+$|^\[[0-9a-fA-F:]+\]$/.test(metricsHost)) throw new UsageError(`--metrics-host must be a host name or address such as 0.0.0.0 or 10.0.0.5, got "${metricsHost}"`);
  if (metricsHost !== undefined && tls === undefined && !isLoopbackAddress(`${metricsHost}:1`))
    throw new UsageError(`--metrics-host ${metricsHost} needs --tls: beyond loopback, /metrics and /healthz are served only over mutual TLS (or leave --metrics-host out for 127.0.0.1)`);
  const config = await writeClusterConfig(dir, { nodes, capacity, functions, startDelayMs, killDelayMs: 10, sandboxDriver, ...(cri === undefined ? {} : { cri }), store, ...(tls === undefined ? {} : { tls }), ...(metricsHost === undefined ? {} : { metricsHost }), ...(transport === undefined ? {} : { transport }) }).catch((error: Error) => {
    if (error instanceof CertsError) throw new UsageError(`--tls: ${error.message}`);
    if (/metricsAddress/.test(error.message)) throw new UsageError(`--metrics-host: ${error.message}`);
    throw new UsageError(`${error.message} (function names must be DNS labels: a-z, 0-9, '-')`);
  });
  const stages = stagesOf(config.chain);
  // The supervisor starts the stages and restarts any that fails (runtime/cluster/supervisor.ts).
  startSupervisor(dir);
  try {
    await waitHealthy(config, stages, 60_000);
  } catch (error) {
    console.error(`kd up: ${(error as Error).message}; see the logs in ${dir}/logs. Stopping what started.`);
    await stopCluster(dir);
    return exitCodes.failed;
  }
  print(`cluster up in ${dir} (${nodes} nodes, capacity ${capacity} each, functions ${functions.join(', ')}${config.tls === undefined ? '' : `, mutual TLS, trust domain ${config.tls.trustDomain}, certificates in ${dir}/certs`})`);
  const scheme = (address: string | undefined): string => (address !== undefined && !isLoopbackAddress(address) ? 'https' : 'http');
  for (const stage of stages)
    print(`  ${stage.padEnd(14)} ${config.stages[stage]?.address ?? ''}  metrics ${scheme(config.stages[stage]?.metricsAddress)}://${config.stages[stage]?.metricsAddress ?? '-'}/metrics  log ${logFileOf(dir, stage)}`);
  print(`  supervisor     restarts failed stages; log ${dir}/logs/supervisor.log`);
  print(`next: kd scale ${functions[0] ?? 'fn'} 50${v.dir === undefined ? '' : ` --dir ${dir}`}; kd status; kd down`);
  return exitCodes.ok;
}

/** The container runtime of `kd up --sandbox cri [--cri-endpoint SOCKET]`. */
function criOption(driver: string, endpoint: string | undefined): CriSandboxConfig | undefined {
  if (driver !== 'cri') {
    if (endpoint !== undefined) throw new UsageError('--cri-endpoint is only for --sandbox cri');
    return undefined;
  }
  const cri = { endpoint: endpoint ?? 'unix:///run/containerd/containerd.sock' };
  const problems = criSandboxConfigProblems(cri);
  if (problems.length > 0) throw new UsageError(`--cri-endpoint: ${problems.join('; ')}`);
  return cri;
}

/** The transport of `kd up --transport KIND [--etcd URL]`: undefined for direct; store-mediated needs an etcd that answers. */
async function transportOption(kind: string | undefined, etcd: string | undefined): Promise<TransportConfig | undefined> {
  if (kind === undefined || kind === 'direct') return undefined;
  if (kind !== 'store-mediated') throw new UsageError(`--transport must be direct or store-mediated, got "${kind}"`);
  const endpoint = (etcd ?? 'http://127.0.0.1:2379').replace(/\/+$/, '');
  const problem = etcdEndpointProblem(endpoint);
  if (problem !== null) throw new UsageError(`--etcd: ${problem}`);
  try {
    await new EtcdStore(endpoint, () => {}).ping();
  } catch (error) {
    throw new UsageError(`--etcd ${endpoint}: etcd does not answer (${(error as Error).message}); --transport store-mediated needs a running etcd (Debian: apt-get install -y etcd-server)`);
  }
  return { kind: 'store-mediated', etcd: endpoint };
}

/** The tls of `kd up --tls [--trust-domain D]`. */
function tlsOption(tls: boolean, trustDomain: string | undefined): { trustDomain: string } | undefined {
  if (!tls) {
    if (trustDomain !== undefined) throw new UsageError('--trust-domain is only for --tls');
    return undefined;
  }
  const problem = trustDomainProblem(trustDomain ?? defaultTrustDomain);
  if (problem !== null) throw new UsageError(`--trust-domain: ${problem}`);
  return { trustDomain: trustDomain ?? defaultTrustDomain };
}

/** The backing store of `kd up --store KIND [--etcd URL]`; an etcd must answer before any stage starts. */
async function storeOption(kind: string | undefined, etcd: string | undefined): Promise<{ kind: 'file' } | { kind: 'etcd'; endpoint: string }> {
  if (kind === undefined || kind === 'file') {
    if (etcd !== undefined) throw new UsageError('--etcd is only for --store etcd');
    return { kind: 'file' };
  }
  if (kind !== 'etcd') throw new UsageError(`--store must be file or etcd, got "${kind}"`);
  const endpoint = (etcd ?? 'http://127.0.0.1:2379').replace(/\/+$/, '');
  const problem = etcdEndpointProblem(endpoint);
  if (problem !== null) throw new UsageError(`--etcd: ${problem}`);
  try {
    await new EtcdStore(endpoint, () => {}).ping();
  } catch (error) {
    throw new UsageError(`--etcd ${endpoint}: etcd does not answer (${(error as Error).message}); start it first (Debian: apt-get install -y etcd-server)`);
  }
  return { kind: 'etcd', endpoint };
}

export const scaleHelp = `Usage: kd scale FUNCTION N [--dir DIR]

Sets the desired count of FUNCTION to N at the Autoscaler of the cluster in DIR
(default .kd). Answers once the count is stored durably.`;

export async function runScale(argv: readonly string[], print: (line: string) => void): Promise<number> {
  const parsed = parse('scale', argv, {}, true);
  if (parsed.values.help === true) {
    print(scaleHelp);
    return exitCodes.ok;
  }
  const [fn, count, ...extra] = parsed.positionals;
  if (fn === undefined || count === undefined || extra.length > 0) throw new UsageError('takes FUNCTION and N, for example: kd scale fn 50');
  const desired = parseWholeNumber('N', count, 0, 0, desiredMax);
  const dir = parsed.values.dir ?? defaultDir;
  const config = loadRunning(dir, 'scale');
  if (!config.chain.functions.some((f) => f.name === fn))
    throw new UsageError(`unknown function "${fn}"; the cluster has: ${config.chain.functions.map((f) => f.name).join(', ')}`);
  const address = config.stages['autoscaler']?.address ?? '';
  try {
    const reply = await setScale(stageTargetOf(config, 'autoscaler'), fn, desired);
    print(`${reply.function}: desired ${reply.desired} (stored)`);
    return exitCodes.ok;
  } catch (error) {
    const e = error as { details?: string; code?: number };
    console.error(`kd scale: the autoscaler at ${address} refused or is down: ${reasonOfStatus(e) ?? ''} ${e.details ?? String(error)}`);
    return exitCodes.failed;
  }
}

export const statusHelp = `Usage: kd status [--json] [--wait SECONDS] [--dir DIR]

Shows every stage's sessions and epochs and its cache (dirty/clean/tombstones/waiting),
and for every function the desired count and the pods running at Kubelets, and whether
the chain has converged. Waits up to --wait seconds (default 10, 0 for no wait) for the
chain to converge before it prints. Exit codes: 0 converged, 1 not (yet) converged,
2 bad usage.`;

export async function runStatus(argv: readonly string[], print: (line: string) => void): Promise<number> {
  const v = parse('status', argv, { json: { type: 'boolean' }, wait: { type: 'string' } }).values;
  if (v.help === true) {
    print(statusHelp);
    return exitCodes.ok;
  }
  const waitSeconds = parseWholeNumber('wait', text(v['wait']), 10, 0, 3_600);
  const config = loadRunning(v.dir ?? defaultDir, 'status');
  const deadline = Date.now() + waitSeconds * 1_000;
  const restarts = (): Readonly<Record<string, number>> => restartsOf(readSupervisorState(v.dir ?? defaultDir));
  let status = await clusterStatus(config, restarts());
  while (!status.converged && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    status = await clusterStatus(config, restarts());
  }
  print(v['json'] === true ? JSON.stringify(status, null, 2) : formatStatus(status));
  return status.converged ? exitCodes.ok : exitCodes.failed;
}

export const downHelp = `Usage: kd down [--dir DIR]

Stops every stage of the cluster in DIR (SIGTERM, then waits; SIGKILL after 5 s).
The data in DIR stays (remove DIR to start from nothing).`;

export async function runDown(argv: readonly string[], print: (line: string) => void): Promise<number> {
  const v = parse('down', argv, {}).values;
  if (v.help === true) {
    print(downHelp);
    return exitCodes.ok;
  }
  const dir = v.dir ?? defaultDir;
  const results = await stopCluster(dir);
  if (results.length === 0) print(`no stage was running in ${dir}`);
  for (const r of results) print(`  ${r.stage.padEnd(14)} pid ${r.pid} ${r.outcome}`);
  return exitCodes.ok;
}
