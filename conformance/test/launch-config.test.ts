/** The launch contract in the reference runtime: translation to a ClusterConfig and `kd node` refusing what it cannot run. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterConfigOfLaunch, launchConfigProblems, LaunchConfigError, variantOf, type LaunchConfig } from '../../runtime/launch-config.js';
import { caseSeed } from '../harness/runner.js';

const dir = mkdtempSync(join(tmpdir(), 'kd-launch-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const scheduler: LaunchConfig = {
  launchVersion: 1,
  role: 'scheduler',
  stage: 'scheduler',
  listen: '127.0.0.1:40001',
  dataDir: join(dir, 'data'),
  upstream: { stage: 'replicaset', role: 'replicaset', address: '127.0.0.1:40002' },
  downstreams: [
    { stage: 'kubelet:n1', role: 'kubelet', address: '127.0.0.1:40003' },
    { stage: 'kubelet:n2', role: 'kubelet', address: '127.0.0.1:40004' },
  ],
  chain: { functions: [{ name: 'fn', priority: 0 }], nodes: [{ name: 'n1', capacity: 2 }, { name: 'n2', capacity: 2 }] },
  sandbox: { startDelayMs: 5, killDelayMs: 5 },
};

describe('launch config (spec/11)', () => {
  it('translates to a cluster config with the testee, its neighbours and unused endpoints for the rest', () => {
    const config = clusterConfigOfLaunch(scheduler, 'no-fencing');
    expect(config.chain.variant).toBe('no-fencing');
    expect(config.stages['scheduler']).toEqual({ address: '127.0.0.1:40001', dataDir: scheduler.dataDir });
    expect(config.stages['kubelet:n2']?.address).toBe('127.0.0.1:40004');
    expect(config.stages['replicaset']?.address).toBe('127.0.0.1:40002');
    expect(config.stages['autoscaler']?.address).toBe('127.0.0.1:1');
  });

  it('refuses neighbours that do not match the chain, an unknown version and unknown variants', () => {
    expect(() => clusterConfigOfLaunch({ ...scheduler, downstreams: scheduler.downstreams.slice(0, 1) })).toThrow(LaunchConfigError);
    expect(() => clusterConfigOfLaunch({ ...scheduler, upstream: { stage: 'deployment', role: 'deployment', address: '127.0.0.1:1' } })).toThrow(/upstream/);
    expect(launchConfigProblems({ ...scheduler, launchVersion: 2 })).toEqual([expect.stringContaining('launchVersion 2')]);
    expect(launchConfigProblems({ ...scheduler, dataDir: 'relative' })).toContain('dataDir must be an absolute path');
    expect(() => variantOf('nope')).toThrow(/no-fencing/);
  });

  it('kd node exits 2 on a launch config of an unknown version, found through KD_LAUNCH_CONFIG', { timeout: 30_000 }, () => {
    const file = join(dir, 'v2.json');
    writeFileSync(file, JSON.stringify({ ...scheduler, launchVersion: 2 }));
    const bin = fileURLToPath(new URL('../../bin/kd.mjs', import.meta.url));
    const result = spawnSync(process.execPath, [bin, 'node'], { env: { ...process.env, KD_LAUNCH_CONFIG: file }, encoding: 'utf8', timeout: 25_000 });
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain('launchVersion 2');
  });

  it('derives each case seed from the run seed and the case ID (a --case rerun replays the same choices)', () => {
    expect(caseSeed(7, 'kubelet.handshake')).toBe(caseSeed(7, 'kubelet.handshake'));
    expect(caseSeed(7, 'kubelet.handshake')).not.toBe(caseSeed(8, 'kubelet.handshake'));
    expect(caseSeed(7, 'kubelet.handshake')).not.toBe(caseSeed(7, 'kubelet.stale-hello'));
  });
});
