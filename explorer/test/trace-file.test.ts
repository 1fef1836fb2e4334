/**
 * `--trace FILE`: a counterexample of kd check opens as a path of the model's action
 * indices that reaches its violation, also when the recorded indices no longer match the
 * order of enabled actions; files that are not counterexamples are refused with a reason.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckConfig } from '../../checker/chain/config-file.js';
import { buildTrace, type CounterexampleTrace } from '../../checker/chain/trace.js';
import { search } from '../../checker/engine/search.js';
import { Exploration } from '../exploration.js';
import { readTraceFile, resolveTrace, TraceFileError } from '../trace-file.js';

const dir = mkdtempSync(join(tmpdir(), 'kd-explore-trace-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function counterexample(): CounterexampleTrace {
  const check = loadCheckConfig('ci', 'no-fencing');
  const exploration = new Exploration(check);
  const result = search(exploration.model, { strategy: 'bfs', liveness: false });
  if (result.violation === null) throw new Error('no-fencing on ci must be violated');
  return buildTrace(check, result.violation);
}

function written(name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('kd explore --trace', () => {
  const trace = counterexample();

  it('opens a counterexample as the path to its violation', () => {
    const file = written('cx.json', trace);
    const read = readTraceFile(file);
    const exploration = new Exploration(read.check);
    const info = resolveTrace(file, read, exploration.model);
    expect(info.path).toEqual(trace.path);
    expect(info.steps.map((s) => s.description)).toEqual(trace.steps.map((s) => s.description));
    const end = exploration.describePath(info.path);
    expect(end.properties.find((p) => p.id === trace.property)).toMatchObject({ status: 'broken', step: trace.steps.length });
    const before = exploration.describePath(info.path.slice(0, -1));
    expect(before.properties.find((p) => p.id === trace.property)?.status).toBe('holds');
    expect(before.actions.find((a) => a.index === info.path.at(-1))?.breaks).toContain(trace.property);
  });

  it('finds each step by its action when the recorded indices are off', () => {
    const shifted = { ...trace, path: trace.path.map((i) => i + 1) };
    const file = written('shifted.json', shifted);
    const read = readTraceFile(file);
    expect(resolveTrace(file, read, new Exploration(read.check).model).path).toEqual(trace.path);
  });

  it('refuses a step that is not enabled, naming it', () => {
    const steps = trace.steps.map((s, i) => (i === 1 ? { ...s, action: { kind: 'scale', function: 'lo', desired: 7 }, description: 'scale lo to 7' } : s));
    const file = written('bad-step.json', { ...trace, steps });
    const read = readTraceFile(file);
    expect(() => resolveTrace(file, read, new Exploration(read.check).model)).toThrow(/step 2 \(scale lo to 7\) is not enabled/);
  });

  it('refuses files that are not counterexamples, saying what is wrong', () => {
    expect(() => readTraceFile(join(dir, 'missing.json'))).toThrow(/cannot read/);
    expect(() => readTraceFile(written('text.json', 'not json'))).toThrow(/is not JSON/);
    expect(() => readTraceFile(written('other.json', { schema: 'x' }))).toThrow(/is not a counterexample of kd check/);
    expect(() => readTraceFile(written('badviolation.json', { ...trace, steps: [{ ...trace.steps[0], violations: [null] }] }))).toThrow(/step 1 is not a step/);
    expect(() => readTraceFile(written('nochain.json', { ...trace, check: { ...trace.check, chain: {} } }))).toThrow(/configuration in the trace is invalid/);
    fc.assert(
      fc.property(fc.anything(), (junk) => {
        const file = written('junk.json', JSON.stringify({ ...trace, steps: [junk] }) ?? 'null');
        try {
          const read = readTraceFile(file);
          resolveTrace(file, read, new Exploration(read.check).model);
        } catch (error) {
          expect(error).toBeInstanceOf(TraceFileError);
        }
      }),
      { numRuns: 100 },
    );
  });
});
