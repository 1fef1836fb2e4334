/**
 * The simulated sandbox runtime of one node: a sandbox starts after a delay and is
 * killed after a delay. Every change of a sandbox is appended to a journal in the
 * Kubelet's data dir (sandbox-journal.ts) before it is reported, so the sandboxes
 * survive a Kubelet process restart (spec 06: sandboxes keep running); the restarted
 * Kubelet rebuilds its inventory from them.
 *
 * A burst starts thousands of sandboxes, so the work is batched: one timer per delay per
 * event-loop turn for the outcomes scheduled in it, whose changes are written to the
 * journal in one write before the first of them is reported (one report per sandbox, in
 * the order they were scheduled). Starts and kills, which nothing reports yet, are
 * written once at the end of their turn: a crash before that write is a crash before
 * the sandbox.start (or kill) effect was carried out.
 */
import { join } from 'node:path';
import type { PodRecord, Role, SandboxInventoryItem } from '../../machines/index.js';
import { readSandboxJournal, SandboxJournal } from './sandbox-journal.js';
import type { SandboxReport, SandboxRuntime } from './sandbox-runtime.js';

export type { SandboxReport } from './sandbox-runtime.js';

/** Where a Kubelet's simulated sandboxes are kept. */
export function simulatedSandboxesFileOf(dataDir: string): string {
  return join(dataDir, 'sandboxes.ndjson');
}

/** An outcome owed for a sandbox: reported when its batch is due, unless a newer one replaced it (a kill while starting). */
interface Outcome {
  readonly type: 'sandbox.started' | 'sandbox.killed';
  readonly pod: string;
}

export class SimulatedSandboxes implements SandboxRuntime {
  private readonly sandboxes: Map<string, SandboxInventoryItem>;
  private readonly journal: SandboxJournal;
  /** The outcome each sandbox is owed, by pod name. */
  private readonly owed = new Map<string, Outcome>();
  /**
   * The batch of outcomes scheduled in this event-loop turn, by delay: one timer each. Node
   * stamps a timer with its loop clock, which stands still while a turn runs, so one timer
   * per outcome of the batch would have expired together with the batch's timer.
   */
  private readonly batchesOfTurn = new Map<number, Outcome[]>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Set while this turn's batches are open or its starts and kills wait to be committed. */
  private turnEnd: NodeJS.Immediate | null = null;
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

  kill(pod: PodRecord, origin: Role): void {
    const item = this.sandboxes.get(pod.name);
    if (item === undefined) throw new Error(`sandbox.kill for ${pod.name}, which has no sandbox`);
    if (item.state === 'killing' && this.owed.has(pod.name)) return;
    this.set({ pod: item.pod, state: 'killing', origin });
    this.schedule(pod.name, 'sandbox.killed', this.delays.killDelayMs);
  }

  count(): number {
    return this.sandboxes.size;
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.batchesOfTurn.clear();
    this.owed.clear();
    if (this.turnEnd !== null) clearImmediate(this.turnEnd);
    this.turnEnd = null;
    this.journal.close();
  }

  /** Owes `pod` the outcome `type` after `delayMs` (replacing any outcome it was owed), in this turn's batch of that delay. */
  private schedule(pod: string, type: Outcome['type'], delayMs: number): void {
    const outcome: Outcome = { type, pod };
    this.owed.set(pod, outcome);
    let batch = this.batchesOfTurn.get(delayMs);
    if (batch === undefined) {
      const opened: Outcome[] = [];
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (this.batchesOfTurn.get(delayMs) === opened) this.batchesOfTurn.delete(delayMs);
        this.reportBatch(opened);
      }, delayMs);
      this.timers.add(timer);
      this.batchesOfTurn.set(delayMs, opened);
      batch = opened;
    }
    batch.push(outcome);
    // At the end of the turn: close its batches, and write its starts and kills (nothing reports them yet) in one write.
    this.turnEnd ??= setImmediate(() => {
      this.turnEnd = null;
      this.batchesOfTurn.clear();
      this.journal.commit();
    });
  }

  /** The batch's sandboxes change, the changes go to the journal in one write, then each outcome is reported. */
  private reportBatch(batch: readonly Outcome[]): void {
    if (this.stopped) return;
    for (const outcome of batch) {
      if (this.owed.get(outcome.pod) !== outcome) continue;
      const item = this.sandboxes.get(outcome.pod);
      if (item === undefined) continue;
      if (outcome.type === 'sandbox.started') this.set({ ...item, state: 'running' });
      else {
        this.sandboxes.delete(outcome.pod);
        this.journal.remove(outcome.pod);
      }
    }
    this.journal.commit();
    for (const outcome of batch) {
      if (this.stopped) return;
      // A report may lead to a kill of a sandbox reported later in this batch: it then owes the kill, not this.
      if (this.owed.get(outcome.pod) !== outcome) continue;
      this.owed.delete(outcome.pod);
      this.report(outcome);
    }
  }

  private set(item: SandboxInventoryItem): void {
    this.sandboxes.set(item.pod.name, item);
    this.journal.put(item);
  }
}
