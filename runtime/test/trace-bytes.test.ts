/**
 * The byte encoding of step records (runtime/observe/trace-bytes.ts) writes, byte for
 * byte, the UTF-8 of the string encoding (runtime/observe/trace-encoding.ts, itself held
 * equal to JSON.stringify of the record in trace-encoding.test.ts): over generated events,
 * messages, effects and transitions with any names (escapes, non-ASCII, lone surrogates)
 * and any numbers, over the real steps of a burst, and through the TraceWriter's chunk as
 * it grows and is written out.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChainConfig, Effect, LinkMessage, PodRecord, StageEvent, StageId, StageState, StepResult, TracePoint } from '../../machines/index.js';
import { ChainPump } from '../../bench/machines/chain-pump.js';
import { recordIdentityJson, stepRecordJson } from '../observe/trace-encoding.js';
import { StepRecordEncoder, TraceBytes, traceChunkBytesInitial } from '../observe/trace-bytes.js';
import { TraceWriter } from '../observe/trace.js';

const dir = mkdtempSync(join(tmpdir(), 'kd-trace-bytes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Names as the machines write them, and any text at all (JSON escapes, non-ASCII, lone surrogates). */
const name = fc.oneof(fc.constantFrom('fn-1-1', 'n1', 'scheduler>kubelet:n1', 'running', 'kubelet-pod', ''), fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ maxLength: 12 }));
const number = fc.oneof(fc.nat(), fc.integer(), fc.double(), fc.constantFrom(0x7fffffff, 0x7ffffffe, 2 ** 53, -0));
const pod = fc.record({ name, function: name, priority: fc.nat(), node: fc.option(name) }) as fc.Arbitrary<PodRecord>;

const message: fc.Arbitrary<LinkMessage> = fc.oneof(
  fc.record({ type: fc.constantFrom('session.hello', 'session.sync'), epoch: number }),
  fc.record({ type: fc.constantFrom('scale.set', 'scale.applied'), epoch: number, scale: fc.record({ function: name, desired: number }) }),
  fc.record({ type: fc.constant('pod.provision'), epoch: number, pod }),
  fc.record({ type: fc.constant('pod.tombstone'), epoch: number, name, origin: name }),
  fc.record({ type: fc.constant('pod.failed'), epoch: number, name, reason: name }),
  fc.record({ type: fc.constantFrom('pod.running', 'pod.preempted', 'tombstone.done'), epoch: number, name }),
  fc.record({ type: fc.constant('session.rejected'), epoch: number, reason: name }),
  fc.record({ type: fc.constant('session.snapshot'), epoch: number, scales: fc.constant([]), pods: fc.array(fc.constant({}), { maxLength: 3 }), tombstones: fc.array(fc.constant({}), { maxLength: 3 }) }),
) as fc.Arbitrary<LinkMessage>;

const event: fc.Arbitrary<StageEvent> = fc.oneof(
  fc.record({ type: fc.constant('message.received'), link: name, message }),
  fc.record({ type: fc.constantFrom('link.connected', 'link.lost'), link: name }),
  fc.record({ type: fc.constant('scale.requested'), function: name, desired: number }),
  fc.record({ type: fc.constant('scales.requested'), scales: fc.array(fc.record({ function: name, desired: number }), { maxLength: 3 }) }),
  fc.record({ type: fc.constantFrom('sandbox.started', 'sandbox.failed', 'sandbox.killed'), pod: name }),
) as fc.Arbitrary<StageEvent>;

const effect: fc.Arbitrary<Effect> = fc.oneof(
  fc.record({ type: fc.constant('message.send'), link: name, message }),
  fc.record({ type: fc.constantFrom('sandbox.start', 'sandbox.kill'), pod, origin: fc.constant('replicaset') }),
  fc.record({ type: fc.constant('store.persist'), function: name, desired: number }),
) as fc.Arbitrary<Effect>;

const point = fc.record({ machine: name, pod: name, event: name, from: name, to: name }) as fc.Arbitrary<TracePoint>;

const result = fc.record({
  disposition: fc.constantFrom('none', 'applied', 'fenced', 'ignored'),
  trace: fc.array(point, { maxLength: 4 }),
  effects: fc.array(effect, { maxLength: 4 }),
}).map((r) => ({ ...r, state: {}, links: [] }) as unknown as StepResult<StageState>);

function bytesOf(encoder: StepRecordEncoder, t: string, seq: number, e: StageEvent, r: StepResult<StageState>, node: string, sessions: string | null): Buffer {
  const out = new TraceBytes();
  out.pos = 3; // records start anywhere in a chunk
  encoder.write(out, t, seq, e, r, node, sessions);
  return out.buf.subarray(3, out.pos);
}

describe('trace bytes', () => {
  it('a step record in bytes is the UTF-8 of its string encoding, for any event, effects, transitions, names and numbers', () => {
    fc.assert(
      fc.property(fc.constantFrom('kubelet:n1', 'scheduler', 'a"\u00e9'), fc.integer(), fc.date({ noInvalidDate: true }), number, event, result, name, fc.option(fc.constantFrom('[]', '[{"link":"\u00e9"}]')), (stage, incarnation, date, seq, e, r, node, sessions) => {
        const identity = recordIdentityJson(stage as StageId, incarnation);
        const t = date.toISOString();
        expect(bytesOf(new StepRecordEncoder(identity), t, seq, e, r, node, sessions).equals(Buffer.from(stepRecordJson(t, identity, seq, e, r, node, sessions), 'utf8'))).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  it('is the string encoding over every step of a burst and its scale-down, and the writer\'s file holds them line by line past several chunks', () => {
    const config: ChainConfig = { variant: 'correct', functions: [{ name: 'fn', priority: 0 }], nodes: [{ name: 'n1', capacity: 400 }, { name: 'n2', capacity: 400 }] };
    const steps: Array<{ stage: StageId; event: StageEvent; result: StepResult<StageState> }> = [];
    const pump = new ChainPump(config, (stage, e, r) => steps.push({ stage, event: e, result: r }));
    for (const desired of [700, 0]) {
      pump.request('fn', desired);
      pump.run();
    }
    const identity = recordIdentityJson('scheduler', 2);
    const encoder = new StepRecordEncoder(identity);
    const file = join(dir, 'burst.ndjson');
    const writer = new TraceWriter(file, (warning) => expect.fail(warning));
    const expected: string[] = [];
    steps.forEach((step, i) => {
      const t = new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i >> 4)).toISOString();
      const node = step.stage.startsWith('kubelet') ? 'n1' : '';
      const text = stepRecordJson(t, identity, i + 1, step.event, step.result, node, i % 7 === 0 ? '[]' : null);
      expected.push(text);
      const out = writer.begin() as TraceBytes;
      encoder.write(out, t, i + 1, step.event, step.result, node, i % 7 === 0 ? '[]' : null);
      writer.commit();
    });
    writer.close();
    const written = readFileSync(file, 'utf8');
    expect(written.length).toBeGreaterThan(2 * traceChunkBytesInitial);
    expect(written).toBe(`${expected.join('\n')}\n`);
  });

  it('a record larger than the chunk grows it and keeps what was written before', () => {
    const out = new TraceBytes();
    const before = 'x'.repeat(traceChunkBytesInitial - 5);
    out.raw(before);
    const effects: Effect[] = Array.from({ length: 2_000 }, (_, i) => ({ type: 'sandbox.start', pod: { name: `fn-1-${i}`, function: 'fn', priority: 0, node: 'n1' } }));
    const r = { state: {}, links: [], disposition: 'applied', trace: [], effects } as unknown as StepResult<StageState>;
    const e: StageEvent = { type: 'scale.requested', function: 'fn', desired: 2_000 };
    new StepRecordEncoder(recordIdentityJson('kubelet:n1', 1)).write(out, 't', 1, e, r, 'n1', null);
    expect(out.buf.length).toBeGreaterThan(traceChunkBytesInitial);
    expect(out.buf.toString('utf8', 0, out.pos)).toBe(before + stepRecordJson('t', recordIdentityJson('kubelet:n1', 1), 1, e, r, 'n1', null));
  });
});
