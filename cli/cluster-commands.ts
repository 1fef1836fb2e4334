/** `kd up`, `kd scale`, `kd status`, `kd down`: a local cluster of stage processes on loopback. */
import { existsSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { desiredMax, nodeCapacityMax, scalesRequestRefusal, stagesOf, type ChainConfig } from '../machines/index.js';
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
import { setScale, setScales, stageTargetOf } from '../runtime/cluster/rpc.js';
import { CertsError } from '../runtime/security/certs.js';
import { operatorChannelOf } from '../runtime/security/credentials.js';
import { defaultTrustDomain, trustDomainProblem } from '../runtime/security/identity.js';
import { EtcdStore } from '../runtime/store/etcd-store.js';
import { etcdEndpointProblem } from '../runtime/store/store.js';
import type { TransportConfig } from '../runtime/mediated/transport-config.js';
import { criSandboxConfigProblems, type CriSandboxConfig } from '../runtime/node/cri/cri-config.js';
import { clusterStatus, formatStatus, stageHealthOf } from '../runtime/cluster/status.js';
import { readSupervisorState, restartsOf } from '../runtime/cluster/supervisor.js';
import { nodeFlagsProblem, parseNodeFlags, writeNodeFlags } from '../runtime/cluster/node-flags.js';
import { storeUnavailableReason } from '../runtime/store/store-health.js';
import { reasonOfStatus } from '../runtime/wire/errors.js';
import { scaleSetsEntriesMax } from '../spec/limits.js';
import { helpOf, parseCommandLine, UsageError, wholeNumber, type CommandLineSpec } from './args.js';
import { exitCodes } from './exit-codes.js';

const dirOption = { kind: 'text', value: 'DIR', default: '.kd', help: 'where the cluster lives' } as const;

/** ` --dir DIR` when the operator chose a directory, so every hint carries it. */
function dirSuffix(given: ReadonlySet<string>, dir: string): string {
  return given.has('dir') ? ` --dir ${dir}` : '';
}

function loadRunning(dir: string, command: string, dirHint: string): ClusterConfig {
  const file = configFileOf(dir);
  if (!existsSync(file)) throw new UsageError(`no cluster in ${dir} (${file} is missing): run "npx kd up${dirHint}" first, or pass --dir`);
  try {
    const config = loadClusterConfig(file);
    // With tls, the operator identity must be usable before any call (its problems said once, with the fix).
    if (config.tls !== undefined) operatorChannelOf(config, 'autoscaler');
    return config;
  } catch (error) {
    throw new UsageError(`${command}: ${(error as Error).message}`);
  }
}

export const upCommandLine = {
  command: 'up',
  about: `Starts a local cluster: the Autoscaler, Deployment, ReplicaSet, Scheduler and one
Kubelet per node, each as its own OS process on 127.0.0.1 (free ports), with the
simulated sandbox runtime (or real processes: --sandbox process; real containers:
--sandbox cri). Writes DIR/cluster.json, logs to DIR/logs, data to DIR/data. A supervisor
(kd supervise) restarts a stage that fails, with backoff; kd status shows the restarts.`,
  options: {
    nodes: { kind: 'whole', value: 'N', min: 1, max: 64, default: 4, help: 'nodes, one Kubelet each' },
    capacity: { kind: 'whole', value: 'N', min: 0, max: nodeCapacityMax, default: 100, help: 'sandboxes per node' },
    functions: { kind: 'text', value: 'LIST', repeatable: true, help: 'function names, comma-separated (default fn)' },
    'start-delay-ms': { kind: 'whole', value: 'N', min: 0, max: 60_000, default: 20, help: 'simulated sandbox start delay' },
    sandbox: {
      kind: 'choice',
      value: 'DRIVER',
      choices: ['simulated', 'process', 'cri'],
      default: 'simulated',
      help: 'sandbox runtime of the Kubelets (process: each sandbox a real child process, started and killed; kd down kills them; cri: each pod a real container through the CRI of containerd, host network, images from npm run cri:image; kd down removes them)',
    },
    'cri-endpoint': { kind: 'text', value: 'SOCKET', help: "the container runtime's socket for --sandbox cri (default unix:///run/containerd/containerd.sock)" },
    store: { kind: 'choice', value: 'KIND', choices: ['file', 'etcd'], default: 'file', help: 'backing store (file: DIR/data, DIR/objects/pods)' },
    transport: {
      kind: 'choice',
      value: 'KIND',
      choices: ['direct', 'store-mediated'],
      default: 'direct',
      help: 'how the links travel: gRPC streams, or the benchmark baseline (one etcd object per record, watches; needs --etcd)',
    },
    etcd: { kind: 'text', value: 'URL', help: 'etcd client URL for --store etcd and --transport store-mediated (default http://127.0.0.1:2379)' },
    tls: { kind: 'flag', help: 'mutual TLS (1.3) between stages and for kd scale/status: makes the development CA and certificates in DIR/certs (kd certs), or reuses them' },
    'trust-domain': { kind: 'text', value: 'D', help: `the SPIFFE trust domain of --tls (default ${defaultTrustDomain})` },
    'metrics-host': {
      kind: 'text',
      value: 'HOST',
      help: 'where /metrics and /healthz listen (default 127.0.0.1, plain HTTP); another host (0.0.0.0 for every interface) needs --tls and is then HTTPS with a client certificate of the CA (tls.metricsClientIdentities)',
    },
    'node-flags': {
      kind: 'text',
      value: 'FLAGS',
      help: 'extra Node flags for every stage process, one quoted text (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile each stage; a profile is written when kd down stops it); a stage the supervisor restarts gets them too',
    },
    dir: dirOption,
  },
  example: 'npx kd up --nodes 4',
  exits: { ok: 'the cluster is up and every stage healthy', failed: 'a stage did not become healthy (what started is stopped)' },
} as const satisfies CommandLineSpec;

export async function runUp(argv: readonly string[], print: (line: string) => void): Promise<number> {
  const parsed = parseCommandLine(upCommandLine, argv);
  if (parsed === 'help') {
    print(helpOf(upCommandLine));
    return exitCodes.ok;
  }
  const v = parsed.options;
  const dir = v.dir;
  const dirHint = dirSuffix(parsed.given, dir);
  const running = runningStages(dir);
  const supervisor = runningSupervisorOf(dir);
  if (supervisor !== null) running.push({ stage: `supervisor`, pid: supervisor });
  if (running.length > 0) throw new UsageError(`a cluster is already running in ${dir} (${running.map((r) => r.stage).join(', ')}): run "npx kd down${dirHint}" first`);
  const functions = v.functions.length > 0 ? v.functions : ['fn'];
  const cri = criOption(v.sandbox, v['cri-endpoint']);
  const transport = await transportOption(v.transport, v.etcd);
  const store = await storeOption(v.store, transport !== undefined && v.store !== 'etcd' ? undefined : v.etcd);
  const tls = tlsOption(v.tls, v['trust-domain']);
  const metricsHost = v['metrics-host'];
  if (metricsHost !== undefined && !/^[A-Za-z0-9.-]+$|^\[[0-9a-fA-F:]+\]$/.test(metricsHost)) throw new UsageError(`--metrics-host must be a host name or address such as 0.0.0.0 or 10.0.0.5, got "${metricsHost}"`);
  if (metricsHost !== undefined && tls === undefined && !isLoopbackAddress(`${metricsHost}:1`))
    throw new UsageError(`--metrics-host ${metricsHost} needs --tls: beyond loopback, /metrics and /healthz are served only over mutual TLS (or leave --metrics-host out for 127.0.0.1)`);
  const nodeFlags = nodeFlagsOption(v['node-flags']);
  const shape = { nodes: v.nodes, capacity: v.capacity, functions, startDelayMs: v['start-delay-ms'], killDelayMs: 10, sandboxDriver: v.sandbox, ...(cri === undefined ? {} : { cri }), store };
  const config = await writeClusterConfig(dir, { ...shape, ...(tls === undefined ? {} : { tls }), ...(metricsHost === undefined ? {} : { metricsHost }), ...(transport === undefined ? {} : { transport }) }).catch((error: Error) => {
    if (error instanceof CertsError) throw new UsageError(`--tls: ${error.message}`);
    if (/metricsAddress/.test(error.message)) throw new UsageError(`--metrics-host: ${error.message}`);
    throw new UsageError(`${error.message} (function names must be DNS labels: a-z, 0-9, '-')`);
  });
  const stages = stagesOf(config.chain);
  writeNodeFlags(dir, nodeFlags);
  // The supervisor starts the stages and restarts any that fails (runtime/cluster/supervisor.ts).
  startSupervisor(dir);
  try {
    await waitHealthy(config, stages, 60_000);
  } catch (error) {
    console.error(`kd up: ${(error as Error).message}; see the logs in ${dir}/logs. Stopping what started.`);
    await stopCluster(dir);
    return exitCodes.failed;
  }
  print(`cluster up in ${dir} (${v.nodes} nodes, capacity ${v.capacity} each, functions ${functions.join(', ')}${config.tls === undefined ? '' : `, mutual TLS, trust domain ${config.tls.trustDomain}, certificates in ${dir}/certs`})`);
  const scheme = (address: string | undefined): string => (address !== undefined && !isLoopbackAddress(address) ? 'https' : 'http');
  for (const stage of stages)
    print(`  ${stage.padEnd(14)} ${config.stages[stage]?.address ?? ''}  metrics ${scheme(config.stages[stage]?.metricsAddress)}://${config.stages[stage]?.metricsAddress ?? '-'}/metrics  log ${logFileOf(dir, stage)}`);
  print(`  supervisor     restarts failed stages; log ${dir}/logs/supervisor.log`);
  print(`next: npx kd scale ${functions[0] ?? 'fn'} 50${dirHint}; npx kd status${dirHint}; npx kd down${dirHint}`);
  return exitCodes.ok;
}

/** The extra Node flags of `kd up --node-flags FLAGS`, checked by starting Node with them once. */
function nodeFlagsOption(text: string | undefined): string[] {
  if (text === undefined) return [];
  let flags: string[];
  try {
    flags = parseNodeFlags(text);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const problem = nodeFlagsProblem(flags);
  if (problem !== null) throw new UsageError(`--node-flags: ${problem}; pass flags that "node --help" lists`);
  return flags;
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
async function transportOption(kind: 'direct' | 'store-mediated', etcd: string | undefined): Promise<TransportConfig | undefined> {
  if (kind === 'direct') return undefined;
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
async function storeOption(kind: 'file' | 'etcd', etcd: string | undefined): Promise<{ kind: 'file' } | { kind: 'etcd'; endpoint: string }> {
  if (kind === 'file') {
    if (etcd !== undefined) throw new UsageError('--etcd is only for --store etcd');
    return { kind: 'file' };
  }
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

export const scaleCommandLine = {
  command: 'scale',
  about: `Sets the desired count of FUNCTION to N at the Autoscaler of the cluster in DIR.
Answers once the count is stored durably. Several FUNCTION N pairs are one
Scaler.SetScales call: every count stored, or none (REQ-SCALE-007).`,
  arguments: [
    { name: 'FUNCTION', kind: 'text', help: "a function of the cluster (kd up's --functions)" },
    { name: 'N', kind: 'whole', min: 0, max: desiredMax, help: `the desired count, 0 to ${desiredMax}` },
    { name: 'MORE', kind: 'text', variadic: true, optional: true, help: `more FUNCTION N pairs, at most ${scaleSetsEntriesMax} pairs in all (scaleSetsEntriesMax), each function once` },
  ],
  options: { dir: dirOption },
  example: 'npx kd scale fn 50',
  epilogue: 'Several functions at once: npx kd scale lo 40 hi 10',
  exits: {
    ok: 'stored',
    failed: 'refused, or the Autoscaler is down (nothing stored)',
    incomplete:
      'not stored: the backing store is unavailable. The message says which of two cases it is: "not stored and not applied: nothing changed" (the store was known to be down, or the Autoscaler is waiting for it at start), or "not stored yet ... may still be stored and applied once the store is back" (the Autoscaler took the count and keeps retrying the write; kd status shows the desired count it holds)',
  },
} as const satisfies CommandLineSpec;

type DesiredCount = { readonly function: string; readonly desired: number };

/**
 * The FUNCTION N pairs of the command line. The CLI reads their syntax; whether the
 * request may be taken (known functions, each once, at most scaleSetsEntriesMax) is the
 * Autoscaler machine's rule (REQ-SCALE-007), asked here before anything is sent.
 */
function desiredCountsOf(first: DesiredCount, more: readonly string[], chain: ChainConfig): DesiredCount[] {
  if (more.length % 2 !== 0) throw new UsageError(`"${more[more.length - 1] ?? ''}" has no desired count: give FUNCTION N pairs, for example: kd scale lo 40 hi 10`);
  const counts: DesiredCount[] = [first];
  for (let i = 0; i < more.length; i += 2) {
    const fn = more[i] ?? '';
    counts.push({ function: fn, desired: wholeNumber(`the desired count of ${fn}`, more[i + 1] ?? '', 0, desiredMax, scaleCommandLine.example) });
  }
  const refused = scalesRequestRefusal(chain, counts);
  if (refused !== null) throw new UsageError(refused.message);
  return counts;
}

export async function runScale(argv: readonly string[], print: (line: string) => void): Promise<number> {
  const parsed = parseCommandLine(scaleCommandLine, argv);
  if (parsed === 'help') {
    print(helpOf(scaleCommandLine));
    return exitCodes.ok;
  }
  const first = { function: String(parsed.arguments['FUNCTION']), desired: Number(parsed.arguments['N']) };
  const dir = parsed.options.dir;
  const dirHint = dirSuffix(parsed.given, dir);
  const config = loadRunning(dir, 'scale', dirHint);
  const counts = desiredCountsOf(first, parsed.list, config.chain);
  const address = config.stages['autoscaler']?.address ?? '';
  const what = counts.length === 1 ? `the desired count of ${first.function}` : `the desired counts of ${counts.map((c) => c.function).join(', ')}`;
  try {
    const target = stageTargetOf(config, 'autoscaler');
    const stored = counts.length === 1 ? [await setScale(target, first.function, first.desired)] : (await setScales(target, counts)).scales;
    for (const reply of stored) print(`${reply.function}: desired ${reply.desired} (stored)`);
    return exitCodes.ok;
  } catch (error) {
    const e = error as { details?: string; code?: number };
    if (e.code === grpc.status.UNAVAILABLE && runningStages(dir).length === 0) {
      console.error(`kd scale: the cluster in ${dir} is not running (no stage process is alive): start it with "npx kd up${dirHint}"`);
      return exitCodes.failed;
    }
    const reason = reasonOfStatus(e);
    if (reason === storeUnavailableReason) {
      console.error(`kd scale: not stored: ${e.details ?? ''}`);
      return exitCodes.incomplete;
    }
    const waiting = await autoscalerWaitingForStore(config);
    if (waiting !== null) {
      console.error(`kd scale: not stored: the Autoscaler at ${address} is waiting for the backing store (${waiting}); ${what} ${counts.length === 1 ? 'was' : 'were'} not stored and not applied: nothing changed; scale again once the store is back`);
      return exitCodes.incomplete;
    }
    const details = (e.details ?? String(error)).replace(/\s*Resolution note:\s*$/, '');
    console.error(`kd scale: the Autoscaler at ${address} ${reason === null ? `did not answer (${grpcStatusName(e.code)}): ${details}` : `refused: ${reason}: ${details}`}; nothing stored`);
    return exitCodes.failed;
  }
}

function grpcStatusName(code: number | undefined): string {
  return code === undefined ? 'no status' : (grpc.status[code] ?? `status ${code}`);
}

/** Why the Autoscaler is waiting for its backing store at start (its /healthz), or null when it is not (or does not answer). */
async function autoscalerWaitingForStore(config: ClusterConfig): Promise<string | null> {
  const health = await stageHealthOf(config, 'autoscaler');
  if (health?.status !== 'waiting-for-store') return null;
  const store = health.store;
  return `${store?.store ?? 'store'} unavailable${store?.unavailableSince === undefined ? '' : ` since ${store.unavailableSince}`}${store?.lastError === undefined ? '' : `: ${store.lastError}`}`;
}

export const statusCommandLine = {
  command: 'status',
  about: `Shows every stage's sessions and epochs and its cache (dirty/clean/tombstones/waiting),
and for every function the desired count and the pods running at Kubelets, and whether
the chain has converged. Waits up to --wait seconds for the chain to converge before it
prints (not when no stage answers).`,
  options: {
    json: { kind: 'flag', help: 'the status as JSON' },
    wait: { kind: 'whole', value: 'SECONDS', min: 0, max: 3_600, default: 10, help: 'how long to wait for convergence (0: no wait)' },
    dir: dirOption,
  },
  example: 'npx kd status --wait 30',
  exits: { ok: 'converged', failed: 'not (yet) converged, or the cluster is not running' },
} as const satisfies CommandLineSpec;

export async function runStatus(argv: readonly string[], print: (line: string) => void): Promise<number> {
  const parsed = parseCommandLine(statusCommandLine, argv);
  if (parsed === 'help') {
    print(helpOf(statusCommandLine));
    return exitCodes.ok;
  }
  const v = parsed.options;
  const dirHint = dirSuffix(parsed.given, v.dir);
  const config = loadRunning(v.dir, 'status', dirHint);
  const deadline = Date.now() + v.wait * 1_000;
  const restarts = (): Readonly<Record<string, number>> => restartsOf(readSupervisorState(v.dir));
  let status = await clusterStatus(config, restarts());
  const nothingAnswers = (): boolean => status.stages.every((s) => !s.reachable);
  while (!status.converged && !nothingAnswers() && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    status = await clusterStatus(config, restarts());
  }
  if (nothingAnswers() && !v.json) {
    console.error(`kd status: no stage of the cluster in ${v.dir} answers${runningStages(v.dir).length === 0 ? ` (no stage process is alive): start it with "npx kd up${dirHint}"` : ': see the logs in ' + v.dir + '/logs'}`);
    return exitCodes.failed;
  }
  print(v.json ? JSON.stringify(status, null, 2) : formatStatus(status));
  return status.converged ? exitCodes.ok : exitCodes.failed;
}

export const downCommandLine = {
  command: 'down',
  about: `Stops every stage of the cluster in DIR (SIGTERM, then waits; SIGKILL after 5 s).
The data in DIR stays (remove DIR to start from nothing).`,
  options: { dir: dirOption },
  example: 'npx kd down',
  exits: { ok: 'stopped (or nothing was running)' },
} as const satisfies CommandLineSpec;

export async function runDown(argv: readonly string[], print: (line: string) => void): Promise<number> {
  const parsed = parseCommandLine(downCommandLine, argv);
  if (parsed === 'help') {
    print(helpOf(downCommandLine));
    return exitCodes.ok;
  }
  const dir = parsed.options.dir;
  const results = await stopCluster(dir);
  if (results.length === 0) print(`no stage was running in ${dir}`);
  for (const r of results) print(`  ${r.stage.padEnd(14)} pid ${r.pid} ${r.outcome}`);
  return exitCodes.ok;
}
