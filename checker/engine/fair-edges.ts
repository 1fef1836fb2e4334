/**
 * How the parallel search's workers hand their fair edges (the liveness graph) to the main
 * thread: flat int arrays, `edgeStride` ints an edge: from, to, fairness class, action
 * index, and the renaming that made `to` canonical (0 without symmetry). Kept apart so that
 * the main thread (parallel.ts) and the workers (parallel-worker.ts) share it without
 * importing each other.
 */
export const edgeStride = 5;
