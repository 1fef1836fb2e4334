/**
 * Every metric a stage exports on /metrics, defined once: name, kind, labels (besides
 * `stage`, on every sample) and meaning. The observer (observer.ts), flow control
 * (runtime/node/flow-control.ts) and the step histogram (metrics.ts) declare theirs from
 * here, and the operator guide's metric table is generated from it
 * (docs/build/config-reference.ts). Names follow the spec's terms.
 */
export interface MetricFamilySpec {
  readonly name: string;
  readonly kind: 'counter' | 'gauge' | 'histogram';
  /** Labels besides `stage`. */
  readonly labels: readonly string[];
  readonly help: string;
  /** Who declares it: every stage, the links' flow control (stages with links), or the backing store's health (every stage; store-metrics.ts). */
  readonly source: 'observer' | 'flow' | 'histogram' | 'store';
}

export const metricCatalog: readonly MetricFamilySpec[] = [
  { name: 'kubedirect_incarnation', kind: 'gauge', labels: [], source: 'observer', help: 'Incarnation of this stage process (strictly increasing across restarts).' },
  { name: 'kubedirect_stage_restarts_total', kind: 'counter', labels: [], source: 'observer', help: "Times the stage's supervisor (kd up, kd deploy start) restarted it after a failure, as the supervisor counts them; 0 when not supervised." },
  { name: 'kubedirect_stage_steps_total', kind: 'counter', labels: ['event'], source: 'observer', help: 'Events applied to the stage, by event type.' },
  { name: 'kubedirect_messages_received_total', kind: 'counter', labels: ['link', 'type', 'disposition'], source: 'observer', help: 'Messages received, by link, type and disposition (applied or fenced).' },
  { name: 'kubedirect_messages_sent_total', kind: 'counter', labels: ['link', 'type'], source: 'observer', help: 'message.send effects carried out (sent on the current session or dropped with it), by link and type.' },
  { name: 'kubedirect_messages_fenced_total', kind: 'counter', labels: ['link'], source: 'observer', help: 'Received messages fenced (not applied: stale epoch or not allowed in the session state), by link.' },
  { name: 'kubedirect_sessions_opened_total', kind: 'counter', labels: ['link'], source: 'observer', help: 'Sessions opened on a link (a new epoch at this end), by link.' },
  { name: 'kubedirect_epoch', kind: 'gauge', labels: ['link'], source: 'observer', help: "This end's current (or last) session epoch, by link." },
  { name: 'kubedirect_cache_pods', kind: 'gauge', labels: ['state'], source: 'observer', help: 'Pod cache entries by class: dirty (forwarded, not confirmed), clean (running), tombstone, waiting (not yet forwarded).' },
  { name: 'kubedirect_invalidations_total', kind: 'counter', labels: ['reason'], source: 'observer', help: 'Pod cache entries a session snapshot changed (reason: the snapshot event, e.g. snapshot.absent).' },
  { name: 'kubedirect_tombstones_total', kind: 'counter', labels: [], source: 'observer', help: 'Pod transitions into a tombstone state.' },
  { name: 'kubedirect_pod_transitions_total', kind: 'counter', labels: ['machine', 'event'], source: 'observer', help: 'Pod lifecycle transitions, by machine event.' },
  { name: 'kubedirect_sandbox_effects_total', kind: 'counter', labels: ['effect'], source: 'observer', help: 'Kubelet: sandbox.start and sandbox.kill effects carried out.' },
  { name: 'kubedirect_store_available', kind: 'gauge', labels: ['store'], source: 'store', help: 'Whether the backing store answered this stage the last time it asked (1) or not (0), by store kind.' },
  { name: 'kubedirect_store_outages_total', kind: 'counter', labels: [], source: 'store', help: 'Times the backing store became unavailable to this stage.' },
  {
    name: 'kubedirect_store_object_writes_dropped_total',
    kind: 'counter',
    labels: ['reason'],
    source: 'store',
    help: 'Pod object writes given up, by reason: queue-full (objectWritesQueuedMax pods queued) or attempts-exhausted (objectWriteAttemptsMax tries failed). The re-sync after an outage writes them again.',
  },
  { name: 'kubedirect_frames_sent_total', kind: 'counter', labels: ['link'], source: 'flow', help: 'Frames written to a session stream, by link.' },
  { name: 'kubedirect_frame_bytes_largest', kind: 'gauge', labels: ['link'], source: 'flow', help: 'Largest frame written in this incarnation, in bytes, by link (at most the frame size limit).' },
  { name: 'kubedirect_send_blocked_total', kind: 'counter', labels: ['link'], source: 'flow', help: 'Writes after which the stream was full (backpressure: the sender waited for drain), by link.' },
  { name: 'kubedirect_send_queue_overflows_total', kind: 'counter', labels: ['link'], source: 'flow', help: 'Sessions ended by their sender because the send queue would exceed sessionRecordsQueuedMax, by link.' },
  { name: 'kubedirect_step_seconds', kind: 'histogram', labels: ['le'], source: 'histogram', help: "Stage latency: time to apply one event to the stage's machines and carry out its effects." },
];

/** The catalog entry of `name`; throws for a name not in the catalog. */
export function metricFamilyOf(name: string): MetricFamilySpec {
  const family = metricCatalog.find((f) => f.name === name);
  if (family === undefined) throw new Error(`metric ${name} is not in runtime/observe/metric-catalog.ts`);
  return family;
}

/** Declares the families of one source in a registry. */
export function declareMetricFamilies(registry: { declare(name: string, kind: 'counter' | 'gauge', help: string): void }, source: 'observer' | 'flow' | 'store'): void {
  for (const f of metricCatalog) if (f.source === source && f.kind !== 'histogram') registry.declare(f.name, f.kind, f.help);
}
