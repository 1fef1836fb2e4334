/**
 * The JSON the explorer's API answers with, shared by the server (explorer/*.ts) and the
 * page (explorer/client/). Plain data only: no imports, so the page's bundle needs nothing
 * of the server. Every displayed item carries a `key` (stable across states: a stage, a
 * session, a pod, a desired count, a sandbox, a stored count); `changed` lists the keys
 * whose text differs from the state one step before.
 */

/** `GET /api/model`: what is explored. */
export interface ModelInfo {
  readonly preset: string;
  readonly description: string;
  readonly variant: string;
  readonly stages: readonly string[];
  readonly links: readonly string[];
  readonly nodes: ReadonlyArray<{ readonly name: string; readonly capacity: number }>;
  readonly scaleScript: ReadonlyArray<{ readonly function: string; readonly desired: number }>;
  /** Scale requests of the whole run: the script's and those chosen by the model (CheckConfig.scaleChoices). */
  readonly scaleSteps: number;
  readonly properties: readonly PropertyInfo[];
  /** The counterexample opened with `--trace`, or null. */
  readonly trace: TraceInfo | null;
  /** Longest path the API accepts (explorer/limits.ts). */
  readonly pathLengthMax: number;
}

export interface PropertyInfo {
  readonly id: string;
  readonly kind: 'safety' | 'liveness' | 'sometimes';
  readonly title: string;
  readonly text: string;
}

export interface TraceInfo {
  readonly file: string;
  readonly property: string;
  readonly kind: string;
  readonly message: string;
  /** Action indices from the initial state, resolved against the model (one per step). */
  readonly path: readonly number[];
  readonly steps: ReadonlyArray<{ readonly step: number; readonly description: string; readonly violations: readonly string[] }>;
  readonly cycleStartStep: number | null;
}

/** `GET /api/state?path=...`: the state at the end of a path, what is enabled there, which properties hold. */
export interface StateResponse {
  readonly path: readonly number[];
  /** The actions taken along the path, one line each. */
  readonly steps: readonly string[];
  readonly state: StateView;
  /** Keys whose text differs from the state one step before (empty at the initial state). */
  readonly changed: readonly string[];
  /** Items present one step before and gone now, with their last text. */
  readonly removed: ReadonlyArray<{ readonly key: string; readonly text: string }>;
  readonly actions: readonly ActionView[];
  readonly properties: readonly PropertyStatus[];
}

export interface StateView {
  readonly stages: readonly StageView[];
  readonly links: readonly LinkView[];
  /** The Autoscaler's backing store: the durable desired count per function. */
  readonly store: readonly CellView[];
  /** Fault budgets left, per kind. */
  readonly budgets: Readonly<Record<string, number>>;
  /** Scale-script steps taken, of `scaleScript.length`. */
  readonly scaled: number;
  readonly converged: boolean;
}

/** One displayed value with its stable key. */
export interface CellView {
  readonly key: string;
  readonly label: string;
  readonly text: string;
}

export interface StageView {
  readonly id: string;
  readonly role: string;
  readonly incarnation: number;
  readonly sessions: readonly SessionView[];
  readonly desired: readonly DesiredView[];
  readonly pods: readonly PodView[];
  /** Per cache class (waiting, dirty, clean, tombstone): how many pod entries. */
  readonly podCounts: Readonly<Record<string, number>>;
  /** A Kubelet's node's sandboxes (the physical truth); empty for the controllers. */
  readonly sandboxes: readonly SandboxView[];
}

export interface SessionView {
  readonly key: string;
  readonly link: string;
  /** `client`: this stage opens sessions on the link (upstream); `server`: it answers them. */
  readonly side: 'client' | 'server';
  readonly peer: string;
  readonly session: string;
  /** incarnation.counter, or `-` before the first session. */
  readonly epoch: string;
}

export interface DesiredView {
  readonly key: string;
  readonly function: string;
  readonly desired: number;
  readonly clean: boolean;
}

export interface PodView {
  readonly key: string;
  readonly name: string;
  readonly function: string;
  readonly node: string | null;
  readonly lifecycle: string;
  /** waiting (not yet forwarded), dirty (forwarded, not confirmed), clean (running), tombstone. */
  readonly cacheClass: string;
}

export interface SandboxView {
  readonly key: string;
  readonly pod: string;
  readonly state: string;
}

export interface LinkView {
  readonly link: string;
  readonly upstream: string;
  readonly downstream: string;
  readonly down: QueuesView;
  readonly up: QueuesView;
}

export interface QueuesView {
  /** Messages of the current session, first to be delivered first. */
  readonly current: readonly MessageView[];
  /** Messages of ended sessions that may still arrive late (or be dropped). */
  readonly stale: readonly MessageView[];
}

export interface MessageView {
  readonly type: string;
  readonly label: string;
  /** incarnation.counter */
  readonly epoch: string;
  /** Sent by the step that led to this state. */
  readonly fresh: boolean;
}

export interface ActionView {
  readonly index: number;
  readonly kind: string;
  readonly description: string;
  /** For a delivery: the message it delivers. */
  readonly message: string | null;
  /** Properties taking this action would break (in the step or in the state it leads to). */
  readonly breaks: readonly string[];
  /** Set when the model refuses the action (an assertion of the machines or the simulator fails): why. */
  readonly failure: string | null;
}

export interface PropertyStatus {
  readonly id: string;
  /**
   * `holds`; `broken` (in this state or by the step into it); `broken earlier` (by a step
   * before on this path); `converged`/`not converged` (LIVE-CONVERGENCE in this state);
   * `covered`/`not covered` (a sometimes property on this path); `whole runs only`.
   */
  readonly status: 'holds' | 'broken' | 'broken earlier' | 'converged' | 'not converged' | 'covered' | 'not covered' | 'whole runs only';
  /** The step (1-based) at which it broke or was covered, if it did. */
  readonly step: number | null;
  readonly message: string | null;
}

/** Any error answer: `{ error }` with status 400 (bad request) or 404 (no such route). */
export interface ErrorResponse {
  readonly error: string;
}
