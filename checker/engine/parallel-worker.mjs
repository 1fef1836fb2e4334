// Entry of a worker thread of the parallel search (parallel.ts). It runs the bundled
// worker (worker-bundle.ts) when there is one; otherwise the TypeScript sources, and as
// worker threads do not inherit the main thread's TypeScript loader, it registers tsx first.
import { workerData } from 'node:worker_threads';

if (workerData.workerBundle !== null) {
  const { runWorker } = await import(workerData.workerBundle);
  await runWorker();
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { runWorker } = await import('./parallel-worker.ts');
  await runWorker();
}
