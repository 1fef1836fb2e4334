/**
 * CPU cost of the runtime around the machines, in one process without gRPC: the
 * observer's work per step (`StageObserver.step` and `stepDone`: trace line, metrics)
 * and the simulated sandboxes' work per pod (journal, timers, reports).
 *
 * The steps are real: a burst of `podCount` pods is pumped through the whole chain of
 * machines (instant delivery, instant sandboxes), then scaled back to 0, and every
 * step's event and result is kept. Each run replays them into one fresh observer per
 * stage. The sandboxes start `podCount` pods in groups (as a burst's provisions
 * arrive), then kill them all. Prints the median of `runCount` runs, in CPU µs.
 *
 *   npm run bench:observe [-- --pods 5000 --runs 7]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCommandLineOrExit } from '../cli/args.js';
import { initStage, stagesOf, type ChainConfig, type PodRecord, type StageEvent, type StageId, type StageState, type StepResult } from '../machines/index.js';
import { ChainPump } from './machines/chain-pump.js';
import { SimulatedSandboxes } from '../runtime/node/simulated-sandboxes.js';
import { StageObserver } from '../runtime/observe/observer.js';

const { options: flags } = parseCommandLineOrExit({
  command: 'bench:observe',
  program: 'npm run',
  about: 'The cost of observing a burst (trace records and metrics) against the same burst unobserved.',
  options: {
    pods: { kind: 'whole', value: 'N', min: 1, max: 1_000_000, default: 5000, help: 'pods of the burst' },
    runs: { kind: 'whole', value: 'N', min: 1, max: 1_000, default: 7, help: 'runs; the median is printed' },
  },
  example: 'npm run bench:observe -- --pods 5000',
  exits: { ok: 'measured' },
});
const podCount = flags.pods;
const runCount = flags.runs;
const nodeCount = 4;
/** Steps between two trace writes (a stage in a burst steps a few thousand times per second; the writer flushes every traceFlushMsMax). */
const stepsPerFlush = 1000;
/** Sandbox starts handed over per event-loop turn (a burst's provisions arrive in batches). */
const startsPerTurn = 100;

interface RecordedStep {
  readonly event: StageEvent;
  readonly result: StepResult<StageState>;
}

interface StageRecording {
  readonly initial: StageState;
  readonly steps: RecordedStep[];
}

const config: ChainConfig = {
  variant: 'correct',
  functions: [{ name: 'fn', priority: 0 }],
  nodes: Array.from({ length: nodeCount }, (_, i) => ({ name: `n${i + 1}`, capacity: Math.ceil(podCount / nodeCount) + 1 })),
};

/** Every step of every stage: connect, scale `fn` to `podCount`, then back to 0 (bench/machines/chain-pump.ts delivers). */
function recordBurst(): Map<StageId, StageRecording> {
  const recordings = new Map<StageId, StageRecording>(stagesOf(config).map((stage) => [stage, { initial: initStage(config, stage, { incarnation: 1 }), steps: [] }]));
  const pump = new ChainPump(config, (stage, event, result) => recordings.get(stage)?.steps.push({ event, result }));
  for (const desired of [podCount, 0]) {
    pump.request('fn', desired);
    pump.run();
  }
  return recordings;
}

function cpuMicros(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return used.user + used.system;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** CPU µs per step of the observers: over every stage, and over the Kubelets only (trace written to a temp dir). */
function observeOnce(recordings: ReadonlyMap<StageId, StageRecording>): { allMicros: number; kubeletMicros: number } {
  const dir = mkdtempSync(join(tmpdir(), 'kd-bench-observe-'));
  const total = { micros: 0, steps: 0 };
  const kubelets = { micros: 0, steps: 0 };
  try {
    for (const [stage, recording] of recordings) {
      const observer = new StageObserver({
        chain: config,
        stage,
        incarnation: 1,
        dataDir: join(dir, stage.replace(':', '-')),
        metricsAddress: null,
        warn: (message) => console.error(message),
        state: () => recording.initial,
      });
      const started = process.cpuUsage();
      observer.started(recording.initial, []);
      recording.steps.forEach(({ event, result }, i) => {
        observer.step(event, result);
        observer.stepDone(12_345n);
        if (i % stepsPerFlush === stepsPerFlush - 1) observer.flush();
      });
      observer.flush();
      const micros = cpuMicros(started);
      for (const sum of stage.startsWith('kubelet:') ? [total, kubelets] : [total]) {
        sum.micros += micros;
        sum.steps += recording.steps.length;
      }
      void observer.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { allMicros: total.micros / total.steps, kubeletMicros: kubelets.micros / kubelets.steps };
}

function pod(n: number): PodRecord {
  return { name: `fn-1-${n}`, function: 'fn', priority: 0, node: 'n1' };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** CPU µs per pod of the simulated sandboxes: starting `podCount` pods until all reported started, then killing them until all reported killed. */
async function sandboxesOnce(): Promise<{ startMicros: number; killMicros: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'kd-bench-sandboxes-'));
  try {
    let reported = 0;
    let allReported: () => void = () => undefined;
    const sandboxes = new SimulatedSandboxes(dir, { startDelayMs: 20, killDelayMs: 10 }, () => {
      reported++;
      if (reported === podCount) allReported();
    });
    sandboxes.resume();
    const phase = async (act: (record: PodRecord) => void): Promise<number> => {
      reported = 0;
      const done = new Promise<void>((resolve) => (allReported = resolve));
      const started = process.cpuUsage();
      for (let n = 0; n < podCount; n++) {
        act(pod(n));
        if (n % startsPerTurn === startsPerTurn - 1) await nextTurn();
      }
      await done;
      return cpuMicros(started) / podCount;
    };
    const startMicros = await phase((record) => sandboxes.start(record));
    const killMicros = await phase((record) => sandboxes.kill(record, 'replicaset'));
    sandboxes.stop();
    return { startMicros, killMicros };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// The sandboxes first: the recorded steps hold many states, whose collection would land in their runs.
await sandboxesOnce(); // warm-up
const start: number[] = [];
const kill: number[] = [];
for (let run = 0; run < runCount; run++) {
  const sandboxes = await sandboxesOnce();
  start.push(sandboxes.startMicros);
  kill.push(sandboxes.killMicros);
}
const recordings = recordBurst();
const stepCount = [...recordings.values()].reduce((sum, r) => sum + r.steps.length, 0);
observeOnce(recordings); // warm-up
const observeAll: number[] = [];
const observeKubelets: number[] = [];
for (let run = 0; run < runCount; run++) {
  const observed = observeOnce(recordings);
  observeAll.push(observed.allMicros);
  observeKubelets.push(observed.kubeletMicros);
}
const format = (values: readonly number[]): string => `${median(values).toFixed(2)} µs (runs: ${values.map((v) => v.toFixed(2)).join(' ')})`;
console.log(`pods ${podCount}, nodes ${nodeCount}, ${stepCount} steps, ${runCount} runs, CPU time, medians`);
console.log(`observer step        ${format(observeAll)} per step, all stages`);
console.log(`observer step        ${format(observeKubelets)} per step, Kubelets`);
console.log(`sandbox start+report ${format(start)} per pod`);
console.log(`sandbox kill+report  ${format(kill)} per pod`);
