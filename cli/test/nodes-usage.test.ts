/**
 * Bad usage of the commands for real nodes (kd supervise, kd deploy, kd config, kd up's
 * --sandbox cri and --metrics-host): exit 2 with the fix, and nothing started or written.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { writeClusterConfig } from '../../runtime/cluster/local-cluster.js';

async function usage(args: readonly string[]): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const original = console.error;
  console.error = (line: string): void => void err.push(line);
  try {
    // Help printed for a bare command goes to stdout; both are what the user sees.
    return { code: await main(args, (line) => void err.push(line)), err: err.join('\n') };
  } finally {
    console.error = original;
  }
}

describe('bad usage of the commands for real nodes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kd-nodes-usage-'));

  it('exits 2 with the fix and starts or writes nothing', async () => {
    const cases: Array<[readonly string[], RegExp]> = [
      [['supervise'], /--dir DIR is required/],
      [['supervise', '--dir', join(dir, 'none')], /no cluster in .*: run "kd up" instead/],
      [['deploy'], /ACTION is missing.*kd deploy plan hosts.json --out deploy/],
      [['deploy', 'start'], /needs --dir HOSTDIR/],
      [['deploy', 'restart', '--dir', dir], /unknown action "restart": plan, start or stop/],
      [['deploy', 'plan', join(dir, 'missing.json'), '--out', join(dir, 'out')], /no such file/],
      [['deploy', 'plan', join(dir, 'missing.json')], /needs --out DIR/],
      [['config', 'check'], /FILE is missing.*kd config check \.kd\/cluster\.json/],
      [['config', 'check', join(dir, 'missing.json')], /no such file/],
      [['up', '--cri-endpoint', '/run/containerd/containerd.sock', '--dir', join(dir, 'up')], /--cri-endpoint is only for --sandbox cri/],
      [['up', '--sandbox', 'cri', '--cri-endpoint', 'containerd.sock', '--dir', join(dir, 'up')], /sandbox\.cri\.endpoint must be a unix socket/],
      [['up', '--sandbox', 'docker', '--dir', join(dir, 'up')], /--sandbox must be one of simulated, process, cri/],
      [['up', '--metrics-host', '10.0.0.5', '--dir', join(dir, 'up')], /needs --tls/],
    ];
    for (const [args, message] of cases) {
      const result = await usage(args);
      expect([args.join(' '), result.code]).toEqual([args.join(' '), 2]);
      expect(result.err).toMatch(message);
    }
    expect(existsSync(join(dir, 'up'))).toBe(false);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('kd deploy start refuses a one-machine configuration (no host section) and starts nothing', async () => {
    await writeClusterConfig(join(dir, 'single'), { nodes: 1, capacity: 1, functions: ['fn'], startDelayMs: 0, killDelayMs: 0 });
    const result = await usage(['deploy', 'start', '--dir', join(dir, 'single')]);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/has no host section: .* use kd up/);
    expect(readdirSync(join(dir, 'single'))).toEqual(['cluster.json']);
  });

  it('kd node refuses a stage of another host', async () => {
    const file = join(dir, 'host.json');
    await writeClusterConfig(join(dir, 'hosted'), { nodes: 1, capacity: 1, functions: ['fn'], startDelayMs: 0, killDelayMs: 0 });
    const raw = JSON.parse(readFileSync(join(dir, 'hosted', 'cluster.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...raw, stages: Object.fromEntries(Object.entries(raw['stages'] as object).map(([s, e]) => [s, { ...e, dataDir: join(dir, 'hosted', s) }])), host: { name: 'h1', stages: ['autoscaler'] } }));
    const result = await usage(['node', '--role', 'scheduler', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/configuration of host "h1", which runs autoscaler; "scheduler" runs on another host/);
  });
});
