/**
 * What the main thread (worker 0) of the parallel search and its worker threads exchange
 * (parallel.ts, parallel-worker.ts): kept apart so that neither imports the other's module
 * for its types.
 */
import type { MessagePort } from 'node:worker_threads';
import type { ModelFactory } from './worker-bundle.js';
import type { SharedTableBuffers } from './shared-table.js';

/** What the main thread sends a worker at start. */
export interface WorkerSetup {
  readonly factory: ModelFactory;
  /** The bundled worker code (worker-bundle.ts), or null to load the sources through tsx. */
  readonly workerBundle: string | null;
  readonly buffers: SharedTableBuffers;
  readonly control: SharedArrayBuffer;
  /** A port to each other worker, by its index (none at this worker's own): the join, the grown table, rebalancing hand-overs. */
  readonly ports: ReadonlyArray<MessagePort | null>;
  readonly worker: number;
  readonly workers: number;
  readonly maxDepth: number;
  readonly maxStates: number;
  /** Date.now() after which a worker stops its level. */
  readonly deadline: number;
  /** Resident memory of the process above which the search stops. */
  readonly maxMemoryBytes: number;
  readonly liveness: boolean;
  /** Reduce by the model's symmetry (canonical states in the shared table), as the sequential search does. */
  readonly symmetry: boolean;
  readonly prefixStates: number;
  readonly waitForWorkers: boolean;
  /** How long worker 0 lets a joined worker be silent before it stops the search, ms (workerSilenceMsMax; tests shorten it). */
  readonly workerSilenceMs: number;
}

/** A safety violation: found on taking `action` from state `parent` (-1, -1 for the initial state). */
export interface WorkerViolation {
  readonly property: string;
  readonly message: string;
  readonly parent: number;
  readonly action: number;
}

export interface DoneReport {
  readonly type: 'done';
  readonly worker: number;
  /** Fair edges, `edgeStride` ints each: from, to, class, action, renaming of `to` (0 without symmetry); class ids index `classes`. */
  readonly edges: Int32Array;
  readonly classes: readonly string[];
  /** States this worker expanded (how evenly the work was split). */
  readonly expanded: number;
  /** States this worker received from others to even out a level. */
  readonly handedOver: number;
  readonly transitions: number;
  readonly deepest: number;
  readonly violation: WorkerViolation | null;
  readonly bound: string | null;
  readonly sometimes: readonly boolean[];
  readonly peakHeapBytes: number;
  readonly peakArrayBuffersBytes: number;
  /** The table's buffers as this worker last saw them (worker 0's are the newest). */
  readonly buffers: SharedTableBuffers;
}
