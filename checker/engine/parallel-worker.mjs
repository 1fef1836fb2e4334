// Entry of a worker thread of the parallel search (parallel.ts). Worker threads do not
// inherit the main thread's TypeScript loader, so this plain module registers tsx first.
import { register } from 'tsx/esm/api';

register();
const { runWorker } = await import('./parallel-worker.ts');
await runWorker();
