/**
 * The chain on several hosts for real: one Linux network namespace per host (runtime/test/
 * netns.ts: veth pairs on a bridge, addresses only inside the namespaces), each stage on
 * its own host, and the operator on one more. `kd deploy plan` writes every host's
 * configuration and certificates from one hosts file; `kd deploy start` runs in each host's
 * namespace; `kd scale` and `kd status` run in the operator's namespace over mutual TLS, and
 * a Prometheus-like client there reads a stage's /metrics over HTTPS. A burst is scaled up
 * and down, a Kubelet host's link is cut (`ip link set eth0 down`) and restored mid-burst,
 * a stage SIGKILLed on its host comes back under that host's supervisor, the chain
 * converges, and `kd validate` finds nothing in the traces. Every namespace is
 * deleted in afterAll, also when a test fails.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { pidOf, processIsAlive, stopCluster } from '../cluster/local-cluster.js';
import { readSupervisorState } from '../cluster/supervisor.js';
import type { ClusterStatus } from '../cluster/status.js';
import { traceFileOf } from '../observe/trace.js';
import { repositoryPath } from '../repository-paths.js';
import { waitUntil } from '../../test/wait-until.js';
import { TestNetwork } from './netns.js';
import { waitTracesQuiet } from './traces-quiet.js';

const kdBin = repositoryPath('bin', 'kd.mjs');
const hostNames = ['ctl-a', 'ctl-d', 'ctl-r', 'ctl-s', 'work1', 'work2'] as const;
const roleOfHost: Record<(typeof hostNames)[number], string> = { 'ctl-a': 'autoscaler', 'ctl-d': 'deployment', 'ctl-r': 'replicaset', 'ctl-s': 'scheduler', work1: 'kubelet', work2: 'kubelet' };
const root = mkdtempSync(join(tmpdir(), 'kd-multi-host-'));
const out = join(root, 'deploy');
let network: TestNetwork;

async function kdAt(host: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return network.run(host, [process.execPath, kdBin, ...args]);
}

async function operatorStatus(waitSeconds: number): Promise<{ code: number; status: ClusterStatus }> {
  const result = await kdAt('operator', ['status', '--json', '--wait', String(waitSeconds), '--dir', join(out, 'operator')]);
  return { code: result.code, status: JSON.parse(result.stdout) as ClusterStatus };
}

async function scaleAndConverge(n: number): Promise<ClusterStatus> {
  const scaled = await kdAt('operator', ['scale', 'fn', String(n), '--dir', join(out, 'operator')]);
  expect(scaled.stderr).toBe('');
  expect(scaled.code).toBe(0);
  const { code, status } = await operatorStatus(120);
  expect(status.problems).toEqual([]);
  expect(code).toBe(0);
  expect(status.functions[0]).toMatchObject({ desired: n, running: n });
  return status;
}

beforeAll(async () => {
  network = TestNetwork.create([...hostNames, 'operator']);
  const hosts = {
    cluster: { functions: ['fn'], ports: { stage: 7400, metrics: 9400 }, sandbox: { startDelayMs: 20, killDelayMs: 10 } },
    hosts: hostNames.map((name, i) => ({
      name,
      address: network.host(name).address,
      stages: [roleOfHost[name]],
      ...(roleOfHost[name] === 'kubelet' ? { node: { name: `n${i - 3}`, capacity: 25 } } : {}),
    })),
  };
  writeFileSync(join(root, 'hosts.json'), JSON.stringify(hosts, null, 2));
  const lines: string[] = [];
  expect(await main(['deploy', 'plan', join(root, 'hosts.json'), '--out', out], (l) => lines.push(l))).toBe(0);
  expect(lines.join('\n')).toMatch(/planned 6 stages on 6 hosts/);
  const started = await Promise.all(hostNames.map((name) => kdAt(name, ['deploy', 'start', '--dir', join(out, 'hosts', name)])));
  for (const [i, result] of started.entries()) expect(`${hostNames[i]}: ${result.code} ${result.stderr}`).toBe(`${hostNames[i]}: 0 `);
  const { status } = await operatorStatus(60);
  expect(status.converged).toBe(true);
}, 240_000);

afterAll(async () => {
  try {
    for (const name of hostNames) await stopCluster(join(out, 'hosts', name)).catch(() => []);
  } finally {
    network?.destroy();
  }
}, 120_000);

describe('six hosts, one stage each, an operator elsewhere', () => {
  it('each host holds only its own keys, and the operator reaches every stage over mutual TLS', async () => {
    const { status } = await operatorStatus(0);
    expect(status.stages.map((s) => `${s.stage}@${s.address.split(':')[0]}`)).toEqual([
      `autoscaler@${network.host('ctl-a').address}`,
      `deployment@${network.host('ctl-d').address}`,
      `replicaset@${network.host('ctl-r').address}`,
      `scheduler@${network.host('ctl-s').address}`,
      `kubelet:n1@${network.host('work1').address}`,
      `kubelet:n2@${network.host('work2').address}`,
    ]);
    expect(status.stages.every((s) => s.reachable)).toBe(true);
    // Another host is not the operator: without the operator's key it cannot even read a status.
    const elsewhere = await kdAt('work1', ['status', '--json', '--wait', '0', '--dir', join(out, 'hosts', 'work1')]);
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toMatch(/operator/);
  }, 120_000);

  it('a burst up to 40 and down to 10 converges across the hosts', async () => {
    await scaleAndConverge(40);
    await scaleAndConverge(10);
  }, 300_000);

  it("a Kubelet host's link cut mid-burst and restored: the chain converges", async () => {
    const scaled = await kdAt('operator', ['scale', 'fn', '44', '--dir', join(out, 'operator')]);
    expect(scaled.code).toBe(0);
    const cut = Date.now();
    network.cut('work2');
    try {
      // Down until the protocol felt it: kubelet:n2 unreachable and the Scheduler's session to it no longer synced.
      await waitUntil('the operator sees kubelet:n2 unreachable and its session lost at the scheduler', async () => {
        const asked = Date.now();
        const { status } = await operatorStatus(0);
        // kd status answers, and its process ends, without waiting for TCP to give up on the cut host.
        expect(Date.now() - asked).toBeLessThan(20_000);
        const session = status.stages.find((s) => s.stage === 'scheduler')?.sessions.find((l) => l.link === 'scheduler>kubelet:n2');
        return status.stages.find((s) => s.stage === 'kubelet:n2')?.reachable === false && session !== undefined && session.state !== 'synced';
      });
    } finally {
      network.restore('work2');
    }
    const restored = Date.now();
    const { code, status } = await operatorStatus(180);
    console.log(`[multi-host] link of work2 down ${restored - cut} ms; converged to 44 ${Date.now() - restored} ms after it was restored`);
    expect(status.problems).toEqual([]);
    expect(code).toBe(0);
    expect(status.functions[0]).toMatchObject({ desired: 44, running: 44 });
    await scaleAndConverge(6);
  }, 400_000);

  it('a stage SIGKILLed on its host is restarted by that host\'s supervisor and the chain converges', async () => {
    const hostDir = join(out, 'hosts', 'ctl-s');
    const killed = pidOf(hostDir, 'scheduler') as number;
    process.kill(killed, 'SIGKILL');
    // The supervisor writes its state after the new process's pid file: wait for both (the state was read in 'backoff' once).
    await waitUntil('the scheduler restarted on its host, and its supervisor counted the restart', () => {
      const pid = pidOf(hostDir, 'scheduler');
      return pid !== null && pid !== killed && processIsAlive(pid) && (readSupervisorState(hostDir)?.stages['scheduler']?.restarts ?? 0) >= 1;
    });
    expect(readSupervisorState(hostDir)?.stages['scheduler']).toMatchObject({ restarts: 1, lastExit: { signal: 'SIGKILL' } });
    const status = await scaleAndConverge(6);
    expect(status.stages.find((s) => s.stage === 'scheduler')?.incarnation).toBe(2);
  }, 300_000);

  it("a stage's /metrics is readable from the operator's host with the scraper identity", async () => {
    const certs = join(out, 'prometheus', 'certs');
    const script = `
      const https = require('node:https'); const fs = require('node:fs');
      const req = https.request({ host: '${network.host('ctl-s').address}', port: 9403, path: '/metrics', servername: 'kubedirect',
        ca: fs.readFileSync('${certs}/ca.crt'), cert: fs.readFileSync('${certs}/prometheus.crt'), key: fs.readFileSync('${certs}/prometheus.key') },
        (res) => { let body = ''; res.on('data', (d) => (body += d)); res.on('end', () => console.log(res.statusCode + '\\n' + body)); });
      req.on('error', (e) => { console.error(e.message); process.exit(1); }); req.end();`;
    const result = await network.run('operator', [process.execPath, '-e', script]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^200\n/);
    expect(result.stdout).toMatch(/^kubedirect_cache_pods\{stage="scheduler",state="clean"\} 6$/m);
  }, 60_000);

  it("the hosts' traces pass kd validate", async () => {
    const traces = hostNames.map((name, i) => traceFileOf(join(out, 'hosts', name, 'data', roleOfHost[name] === 'kubelet' ? `kubelet-n${i - 3}` : roleOfHost[name])));
    await waitTracesQuiet(traces);
    const lines: string[] = [];
    expect(await main(['validate', ...traces], (l) => lines.push(l))).toBe(0);
    expect(lines.join('\n')).not.toMatch(/VIOLATED/);
  }, 120_000);
});
