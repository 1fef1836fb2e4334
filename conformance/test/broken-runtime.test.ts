/**
 * Hole cases of the Scheduler and ReplicaSet have teeth: the reference runtime passes each,
 * and the same runtime run with a known-bad variant (`kd node --variant`, spec/variants.ts,
 * in machines/) fails it naming the requirement: drop-tombstone-before-running (the
 * Scheduler drops the tombstone of a pod not yet confirmed running) fails
 * scheduler.tombstone-while-start-held; ignore-snapshot-tombstones (an upstream reconciles
 * snapshots without their tombstones) fails replicaset.snapshot-tombstone-counts. Real
 * processes, real gRPC.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import type { Results } from '../report/results.js';

const root = mkdtempSync(join(tmpdir(), 'kd-conformance-broken-runtime-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
async function run(role: string, caseId: string, command: string, out: string): Promise<{ code: number; output: string; results: Results | null }> {
  const lines: string[] = [];
  const code = await main(['conformance', '--role', role, '--cmd', command, '--seed', '5', '--case', caseId, '--out', join(root, out)], (l) => lines.push(l));
  const file = join(root, out, 'results.json');
  return { code, output: lines.join('\n'), results: existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Results) : null };
}

const probes = [
  { role: 'scheduler', case: 'scheduler.tombstone-while-start-held', variant: 'drop-tombstone-before-running', requirement: 'REQ-TOMB-002', message: /must not be dropped/ },
  { role: 'replicaset', case: 'replicaset.snapshot-tombstone-counts', variant: 'ignore-snapshot-tombstones', requirement: 'REQ-RS-004', message: /no pod created while a tombstone from the snapshot is still being killed/ },
] as const;

describe('hole cases against the runtime with a known-bad variant', () => {
  for (const probe of probes)
    it(`${probe.case}: the reference passes; with ${probe.variant} it fails naming ${probe.requirement}`, { timeout: 150_000 }, async () => {
      const good = await run(probe.role, probe.case, 'node bin/kd.mjs node', `${probe.case}-good`);
      expect(good.code, good.output).toBe(0);
      const broken = await run(probe.role, probe.case, `node bin/kd.mjs node --variant ${probe.variant}`, `${probe.case}-broken`);
      expect(broken.code, broken.output).toBe(1);
      const violations = broken.results?.cases[0]?.violations ?? [];
      expect(violations.some((v) => v.requirements.includes(probe.requirement) && probe.message.test(v.message)), JSON.stringify(violations, null, 1)).toBe(true);
    });
});
