/**
 * bench:burst pieces without clusters (trace generation and its CSV form, per-stage
 * timings from trace lines, percentiles, the plot), then one smoke run of the real
 * benchmark with tiny sizes, both modes on a real etcd, that checks the JSON it writes
 * has every field the benchmarks page (docs/pages/benchmarks.md) quotes.
 */
import { execFile, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchResult } from '../burst/main.js';
import { latencyPlotSvg } from '../burst/plot.js';
import { generateTrace, traceFromCsv, traceToCsv } from '../burst/replay.js';
import { distributionOf, median, percentile } from '../burst/stats.js';
import { burstTimings, StartedCounter, steadyRateOf, steadyRateStartsMin } from '../burst/traces.js';
import { cpuMsOf, spread } from '../burst/cluster.js';
import { addFlowCounters, flowBetween } from '../burst/frames.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'kd-bench-smoke-'));

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('bench:burst pieces', () => {
  it('a generated trace is the same from the same seed, heavy-tailed, and survives its CSV form', () => {
    const a = generateTrace(7, 40, 12);
    const b = generateTrace(7, 40, 12);
    expect(a.counts).toEqual(b.counts);
    expect(generateTrace(8, 40, 12).counts).not.toEqual(a.counts);
    const totals = a.counts.map((row) => row.reduce((x, y) => x + y, 0)).sort((x, y) => y - x);
    const top = totals.slice(0, 4).reduce((x, y) => x + y, 0);
    expect(top / a.invocations).toBeGreaterThan(0.4); // a few functions take most invocations
    const back = traceFromCsv(traceToCsv(a), 7);
    expect(back.counts).toEqual(a.counts);
    expect(back.names).toEqual(a.names);
    expect(() => traceFromCsv('function\nfn,1\n', 1)).toThrow(/header/);
  });

  it('per-stage spans and the end of a burst come from the trace lines after the request', () => {
    const t0 = Date.parse('2026-01-01T00:00:00.000Z');
    const at = (ms: number): string => new Date(t0 + ms).toISOString();
    const lines = new Map([
      ['autoscaler', [{ t: at(2), event: { type: 'scale.requested' }, effects: [] }]],
      ['scheduler', [
        { t: at(10), event: { type: 'message.received', message: { type: 'pod.provision' } }, effects: [] },
        { t: at(30), event: { type: 'message.received', message: { type: 'pod.running' } }, effects: [] },
      ]],
      ['kubelet:n1', [{ t: at(20), event: { type: 'sandbox.started' }, effects: [] }]],
      ['kubelet:n2', [{ t: at(25), event: { type: 'sandbox.started' }, effects: [] }]],
    ]);
    const timings = burstTimings(lines, t0);
    expect(timings.endMs).toBe(25);
    expect(timings.sandboxesStarted).toBe(2);
    expect(timings.stages['scheduler']).toEqual({ firstMs: 10, lastMs: 10, records: 1 });
    expect(timings.stages['kubelets']).toEqual({ firstMs: 20, lastMs: 25, records: 2 });
  });

  it('the steady rate counts the middle 80% of the starts, not the time to fill and drain the chain', () => {
    // 200 starts: the first at 100 ms (the chain filling), then one every 0.5 ms, the last 20 at 400 ms (a straggling tail).
    const starts = Array.from({ length: 200 }, (_, i) => (i === 0 ? 100 : i < 180 ? 150 + i * 0.5 : 400));
    // 10th percentile: start 20 at 160 ms; 90th: start 179 at 239.5 ms; 159 starts in between.
    expect(steadyRateOf(starts)).toBeCloseTo((159 / 79.5) * 1000, 6);
    expect(steadyRateOf([...starts].reverse())).toBe(steadyRateOf(starts)); // order of the traces does not matter
    expect(steadyRateOf(starts.slice(0, steadyRateStartsMin - 1))).toBeNull();
    expect(steadyRateOf(Array.from({ length: 150 }, () => 42))).toBeNull(); // all in one millisecond: too coarse to tell
    const t0 = Date.parse('2026-01-01T00:00:00.000Z');
    const lines = new Map([['kubelet:n1', starts.map((ms) => ({ t: new Date(t0 + Math.round(ms)).toISOString(), event: { type: 'sandbox.started' }, effects: [] }))]]);
    const timings = burstTimings(lines, t0);
    expect(timings.sandboxesStarted).toBe(200);
    expect(timings.steadyPodsPerSecond).toBeGreaterThan(1900); // timestamps rounded to whole ms
    expect(200 / ((timings.endMs as number) / 1000)).toBe(500); // the whole-burst rate, for contrast
  });

  it('frames and records per hop come from each sender\'s counters, Kubelets grouped', () => {
    const metrics = (frames: number, records: number, link: string): string =>
      [
        `kubedirect_frames_sent_total{stage="x",link="${link}"} ${frames}`,
        `kubedirect_messages_sent_total{stage="x",link="${link}",type="pod.provision"} ${records}`,
        'kubedirect_stage_steps_total{stage="x",event="link.lost"} 3',
      ].join('\n');
    const before: Record<string, { frames: number; records: number }> = {};
    addFlowCounters(before, 'scheduler', metrics(2, 2, 'scheduler>kubelet:n1'));
    const after: Record<string, { frames: number; records: number }> = {};
    addFlowCounters(after, 'scheduler', metrics(12, 82, 'scheduler>kubelet:n1'));
    addFlowCounters(after, 'scheduler', metrics(10, 40, 'scheduler>kubelet:n2'));
    addFlowCounters(after, 'kubelet:n1', metrics(5, 20, 'scheduler>kubelet:n1'));
    addFlowCounters(after, 'scheduler', metrics(0, 0, 'replicaset>scheduler'));
    expect(flowBetween(before, after)).toEqual({ 'scheduler→kubelets': { frames: 20, records: 120 }, 'kubelets→scheduler': { frames: 5, records: 20 } });
  });

  it('a process\'s CPU time is read to well under the 10 ms of /proc/PID/stat\'s ticks, and counts what it burns', async () => {
    // A child that burns CPU for 300 ms of its own CPU time, then waits to be read and killed.
    const child = spawn(process.execPath, ['-e', 'const t = process.cpuUsage(); while ((process.cpuUsage(t).user + process.cpuUsage(t).system) < 300_000); console.log("done"); setInterval(() => {}, 1000);'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const pid = child.pid as number;
      const first = cpuMsOf(pid);
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      const burnt = cpuMsOf(pid);
      expect(first).not.toBeNull();
      expect(burnt).not.toBeNull();
      expect((burnt as number) - (first as number)).toBeGreaterThan(250);
      expect(Number.isInteger(burnt as number)).toBe(false); // nanoseconds, not 10 ms ticks
      expect(cpuMsOf(2 ** 22 + 1)).toBeNull(); // no such process
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('the started counter counts sandbox.started records appended since it was made, a record cut by a write once complete', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kd-started-'));
    try {
      const [a, b] = [join(dir, 'a.ndjson'), join(dir, 'b.ndjson')];
      const started = (pod: string): string => `{"t":"2026-12-07T21:00:00.000Z","stage":"kubelet:n1","incarnation":1,"seq":1,"event":{"type":"sandbox.started","pod":"${pod}"},"disposition":"none","transitions":[],"effects":[]}\n`;
      const provision = '{"t":"2026-12-07T21:00:00.000Z","stage":"kubelet:n1","incarnation":1,"seq":2,"event":{"type":"message.received","link":"scheduler>kubelet:n1","message":{"type":"pod.provision","epoch":1,"name":"fn-1-9"}},"disposition":"applied","transitions":[],"effects":[{"type":"sandbox.start","pod":"fn-1-9","node":"n1"}]}\n';
      writeFileSync(a, started('fn-1-0')); // before the counter: not counted
      const counter = new StartedCounter([a, b]); // b does not exist yet
      expect(counter.count()).toBe(0);
      appendFileSync(a, started('fn-1-1') + provision);
      const cut = started('fn-1-2');
      appendFileSync(a, cut.slice(0, 40));
      writeFileSync(b, started('fn-1-3'));
      expect(counter.count()).toBe(2);
      appendFileSync(a, cut.slice(40));
      expect(counter.count()).toBe(3);
      expect(counter.count()).toBe(3); // nothing new: nothing counted twice
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('percentiles, medians, spreads and the plot', () => {
    expect(percentile([5, 1, 3], 50)).toBe(3);
    expect(percentile([5, 1, 3], 100)).toBe(5);
    expect(median([1, 2, 3, 4])).toBe(2.5);
    expect(distributionOf([]).p50).toBeNull();
    expect([...spread(10, ['a', 'b', 'c']).values()]).toEqual([4, 3, 3]);
    const svg = latencyPlotSvg('t', [{ label: 'direct, 1 fn', color: '#00f', dashed: false, points: [{ size: 100, p50Ms: 50, p100Ms: 80 }, { size: 1000, p50Ms: 900, p100Ms: 1200 }] }]);
    expect(svg).toMatch(/^<svg /);
    expect(svg).toContain('direct, 1 fn');
  });
});

describe('bench:burst smoke run', () => {
  it('runs both modes on tiny bursts after a warm-up cycle, a small sustained run and a tiny replay, and writes JSON with the reported fields', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'bench/burst/main.ts', '--sizes', '4', '--functions', '3', '--reps', '1', '--nodes', '2', '--warm-up', '6', '--warm-up-cycles', '2', '--sustained', '120', '--quiet-wait-s', '2', '--timeout-s', '40', '--replay-functions', '3', '--replay-minutes', '1', '--replay-minute-ms', '1000', '--out', out, '--json'],
      { cwd: root, maxBuffer: 1 << 26, timeout: 170_000 },
    );
    const result = JSON.parse(stdout) as BenchResult;
    expect(JSON.parse(readFileSync(join(out, 'burst.json'), 'utf8'))).toEqual(result);
    expect(readFileSync(join(out, 'burst.svg'), 'utf8')).toMatch(/<svg /);
    expect(result.machine.cpus).toBeGreaterThan(0);
    expect(result.options['warmUpPods']).toBe(6);
    expect(result.options['warmUpCycles']).toBe(2);
    expect(result.runs.map((r) => r.mode).sort()).toEqual(['direct', 'store-mediated']);
    for (const run of result.runs) {
      expect(run.outcome).toBe('finished');
      expect(run.latencyMs).toBeGreaterThan(0);
      // Other test files may keep the machine busy: the wait ends after --quiet-wait-s either way.
      expect(run.quietWaitMs).toBeGreaterThanOrEqual(0);
      expect(run.quietWaitMs).toBeLessThan(run.quiet ? 2_000 : 3_000);
      // The disks were synced before the wait (Debian has `sync`): a time was measured.
      expect(run.syncMs).toBeGreaterThanOrEqual(0);
      expect(Object.keys(run.stages)).toEqual(expect.arrayContaining(['autoscaler', 'deployment', 'replicaset', 'scheduler', 'kubelets']));
      // etcd carries the store-mediated mode's records: its CPU is counted there, and only there.
      expect('etcd' in run.cpuMs).toBe(run.mode === 'store-mediated');
    }
    const summary = result.summary[0];
    expect(summary?.size).toBe(4);
    expect(summary?.latencyMs['direct']?.p50).toBeGreaterThan(0);
    expect(summary?.latencyMs['store-mediated']?.p90).toBeGreaterThan(0);
    expect(summary?.ratioP50).toBeGreaterThan(0);
    // Only the direct links write frames; the Scheduler sent its provisions in at least one.
    expect(summary?.recordsPerFrame['direct']?.['scheduler→kubelets']).toBeGreaterThanOrEqual(1);
    expect(summary?.recordsPerFrame['store-mediated']).toEqual({});
    expect(result.largestBurstRates['direct']?.podsPerSecondP50).toBeGreaterThan(0);
    // The floor of the transport for the burst size: every record arrived over four hops, and the five processes used CPU.
    expect(result.floor.map((f) => [f.records, f.hops, f.latencyMs.count])).toEqual([[4, 4, 10]]);
    expect(result.floor[0]?.latencyMs.p50).toBeGreaterThan(0);
    expect(result.floor[0]?.cpuMsPerRecord).toBeGreaterThan(0);
    expect(result.sustained?.pods).toBe(120);
    expect(result.sustained?.runs.map((r) => [r.mode, r.size, r.outcome]).sort()).toEqual([['direct', 120, 'finished'], ['store-mediated', 120, 'finished']]);
    for (const mode of ['direct', 'store-mediated']) {
      expect(result.sustained?.steadyPodsPerSecondP50[mode]).toBeGreaterThan(0);
      expect(result.sustained?.podsPerSecondP50[mode]).toBeGreaterThan(0);
    }
    expect(Object.keys(result.peakRssBytes['direct'] ?? {})).toContain('scheduler');
    expect(result.peakRssBytes['store-mediated']?.['etcd']).toBeGreaterThan(0);
    expect(result.replay?.trace.functions).toBe(3);
    for (const mode of ['direct', 'store-mediated']) expect(result.replay?.modes[mode]?.delayMs.count).toBe(result.replay?.trace.invocations);
  }, 180_000);
});
