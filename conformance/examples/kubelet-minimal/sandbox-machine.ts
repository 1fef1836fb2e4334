/**
 * The Kubelet sandbox machine: the "Kubelet sandbox" state table of
 * spec/04-lifecycles.md, row by row, for every pod of the node.
 *
 * Pure: no I/O, no timers. Every method changes the table and returns the effects the
 * driver (kubelet.ts) must perform: requests to the sandbox runtime and notifications
 * for the upstream. The driver decides whether a notification may be sent
 * (REQ-SESS-013); this file does not know about sessions.
 */
import { stagePodsMax } from '../../../spec/limits.js';
import { faultOn } from './faults.js';

export type SandboxState = 'starting' | 'running' | 'killing';
export type TombstoneOrigin = 'replicaset' | 'scheduler';
export type PodFailureReason = 'sandbox-failed' | 'capacity-exceeded' | 'unknown-owner';

/** The compact pod record of 01 §Kubernetes objects off the critical path. */
export interface PodRecord {
  readonly name: string;
  readonly function: string;
  readonly priority: number;
  readonly node: string;
}

export interface Sandbox {
  readonly record: PodRecord;
  readonly state: SandboxState;
  /** The tombstone's origin while `killing` (REQ-TOMB-008), null otherwise. */
  readonly origin: TombstoneOrigin | null;
}

export type SandboxEvent =
  | { readonly kind: 'pod.provision'; readonly record: PodRecord }
  | { readonly kind: 'pod.tombstone'; readonly name: string; readonly origin: TombstoneOrigin }
  | { readonly kind: 'sandbox.started'; readonly name: string }
  | { readonly kind: 'sandbox.failed'; readonly name: string }
  | { readonly kind: 'sandbox.killed'; readonly name: string };

export type Notification =
  | { readonly kind: 'pod.running'; readonly name: string }
  | { readonly kind: 'pod.failed'; readonly name: string; readonly reason: PodFailureReason }
  | { readonly kind: 'tombstone.done'; readonly name: string };

export type SandboxEffect =
  | { readonly kind: 'sandbox.start'; readonly record: PodRecord }
  | { readonly kind: 'sandbox.kill'; readonly record: PodRecord; readonly origin: TombstoneOrigin }
  | { readonly kind: 'up'; readonly notification: Notification };

export interface SnapshotContent {
  readonly pods: readonly { readonly record: PodRecord; readonly phase: 'pending' | 'running' }[];
  readonly tombstones: readonly { readonly record: PodRecord; readonly origin: TombstoneOrigin }[];
}

const up = (notification: Notification): SandboxEffect => ({ kind: 'up', notification });

export class SandboxMachine {
  private readonly sandboxes = new Map<string, Sandbox>();
  /** Names whose sandbox failed in this incarnation: never started again (REQ-POD-014). */
  private readonly failedNames = new Set<string>();

  constructor(
    private readonly capacity: number,
    private readonly configuredFunctions: ReadonlySet<string>,
  ) {}

  /** Boot rows of the table: rebuild from the sandbox inventory (REQ-POD-013). */
  boot(inventory: readonly Sandbox[]): SandboxEffect[] {
    if (this.sandboxes.size !== 0) throw new Error('boot: the machine already holds sandboxes');
    const effects: SandboxEffect[] = [];
    for (const sandbox of inventory) {
      this.sandboxes.set(sandbox.record.name, sandbox);
      if (sandbox.state === 'killing') {
        if (sandbox.origin === null) throw new Error(`inventory: ${sandbox.record.name} is being killed without an origin`);
        if (faultOn('no-rekill-at-boot')) continue;
        effects.push({ kind: 'sandbox.kill', record: sandbox.record, origin: sandbox.origin });
      }
    }
    return effects;
  }

  apply(event: SandboxEvent): SandboxEffect[] {
    const effects = this.transition(event);
    // Fail-stop assertion (REQ-FAIL-008): admission never lets the node overflow.
    if (event.kind === 'pod.provision' && this.sandboxes.size > this.capacity && !faultOn('capacity-ignores-killing')) {
      throw new Error(`INV-CAPACITY broken: ${this.sandboxes.size} sandboxes held, capacity ${this.capacity}`);
    }
    return effects;
  }

  private transition(event: SandboxEvent): SandboxEffect[] {
    switch (event.kind) {
      case 'pod.provision':
        return this.provision(event.record);
      case 'pod.tombstone':
        return this.tombstone(event.name, event.origin);
      case 'sandbox.started': {
        const sandbox = this.sandboxes.get(event.name);
        // `killing` + started: ignored, the kill is under way. Unknown: nothing to do.
        if (sandbox?.state !== 'starting') return [];
        this.sandboxes.set(event.name, { ...sandbox, state: 'running' });
        return [up({ kind: 'pod.running', name: event.name })];
      }
      case 'sandbox.failed': {
        const sandbox = this.sandboxes.get(event.name);
        if (sandbox === undefined) return [];
        this.sandboxes.delete(event.name);
        this.rememberFailed(event.name);
        // Failing while being killed completes the kill (REQ-TOMB-007).
        if (sandbox.state === 'killing') return [up({ kind: 'tombstone.done', name: event.name })];
        return [up({ kind: 'pod.failed', name: event.name, reason: 'sandbox-failed' })];
      }
      case 'sandbox.killed': {
        if (this.sandboxes.get(event.name)?.state !== 'killing') return [];
        this.sandboxes.delete(event.name);
        return [up({ kind: 'tombstone.done', name: event.name })];
      }
    }
  }

  private rememberFailed(name: string): void {
    this.failedNames.add(name);
    // Bounded like every other set (stagePodsMax): the oldest name is forgotten first.
    if (this.failedNames.size > stagePodsMax) {
      const oldest = this.failedNames.values().next();
      if (oldest.done !== true) this.failedNames.delete(oldest.value);
    }
  }

  private provision(record: PodRecord): SandboxEffect[] {
    // Held in any state: a duplicate, ignored (REQ-POD-011, REQ-TOMB-006).
    if (this.sandboxes.has(record.name)) return [];
    if (!this.configuredFunctions.has(record.function)) {
      return [up({ kind: 'pod.failed', name: record.name, reason: 'unknown-owner' })];
    }
    // A name whose sandbox failed is never started again (REQ-POD-014, DEC-16); the
    // table has no row for it, so this Kubelet answers the provision like the failure.
    if (this.failedNames.has(record.name)) {
      return [up({ kind: 'pod.failed', name: record.name, reason: 'sandbox-failed' })];
    }
    // Admission (REQ-POD-012): sandboxes starting, running and being killed all count.
    const held = faultOn('capacity-ignores-killing') ? [...this.sandboxes.values()].filter((s) => s.state !== 'killing').length : this.sandboxes.size;
    if (held >= this.capacity) {
      return [up({ kind: 'pod.failed', name: record.name, reason: 'capacity-exceeded' })];
    }
    if (faultOn('running-before-started')) {
      this.sandboxes.set(record.name, { record, state: 'running', origin: null });
      return [{ kind: 'sandbox.start', record }, up({ kind: 'pod.running', name: record.name })];
    }
    this.sandboxes.set(record.name, { record, state: 'starting', origin: null });
    return [{ kind: 'sandbox.start', record }];
  }

  private tombstone(name: string, origin: TombstoneOrigin): SandboxEffect[] {
    const sandbox = this.sandboxes.get(name);
    // Unknown (never held, or already ended): acknowledged at once (REQ-TOMB-004).
    if (sandbox === undefined) return [up({ kind: 'tombstone.done', name })];
    // Already killing: idempotent, tombstone.done follows when the kill completes.
    if (sandbox.state === 'killing') return [];
    this.sandboxes.set(name, { record: sandbox.record, state: 'killing', origin });
    return [{ kind: 'sandbox.kill', record: sandbox.record, origin }];
  }

  /** Everything held, taken at one moment (REQ-SESS-009; 04: `killing` is a tombstone). */
  snapshot(): SnapshotContent {
    const pods: { record: PodRecord; phase: 'pending' | 'running' }[] = [];
    const tombstones: { record: PodRecord; origin: TombstoneOrigin }[] = [];
    for (const sandbox of this.sandboxes.values()) {
      if (sandbox.state === 'killing' && sandbox.origin !== null) {
        tombstones.push({ record: sandbox.record, origin: sandbox.origin });
      } else {
        pods.push({ record: sandbox.record, phase: sandbox.state === 'running' ? 'running' : 'pending' });
      }
    }
    return { pods, tombstones };
  }

  list(): readonly Sandbox[] {
    return [...this.sandboxes.values()];
  }
}
