/**
 * The `cri` sandbox runtime of one node: every pod is a real container, run through the
 * Kubernetes Container Runtime Interface (runtime.v1 RuntimeService) of a container
 * runtime such as containerd (cri-client.ts). Pods use the host network (no CNI).
 *
 * - `start`: RunPodSandbox (labels: owner, node, pod; the pod record in an annotation),
 *   CreateContainer and StartContainer of the configured image; `sandbox.started` once
 *   StartContainer answers, `sandbox.failed` if any step fails (what was made is removed).
 * - `kill`: the pod is written to the killing journal (DATA/cri-killing.json) first, then
 *   StopContainer (grace `sandboxTerminationGraceMsMax`), StopPodSandbox, RemovePodSandbox;
 *   `sandbox.killed` once removed. A failed CRI call is retried every `criKillRetryMs`.
 * - A container that exits by itself (seen by ListContainers every `criPollMs`) is reported
 *   `sandbox.failed` and its sandbox removed.
 * - Survives a Kubelet restart (spec 06, REQ-FAIL-003): the restarted Kubelet lists the
 *   sandboxes and containers labelled with its owner token (DATA/cri-owner, made once) and
 *   re-adopts them: a ready sandbox with a running container is `running`, one in the
 *   killing journal is `killing` (the kill is carried out again), anything else is
 *   reported failed and removed.
 *
 * Listing is asynchronous, so the inventory is read before the stage is made
 * (`readCriInventory`, awaited by StageNode.open) and handed to the constructor.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PodRecord, Role, SandboxInventoryItem } from '../../../machines/index.js';
import { sandboxTerminationGraceMsMax } from '../../../spec/limits.js';
import { readJsonFile, writeFileAtomic } from '../durable.js';
import { inventoryItemOf, killOriginOf, type SandboxReport, type SandboxReporter, type SandboxRuntime } from '../sandbox-runtime.js';

/** A line of the killing journal: the pod and the origin of its tombstone (REQ-TOMB-008); a journal written before origins were kept holds bare pod records. */
type KillingRecord = { readonly pod: PodRecord; readonly origin: Role } | PodRecord;

function killingEntryOf(record: KillingRecord): [string, { pod: PodRecord; origin: Role }] {
  const kill = 'pod' in record ? record : { pod: record, origin: killOriginOf(undefined) };
  return [kill.pod.name, { pod: kill.pod, origin: killOriginOf(kill.origin) }];
}
import { CriClient, type Container, type ContainerConfig, type PodSandbox, type PodSandboxConfig } from './cri-client.js';
import { sandboxImageName } from './sandbox-image.js';
import type { CriSandboxConfig } from './cri-config.js';

/** How often running containers are listed to notice one that exited by itself. */
export const criPollMs = 500;
/** The pause between attempts of a kill whose CRI call failed (the runtime may be restarting). */
export const criKillRetryMs = 1_000;
/** Pod starts in flight at once against the runtime; more wait their turn. */
export const criStartsInFlightMax = 8;

export const criLabels = { owner: 'kubedirect.io/owner', node: 'kubedirect.io/node', pod: 'kubedirect.io/pod' } as const;
const podRecordAnnotation = 'kubedirect.io/pod-record';
/** The command of every pod's container: live until asked to stop. */
export const criContainerCommand: readonly string[] = ['/bin/sh', '-c', "trap 'exit 0' TERM; sleep 2147483647 & wait"];

function ownerFileOf(dataDir: string): string {
  return join(dataDir, 'cri-owner');
}

export function criKillingFileOf(dataDir: string): string {
  return join(dataDir, 'cri-killing.json');
}

/** The owner token of the Kubelet whose data is in `dataDir`: the label its pods carry (made once, kept). */
export function criOwnerOf(dataDir: string): string {
  const file = ownerFileOf(dataDir);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const owner = randomBytes(8).toString('hex');
  writeFileSync(file, `${owner}\n`);
  return owner;
}

/** What one node's runtime holds for this Kubelet, read before the stage starts. */
export interface CriInventory {
  readonly owner: string;
  readonly sandboxes: readonly PodSandbox[];
  readonly containers: readonly Container[];
}

/** Lists the sandboxes and containers labelled with this Kubelet's owner token. */
export async function readCriInventory(dataDir: string, cri: CriSandboxConfig): Promise<CriInventory> {
  const owner = criOwnerOf(dataDir);
  const client = new CriClient(cri.endpoint);
  try {
    const [sandboxes, containers] = await Promise.all([client.listPodSandbox({ [criLabels.owner]: owner }), client.listContainers({ [criLabels.owner]: owner })]);
    return { owner, sandboxes, containers };
  } catch (error) {
    throw new Error(`the container runtime at ${cri.endpoint} does not answer (${(error as Error).message}); start it (Debian: containerd) or fix sandbox.cri.endpoint`);
  }
}

/**
 * Stops and removes every sandbox of the Kubelet whose data is in `dataDir` and forgets
 * the killing journal: for tearing a cluster down, or for a simulated node crash. Returns
 * the pod names removed.
 */
export async function removeCriSandboxes(dataDir: string, cri: CriSandboxConfig): Promise<string[]> {
  if (!existsSync(ownerFileOf(dataDir))) return [];
  const client = new CriClient(cri.endpoint);
  try {
    const sandboxes = await client.listPodSandbox({ [criLabels.owner]: criOwnerOf(dataDir) });
    for (const s of sandboxes) {
      await client.stopPodSandbox(s.id);
      await client.removePodSandbox(s.id);
    }
    writeFileAtomic(criKillingFileOf(dataDir), '[]', false);
    return sandboxes.map((s) => s.labels[criLabels.pod] ?? s.id);
  } finally {
    client.close();
  }
}

interface Entry {
  pod: PodRecord;
  state: SandboxInventoryItem['state'];
  /** Being killed: the origin of the pod's tombstone (REQ-TOMB-008); null otherwise. */
  origin: Role | null;
  sandboxId: string | null;
  containerId: string | null;
  /** The start (or adoption) has settled: ids are final. */
  settled: Promise<void>;
  /** The container is known to be gone (its outcome is being reported). */
  dead: boolean;
  killing: boolean;
}

export class CriSandboxes implements SandboxRuntime {
  private readonly client: CriClient;
  private readonly entries = new Map<string, Entry>();
  private readonly killingFile: string;
  private readonly image: string;
  private readonly pending: SandboxReport[] = [];
  private reportScheduled = false;
  private poller: NodeJS.Timeout | null = null;
  private polling = false;
  private startsInFlight = 0;
  private readonly startQueue: Array<() => void> = [];
  private resumed = false;
  private stopped = false;

  constructor(
    private readonly dataDir: string,
    private readonly node: string,
    cri: CriSandboxConfig,
    found: CriInventory,
    private readonly report: SandboxReporter,
    private readonly terminationGraceMsMax = sandboxTerminationGraceMsMax,
  ) {
    this.client = new CriClient(cri.endpoint);
    this.killingFile = criKillingFileOf(dataDir);
    this.image = cri.image ?? sandboxImageName;
    this.adopt(found);
  }

  private get owner(): string {
    return criOwnerOf(this.dataDir);
  }

  /** Rebuilds the entries from what the runtime holds and the killing journal. */
  private adopt(found: CriInventory): void {
    const killing = new Map(readJsonFile<KillingRecord[]>(this.killingFile, []).map((k) => killingEntryOf(k)));
    for (const sandbox of found.sandboxes) {
      const pod = podRecordOf(sandbox);
      if (pod === null || this.entries.has(pod.name)) {
        void this.removeSandbox(sandbox.id).catch(() => {}); // not one of ours to adopt: a leftover
        continue;
      }
      const container = found.containers.find((c) => c.pod_sandbox_id === sandbox.id) ?? null;
      const running = sandbox.state === 'SANDBOX_READY' && container?.state === 'CONTAINER_RUNNING';
      const kill = killing.get(pod.name);
      const isKilling = kill !== undefined;
      this.entries.set(pod.name, {
        pod,
        state: isKilling ? 'killing' : running ? 'running' : 'starting',
        origin: kill?.origin ?? null,
        sandboxId: sandbox.id,
        containerId: container?.id ?? null,
        settled: Promise.resolve(),
        dead: !isKilling && !running,
        killing: false,
      });
      killing.delete(pod.name);
    }
    // Killed before the crash but not reported: the kill is owed as done.
    for (const { pod, origin } of killing.values())
      this.entries.set(pod.name, { pod, state: 'killing', origin, sandboxId: null, containerId: null, settled: Promise.resolve(), dead: false, killing: false });
    this.saveKilling();
  }

  inventory(): SandboxInventoryItem[] {
    return [...this.entries.values()].map((e) => inventoryItemOf(e.pod, e.state, e.origin));
  }

  /** The container ids of the running pods, by pod (for tests and status). */
  containerIds(): ReadonlyMap<string, string> {
    const ids = new Map<string, string>();
    for (const [name, e] of this.entries) if (e.containerId !== null && e.state === 'running' && !e.dead) ids.set(name, e.containerId);
    return ids;
  }

  resume(): void {
    this.resumed = true;
    for (const [name, e] of [...this.entries]) if (e.dead) this.failed(name, e);
    this.poller = setInterval(() => void this.poll(), criPollMs);
    this.poller.unref();
  }

  start(pod: PodRecord): void {
    if (this.entries.has(pod.name)) throw new Error(`sandbox.start for ${pod.name}, which already has a sandbox`);
    if (pod.node !== this.node) throw new Error(`sandbox.start for ${pod.name} bound to ${String(pod.node)} at the Kubelet of ${this.node}`);
    const entry: Entry = { pod, state: 'starting', origin: null, sandboxId: null, containerId: null, settled: Promise.resolve(), dead: false, killing: false };
    this.entries.set(pod.name, entry);
    entry.settled = this.whenStartSlotFree()
      .then(() => this.runPod(entry))
      .then(
        () => {
          if (this.entries.get(pod.name) !== entry || entry.state !== 'starting') return;
          entry.state = 'running';
          this.enqueue({ type: 'sandbox.started', pod: pod.name });
        },
        () => {
          if (this.entries.get(pod.name) !== entry || entry.state !== 'starting') return;
          this.failed(pod.name, entry);
        },
      )
      .finally(() => this.releaseStartSlot());
  }

  kill(pod: PodRecord, origin: Role): void {
    const entry = this.entries.get(pod.name);
    if (entry === undefined) throw new Error(`sandbox.kill for ${pod.name}, which has no sandbox`);
    if (entry.killing) return; // a kill is in progress
    entry.state = 'killing';
    entry.origin = origin;
    entry.killing = true;
    this.saveKilling();
    void entry.settled.then(() => this.carryOutKill(pod.name, entry));
  }

  count(): number {
    return this.entries.size;
  }

  stop(): void {
    this.stopped = true;
    if (this.poller !== null) clearInterval(this.poller);
    this.poller = null;
    this.client.close();
  }

  // -------------------------------------------------------------------------

  private sandboxConfigOf(pod: PodRecord): PodSandboxConfig {
    return {
      metadata: { name: pod.name, uid: `${this.owner}-${pod.name}`, namespace: 'kubedirect', attempt: 0 },
      labels: { [criLabels.owner]: this.owner, [criLabels.node]: this.node, [criLabels.pod]: pod.name },
      annotations: { [podRecordAnnotation]: JSON.stringify(pod) },
      linux: { security_context: { namespace_options: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } } },
    };
  }

  private async runPod(entry: Entry): Promise<void> {
    if (this.stopped) throw new Error('stopped');
    const sandboxConfig = this.sandboxConfigOf(entry.pod);
    entry.sandboxId = await this.client.runPodSandbox(sandboxConfig);
    const container: ContainerConfig = {
      metadata: { name: 'sandbox', attempt: 0 },
      image: { image: this.image },
      command: criContainerCommand,
      args: [],
      labels: sandboxConfig.labels,
      annotations: {},
    };
    entry.containerId = await this.client.createContainer(entry.sandboxId, container, sandboxConfig);
    await this.client.startContainer(entry.containerId);
  }

  private async carryOutKill(name: string, entry: Entry): Promise<void> {
    while (!this.stopped && this.entries.get(name) === entry) {
      try {
        if (entry.containerId !== null && !entry.dead) await this.client.stopContainer(entry.containerId, Math.ceil(this.terminationGraceMsMax / 1000));
        if (entry.sandboxId !== null) await this.removeSandbox(entry.sandboxId);
        this.entries.delete(name);
        this.saveKilling();
        this.enqueue({ type: 'sandbox.killed', pod: name });
        return;
      } catch {
        await new Promise((r) => setTimeout(r, criKillRetryMs));
      }
    }
  }

  /** The container is gone without a kill: report failed, then remove what is left. */
  private failed(name: string, entry: Entry): void {
    entry.dead = true;
    if (!this.resumed || this.entries.get(name) !== entry || entry.killing) return;
    this.entries.delete(name);
    this.saveKilling();
    this.enqueue({ type: 'sandbox.failed', pod: name });
    if (entry.sandboxId !== null) void this.removeSandbox(entry.sandboxId).catch(() => {});
  }

  private async removeSandbox(id: string): Promise<void> {
    await this.client.stopPodSandbox(id);
    await this.client.removePodSandbox(id);
  }

  /** Notices containers that exited by themselves. */
  private async poll(): Promise<void> {
    if (this.stopped || this.polling) return;
    this.polling = true;
    try {
      const containers = await this.client.listContainers({ [criLabels.owner]: this.owner });
      const states = new Map(containers.map((c) => [c.id, c.state]));
      for (const [name, entry] of [...this.entries]) {
        if (entry.state !== 'running' || entry.killing || entry.dead || entry.containerId === null) continue;
        const state = states.get(entry.containerId);
        if (state === undefined || state === 'CONTAINER_EXITED' || state === 'CONTAINER_UNKNOWN') this.failed(name, entry);
      }
    } catch {
      // the runtime did not answer: look again at the next poll
    } finally {
      this.polling = false;
    }
  }

  private whenStartSlotFree(): Promise<void> {
    if (this.startsInFlight < criStartsInFlightMax) {
      this.startsInFlight++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.startQueue.push(resolve)).then(() => {
      this.startsInFlight++;
    });
  }

  private releaseStartSlot(): void {
    this.startsInFlight--;
    this.startQueue.shift()?.();
  }

  /** Reports leave on a later turn, never inside the step that caused them. */
  private enqueue(report: SandboxReport): void {
    this.pending.push(report);
    if (this.reportScheduled) return;
    this.reportScheduled = true;
    setImmediate(() => {
      this.reportScheduled = false;
      for (const r of this.pending.splice(0)) if (!this.stopped) this.report(r);
    });
  }

  private saveKilling(): void {
    const records: KillingRecord[] = [...this.entries.values()].filter((e) => e.state === 'killing').map((e) => ({ pod: e.pod, origin: killOriginOf(e.origin) }));
    writeFileAtomic(this.killingFile, JSON.stringify(records), true);
  }
}

/** The pod record a sandbox carries in its annotation, if it is well-formed and matches its label. */
function podRecordOf(sandbox: PodSandbox): PodRecord | null {
  try {
    const pod = JSON.parse(sandbox.annotations[podRecordAnnotation] ?? '') as PodRecord;
    if (typeof pod.name !== 'string' || pod.name !== sandbox.labels[criLabels.pod] || typeof pod.function !== 'string' || typeof pod.priority !== 'number') return null;
    return pod;
  } catch {
    return null;
  }
}
