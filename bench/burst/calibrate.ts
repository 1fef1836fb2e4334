/**
 * `npm run bench:burst -- --calibrate` (or `tsx bench/burst/calibrate.ts`): the cost of the
 * store-mediated pattern alone, without any stage logic. A plain 4-hop chain on a real
 * etcd: hop 0 puts N objects (200-byte values) concurrently under one prefix; hop k
 * (1..3) watches the prefix of hop k-1 and, for every object it learns of, puts one object
 * under its own prefix; a last watcher counts the objects of hop 3. The time is from the
 * first put to the last object seen at the end (4 puts and 4 watch deliveries per
 * object). Run with both clients: etcd's gRPC API (runtime/mediated/etcd-grpc.ts) and
 * its JSON gateway over HTTP (as runtime/store/etcd-store.ts talked to it before it
 * moved to the etcd3 package).
 *
 * Usage: tsx bench/burst/calibrate.ts [--sizes 1000,5000] [--reps 3] [--client grpc|gateway|both] [--etcd URL] [--json]
 */
import { resolve } from 'node:path';
import { parseCommandLineOrExit } from '../../cli/args.js';
import { EtcdGrpcClient, prefixRangeEnd } from '../../runtime/mediated/etcd-grpc.js';
import { startEtcd, type EtcdServer } from '../../runtime/store/etcd-server.js';
import { median } from './stats.js';

export const calibrationHops = 4;
export const calibrationValueBytes = 200;
/** Longest one calibration run may take before it is reported as unfinished. */
const calibrationRunMsMax = 120_000;

type Put = (key: string, value: Buffer) => Promise<void>;
type WatchPrefix = (prefix: string, onKey: (key: string) => void, onReady: () => void) => () => void;

interface ChainClient {
  readonly name: 'grpc' | 'gateway';
  readonly put: Put;
  readonly watchPrefix: WatchPrefix;
  close(): void;
}

function grpcClient(endpoint: string): ChainClient {
  const client = new EtcdGrpcClient(endpoint);
  return {
    name: 'grpc',
    put: async (key, value) => {
      await client.put(key, value);
    },
    watchPrefix: (prefix, onKey, onReady) => {
      const watch = client.watchPrefix(prefix, 0, {
        onEvents: (events) => {
          for (const e of events) if (e.type === 'put') onKey(e.key);
        },
        onReady,
        onEnd: () => {},
      });
      return () => watch.cancel();
    },
    close: () => client.close(),
  };
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

function gatewayClient(endpoint: string): ChainClient {
  const controllers = new Set<AbortController>();
  return {
    name: 'gateway',
    put: async (key, value) => {
      const response = await fetch(`${endpoint}/v3/kv/put`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key: b64(key), value: value.toString('base64') }),
      });
      await response.text();
      if (!response.ok) throw new Error(`put ${key}: HTTP ${response.status}`);
    },
    watchPrefix: (prefix, onKey, onReady) => {
      const controller = new AbortController();
      controllers.add(controller);
      const body = JSON.stringify({ create_request: { key: b64(prefix), range_end: prefixRangeEnd(prefix).toString('base64') } });
      void (async () => {
        const response = await fetch(`${endpoint}/v3/watch`, { method: 'POST', body, signal: controller.signal });
        if (response.body === null) throw new Error('watch: no body');
        const decoder = new TextDecoder();
        let pending = '';
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          pending += decoder.decode(chunk, { stream: true });
          let newline: number;
          while ((newline = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, newline).trim();
            pending = pending.slice(newline + 1);
            if (line === '') continue;
            const result = (JSON.parse(line) as { result?: { created?: boolean; events?: Array<{ type?: string; kv: { key: string } }> } }).result;
            if (result?.created === true) onReady();
            for (const e of result?.events ?? []) if (e.type !== 'DELETE') onKey(Buffer.from(e.kv.key, 'base64').toString('utf8'));
          }
        }
      })().catch((error: Error) => {
        if (error.name !== 'AbortError') console.error(`gateway watch ${prefix}: ${error.message}`);
      });
      return () => {
        controller.abort();
        controllers.delete(controller);
      };
    },
    close: () => {
      for (const c of controllers) c.abort();
    },
  };
}

export interface CalibrationRun {
  readonly client: 'grpc' | 'gateway';
  readonly objects: number;
  readonly hops: number;
  /** First put to the last object seen after the last hop; null when it did not finish in time. */
  readonly seconds: number | null;
  readonly putsPerSecond: number | null;
  /** Puts etcd refused or that timed out (a run with any is unfinished). */
  readonly failedPuts: number;
}

/** One chain run of `objects` objects under a fresh prefix. */
export async function calibrationRun(client: ChainClient, objects: number, runId: string): Promise<CalibrationRun> {
  const prefixOf = (hop: number): string => `/calibrate/${runId}/h${hop}/`;
  const value = Buffer.alloc(calibrationValueBytes, 'x');
  let failures = 0;
  const failed = (): void => {
    failures += 1;
  };
  const cancels: Array<() => void> = [];
  let ready = 0;
  const allReady = new Promise<void>((resolve) => {
    const onReady = (): void => {
      ready += 1;
      if (ready === calibrationHops) resolve();
    };
    // Hop k (1..3) relays hop k-1's objects; the last watcher counts hop 3's.
    for (let hop = 1; hop < calibrationHops; hop++) {
      const from = prefixOf(hop - 1);
      const to = prefixOf(hop);
      cancels.push(client.watchPrefix(from, (key) => void client.put(to + key.slice(from.length), value).catch(failed), onReady));
    }
    cancels.push(client.watchPrefix(prefixOf(calibrationHops - 1), () => seen(), onReady));
  });
  let seenCount = 0;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  const seen = (): void => {
    seenCount += 1;
    if (seenCount === objects) finish();
  };
  await allReady;
  const started = performance.now();
  for (let i = 0; i < objects; i++) void client.put(`${prefixOf(0)}obj-${i}`, value).catch(failed);
  let timer: NodeJS.Timeout | undefined;
  const finished = await Promise.race([done.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), calibrationRunMsMax)))]);
  clearTimeout(timer);
  const seconds = finished ? (performance.now() - started) / 1000 : null;
  for (const cancel of cancels) cancel();
  return { client: client.name, objects, hops: calibrationHops, seconds, putsPerSecond: seconds === null ? null : (objects * calibrationHops) / seconds, failedPuts: failures };
}

export interface CalibrationSummary {
  readonly runs: CalibrationRun[];
  readonly medians: Array<{ client: string; objects: number; medianSeconds: number | null; putsPerSecond: number | null }>;
}


/** Calibration runs, interleaved by client, on the etcd at `endpoint`. */
export async function calibrate(endpoint: string, sizes: readonly number[], reps: number, clients: ReadonlyArray<'grpc' | 'gateway'>, progress: (line: string) => void): Promise<CalibrationSummary> {
  const runs: CalibrationRun[] = [];
  let id = 0;
  for (let rep = 0; rep < reps; rep++)
    for (const objects of sizes)
      for (const name of clients) {
        const client = name === 'grpc' ? grpcClient(endpoint) : gatewayClient(endpoint);
        const run = await calibrationRun(client, objects, `${process.pid}-${Date.now()}-${id++}`);
        client.close();
        runs.push(run);
        progress(`calibration ${name} ${objects} objects: ${run.seconds === null ? 'unfinished' : `${run.seconds.toFixed(2)} s`}`);
      }
  const medians = clients.flatMap((client) =>
    sizes.map((objects) => {
      const done = runs.filter((r) => r.client === client && r.objects === objects && r.seconds !== null).map((r) => r.seconds as number);
      const m = done.length === reps ? median(done) : null;
      return { client, objects, medianSeconds: m, putsPerSecond: m === null ? null : (objects * calibrationHops) / m };
    }),
  );
  return { runs, medians };
}

async function main(): Promise<void> {
  const { options: values } = parseCommandLineOrExit({
    command: 'bench/burst/calibrate.ts',
    program: 'npx tsx',
    about: 'The plain 4-hop etcd chain (puts and watches, no protocol), with the gRPC client and the JSON gateway.',
    options: {
      sizes: { kind: 'wholes', value: 'LIST', min: 1, max: 1_000_000, default: [1000, 5000], help: 'objects per run' },
      reps: { kind: 'whole', value: 'N', min: 1, max: 100, default: 3, help: 'repetitions; the median is printed' },
      client: { kind: 'choice', value: 'KIND', choices: ['grpc', 'gateway'], help: 'only this client (default both)' },
      etcd: { kind: 'text', value: 'URL', help: 'an etcd to use (default: one started for the run)' },
      json: { kind: 'flag', help: 'the figures as JSON' },
    },
    example: 'npx tsx bench/burst/calibrate.ts --sizes 1000',
    exits: { ok: 'measured' },
  });
  const sizes = values.sizes;
  const reps = values.reps;
  const clients: Array<'grpc' | 'gateway'> = values.client === 'grpc' ? ['grpc'] : values.client === 'gateway' ? ['gateway'] : ['grpc', 'gateway'];
  let etcd: EtcdServer | null = null;
  const endpoint = values.etcd ?? (etcd = await startEtcd()).endpoint;
  try {
    const summary = await calibrate(endpoint, sizes, reps, clients, (line) => console.error(line));
    if (values.json === true) console.log(JSON.stringify(summary, null, 2));
    else
      for (const m of summary.medians)
        console.log(`${m.client.padEnd(8)} ${String(m.objects).padStart(6)} objects x ${calibrationHops} hops: median ${m.medianSeconds === null ? 'unfinished' : `${m.medianSeconds.toFixed(2)} s (${Math.round(m.putsPerSecond ?? 0)} puts/s)`}`);
  } finally {
    await etcd?.stop();
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) await main();
