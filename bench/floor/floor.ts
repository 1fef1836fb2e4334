/**
 * The floor: what moving records across four gRPC hops costs with no protocol work at
 * all, so that the direct chain's figure can be read against the limit of its transport.
 * Five processes (relay.ts) in a line, source -> relay -> relay -> relay -> sink, each
 * link a `Link.Session` stream with the runtime's own channel options and frame codec
 * (every relay decodes each frame and encodes it again, as a stage does); the records
 * are pod.provision records, sent in frames of `frameRecords`. Latency is from the
 * source starting to write to the sink holding every record (both read the same
 * machine clock); CPU is every process's own `process.cpuUsage()` over the runs.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { freePort } from '../../runtime/cluster/local-cluster.js';
import { repositoryPath } from '../../runtime/repository-paths.js';
import { distributionOf, type Distribution } from '../burst/stats.js';

export type FloorCommand =
  | { readonly type: 'expect'; readonly records: number }
  | { readonly type: 'go'; readonly records: number; readonly frameRecords: number; readonly run: number }
  | { readonly type: 'cpu' }
  | { readonly type: 'stop' };

export type FloorReport =
  | { readonly type: 'ready' }
  | { readonly type: 'expecting' }
  | { readonly type: 'started'; readonly atMs: number }
  | { readonly type: 'done'; readonly atMs: number }
  | { readonly type: 'cpu'; readonly cpuMs: number };

export interface FloorOptions {
  readonly records: number;
  /** Records per frame the source writes (a relay forwards each frame as it came). */
  readonly frameRecords: number;
  /** Measured runs (after `warmUpRuns` unmeasured ones). */
  readonly runs: number;
  readonly warmUpRuns: number;
}

export interface FloorResult {
  readonly records: number;
  readonly frameRecords: number;
  readonly hops: number;
  readonly latencyMs: Distribution;
  /** CPU of the five processes over the measured runs, per record, ms. */
  readonly cpuMsPerRecord: number;
}

/** gRPC hops of the floor: the links of Autoscaler, Deployment, ReplicaSet, Scheduler and a Kubelet. */
export const floorHops = 4;
/** Time for the five processes to start, ms. */
const floorStartMsMax = 60_000;
/** Time for one run, ms. */
const floorRunMsMax = 60_000;

const relayFile = repositoryPath('bench', 'floor', 'relay.ts');

/** One process of the line, with a way to wait for its next report of a type. */
class Relay {
  private readonly waiting = new Map<string, (report: FloorReport) => void>();

  constructor(readonly child: ChildProcess) {
    child.on('message', (report: FloorReport) => {
      const resolve = this.waiting.get(report.type);
      this.waiting.delete(report.type);
      resolve?.(report);
    });
  }

  next<T extends FloorReport['type']>(type: T, timeoutMs: number): Promise<Extract<FloorReport, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`floor: no "${type}" from a relay within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.set(type, (report) => {
        clearTimeout(timer);
        resolve(report as Extract<FloorReport, { type: T }>);
      });
    });
  }

  command(command: FloorCommand): void {
    this.child.send(command);
  }
}

async function startLine(): Promise<Relay[]> {
  const ports = [0, await freePort(), await freePort(), await freePort(), await freePort()];
  const roles = ['source', 'relay', 'relay', 'relay', 'sink'];
  const line: Relay[] = [];
  // The sink first: each process opens its stream to a downstream that already listens.
  for (let i = roles.length - 1; i >= 0; i--) {
    const downstream = i === roles.length - 1 ? '-' : `127.0.0.1:${ports[i + 1]}`;
    const child = fork(relayFile, [roles[i] as string, String(ports[i]), downstream], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const relay = new Relay(child);
    await relay.next('ready', floorStartMsMax);
    line.unshift(relay);
  }
  return line;
}

async function cpuMsOfLine(line: readonly Relay[]): Promise<number> {
  const used = await Promise.all(
    line.map((relay) => {
      const report = relay.next('cpu', floorRunMsMax);
      relay.command({ type: 'cpu' });
      return report;
    }),
  );
  return used.reduce((sum, r) => sum + r.cpuMs, 0);
}

async function oneRun(line: readonly Relay[], options: FloorOptions, run: number): Promise<number> {
  const source = line[0] as Relay;
  const sink = line[line.length - 1] as Relay;
  const expecting = sink.next('expecting', floorRunMsMax);
  sink.command({ type: 'expect', records: options.records });
  await expecting;
  const started = source.next('started', floorRunMsMax);
  const done = sink.next('done', floorRunMsMax);
  source.command({ type: 'go', records: options.records, frameRecords: options.frameRecords, run });
  return (await done).atMs - (await started).atMs;
}

export async function measureFloor(options: FloorOptions): Promise<FloorResult> {
  const line = await startLine();
  try {
    for (let run = 0; run < options.warmUpRuns; run++) await oneRun(line, options, run);
    const cpuBefore = await cpuMsOfLine(line);
    const latencies: number[] = [];
    for (let run = 0; run < options.runs; run++) latencies.push(await oneRun(line, options, options.warmUpRuns + run));
    const cpuMs = (await cpuMsOfLine(line)) - cpuBefore;
    return { records: options.records, frameRecords: options.frameRecords, hops: floorHops, latencyMs: distributionOf(latencies), cpuMsPerRecord: cpuMs / (options.records * options.runs) };
  } finally {
    for (const relay of line) relay.command({ type: 'stop' });
  }
}
