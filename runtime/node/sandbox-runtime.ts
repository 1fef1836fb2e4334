/**
 * The sandbox runtime of one node, as the Kubelet's driver uses it (machines/README.md:
 * `sandbox.start` / `sandbox.kill` effects in, `sandbox.started` / `sandbox.failed` /
 * `sandbox.killed` events out, exactly once per effect). Two implementations, chosen
 * by `ClusterConfig.sandbox.driver`: `simulated` (simulated-sandboxes.ts, timers) and
 * `process` (process-sandboxes.ts, one real child process per sandbox). Both keep
 * their sandboxes across a Kubelet process restart (spec 06, REQ-FAIL-003).
 */
import type { PodRecord, Role, SandboxInventoryItem } from '../../machines/index.js';

/** An outcome of the sandbox runtime, delivered to the Kubelet's machine as an event of the same type. */
export type SandboxReport = { readonly type: 'sandbox.started' | 'sandbox.failed' | 'sandbox.killed'; readonly pod: string };

export type SandboxReporter = (report: SandboxReport) => void;

export interface SandboxRuntime {
  /** The sandboxes found on the node at start, for initStage's inventory. */
  inventory(): SandboxInventoryItem[];
  /** After initStage and its boot effects: outcomes still owed for adopted sandboxes start being reported. */
  resume(): void;
  /** Starts a sandbox for `pod`; reports `sandbox.started` or `sandbox.failed` later. */
  start(pod: PodRecord): void;
  /**
   * Kills the sandbox of `pod`; reports `sandbox.killed` once it is dead. Idempotent while a
   * kill is in progress. Keeps `origin` (of the pod's tombstone) with the sandbox until it is
   * gone: the inventory gives it back after a Kubelet restart (REQ-TOMB-008).
   */
  kill(pod: PodRecord, origin: Role): void;
  /** Sandboxes held (starting, running or being killed). */
  count(): number;
  /** Stops reporting (the Kubelet is stopping); the sandboxes themselves keep running. */
  stop(): void;
}

/**
 * The origin a sandbox being killed is listed with in an inventory: the one recorded with
 * it. A record written before origins were recorded has none; it is listed with the
 * Scheduler, the sender of every tombstone a Kubelet receives, a valid origin on the wire.
 */
export function killOriginOf(recorded: unknown): Role {
  return recorded === 'replicaset' || recorded === 'scheduler' ? recorded : 'scheduler';
}

/** An inventory item: a sandbox being killed carries the origin of its tombstone (`killOriginOf`). */
export function inventoryItemOf(pod: PodRecord, state: SandboxInventoryItem['state'], origin: unknown): SandboxInventoryItem {
  return state === 'killing' ? { pod, state, origin: killOriginOf(origin) } : { pod, state };
}
