/**
 * The Kubelet stage without its link: the sandbox machine driven against the simulated
 * sandbox runtime. Applying events performs the machine's runtime effects at once and
 * hands back the notifications for the upstream; link-server.ts decides whether they
 * may be sent.
 */
import type { Log } from './log.js';
import { SandboxMachine } from './sandbox-machine.js';
import type { Notification, Sandbox, SandboxEffect, SandboxEvent, SnapshotContent } from './sandbox-machine.js';
import type { SandboxReport, SimulatedSandboxRuntime } from './sandbox-runtime.js';

export class Kubelet {
  private readonly machine: SandboxMachine;

  constructor(
    capacity: number,
    configuredFunctions: ReadonlySet<string>,
    private readonly runtime: SimulatedSandboxRuntime,
    private readonly log: Log,
  ) {
    this.machine = new SandboxMachine(capacity, configuredFunctions);
  }

  /** Rebuilds the pods from the sandbox inventory (REQ-POD-013); must precede serving. */
  boot(): void {
    const inventory = this.runtime.loadInventory();
    for (const sandbox of inventory) this.log('inventory', { pod: sandbox.record.name, state: sandbox.state });
    this.perform(this.machine.boot(inventory));
  }

  /** Applies events one by one, in order (REQ-WIRE-002); returns the notifications. */
  apply(events: readonly SandboxEvent[]): Notification[] {
    const notifications: Notification[] = [];
    for (const event of events) {
      for (const notification of this.perform(this.machine.apply(event))) notifications.push(notification);
    }
    return notifications;
  }

  /** The runtime's reports are events of the sandbox machine too. */
  applyReports(reports: readonly SandboxReport[]): Notification[] {
    return this.apply(reports.map((report): SandboxEvent => ({ kind: report.kind, name: report.name })));
  }

  snapshot(): SnapshotContent {
    return this.machine.snapshot();
  }

  sandboxes(): readonly Sandbox[] {
    return this.machine.list();
  }

  private perform(effects: readonly SandboxEffect[]): Notification[] {
    const notifications: Notification[] = [];
    for (const effect of effects) {
      switch (effect.kind) {
        case 'sandbox.start':
          this.log('sandbox.start', { pod: effect.record.name });
          this.runtime.start(effect.record);
          break;
        case 'sandbox.kill':
          this.log('sandbox.kill', { pod: effect.record.name, origin: effect.origin });
          this.runtime.kill(effect.record, effect.origin);
          break;
        case 'up':
          notifications.push(effect.notification);
          break;
      }
    }
    return notifications;
  }
}
