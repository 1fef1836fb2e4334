/**
 * The Kubelet cases written for the holes of issue 22 have teeth: each fails a Kubelet
 * that has the bug it is written for (conformance/examples/kubelet-minimal with one of
 * its test faults, faults.ts), naming the requirement, while the same Kubelet without the
 * fault passes them. Real processes, real gRPC; one suite run per fault.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { faultNames, type FaultName } from '../examples/kubelet-minimal/faults.js';
import type { Results } from '../report/results.js';

const root = mkdtempSync(join(tmpdir(), 'kd-conformance-broken-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const minimal = 'node --import tsx conformance/examples/kubelet-minimal/main.ts';

let runs = 0;
async function conformance(command: string, cases: readonly string[]): Promise<{ code: number; output: string; results: Results | null }> {
  const out = join(root, `run-${++runs}`);
  const lines: string[] = [];
  const code = await main(['conformance', '--role', 'kubelet', '--cmd', command, '--seed', '5', '--case', cases.join(','), '--out', out], (l) => lines.push(l));
  const file = join(out, 'results.json');
  return { code, output: lines.join('\n'), results: existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Results) : null };
}

/** For each fault: the case written for it and a requirement its failure must name. */
const probes: Record<FaultName, { readonly case: string; readonly requirement: string; readonly message: RegExp }> = {
  'running-before-started': { case: 'kubelet.running-only-after-start', requirement: 'REQ-POD-011', message: /takes 1500 ms to start|must be PENDING/ },
  'capacity-ignores-killing': { case: 'kubelet.capacity-counts-killing', requirement: 'REQ-POD-012', message: /still being killed/ },
  'link-lost-resets-epoch': { case: 'kubelet.epoch-survives-link-lost', requirement: 'REQ-SESS-006', message: /STALE_EPOCH/ },
  'no-rekill-at-boot': { case: 'kubelet.restart-during-kill', requirement: 'REQ-POD-013', message: /must kill again/ },
  'incarnation-never-increments': { case: 'kubelet.incarnation-increments', requirement: 'REQ-SESS-001', message: /must grow at every start/ },
  'round-2-tombstones-not-killed': { case: 'kubelet.round-2-tombstones-killed', requirement: 'REQ-TOMB-002', message: /acknowledged before its sandbox was killed/ },
  'no-error-detail': { case: 'kubelet.stale-hello', requirement: 'REQ-WIRE-005', message: /no kubedirect\.v1\.ErrorDetail/ },
};

describe('the hole cases against deliberately broken Kubelets', () => {
  it('has a probe for every fault of the example Kubelet', () => {
    expect(Object.keys(probes).sort()).toEqual([...faultNames].sort());
  });

  it('the example Kubelet without a fault passes every probe case', { timeout: 240_000 }, async () => {
    const cases = [...new Set(Object.values(probes).map((p) => p.case))];
    const run = await conformance(minimal, cases);
    expect(run.code, run.output).toBe(0);
    expect(run.results?.cases.map((c) => c.status)).toEqual(cases.map(() => 'passed'));
  });

  for (const [fault, probe] of Object.entries(probes))
    it(`${fault}: ${probe.case} fails (exit 1), naming ${probe.requirement}`, { timeout: 120_000 }, async () => {
      const run = await conformance(`KUBELET_MINIMAL_FAULTS=${fault} ${minimal}`, [probe.case]);
      expect(run.code, run.output).toBe(1);
      const result = run.results?.cases.find((c) => c.id === probe.case);
      expect(result?.status, run.output).toBe('failed');
      const violations = result?.violations ?? [];
      expect(violations.some((v) => v.requirements.includes(probe.requirement) && probe.message.test(v.message)), JSON.stringify(violations, null, 1)).toBe(true);
    });
});
