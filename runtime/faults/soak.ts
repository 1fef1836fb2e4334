/**
 * The bounded chaos soak (`npm run soak`; a short version in runtime/test/soak.test.ts):
 * a real local cluster (every stage its own process, `--store etcd` on a real etcd, the
 * ReplicaSet→Scheduler and every Scheduler→Kubelet link through a fault-injecting proxy,
 * tcp-proxy.ts) is scaled run after run to a random desired count while one random fault
 * is injected during the scale-up or scale-down: a stage SIGKILLed and restarted, a node
 * crash (node-crash.ts), a link cut, a link refused or blackholed for a while, or an
 * outage of the backing store (etcd SIGKILLed and restarted). Each run then waits for the
 * chain to converge and checks, from outside, what an operator would: the acknowledged
 * desired count is the Autoscaler's, no pod runs that the ReplicaSet does not hold
 * (leaked), no pod the desired count needs is missing (lost), and the Pod objects in etcd
 * come to match the running pods (pod-object-resync.ts). At the end `kd validate`
 * judges every stage's trace. Seeded: the faults, targets, counts and delays of a run
 * come from `seed`, so a failing soak is re-run with the same seed (the machine's timing
 * still differs).
 */
import { proxyLinks } from './link-proxies.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeletId, stagesOf, type LinkId, type StageId } from '../../machines/index.js';
import type { ClusterConfig } from '../config.js';
import { pidOf, processIsAlive, sleep, startStageProcess, stopCluster, waitHealthy, writeClusterConfig } from '../cluster/local-cluster.js';
import { getStageState, setScale, stageTargetOf } from '../cluster/rpc.js';
import { clusterStatus, waitConverged } from '../cluster/status.js';
import { formatReport, validateTraces } from '../observe/validate.js';
import { traceFileOf } from '../observe/trace.js';
import { startEtcd, type EtcdServer } from '../store/etcd-server.js';
import { EtcdStore } from '../store/etcd-store.js';
import { crashNodeSandboxes } from './node-crash.js';
import { TcpProxy } from './tcp-proxy.js';

export const soakFaultKinds = ['stage-sigkill', 'node-crash', 'link-cut', 'link-refused', 'link-blackholed', 'store-outage'] as const;
export type SoakFaultKind = (typeof soakFaultKinds)[number];

export interface SoakOptions {
  readonly runs: number;
  readonly seed: number;
  readonly nodes: number;
  /** Sandboxes per node; desired counts are drawn up to 60% of the cluster's capacity. */
  readonly capacity: number;
  /** How long a refusal, a blackhole or a store outage lasts. */
  readonly faultMs: number;
  /** How long a run may take to converge once its fault is over before it counts as not converged. */
  readonly convergeMsMax: number;
  /** The fault of each run in turn (default: drawn from the seed). */
  readonly faults?: readonly SoakFaultKind[];
  readonly log: (line: string) => void;
}

export interface SoakRun {
  readonly run: number;
  readonly fault: SoakFaultKind;
  readonly target: string;
  readonly desired: number;
  /** Whether `SetScale` answered OK (the count was stored). */
  readonly acknowledged: boolean;
  readonly converged: boolean;
  /** From the scale request to convergence. */
  readonly convergeMs: number | null;
  /** The Autoscaler's desired count is not the last acknowledged one. */
  readonly acknowledgedLost: boolean;
  /** Pods running at a Kubelet that the ReplicaSet does not hold alive. */
  readonly podsLeaked: number;
  /** Pods the acknowledged count needs that neither run nor wait for capacity. */
  readonly podsLost: number;
  /** Pod objects in etcd that still disagree with the running pods `objectsSyncMsMax` after convergence (missing, extra or stale). */
  readonly podObjectsDiverged: number;
}

export interface SoakResult {
  readonly seed: number;
  readonly runs: readonly SoakRun[];
  readonly faultsByKind: Readonly<Record<SoakFaultKind, number>>;
  readonly converged: number;
  readonly convergeMs: { readonly median: number | null; readonly max: number | null };
  /** Properties `kd validate` found VIOLATED in the traces of the whole soak. */
  readonly violations: readonly string[];
  readonly acknowledgedLost: number;
  readonly podsLeaked: number;
  readonly podsLost: number;
  readonly podObjectsDiverged: number;
  readonly seconds: number;
}

/** How long after convergence the Pod objects may take to match the running pods (their writes are off the critical path). */
export const objectsSyncMsMax = 30_000;

/** mulberry32: a small seeded generator, so a soak's choices repeat from its seed. */
function randomOf(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface SoakCluster {
  readonly dir: string;
  readonly etcd: EtcdServer;
  readonly config: ClusterConfig;
  readonly proxies: ReadonlyMap<LinkId, TcpProxy>;
  /** Reads the Pod objects. */
  readonly objects: EtcdStore;
}

async function startSoakCluster(options: SoakOptions): Promise<SoakCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'kd-soak-'));
  const etcd = await startEtcd();
  let config = await writeClusterConfig(dir, { nodes: options.nodes, capacity: options.capacity, functions: ['fn'], startDelayMs: 20, killDelayMs: 10, store: { kind: 'etcd', endpoint: etcd.endpoint } });
  const links: LinkId[] = ['replicaset>scheduler', ...config.chain.nodes.map((n) => `scheduler>${kubeletId(n.name)}`)];
  const proxied = await proxyLinks(dir, config, links);
  config = proxied.config;
  const proxies = proxied.proxies;
  const stages = stagesOf(config.chain);
  for (const stage of [...stages].reverse()) startStageProcess(dir, stage);
  await waitHealthy(config, stages, options.convergeMsMax);
  await waitConverged(config, 0, options.convergeMsMax);
  return { dir, etcd, config, proxies, objects: new EtcdStore(etcd.endpoint, () => {}) };
}

async function stopSoakCluster(cluster: SoakCluster): Promise<void> {
  await stopCluster(cluster.dir);
  await cluster.objects.close();
  for (const proxy of cluster.proxies.values()) await proxy.stop();
  await cluster.etcd.stop();
  rmSync(cluster.dir, { recursive: true, force: true });
}

async function restartStage(cluster: SoakCluster, stage: StageId, crashNode: boolean): Promise<void> {
  const pid = pidOf(cluster.dir, stage);
  if (pid !== null && processIsAlive(pid)) {
    process.kill(pid, 'SIGKILL');
    while (processIsAlive(pid)) await sleep(20);
  }
  if (crashNode) crashNodeSandboxes(cluster.config.stages[stage]?.dataDir ?? '');
  startStageProcess(cluster.dir, stage);
}

/** Injects one fault and returns once it is over (the faulty part restarted or the network back); what it hit. */
async function injectFault(cluster: SoakCluster, kind: SoakFaultKind, random: () => number, faultMs: number): Promise<string> {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const kubelets = cluster.config.chain.nodes.map((n) => kubeletId(n.name));
  switch (kind) {
    case 'stage-sigkill': {
      const stage = pick(stagesOf(cluster.config.chain));
      await restartStage(cluster, stage, false);
      return stage;
    }
    case 'node-crash': {
      const stage = pick(kubelets);
      await restartStage(cluster, stage, true);
      return stage;
    }
    case 'link-cut':
    case 'link-refused':
    case 'link-blackholed': {
      const link = pick([...cluster.proxies.keys()]);
      const proxy = cluster.proxies.get(link) as TcpProxy;
      if (kind === 'link-refused') proxy.refuse();
      if (kind === 'link-blackholed') proxy.blackhole();
      proxy.cut();
      if (kind !== 'link-cut') {
        await sleep(faultMs);
        proxy.resume();
      }
      return link;
    }
    case 'store-outage':
      await cluster.etcd.kill();
      await sleep(faultMs);
      await cluster.etcd.restart();
      return 'etcd';
  }
}

/** What the stages hold once converged: leaked and lost pods, and whether the acknowledged count survived. */
async function checkRun(cluster: SoakCluster, acknowledgedDesired: number): Promise<{ acknowledgedLost: boolean; podsLeaked: number; podsLost: number; podObjectsDiverged: number }> {
  const { config } = cluster;
  const autoscaler = await getStageState(stageTargetOf(config, 'autoscaler'), 5_000);
  const replicaset = await getStageState(stageTargetOf(config, 'replicaset'), 5_000);
  const held = new Set(replicaset.pods.filter((p) => p.state !== 'gone').map((p) => p.record.name));
  const running: string[] = [];
  for (const node of config.chain.nodes)
    for (const pod of (await getStageState(stageTargetOf(config, kubeletId(node.name)), 5_000)).pods) if (pod.state === 'running') running.push(pod.record.name);
  const status = await clusterStatus(config);
  const fn = status.functions[0];
  const podsLeaked = running.filter((name) => !held.has(name)).length + Math.max(0, running.length - acknowledgedDesired);
  const podsLost = Math.max(0, acknowledgedDesired - (fn?.running ?? 0) - (fn?.waiting ?? 0));
  return { acknowledgedLost: autoscaler.scales.find((s) => s.function === 'fn')?.desired !== acknowledgedDesired, podsLeaked, podsLost, podObjectsDiverged: await podObjectsDivergedOf(cluster) };
}

/** Pod objects that disagree with the pods the Kubelets run (name, node, Running), once they agree or after objectsSyncMsMax. */
async function podObjectsDivergedOf(cluster: SoakCluster): Promise<number> {
  const { config } = cluster;
  const deadline = Date.now() + objectsSyncMsMax;
  for (;;) {
    const running = new Set<string>();
    for (const node of config.chain.nodes)
      for (const pod of (await getStageState(stageTargetOf(config, kubeletId(node.name)), 5_000)).pods) if (pod.state === 'running') running.add(`${pod.record.name}@${pod.record.node}`);
    let objects: Set<string>;
    try {
      objects = new Set((await cluster.objects.listPods()).map((p) => `${p.metadata.name}@${p.status.phase === 'Running' ? (p.spec.nodeName ?? '-') : p.status.phase}`));
    } catch {
      objects = new Set();
    }
    const diverged = [...running].filter((p) => !objects.has(p)).length + [...objects].filter((p) => !running.has(p)).length;
    if (diverged === 0 || Date.now() > deadline) return diverged;
    await sleep(250);
  }
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const random = randomOf(options.seed);
  const startedAt = Date.now();
  const cluster = await startSoakCluster(options);
  const runs: SoakRun[] = [];
  let acknowledgedDesired = 0;
  try {
    for (let run = 1; run <= options.runs; run++) {
      const fault = options.faults?.[(run - 1) % options.faults.length] ?? (soakFaultKinds[Math.floor(random() * soakFaultKinds.length)] as SoakFaultKind);
      const desired = Math.floor(random() * options.nodes * options.capacity * 0.6);
      const started = Date.now();
      let acknowledged = false;
      try {
        await setScale(stageTargetOf(cluster.config, 'autoscaler'), 'fn', desired, options.convergeMsMax);
        acknowledged = true;
        acknowledgedDesired = desired;
      } catch (error) {
        options.log(`run ${run}: scale to ${desired} not acknowledged: ${(error as Error).message}`);
      }
      await sleep(Math.floor(random() * 200)); // the fault lands mid-scale
      const target = await injectFault(cluster, fault, random, options.faultMs);
      let convergeMs: number | null = null;
      try {
        await waitConverged(cluster.config, acknowledgedDesired, options.convergeMsMax);
        convergeMs = Date.now() - started;
      } catch (error) {
        options.log(`run ${run}: ${fault} on ${target}: ${(error as Error).message}`);
      }
      const checked = convergeMs === null ? { acknowledgedLost: false, podsLeaked: 0, podsLost: 0, podObjectsDiverged: 0 } : await checkRun(cluster, acknowledgedDesired);
      const result: SoakRun = { run, fault, target, desired, acknowledged, converged: convergeMs !== null, convergeMs, ...checked };
      runs.push(result);
      options.log(`run ${run}/${options.runs}: ${fault} on ${target} while scaling to ${desired}: ${convergeMs === null ? 'NOT CONVERGED' : `converged in ${convergeMs} ms`}${result.podObjectsDiverged === 0 ? '' : `, ${result.podObjectsDiverged} Pod object(s) still wrong after ${objectsSyncMsMax} ms`}`);
    }
  } finally {
    await stopCluster(cluster.dir);
  }
  const report = validateTraces(stagesOf(cluster.config.chain).map((stage) => traceFileOf(cluster.config.stages[stage]?.dataDir ?? '')));
  const violations = formatReport(report).filter((line) => line.startsWith('VIOLATED'));
  await stopSoakCluster(cluster);
  const times = runs.flatMap((r) => (r.convergeMs === null ? [] : [r.convergeMs])).sort((a, b) => a - b);
  const faultsByKind = Object.fromEntries(soakFaultKinds.map((kind) => [kind, runs.filter((r) => r.fault === kind).length])) as Record<SoakFaultKind, number>;
  return {
    seed: options.seed,
    runs,
    faultsByKind,
    converged: runs.filter((r) => r.converged).length,
    convergeMs: { median: times.length === 0 ? null : (times[Math.floor((times.length - 1) / 2)] ?? null), max: times.at(-1) ?? null },
    violations,
    acknowledgedLost: runs.filter((r) => r.acknowledgedLost).length,
    podsLeaked: runs.reduce((sum, r) => sum + r.podsLeaked, 0),
    podsLost: runs.reduce((sum, r) => sum + r.podsLost, 0),
    podObjectsDiverged: runs.reduce((sum, r) => sum + r.podObjectsDiverged, 0),
    seconds: (Date.now() - startedAt) / 1000,
  };
}

/** The soak's table, as the README's Reliability section shows it. */
export function formatSoak(result: SoakResult): string[] {
  const kinds = soakFaultKinds.map((kind) => `${kind} ${result.faultsByKind[kind]}`).join(', ');
  return [
    `| seed | ${result.seed} |`,
    `| faults injected, by kind | ${kinds} |`,
    `| runs converged | ${result.converged} of ${result.runs.length} |`,
    `| time to converge, median / max | ${result.convergeMs.median ?? '-'} ms / ${result.convergeMs.max ?? '-'} ms |`,
    `| kd validate violations | ${result.violations.length === 0 ? 0 : result.violations.join('; ')} |`,
    `| acknowledged desired counts lost | ${result.acknowledgedLost} |`,
    `| pods leaked / lost | ${result.podsLeaked} / ${result.podsLost} |`,
    `| Pod objects still wrong ${objectsSyncMsMax / 1000} s after convergence | ${result.podObjectsDiverged} |`,
    `| duration | ${Math.round(result.seconds)} s |`,
  ];
}
