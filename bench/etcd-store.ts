/**
 * `npm run bench:store`: the etcd backing store (runtime/store/etcd-store.ts) on a fresh
 * etcd of its own (Debian's /usr/bin/etcd, loopback, temporary data dir), as the
 * Autoscaler and the other stages use it:
 *
 * - desired counts: `--puts` stores of one count, one after the other (each resolves
 *   once etcd committed it, as a `kd scale` waits); the median and p99 latency;
 * - Pod objects: `--pods` pods each created (Pending), then updated (Running), through
 *   the queue and its bounded in-flight writes, as a burst's stages write them; the
 *   time until the queue is drained, and the writes per second.
 *
 * Each measurement is repeated `--runs` times on the same etcd (new pod names each run);
 * medians are printed. On a noisy machine compare two trees by running them
 * interleaved.
 * Usage: npm run bench:store -- [--runs N] [--puts N] [--pods N] [--json]
 */
import { parseCommandLineOrExit } from '../cli/args.js';
import { startEtcd } from '../runtime/store/etcd-server.js';
import { EtcdStore } from '../runtime/store/etcd-store.js';
import { podObjectOf } from '../runtime/store/pod-objects.js';

const { options: values } = parseCommandLineOrExit({
  command: 'bench:store',
  program: 'npm run',
  about: 'The etcd backing store on a fresh etcd of its own: desired-count puts and Pod-object writes, medians.',
  options: {
    runs: { kind: 'whole', value: 'N', min: 1, max: 1_000, default: 5, help: 'repetitions; medians are printed' },
    puts: { kind: 'whole', value: 'N', min: 1, max: 1_000_000, default: 200, help: 'desired-count stores per run' },
    pods: { kind: 'whole', value: 'N', min: 1, max: 1_000_000, default: 2_000, help: 'pods written (created, then updated) per run' },
    json: { kind: 'flag', help: 'the figures as JSON' },
  },
  example: 'npm run bench:store -- --runs 5',
  exits: { ok: 'measured' },
});
const { runs, puts, pods } = values;
/** Longest wait for the queue of one run to drain. */
const drainMsMax = 120_000;

const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
};
const quantile = (xs: readonly number[], q: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
};

const etcd = await startEtcd();
const store = new EtcdStore(etcd.endpoint, () => {});
const results: Array<{ desiredPutMsP50: number; desiredPutMsP99: number; podWritesPerSecond: number }> = [];
try {
  for (let run = 0; run < runs; run++) {
    const latencies: number[] = [];
    for (let i = 0; i < puts; i++) {
      const started = performance.now();
      await store.putDesiredCounts(new Map([['fn', i]]));
      latencies.push(performance.now() - started);
    }
    const started = performance.now();
    for (let i = 0; i < pods; i++) store.enqueuePod({ kind: 'put', pod: `fn-${run}-${i}`, create: true, object: podObjectOf(`fn-${run}-${i}`, 'fn', 'Pending', null) });
    for (let i = 0; i < pods; i++) store.enqueuePod({ kind: 'put', pod: `fn-${run}-${i}`, create: false, object: podObjectOf(`fn-${run}-${i}`, 'fn', 'Running', 'n1') });
    await store.flush(drainMsMax);
    const seconds = (performance.now() - started) / 1000;
    const written = (await store.listPods()).filter((p) => p.metadata.name.startsWith(`fn-${run}-`) && p.status.phase === 'Running').length;
    if (written !== pods) throw new Error(`run ${run}: ${written} of ${pods} pods Running in etcd after the drain`);
    results.push({ desiredPutMsP50: median(latencies), desiredPutMsP99: quantile(latencies, 0.99), podWritesPerSecond: (2 * pods) / seconds });
  }
} finally {
  await store.close();
  await etcd.stop();
}
const summary = {
  runs,
  puts,
  pods,
  desiredPutMsP50: median(results.map((r) => r.desiredPutMsP50)),
  desiredPutMsP99: median(results.map((r) => r.desiredPutMsP99)),
  podWritesPerSecond: median(results.map((r) => r.podWritesPerSecond)),
};
if (values.json === true) console.log(JSON.stringify({ summary, results }, null, 2));
else
  console.log(
    `etcd backing store, medians of ${runs} runs: desired count stored in ${summary.desiredPutMsP50.toFixed(2)} ms (p99 ${summary.desiredPutMsP99.toFixed(2)} ms); ` +
      `${Math.round(summary.podWritesPerSecond)} Pod object writes/s (${pods} pods created, then updated)`,
  );
