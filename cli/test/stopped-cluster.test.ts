/**
 * What a new user meets after `kd down` (issue 21): `kd scale` and `kd status` on a cluster
 * whose stages are all stopped say so and how to start it, at once (no raw ECONNREFUSED, no
 * wait for --wait seconds), and keep the --dir the user gave in the hint.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { writeClusterConfig } from '../../runtime/cluster/local-cluster.js';
import { exitCodes } from '../exit-codes.js';
import { main } from '../main.js';

const root = mkdtempSync(join(tmpdir(), 'kd-stopped-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function run(argv: readonly string[]): Promise<{ code: number; err: string; ms: number }> {
  const errors: string[] = [];
  const spy = vi.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
  const started = performance.now();
  try {
    const code = await main(argv, () => {});
    return { code, err: errors.join('\n'), ms: performance.now() - started };
  } finally {
    spy.mockRestore();
  }
}

describe('a cluster that kd down stopped', () => {
  it('kd scale and kd status say it is not running and how to start it, carrying --dir', async () => {
    const dir = join(root, 'cluster');
    // A configuration as kd up writes it, and no stage process (as after kd down).
    await writeClusterConfig(dir, { nodes: 1, capacity: 2, functions: ['fn'], startDelayMs: 0, killDelayMs: 0 });

    const scale = await run(['scale', 'fn', '3', '--dir', dir]);
    expect(scale.code).toBe(exitCodes.failed);
    expect(scale.err).toContain(`the cluster in ${dir} is not running`);
    expect(scale.err).toContain(`npx kd up --dir ${dir}`);
    expect(scale.err).not.toMatch(/ECONNREFUSED|Resolution note/);

    // --wait 60 is not waited out when no stage answers.
    const status = await run(['status', '--wait', '60', '--dir', dir]);
    expect(status.code).toBe(exitCodes.failed);
    expect(status.err).toContain(`no stage of the cluster in ${dir} answers (no stage process is alive): start it with "npx kd up --dir ${dir}"`);
    expect(status.ms).toBeLessThan(30_000);
  }, 60_000);
});
