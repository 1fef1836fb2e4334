/**
 * The simulated sandbox runtime of one node: a sandbox starts after a delay and is
 * killed after a delay. Every change of a sandbox is appended to a journal in the
 * Kubelet's data dir (sandbox-journal.ts) before it is reported, so the sandboxes
 * survive a Kubelet process restart (spec 06: sandboxes keep running); the restarted
 * Kubelet rebuilds its inventory from them.
 */
import { join } from 'node:path';
import type { PodRecord, SandboxInventoryItem } from '../../machines/index.js';
import { readSandboxJournal, SandboxJournal } from './sandbox-journal.js';
import type { SandboxReport, SandboxRuntime } from './sandbox-runtime.js';

export type { SandboxReport } from './sandbox-runtime.js';

/** Where a Kubelet's simulated sandboxes are kept. */
export function simulatedSandboxesFileOf(dataDir: string): string {
  return join(dataDir, 'sandboxes.ndjson');
}

export class SimulatedSandboxes implements SandboxRuntime {
  private readonly sandboxes: Map<string, SandboxInventoryItem>;
  private readonly journal: SandboxJournal;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(
    dataDir: string,
    private readonly delays: { readonly startDelayMs: number; readonly killDelayMs: number },
    private readonly report: (event: SandboxReport) => void,
  ) {
    const file = simulatedSandboxesFileOf(dataDir);
    this.sandboxes = readSandboxJournal(file);
    this.journal = new SandboxJournal(file, this.sandboxes);
    this.journal.open();
  }

  /** The sandboxes found on the node at start, for initStage's inventory. */
  inventory(): SandboxInventoryItem[] {
    return [...this.sandboxes.values()];
  }

  /** After a restart: sandboxes still starting report their outcome (kills are re-issued by bootEffects). */
  resume(): void {
    for (const item of this.sandboxes.values()) if (item.state === 'starting') this.schedule(item.pod.name, 'sandbox.started', this.delays.startDelayMs);
  }

  start(pod: PodRecord): void {
    if (this.sandboxes.has(pod.name)) throw new Error(`sandbox.start for ${pod.name}, which already has a sandbox`);
    this.set({ pod, state: 'starting' });
    this.schedule(pod.name, 'sandbox.started', this.delays.startDelayMs);
  }

  kill(pod: PodRecord): void {
    const item = this.sandboxes.get(pod.name);
    if (item === undefined) throw new Error(`sandbox.kill for ${pod.name}, which has no sandbox`);
    if (item.state === 'killing' && this.timers.has(pod.name)) return;
    this.set({ ...item, state: 'killing' });
    this.schedule(pod.name, 'sandbox.killed', this.delays.killDelayMs);
  }

  count(): number {
    return this.sandboxes.size;
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.journal.close();
  }

  private schedule(name: string, type: 'sandbox.started' | 'sandbox.killed', delayMs: number): void {
    const previous = this.timers.get(name);
    if (previous !== undefined) clearTimeout(previous);
    this.timers.set(
      name,
      setTimeout(() => {
        this.timers.delete(name);
        if (this.stopped) return;
        const item = this.sandboxes.get(name);
        if (item === undefined) return;
        if (type === 'sandbox.started') this.set({ ...item, state: 'running' });
        else {
          this.sandboxes.delete(name);
          this.journal.remove(name);
        }
        this.report({ type, pod: name });
      }, delayMs),
    );
  }

  private set(item: SandboxInventoryItem): void {
    this.sandboxes.set(item.pod.name, item);
    this.journal.put(item);
  }
}
