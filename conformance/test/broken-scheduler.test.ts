/**
 * scheduler.tombstone-while-start-held has teeth: the reference runtime passes it, and the
 * same runtime with the test fault drop-tombstone-before-running (runtime/node/test-faults.ts:
 * the Scheduler's Kubelet links drop the tombstone of a pod not yet reported running) fails
 * it naming REQ-TOMB-002. Real processes, real gRPC.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import type { Results } from '../report/results.js';

const root = mkdtempSync(join(tmpdir(), 'kd-conformance-broken-scheduler-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const caseId = 'scheduler.tombstone-while-start-held';

async function run(command: string, out: string): Promise<{ code: number; output: string; results: Results | null }> {
  const lines: string[] = [];
  const code = await main(['conformance', '--role', 'scheduler', '--cmd', command, '--seed', '5', '--case', caseId, '--out', join(root, out)], (l) => lines.push(l));
  const file = join(root, out, 'results.json');
  return { code, output: lines.join('\n'), results: existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Results) : null };
}

describe(`${caseId} against a Scheduler that drops the tombstone of a bound pod`, () => {
  it('the reference passes; with the fault it fails naming REQ-TOMB-002', { timeout: 120_000 }, async () => {
    const good = await run('node bin/kd.mjs node', 'good');
    expect(good.code, good.output).toBe(0);
    const broken = await run('KD_TEST_FAULTS=drop-tombstone-before-running node bin/kd.mjs node', 'broken');
    expect(broken.code, broken.output).toBe(1);
    const violations = broken.results?.cases[0]?.violations ?? [];
    expect(violations.some((v) => v.requirements.includes('REQ-TOMB-002') && /must not be dropped/.test(v.message)), JSON.stringify(violations, null, 1)).toBe(true);
  });
});
