/** The explorer's limits, defined once. */

/** Longest path (number of actions from the initial state) the API walks. */
export const pathLengthMax = 2_000;
/** States kept in memory by path, so that stepping forward does not walk the path again. */
export const statesCachedMax = 5_000;
/** Longest request target (path and query) the server reads. */
export const requestTargetLengthMax = 16_384;
/** Largest counterexample file `--trace` reads. */
export const traceFileBytesMax = 32 * 2 ** 20;
