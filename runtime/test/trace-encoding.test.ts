/**
 * The trace's direct encoding (runtime/observe/trace-encoding.ts) writes, record for
 * record, the text of `JSON.stringify` of the TraceRecord built from the summaries
 * (runtime/observe/trace.ts): over the real steps of a burst and its scale-down, a
 * Kubelet restarted with sandboxes, every message type, event and effect kind, and
 * names that JSON must escape. The trace.stopped note is checked the same way, and the
 * observer's records carry their sessions only where a step changed them.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  initStage,
  linkEnds,
  linksOf,
  stagesOf,
  stepStage,
  type ChainConfig,
  type Effect,
  type LinkMessage,
  type PodRecord,
  type StageEvent,
  type StageId,
  type StageState,
  type StepResult,
} from '../../machines/index.js';
import { jsonName, recordIdentityJson, sessionsJson, stepRecordJson } from '../observe/trace-encoding.js';
import { StageObserver } from '../observe/observer.js';
import { sessionsOf, summarizeEffect, summarizeEvent, traceFileOf, TraceWriter, type TraceRecord } from '../observe/trace.js';

const dir = mkdtempSync(join(tmpdir(), 'kd-trace-encoding-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config: ChainConfig = {
  variant: 'correct',
  functions: [{ name: 'fn', priority: 0 }],
  nodes: [
    { name: 'n1', capacity: 3 },
    { name: 'n2', capacity: 3 },
  ],
};

interface Step {
  readonly stage: StageId;
  readonly event: StageEvent;
  readonly result: StepResult<StageState>;
}

/** Every step of every stage: connect, scale `fn` to 7 (one more than fits), then to 0. */
function burstSteps(): Step[] {
  const states = new Map<StageId, StageState>(stagesOf(config).map((stage) => [stage, initStage(config, stage, { incarnation: 1 })]));
  const steps: Step[] = [];
  const queue: Array<readonly [StageId, StageEvent]> = linksOf(config).map((link) => [linkEnds(link).upstream, { type: 'link.connected', link }] as const);
  queue.push(['autoscaler', { type: 'scale.requested', function: 'fn', desired: 7 }]);
  for (let next = 0; next < queue.length; next++) {
    const [stage, event] = queue[next] as readonly [StageId, StageEvent];
    const result = stepStage(config, stage, states.get(stage) as StageState, event);
    states.set(stage, result.state);
    steps.push({ stage, event, result });
    for (const effect of result.effects) {
      if (effect.type === 'message.send') {
        const { upstream, downstream } = linkEnds(effect.link);
        queue.push([upstream === stage ? downstream : upstream, { type: 'message.received', link: effect.link, message: effect.message }]);
      } else if (effect.type === 'sandbox.start') queue.push([stage, { type: 'sandbox.started', pod: effect.pod.name }]);
      else if (effect.type === 'sandbox.kill') queue.push([stage, { type: 'sandbox.killed', pod: effect.pod.name }]);
    }
    if (next === queue.length - 1 && event.type !== 'scale.requested') queue.push(['autoscaler', { type: 'scale.requested', function: 'fn', desired: 0 }]);
  }
  return steps;
}

const pod = (name: string, node: string | null): PodRecord => ({ name, function: 'fn', priority: 0, node });
const link = 'scheduler>kubelet:n1';
const upLink = 'replicaset>scheduler';
const quoted = 'fn-"1\\-\n\u2028\ud800';

/** One message of each type, some with fields JSON must escape. */
const messages: LinkMessage[] = [
  { type: 'session.hello', epoch: 7 },
  { type: 'session.sync', epoch: 7 },
  { type: 'scale.set', epoch: 7, scale: { function: 'fn', desired: 3 } },
  { type: 'pod.provision', epoch: 7, pod: pod('fn-1-1', 'n1') },
  { type: 'pod.provision', epoch: 7, pod: pod(quoted, null) },
  { type: 'pod.tombstone', epoch: 7, name: 'fn-1-1', origin: 'replicaset' },
  { type: 'session.snapshot', epoch: 7, scales: [], pods: [{ record: pod('fn-1-1', 'n1'), phase: 'running' }], tombstones: [{ record: pod('fn-1-2', 'n1'), origin: 'scheduler' }] },
  { type: 'session.rejected', epoch: 7, reason: 'stale-epoch' },
  { type: 'scale.applied', epoch: 7, scale: { function: 'fn', desired: 3 } },
  { type: 'pod.running', epoch: 7, name: 'fn-1-1' },
  { type: 'pod.failed', epoch: 7, name: 'fn-1-1', reason: 'capacity-exceeded' },
  { type: 'pod.preempted', epoch: 7, name: quoted },
  { type: 'tombstone.done', epoch: 7, name: 'fn-1-1' },
];

const effects: Effect[] = [
  ...messages.map((message): Effect => ({ type: 'message.send', link: upLink, message })),
  { type: 'sandbox.start', pod: pod('fn-1-1', 'n1') },
  { type: 'sandbox.kill', pod: pod(quoted, null), origin: 'replicaset' },
  { type: 'store.persist', function: 'fn', desired: 4 },
];

const events: StageEvent[] = [
  ...messages.map((message): StageEvent => ({ type: 'message.received', link, message })),
  { type: 'link.connected', link },
  { type: 'link.lost', link: upLink },
  { type: 'scale.requested', function: quoted, desired: 2 },
  { type: 'scales.requested', scales: [{ function: quoted, desired: 2 }, { function: 'fn', desired: 0 }] },
  { type: 'scales.requested', scales: [] },
  { type: 'sandbox.started', pod: 'fn-1-1' },
  { type: 'sandbox.failed', pod: quoted },
  { type: 'sandbox.killed', pod: 'fn-1-1' },
];

/** The record as the observer described it before the direct encoding. */
function recordOf(t: string, stage: StageId, incarnation: number, seq: number, step: Omit<Step, 'stage'>, node: string): TraceRecord {
  return {
    t,
    stage,
    incarnation,
    seq,
    event: summarizeEvent(step.event),
    disposition: step.result.disposition,
    transitions: step.result.trace,
    effects: step.result.effects.map((e) => summarizeEffect(e, node)),
    sessions: sessionsOf(step.result.state),
  };
}

function expectSameText(stage: StageId, seq: number, step: Omit<Step, 'stage'>, node: string): void {
  const t = '2026-01-01T00:00:00.000Z';
  const direct = stepRecordJson(t, recordIdentityJson(stage, 3), seq, step.event, step.result, node, sessionsJson(sessionsOf(step.result.state)));
  const record = recordOf(t, stage, 3, seq, step, node);
  expect(direct).toBe(JSON.stringify(record));
  // Sessions unchanged since the previous record: left out.
  const { sessions: _unchanged, ...withoutSessions } = record;
  expect(stepRecordJson(t, recordIdentityJson(stage, 3), seq, step.event, step.result, node, null)).toBe(JSON.stringify(withoutSessions));
}

describe('trace encoding', () => {
  it('equals JSON.stringify of the record over every step of a burst and its scale-down', () => {
    const steps = burstSteps();
    const kinds = new Set(steps.flatMap((s) => [s.event.type, ...s.result.effects.map((e) => e.type), ...(s.event.type === 'message.received' ? [s.event.message.type] : [])]));
    expect([...kinds]).toEqual(expect.arrayContaining(['message.received', 'sandbox.started', 'sandbox.killed', 'pod.provision', 'pod.tombstone', 'session.snapshot', 'store.persist', 'sandbox.start', 'sandbox.kill']));
    steps.forEach((step, i) => expectSameText(step.stage, i + 1, step, step.stage.startsWith('kubelet') ? 'n1' : ''));
  });

  it('equals JSON.stringify of the record for each event, message and effect kind, and names JSON escapes', () => {
    const state = initStage(config, 'kubelet:n1', { incarnation: 2, inventory: [{ pod: pod('fn-1-9', 'n1'), state: 'killing', origin: 'replicaset' }] });
    for (const event of events) {
      const result: StepResult<StageState> = { ...stepStage(config, 'kubelet:n1', state, event), effects };
      expectSameText('kubelet:n1', 1, { event, result }, 'n1');
    }
    const trace = [{ machine: 'scheduler-pod', pod: quoted, event: 'upstream.provision', from: 'unknown', to: 'pending' }] as const;
    expectSameText(quoted as StageId, 2, { event: { type: 'link.lost', link }, result: { state, effects: [], links: [], trace, disposition: 'none' } }, '');
  });

  it('a name kept quoted in the map is the text JSON.stringify writes, the first time and every time after', () => {
    for (const name of ['scheduler-pod', 'kubelet:n1>x', 'a"b', 'back\\slash', 'tab\there', '\u00e9t\u00e9', '\ud800']) {
      expect(jsonName(name)).toBe(JSON.stringify(name));
      expect(jsonName(name)).toBe(JSON.stringify(name));
    }
  });

  it('the observer writes sessions on the boot record and where a step changed them; carried forward they are every state\'s', async () => {
    const steps = burstSteps();
    for (const stage of stagesOf(config)) {
      const dataDir = join(dir, `observer-${stage.replace(':', '-')}`);
      const initial = initStage(config, stage, { incarnation: 1 });
      let current = initial;
      const observer = new StageObserver({ chain: config, stage, incarnation: 1, dataDir, metricsAddress: null, warn: () => undefined, state: () => current });
      observer.started(initial, []);
      const ofStage = steps.filter((s) => s.stage === stage);
      for (const step of ofStage) {
        observer.step(step.event, step.result);
        current = step.result.state;
      }
      await observer.close();
      const records = readFileSync(traceFileOf(dataDir), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as TraceRecord);
      expect(records.map((r) => r.seq)).toEqual([0, ...ofStage.map((_, i) => i + 1)]);
      const states = [initial, ...ofStage.map((s) => s.result.state)];
      let carried: unknown = undefined;
      let written = 0;
      records.forEach((record, i) => {
        const expected = sessionsOf(states[i] as StageState);
        const changed = i === 0 || JSON.stringify(expected) !== JSON.stringify(sessionsOf(states[i - 1] as StageState));
        expect('sessions' in record).toBe(changed);
        if (record.sessions !== undefined) {
          carried = record.sessions;
          written++;
        }
        expect(carried).toEqual(expected);
      });
      // A burst opens each session once: most records leave the sessions out.
      expect(written).toBeLessThan(records.length);
    }
  });

  it('a trace file never grows past traceBytesMax: the records that fit, then the trace.stopped note, then nothing; bytes, not characters, count', () => {
    const line = (seq: number, name: string): string => `{"t":"2026-01-01T00:00:00.000Z","stage":"kubelet:n1","incarnation":1,"seq":${seq},"event":{"type":"sandbox.started","pod":"${name}"}}`;
    const note = (seq: number): string => `{"t":"2026-01-01T00:00:00.000Z","stage":"kubelet:n1","incarnation":1,"seq":${seq},"event":{"type":"trace.stopped"},"reason":"traceBytesMax"}`;
    // Room for two ASCII records of one flush, not three.
    const ascii = [line(1, 'fn-a'), line(2, 'fn-b'), line(3, 'fn-c')];
    const file = join(dir, 'limit-ascii.ndjson');
    const warnings: string[] = [];
    const writer = new TraceWriter(file, (w) => warnings.push(w), 2 * (ascii[0] as string).length + 2 + 10);
    for (const text of ascii) writer.appendLine(text);
    writer.appendLine(line(4, 'fn-d'));
    writer.close();
    expect(readFileSync(file, 'utf8')).toBe(`${ascii[0]}\n${ascii[1]}\n${note(3)}\n`);
    expect(warnings).toHaveLength(1);
    // The same number of characters, but "é" is two bytes in UTF-8: the second record no longer fits.
    const accented = [line(1, 'fn-é'), line(2, 'fn-é')];
    const file2 = join(dir, 'limit-utf8.ndjson');
    const writer2 = new TraceWriter(file2, () => undefined, 2 * (ascii[0] as string).length + 2 + 1);
    for (const text of accented) writer2.appendLine(text);
    writer2.flush();
    writer2.appendLine(line(3, 'fn-c'));
    writer2.close();
    expect(readFileSync(file2, 'utf8')).toBe(`${accented[0]}\n${note(2)}\n`);
  });

  it('the trace.stopped note at traceBytesMax is the record JSON.stringify would write', () => {
    const file = join(dir, 'stopped.ndjson');
    const writer = new TraceWriter(file, () => undefined, 10);
    const step = { event: events[0] as StageEvent, result: stepStage(config, 'kubelet:n1', initStage(config, 'kubelet:n1', { incarnation: 3 }), events[0] as StageEvent) };
    writer.appendLine(stepRecordJson('2026-01-01T00:00:00.000Z', recordIdentityJson('kubelet:n1', 3), 4, step.event, step.result, 'n1', '[]'));
    writer.close();
    const stopped = { t: '2026-01-01T00:00:00.000Z', stage: 'kubelet:n1', incarnation: 3, seq: 4, event: { type: 'trace.stopped' }, reason: 'traceBytesMax' };
    expect(readFileSync(file, 'utf8')).toBe(`${JSON.stringify(stopped)}\n`);
  });
});
