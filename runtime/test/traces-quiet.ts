/**
 * Before a test reads a run's traces: wait until no trace file has grown over
 * `tracesQuietFlushes` flush periods in a row. A converged chain takes no more steps,
 * so its last records are then on disk (each stage flushes at least every
 * `traceFlushMsMax`). Polled with the suite's generous deadline, never a fixed sleep.
 */
import { existsSync, statSync } from 'node:fs';
import { traceFlushMsMax } from '../observe/trace.js';
import { waitUntil } from '../../test/wait-until.js';

const tracesQuietFlushes = 5;

export async function waitTracesQuiet(traces: readonly string[]): Promise<void> {
  let previous = '';
  let quietSince = performance.now();
  await waitUntil('the traces to stop growing', () => {
    const sizes = traces.map((file) => (existsSync(file) ? statSync(file).size : -1)).join(',');
    if (sizes !== previous) {
      previous = sizes;
      quietSince = performance.now();
    }
    return performance.now() - quietSince >= tracesQuietFlushes * traceFlushMsMax;
  });
}
