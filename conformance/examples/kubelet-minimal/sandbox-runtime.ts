/**
 * A simulated sandbox runtime: each sandbox is a file `<dataDir>/sandboxes/<pod>.json`
 * holding its pod record, its state and, while being killed, the tombstone's origin
 * (REQ-TOMB-008). The files are the node's ground truth: they outlive the Kubelet
 * process (REQ-FAIL-003) and are its inventory at the next start (REQ-POD-013).
 *
 * Starting takes `startDelayMs`, killing `killDelayMs` (11 §Launch contract). A sandbox
 * whose file disappears while it is tracked has failed (`sandbox.failed`): this is how a
 * test crashes a sandbox. The sandboxes die with the node: when the host's boot ID
 * differs from the one stored next to them, the node has rebooted and the inventory is
 * empty (06 §Faults covered: node crash).
 *
 * Reports reach the Kubelet asynchronously, several at once when they are ready at the
 * same moment, so that their notifications can share a batch (REQ-WIRE-003).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeDurably, writeDurably } from './durable-file.js';
import type { PodRecord, Sandbox, SandboxState, TombstoneOrigin } from './sandbox-machine.js';

export type SandboxReport = { readonly kind: 'sandbox.started' | 'sandbox.failed' | 'sandbox.killed'; readonly name: string };

export interface SandboxDelays {
  readonly startDelayMs: number;
  readonly killDelayMs: number;
}

/** How often the runtime looks for sandboxes that died (their file is gone). */
export const relistIntervalMs = 200;

const sandboxFileSuffix = '.json';

interface TrackedSandbox {
  state: SandboxState;
  timer: NodeJS.Timeout | null;
}

export class SimulatedSandboxRuntime {
  private readonly directory: string;
  private readonly tracked = new Map<string, TrackedSandbox>();
  private readonly pendingReports: SandboxReport[] = [];
  private reportsScheduled = false;
  private relistTimer: NodeJS.Timeout | null = null;
  private onReports: (reports: readonly SandboxReport[]) => void = () => {};

  constructor(
    dataDir: string,
    private readonly delays: SandboxDelays,
  ) {
    this.directory = join(dataDir, 'sandboxes');
  }

  /**
   * Reads every sandbox of the node and takes them over: sandboxes being started go on
   * starting. Sandboxes being killed are killed again only when the Kubelet asks
   * (the boot row of the sandbox table).
   */
  loadInventory(): Sandbox[] {
    mkdirSync(this.directory, { recursive: true });
    this.forgetSandboxesOfEarlierBoot();
    const inventory: Sandbox[] = [];
    for (const file of readdirSync(this.directory)) {
      if (!file.endsWith(sandboxFileSuffix)) continue;
      const sandbox = JSON.parse(readFileSync(join(this.directory, file), 'utf8')) as Sandbox;
      inventory.push(sandbox);
      this.tracked.set(sandbox.record.name, { state: sandbox.state, timer: null });
      if (sandbox.state === 'starting') this.armStart(sandbox.record);
    }
    return inventory;
  }

  /** Starts delivering reports and watching for failed sandboxes. */
  run(onReports: (reports: readonly SandboxReport[]) => void): void {
    this.onReports = onReports;
    this.relistTimer = setInterval(() => this.relist(), relistIntervalMs);
  }

  start(record: PodRecord): void {
    this.tracked.set(record.name, { state: 'starting', timer: null });
    try {
      this.write({ record, state: 'starting', origin: null });
    } catch {
      this.end(record.name, 'sandbox.failed');
      return;
    }
    this.armStart(record);
  }

  kill(record: PodRecord, origin: TombstoneOrigin): void {
    const sandbox = this.tracked.get(record.name);
    // Already ended: its `sandbox.failed` report is on its way and completes the kill.
    if (sandbox === undefined) return;
    if (sandbox.timer !== null) clearTimeout(sandbox.timer);
    sandbox.state = 'killing';
    // Stored before the kill starts, so that a restarted Kubelet reports the tombstone.
    this.write({ record, state: 'killing', origin });
    sandbox.timer = setTimeout(() => {
      removeDurably(this.pathOf(record.name));
      this.end(record.name, 'sandbox.killed');
    }, this.delays.killDelayMs);
  }

  /** Stops every timer; the sandboxes stay (a Kubelet restart must not touch them). */
  stop(): void {
    if (this.relistTimer !== null) clearInterval(this.relistTimer);
    for (const sandbox of this.tracked.values()) if (sandbox.timer !== null) clearTimeout(sandbox.timer);
    this.tracked.clear();
  }

  private armStart(record: PodRecord): void {
    const sandbox = this.tracked.get(record.name);
    if (sandbox === undefined) return;
    sandbox.timer = setTimeout(() => {
      sandbox.timer = null;
      if (!existsSync(this.pathOf(record.name))) return; // died while starting: relist reports it
      sandbox.state = 'running';
      this.write({ record, state: 'running', origin: null });
      this.report({ kind: 'sandbox.started', name: record.name });
    }, this.delays.startDelayMs);
  }

  private relist(): void {
    for (const [name, sandbox] of this.tracked) {
      if (!existsSync(this.pathOf(name))) {
        if (sandbox.timer !== null) clearTimeout(sandbox.timer);
        this.end(name, 'sandbox.failed');
      }
    }
  }

  private end(name: string, kind: 'sandbox.failed' | 'sandbox.killed'): void {
    this.tracked.delete(name);
    this.report({ kind, name });
  }

  private report(report: SandboxReport): void {
    this.pendingReports.push(report);
    if (this.reportsScheduled) return;
    this.reportsScheduled = true;
    setImmediate(() => {
      this.reportsScheduled = false;
      this.onReports(this.pendingReports.splice(0));
    });
  }

  private write(sandbox: Sandbox): void {
    writeDurably(this.pathOf(sandbox.record.name), `${JSON.stringify(sandbox)}\n`);
  }

  private pathOf(name: string): string {
    // Pod names are validated ([a-z0-9-] only) before a sandbox is created.
    return join(this.directory, `${name}${sandboxFileSuffix}`);
  }

  private forgetSandboxesOfEarlierBoot(): void {
    const bootIdPath = join(this.directory, 'boot-id');
    const bootId = currentBootId();
    if (existsSync(bootIdPath) && readFileSync(bootIdPath, 'utf8').trim() !== bootId) {
      for (const file of readdirSync(this.directory)) {
        if (file.endsWith(sandboxFileSuffix)) removeDurably(join(this.directory, file));
      }
    }
    writeDurably(bootIdPath, `${bootId}\n`);
  }
}

function currentBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'no-boot-id';
  }
}
