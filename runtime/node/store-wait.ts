/**
 * The Autoscaler's start while its backing store is unavailable. The machines cannot boot
 * without the durable desired counts (StageBoot.durableDesired: booting with none would
 * scale every function to zero), so the process waits for them, retrying with a pause
 * that doubles from `reconnectBackoffMsMin` to `reconnectBackoffMsMax`. Meanwhile it
 * says why on its metrics address: `/healthz` answers 503 with
 * `{"status":"waiting-for-store",…,"store":{…}}` (which `kd status` shows) and
 * `/metrics` has `kubedirect_store_available 0`. SIGTERM ends the wait (and the process).
 */
import { createServer, type Server } from 'node:http';
import type { StageId } from '../../machines/index.js';
import { reconnectBackoffMsMax, reconnectBackoffMsMin } from '../../spec/limits.js';
import { MetricRegistry } from '../observe/metrics.js';
import { declareStoreMetrics, replaceStoreMetrics } from '../observe/store-metrics.js';
import type { BackingStore } from '../store/store.js';
import type { Logger } from './link-transport.js';

/** What `/healthz` of a stage waiting for its store answers (HTTP 503). */
export interface WaitingForStoreHealth {
  readonly status: 'waiting-for-store';
  readonly stage: StageId;
  readonly store: ReturnType<BackingStore['health']['report']>;
}

/** The durable desired counts, once the store answers; until then the waiting is reported on `metricsAddress` (if any). */
export async function loadDesiredWhenAvailable(backing: BackingStore, stage: StageId, metricsAddress: string | null, log: Logger): Promise<Record<string, number>> {
  let server: Server | null = null;
  let delayMs = reconnectBackoffMsMin;
  for (let attempt = 1; ; attempt++) {
    try {
      const desired = await backing.loadDesired();
      backing.health.markAvailable();
      if (server !== null) await closeServer(server);
      return desired;
    } catch (error) {
      const message = (error as Error).message;
      backing.health.markUnavailable(message);
      log({ event: 'store.load-failed', store: backing.kind, attempt, retryInMs: delayMs, error: message });
      server ??= await serveWaiting(backing, stage, metricsAddress);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs = Math.min(reconnectBackoffMsMax, delayMs * 2);
    }
  }
}

async function serveWaiting(backing: BackingStore, stage: StageId, address: string | null): Promise<Server | null> {
  if (address === null) return null;
  const metrics = new MetricRegistry({ stage });
  declareStoreMetrics(metrics);
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      const health: WaitingForStoreHealth = { status: 'waiting-for-store', stage, store: backing.health.report() };
      response.writeHead(503, { 'content-type': 'application/json' }).end(`${JSON.stringify(health)}\n`);
    } else if (path === '/metrics') {
      replaceStoreMetrics(metrics, backing.health.report(), backing.stats);
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(metrics.exposition());
    } else response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
  });
  const at = address.lastIndexOf(':');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(address.slice(at + 1)), address.slice(0, at).replace(/^\[|\]$/g, ''), () => resolve());
  });
  return server;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
