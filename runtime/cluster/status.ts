/**
 * The status of a running cluster from every stage's Inspect.GetState: sessions,
 * caches (dirty, clean, tombstones), desired vs running per function, and whether the
 * chain has converged (LIVE-CONVERGENCE as seen from outside, by the same rule as the
 * simulator and the checker: machines/stages/convergence.ts).
 */
import {
  convergenceProblemsOf,
  describeEpoch,
  functionCountsOf,
  kubeletId,
  podCacheClassOf,
  podMachineOfRole,
  podStateHas,
  roleOf,
  stagesOf,
  type ChainObservation,
  type ObservedSession,
  type ObservedStage,
  type StageId,
} from '../../machines/index.js';
import type { ClusterConfig } from '../config.js';
import type { WireStageState } from '../wire/proto.js';
import type { StoreHealthReport } from '../store/store-health.js';
import { getStageState, stageTargetOf } from './rpc.js';

export interface StageSummary {
  readonly stage: StageId;
  readonly address: string;
  readonly reachable: boolean;
  readonly incarnation: number;
  readonly warm: boolean;
  readonly sessions: ReadonlyArray<{ link: string; end: string; state: string; epoch: number; lastRejection: string }>;
  /** Pod entries by class: dirty (forwarded, not confirmed running), clean (running), tombstones, waiting (not yet forwarded). */
  readonly cache: { readonly dirty: number; readonly clean: number; readonly tombstones: number; readonly waiting: number };
  readonly scales: ReadonlyArray<{ function: string; desired: number; clean: boolean }>;
  /** Times a supervisor restarted the stage after a failure (`kd up`'s supervisor, runtime/cluster/supervisor.ts); null: not known here. */
  readonly restarts: number | null;
}

export interface FunctionSummary {
  readonly function: string;
  readonly desired: number;
  readonly running: number;
  readonly waiting: number;
}

export interface ClusterStatus {
  readonly stages: readonly StageSummary[];
  readonly functions: readonly FunctionSummary[];
  /** The backing store as the stages report it on /healthz; null when no stage reports it. */
  readonly store: StoreStatus | null;
  readonly converged: boolean;
  readonly problems: readonly string[];
}

/** The backing store as the stages see it: unavailable if any stage says so. */
export interface StoreStatus {
  readonly kind: 'file' | 'etcd';
  readonly available: boolean;
  /** Stages that find it unavailable, with since when and their last error. */
  readonly unavailableAt: ReadonlyArray<{ readonly stage: StageId; readonly since: string; readonly lastError: string; readonly waitingToStart: boolean }>;
}

/** What a stage's /healthz answers: serving (with its store's health), or waiting for its store at start (runtime/node/store-wait.ts). */
export type StageHealth =
  | { readonly status: 'serving'; readonly stage: string; readonly incarnation: number; readonly warm: boolean; readonly store?: StoreHealthReport }
  | { readonly status: 'waiting-for-store'; readonly stage: string; readonly store: StoreHealthReport };

/** Time to wait for a stage's /healthz. */
const healthRequestMsMax = 2_000;

/** A stage's /healthz (on its metrics address), or null when it has none or does not answer. */
export async function stageHealthOf(config: ClusterConfig, stage: StageId): Promise<StageHealth | null> {
  const address = config.stages[stage]?.metricsAddress;
  if (address === undefined) return null;
  try {
    const response = await fetch(`http://${address}/healthz`, { signal: AbortSignal.timeout(healthRequestMsMax) });
    const health = (await response.json()) as StageHealth;
    return typeof health === 'object' && health !== null && typeof health.status === 'string' ? health : null;
  } catch {
    return null;
  }
}

/** The store's status from the stages' health answers. */
export function storeStatusOf(healths: ReadonlyMap<StageId, StageHealth | null>): StoreStatus | null {
  let kind: StoreStatus['kind'] | null = null;
  const unavailableAt: Array<StoreStatus['unavailableAt'][number]> = [];
  for (const [stage, health] of healths) {
    const store = health?.store;
    if (health === null || store === undefined) continue;
    kind = store.store;
    if (!store.available) unavailableAt.push({ stage, since: store.unavailableSince ?? '', lastError: store.lastError ?? '', waitingToStart: health.status === 'waiting-for-store' });
  }
  return kind === null ? null : { kind, available: unavailableAt.length === 0, unavailableAt };
}

export async function inspectCluster(config: ClusterConfig, timeoutMs = 3_000): Promise<Map<StageId, WireStageState | null>> {
  const states = new Map<StageId, WireStageState | null>();
  await Promise.all(
    stagesOf(config.chain).map(async (stage) => {
      const endpoint = config.stages[stage];
      try {
        states.set(stage, endpoint === undefined ? null : await getStageState(stageTargetOf(config, stage), timeoutMs));
      } catch {
        states.set(stage, null);
      }
    }),
  );
  return states;
}

function summarizeStage(config: ClusterConfig, stage: StageId, state: WireStageState | null, restarts: number | null): StageSummary {
  const address = config.stages[stage]?.address ?? '';
  if (state === null)
    return { stage, address, reachable: false, incarnation: 0, warm: false, sessions: [], cache: { dirty: 0, clean: 0, tombstones: 0, waiting: 0 }, scales: [], restarts };
  const cache = { dirty: 0, clean: 0, tombstones: 0, waiting: 0 };
  const machine = podMachineOfRole(roleOf(stage));
  for (const pod of state.pods) {
    switch (machine === null ? null : podCacheClassOf(machine, pod.state)) {
      case 'tombstone':
        cache.tombstones++;
        break;
      case 'clean':
        cache.clean++;
        break;
      case 'waiting':
        cache.waiting++;
        break;
      default:
        cache.dirty++;
    }
  }
  return {
    stage,
    address,
    reachable: true,
    incarnation: state.incarnation,
    warm: state.warm,
    sessions: state.links.map((l) => ({ link: l.link_id, end: l.end, state: l.state, epoch: l.epoch, lastRejection: l.last_rejection?.reason ?? '' })),
    cache,
    scales: state.scales.map((s) => ({ function: s.function, desired: s.desired, clean: s.clean })),
    restarts,
  };
}

/**
 * The cluster as the convergence rule sees it (machines/stages/convergence.ts), from the
 * stages that answered: what runs is what the Kubelets report running; the free slots
 * are the Scheduler's; the desired counts are the Autoscaler's.
 */
export function observeCluster(config: ClusterConfig, states: ReadonlyMap<StageId, WireStageState | null>): ChainObservation {
  const stages = new Map<StageId, ObservedStage>();
  for (const [stage, state] of states) {
    if (state === null) continue;
    const sessions = new Map<string, ObservedSession>(state.links.map((l) => [l.link_id, { session: l.state, epoch: l.epoch }]));
    const pods = state.pods.map((p) => ({ name: p.record.name, function: p.record.function, node: p.record.node === '' ? null : p.record.node, lifecycle: p.state }));
    stages.set(stage, { pods, scales: state.scales, sessions });
  }
  const desired: Record<string, number> = {};
  for (const s of states.get('autoscaler')?.scales ?? []) desired[s.function] = s.desired;
  const running: Record<string, number> = {};
  for (const n of config.chain.nodes)
    for (const p of states.get(kubeletId(n.name))?.pods ?? []) if (podStateHas('kubelet-pod', p.state, 'clean')) running[p.record.function] = (running[p.record.function] ?? 0) + 1;
  const freeCapacity = (states.get('scheduler')?.nodes ?? []).reduce((sum, n) => sum + Math.max(0, n.capacity - n.used), 0);
  return { config: config.chain, stages, desired, running, freeCapacity, quiescent: null };
}

/** The status of the cluster from the stages' states and health; `restarts` per stage where a supervisor counts them. */
export function clusterStatusOf(
  config: ClusterConfig,
  states: ReadonlyMap<StageId, WireStageState | null>,
  healths: ReadonlyMap<StageId, StageHealth | null> = new Map(),
  restarts: Readonly<Record<StageId, number>> = {},
): ClusterStatus {
  const problems: string[] = [];
  const stages = stagesOf(config.chain).map((stage) => summarizeStage(config, stage, states.get(stage) ?? null, restarts[stage] ?? null));
  const store = storeStatusOf(healths);
  for (const at of store?.unavailableAt ?? [])
    problems.push(`${at.stage} ${at.waitingToStart ? 'waits to start: ' : 'finds '}the backing store (${store?.kind ?? ''}) unavailable since ${at.since}${at.lastError === '' ? '' : ` (${at.lastError})`}`);
  for (const s of stages) if (!s.reachable && healths.get(s.stage)?.status !== 'waiting-for-store') problems.push(`${s.stage} does not answer at ${s.address}`);
  const observed = observeCluster(config, states);
  problems.push(...convergenceProblemsOf(observed));
  const functions = functionCountsOf(observed);
  return { stages, functions, store, converged: problems.length === 0, problems: problems.slice(0, 20) };
}

export async function clusterStatus(config: ClusterConfig, restarts: Readonly<Record<StageId, number>> = {}): Promise<ClusterStatus> {
  const stages = stagesOf(config.chain);
  const [states, healths] = await Promise.all([inspectCluster(config), Promise.all(stages.map(async (stage) => [stage, await stageHealthOf(config, stage)] as const))]);
  return clusterStatusOf(config, states, new Map(healths), restarts);
}

/** A session state with its epoch as `incarnation.counter`, as every kd output writes it; no epoch before the first session. */
function sessionText(state: string, epoch: number): string {
  return epoch === 0 ? state : `${state}, epoch ${describeEpoch(epoch)}`;
}

export function formatStatus(status: ClusterStatus): string {
  const lines: string[] = [];
  lines.push('stage            address           inc  restarts  warm  pods dirty/clean/tombstones/waiting  sessions');
  for (const s of status.stages) {
    const sessions = s.sessions.map((l) => `${l.link}(${l.end === 'upstream' ? 'up' : 'down'}): ${sessionText(l.state, l.epoch)}${l.lastRejection === '' ? '' : `, last rejection ${l.lastRejection}`}`).join('; ');
    const cache = `${s.cache.dirty}/${s.cache.clean}/${s.cache.tombstones}/${s.cache.waiting}`;
    lines.push(
      `${s.stage.padEnd(16)} ${s.address.padEnd(17)} ${s.reachable ? String(s.incarnation).padStart(3) : '  -'}  ${(s.restarts === null ? '-' : String(s.restarts)).padStart(8)}  ${s.reachable ? (s.warm ? 'yes ' : 'no  ') : 'DOWN'}  ${cache.padEnd(35)} ${sessions}`,
    );
  }
  lines.push('');
  const store = status.store;
  if (store !== null)
    lines.push(
      store.available
        ? `store: ${store.kind} available`
        : `store: ${store.kind} UNAVAILABLE (${store.unavailableAt.map((at) => `${at.stage}${at.waitingToStart ? ' waiting to start' : ''} since ${at.since}`).join('; ')}): kd scale answers "not stored" (exit 4)`,
    );
  for (const f of status.functions) lines.push(`function ${f.function}: desired ${f.desired}, running at kubelets ${f.running}, waiting for capacity ${f.waiting}`);
  lines.push(status.converged ? 'converged: yes' : `converged: no (${status.problems.slice(0, 5).join('; ')})`);
  return lines.join('\n');
}

/** Polls `clusterStatus` until the chain has converged on `desired` pods of its first function; throws with the last problems after `timeoutMs`. */
export async function waitConverged(config: ClusterConfig, desired: number, timeoutMs: number, pollMs = 200): Promise<ClusterStatus> {
  const started = Date.now();
  let status: ClusterStatus | null = null;
  while (Date.now() - started < timeoutMs) {
    status = await clusterStatus(config);
    if (status.converged && status.functions[0]?.desired === desired) return status;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  throw new Error(`not converged to ${desired} in ${timeoutMs} ms: ${JSON.stringify(status?.problems)}`);
}
