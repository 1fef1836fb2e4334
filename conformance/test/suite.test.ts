/**
 * The suite has teeth: the reference runtime passes (exit 0) on every role; each
 * known-bad variant, run as a testee on a role it affects, fails (exit 1) naming the
 * requirement spec/variants.ts says prevents it; strict expected failures; reruns;
 * a testee that cannot start is a harness error (exit 2), never a verdict.
 * Real processes and real gRPC; each run uses a few cases to keep the file fast.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { variants } from '../../spec/variants.js';
import { main } from '../../cli/main.js';
import type { Results } from '../report/results.js';

const root = mkdtempSync(join(tmpdir(), 'kd-conformance-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let runs = 0;
async function conformance(args: string[]): Promise<{ code: number; output: string; results: Results | null; out: string }> {
  const out = join(root, `run-${++runs}`);
  const lines: string[] = [];
  const code = await main(['conformance', ...args, '--out', out], (l) => lines.push(l));
  const file = join(out, 'results.json');
  return { code, output: lines.join('\n'), results: existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Results) : null, out };
}

const referenceCases: Record<string, string[]> = {
  kubelet: ['kubelet.provision-and-terminate'],
  scheduler: ['scheduler.place-and-terminate'],
  replicaset: ['replicaset.scale-up-and-down'],
  deployment: ['deployment.forwards-desired-counts'],
  autoscaler: ['autoscaler.scale-forwarded'],
};

describe('kd conformance against the reference runtime', () => {
  for (const [role, cases] of Object.entries(referenceCases))
    it(`${role}: passes (exit 0) and writes results.json and junit.xml`, { timeout: 120_000 }, async () => {
      const run = await conformance(['--role', role, '--reference', '--seed', '11', '--case', cases.join(',')]);
      expect(run.code, run.output).toBe(0);
      expect(run.output).toContain('seed 11');
      const results = run.results;
      expect(results?.schema).toBe('kubedirect-conformance-results');
      expect(results?.schemaVersion).toBe(2);
      expect(results?.verdict).toBe('pass');
      expect(results?.seed).toBe(11);
      expect(results?.testee.role).toBe(role);
      expect(results?.testee.version).toMatch(/^kubedirect-ts /);
      expect(results?.suite.version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(results?.spec.launchVersion).toBe(1);
      expect(results?.cases.map((c) => [c.id, c.status])).toEqual(cases.map((id) => [id, 'passed']));
      expect(readFileSync(join(run.out, 'junit.xml'), 'utf8')).toContain(`<testcase classname="conformance.${role}"`);
      // A passing case leaves its trace and diagram to inspect, named in results.json.
      for (const c of results?.cases ?? []) {
        expect(c.artifacts.trace).toBe(join('cases', c.id, 'trace.ndjson'));
        const frames = readFileSync(join(run.out, c.artifacts.trace ?? ''), 'utf8').trim().split('\n');
        expect(frames.length).toBeGreaterThan(3);
        expect(readFileSync(join(run.out, c.artifacts.diagram ?? ''), 'utf8')).toContain('<svg');
      }
    });
});

/** The role and case on which each variant shows (spec/08-known-bad-variants.md). */
const variantProbes: Record<string, { role: string; case: string }> = {
  'no-tombstones': { role: 'kubelet', case: 'kubelet.killing-is-tombstone' },
  'no-fencing': { role: 'kubelet', case: 'kubelet.stale-hello' },
  'cold-handshake': { role: 'replicaset', case: 'replicaset.cold-start-defers-hello' },
  'adopt-despite-tombstone': { role: 'scheduler', case: 'scheduler.tombstone-resent-after-loss' },
  'drop-tombstone-on-forward': { role: 'scheduler', case: 'scheduler.snapshot-keeps-tombstone' },
  'reuse-pod-name': { role: 'replicaset', case: 'replicaset.scale-up-and-down' },
  'free-capacity-on-preempt': { role: 'scheduler', case: 'scheduler.capacity-until-kill-confirmed' },
  'drop-tombstone-before-running': { role: 'scheduler', case: 'scheduler.tombstone-while-start-held' },
  'ignore-snapshot-tombstones': { role: 'replicaset', case: 'replicaset.snapshot-tombstone-counts' },
};

describe('kd conformance against the known-bad variants', () => {
  it('has a probe for every variant', () => {
    expect(Object.keys(variantProbes).sort()).toEqual(variants.map((v) => v.name).sort());
  });
  for (const v of variants)
    it(`${v.name}: fails (exit 1) naming ${v.preventedBy}`, { timeout: 120_000 }, async () => {
      const probe = variantProbes[v.name];
      if (probe === undefined) throw new Error(`no probe for ${v.name}`);
      const run = await conformance(['--role', probe.role, '--variant', v.name, '--seed', '7', '--case', probe.case]);
      expect(run.code, run.output).toBe(1);
      const failed = run.results?.cases.find((c) => c.id === probe.case);
      expect(failed?.status).toBe('failed');
      expect(failed?.violations.flatMap((x) => x.requirements), run.output).toContain(v.preventedBy);
      expect(run.output).toContain(v.preventedBy);
      expect(existsSync(join(run.out, 'cases', probe.case, 'trace.ndjson'))).toBe(true);
      expect(readFileSync(join(run.out, 'cases', probe.case, 'sequence.svg'), 'utf8')).toContain('<svg');
    });
});

describe('kd conformance verdicts and reruns', () => {
  it('strict expected failures: a listed case that fails is accepted, a listed case that passes fails the run', { timeout: 120_000 }, async () => {
    const list = join(root, 'expected.txt');
    writeFileSync(list, '# known to fail\nkubelet.stale-hello\n');
    const failing = await conformance(['--role', 'kubelet', '--variant', 'no-fencing', '--seed', '3', '--case', 'kubelet.stale-hello', '--expected-failures', list]);
    expect(failing.code, failing.output).toBe(0);
    expect(failing.output).toContain('XFAIL');
    const passing = await conformance(['--role', 'kubelet', '--reference', '--seed', '3', '--case', 'kubelet.stale-hello', '--expected-failures', list]);
    expect(passing.code, passing.output).toBe(1);
    expect(passing.output).toContain('XPASS');
    expect(passing.results?.summary.unexpectedPasses).toBe(1);

    const rerun = await conformance(['--variant', 'no-fencing', '--rerun-failed', join(failing.out, 'results.json')]);
    expect(rerun.code, rerun.output).toBe(1);
    expect(rerun.results?.seed).toBe(3);
    expect(rerun.results?.cases.map((c) => c.id)).toEqual(['kubelet.stale-hello']);
  });

  it('a testee that exits at once is a harness error (exit 4), not a verdict', { timeout: 60_000 }, async () => {
    const run = await conformance(['--role', 'kubelet', '--cmd', 'echo broken >&2; exit 3', '--seed', '1', '--case', 'kubelet.handshake']);
    expect(run.code, run.output).toBe(4);
    expect(run.results?.verdict).toBe('error');
    expect(run.results?.cases[0]?.status).toBe('error');
    expect(run.output).toContain('broken');
  });

  it('refuses bad usage with exit 2', async () => {
    expect((await conformance(['--role', 'kubelet'])).code).toBe(2);
    expect((await conformance(['--role', 'kubelet', '--reference', '--case', 'kubelet.nope'])).code).toBe(2);
    expect((await conformance(['--role', 'kubelet', '--variant', 'nope'])).code).toBe(2);
  });
});

describe('the example Kubelet (conformance/examples/kubelet-minimal)', () => {
  it('passes the Kubelet profile cases it is run with', { timeout: 120_000 }, async () => {
    const run = await conformance([
      '--role', 'kubelet',
      '--cmd', 'node --import tsx conformance/examples/kubelet-minimal/main.ts',
      '--seed', '5',
      '--case', 'kubelet.capacity-exceeded,kubelet.killing-is-tombstone',
    ]);
    expect(run.code, run.output).toBe(0);
  });

  it('fails kubelet.hello-timeout, which the reference passes: it keeps a stream that never says hello (REQ-WIRE-015)', { timeout: 120_000 }, async () => {
    const example = await conformance(['--role', 'kubelet', '--cmd', 'node --import tsx conformance/examples/kubelet-minimal/main.ts', '--seed', '5', '--case', 'kubelet.hello-timeout']);
    expect(example.code, example.output).toBe(1);
    expect(example.output).toMatch(/REQ-WIRE-015 .*did not end the stream/);
    const reference = await conformance(['--role', 'kubelet', '--reference', '--seed', '5', '--case', 'kubelet.hello-timeout']);
    expect(reference.code, reference.output).toBe(0);
  });
});
