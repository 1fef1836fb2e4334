/**
 * The backing store's metrics of a stage (runtime/store/): whether the store answers, and
 * the Pod object writes it lost. Shared by the stage's observer and by the Autoscaler's
 * endpoint while it waits for the store at start (runtime/node/store-wait.ts).
 */
import type { StoreHealthReport } from '../store/store-health.js';
import type { ObjectWriterStats } from '../store/store.js';
import { declareMetricFamilies } from './metric-catalog.js';
import type { MetricRegistry } from './metrics.js';

/** Declares the store's families (from the metric catalog, metric-catalog.ts). */
export function declareStoreMetrics(m: MetricRegistry): void {
  declareMetricFamilies(m, 'store');
}

export function replaceStoreMetrics(m: MetricRegistry, health: StoreHealthReport, writes: Readonly<ObjectWriterStats>): void {
  m.replace('kubedirect_store_available', [{ labels: { store: health.store }, value: health.available ? 1 : 0 }]);
  m.replace('kubedirect_store_outages_total', [{ labels: {}, value: health.outages }]);
  m.replace('kubedirect_store_object_writes_dropped_total', [
    { labels: { reason: 'queue-full' }, value: writes.dropped },
    { labels: { reason: 'attempts-exhausted' }, value: writes.failed },
  ]);
}
