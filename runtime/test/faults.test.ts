/**
 * Faults during a burst on a real local cluster (every stage its own process), each
 * ending with `kd validate` over the run's traces finding no violated invariant:
 * - link cuts through fault-injecting TCP proxies (runtime/faults/tcp-proxy.ts) on the
 *   ReplicaSet->Scheduler link and on the Scheduler->Kubelet n1 link: the session ends
 *   at both ends, a new epoch follows, the run converges (REQ-FAIL-004);
 * - a node crash: Kubelet n2 is SIGKILLed and its sandboxes are lost (REQ-FAIL-003),
 *   then the Kubelet restarts empty: the pods are re-provisioned and the run converges.
 * Also: a rejection by a real stage carries the spec's ErrorDetail in
 * `grpc-status-details-bin`; and the proxy itself (forward, cut, refuse, blackhole,
 * resume) against an echo server. One cluster for the file; every process is stopped in
 * afterAll, also when a test fails.
 */
import { proxyLinks } from '../faults/link-proxies.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScale } from '../../cli/cluster-commands.js';
import { main } from '../../cli/main.js';
import { stagesOf, type LinkId, type StageId } from '../../machines/index.js';
import { logFileOf, pidOf, processIsAlive, sleep, startStageProcess, removeCluster, waitHealthy, writeClusterConfig } from '../cluster/local-cluster.js';
import { getStageState } from '../cluster/rpc.js';
import { waitConverged } from '../cluster/status.js';
import type { ClusterConfig } from '../config.js';
import { crashNodeSandboxes } from '../faults/node-crash.js';
import { TcpProxy } from '../faults/tcp-proxy.js';
import { traceFileOf } from '../observe/trace.js';
import { errorDetailOfStatus, statusDetailsMetadataKey } from '../wire/errors.js';
import { LinkClient, type DownstreamFrame, type UpstreamFrame, type WireStageState } from '../wire/proto.js';
import { decodeRpcStatus } from '../wire/status-details.js';
import { testWaitMsMax, waitUntil } from '../../test/wait-until.js';
import { waitTracesQuiet } from './traces-quiet.js';

const dir = mkdtempSync(join(tmpdir(), 'kd-faults-'));
let config: ClusterConfig;
const proxies = new Map<LinkId, TcpProxy>();
const proxiedLinks: LinkId[] = ['replicaset>scheduler', 'scheduler>kubelet:n1'];


async function scale(n: number): Promise<void> {
  expect(await runScale(['fn', String(n), '--dir', dir], () => {})).toBe(0);
}

async function stateOf(stage: StageId): Promise<WireStageState> {
  return getStageState(config.stages[stage]?.address ?? '');
}

/** The epoch of `link` at one end, from Inspect. */
async function epochAt(stage: StageId, link: LinkId): Promise<number> {
  const side = (await stateOf(stage)).links.find((l) => l.link_id === link);
  if (side === undefined) throw new Error(`${stage} has no side of ${link}`);
  return side.epoch;
}

/** Log records of a stage (JSON lines) matching `pick`. */
function logRecords(stage: StageId, pick: (r: Record<string, unknown>) => boolean): Array<Record<string, unknown>> {
  return readFileSync(logFileOf(dir, stage), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter(pick);
}

/** `kd validate` over every stage's trace: exit 0 and no VIOLATED line. */
async function validateTraces(): Promise<string> {
  const traces = Object.values(config.stages).map((e) => traceFileOf(e.dataDir));
  await waitTracesQuiet(traces);
  const lines: string[] = [];
  const code = await main(['validate', ...traces], (l) => lines.push(l));
  const text = lines.join('\n');
  expect(text).not.toMatch(/VIOLATED/);
  expect(code).toBe(0);
  for (const id of ['INV-FENCING', 'INV-UNIQUE-PLACEMENT', 'INV-NAME-UNIQUE', 'INV-EPOCH-MONOTONIC', 'INV-CAPACITY'])
    expect(text).toMatch(new RegExp(`^OK +${id} .*\\(([1-9]\\d*) checked\\)$`, 'm'));
  return text;
}

beforeAll(async () => {
  config = await writeClusterConfig(dir, { nodes: 3, capacity: 100, functions: ['fn'], startDelayMs: 20, killDelayMs: 10 });
  const proxied = await proxyLinks(dir, config, proxiedLinks);
  config = proxied.config;
  for (const [link, proxy] of proxied.proxies) proxies.set(link, proxy);
  const stages = stagesOf(config.chain);
  for (const stage of [...stages].reverse()) startStageProcess(dir, stage);
  await waitHealthy(config, stages, 60_000);
  await waitConverged(config, 0, 60_000);
  for (const proxy of proxies.values()) expect(proxy.openConnections).toBeGreaterThan(0); // the links go through the proxies
}, 120_000);

afterAll(async () => {
  for (const proxy of proxies.values()) await proxy.stop();
  await removeCluster(dir);
}, 30_000);

describe('link cut through a fault-injecting proxy, during a burst', () => {
  it('replicaset>scheduler: the session ends at both ends, a new epoch follows, the run converges', async () => {
    const link: LinkId = 'replicaset>scheduler';
    const proxy = proxies.get(link) as TcpProxy;
    const before = await epochAt('replicaset', link);
    expect(await epochAt('scheduler', link)).toBe(before);
    const started = Date.now();
    await scale(120);
    await sleep(100);
    expect(proxy.cut()).toBeGreaterThan(0);
    const status = await waitConverged(config, 120, 60_000);
    console.log(`[faults] cut of ${link} during 0..120: converged ${Date.now() - started} ms after the scale request`);
    expect(status.functions[0]).toMatchObject({ desired: 120, running: 120 });
    const after = await epochAt('replicaset', link);
    expect(after).toBeGreaterThan(before);
    expect(await epochAt('scheduler', link)).toBe(after);
    // Both ends saw the session of the old epoch end (link.lost at each end).
    expect(logRecords('replicaset', (r) => r['event'] === 'session.ended' && r['link'] === link && r['epoch'] === before)).not.toEqual([]);
    expect(logRecords('scheduler', (r) => r['event'] === 'session.ended' && r['link'] === link && r['epoch'] === before)).not.toEqual([]);
    expect(proxy.counters.connectionsForwarded).toBeGreaterThanOrEqual(2);
    await validateTraces();
  }, 90_000);

  it('scheduler>kubelet:n1, cut and then refused for a second: the Scheduler reconnects once the network is back, the run converges', async () => {
    const link: LinkId = 'scheduler>kubelet:n1';
    const proxy = proxies.get(link) as TcpProxy;
    const before = await epochAt('kubelet:n1', link);
    const started = Date.now();
    await scale(40);
    await sleep(100);
    proxy.refuse();
    expect(proxy.cut()).toBeGreaterThan(0);
    await waitUntil('the Scheduler to try again while refused', () => proxy.counters.connectionsRefused >= 2); // it kept trying
    proxy.resume();
    const status = await waitConverged(config, 40, 60_000);
    console.log(`[faults] cut + 1 s refused on ${link} during 120..40: converged ${Date.now() - started} ms after the scale request`);
    expect(status.functions[0]).toMatchObject({ desired: 40, running: 40 });
    const after = await epochAt('scheduler', link);
    expect(after).toBeGreaterThan(before);
    expect(await epochAt('kubelet:n1', link)).toBe(after);
    expect(logRecords('scheduler', (r) => r['event'] === 'session.ended' && r['link'] === link && r['epoch'] === before)).not.toEqual([]);
    expect(logRecords('kubelet:n1', (r) => r['event'] === 'session.ended' && r['link'] === link && r['epoch'] === before)).not.toEqual([]);
    await validateTraces();
  }, 90_000);
});

describe('node crash during a burst', () => {
  it('Kubelet n2 is SIGKILLed and its sandboxes are lost; it restarts empty, the pods are re-provisioned, the run converges', async () => {
    const stage: StageId = 'kubelet:n2';
    await scale(150);
    await waitConverged(config, 150, 60_000);
    const lost = (await stateOf(stage)).pods.map((p) => p.record.name);
    expect(lost.length).toBeGreaterThan(0);
    const incarnation = (await stateOf(stage)).incarnation;

    const started = Date.now();
    await scale(180);
    await sleep(100);
    const pid = pidOf(dir, stage) as number;
    process.kill(pid, 'SIGKILL');
    while (processIsAlive(pid)) await sleep(20);
    const crash = crashNodeSandboxes(config.stages[stage]?.dataDir ?? '');
    expect(crash.simulatedSandboxesLost).toBe(true);
    startStageProcess(dir, stage);
    await waitHealthy(config, [stage], 60_000);
    const status = await waitConverged(config, 180, 60_000);
    console.log(`[faults] node crash of n2 (${lost.length} pods lost) during 150..180: converged ${Date.now() - started} ms after the scale request`);
    expect(status.functions[0]).toMatchObject({ desired: 180, running: 180 });

    const after = await stateOf(stage);
    expect(after.incarnation).toBeGreaterThan(incarnation);
    // The restarted Kubelet started with no pods (its boot log), and none of the lost pods is alive anywhere.
    const boot = logRecords(stage, (r) => r['event'] === 'stage.started' && r['incarnation'] === after.incarnation);
    expect(boot.map((r) => r['sandboxes'])).toEqual([0]);
    const alive = new Set<string>();
    for (const node of config.chain.nodes) for (const p of (await stateOf(`kubelet:${node.name}`)).pods) alive.add(p.record.name);
    expect(alive.size).toBe(180);
    for (const name of lost) expect(alive.has(name)).toBe(false);
    await validateTraces();
  }, 120_000);
});

describe('rejections by a real stage', () => {
  it('carry the ErrorDetail in grpc-status-details-bin, decodable by a client', async () => {
    const address = config.stages['deployment']?.address ?? '';
    const client = new LinkClient(address, grpc.credentials.createInsecure());
    const call = (client as unknown as { Session: () => grpc.ClientDuplexStream<UpstreamFrame, DownstreamFrame> }).Session();
    const status = await new Promise<grpc.StatusObject>((resolve) => {
      call.on('data', () => {});
      call.on('error', () => {});
      call.on('status', resolve);
      call.write({ epoch: 1, hello: { upstream_stage_id: 'autoscaler', downstream_stage_id: 'deployment', protocol_version: 1 } });
    });
    client.close();
    expect(status.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(errorDetailOfStatus(status)).toMatchObject({ reason: 'STALE_EPOCH', epoch: 1, link_id: 'autoscaler>deployment' });
    const decoded = decodeRpcStatus(status.metadata.get(statusDetailsMetadataKey)[0] as Buffer);
    expect(decoded.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(decoded.message).toBe(status.details);
    expect(decoded.errorInfo).toEqual({ reason: 'STALE_EPOCH', domain: 'kubedirect.io' });
  }, 30_000);
});

describe('the fault-injecting proxy itself', () => {
  /**
   * Connects through the proxy, sends `text`, and says what happened: the echo, a
   * reset/close, or silence for `silenceMs`. Only a probe that expects silence sets a
   * short window; one that expects an answer waits as long as a loaded machine needs.
   */
  function probe(address: string, text: string, silenceMs = testWaitMsMax): Promise<string> {
    const at = address.lastIndexOf(':');
    return new Promise((resolve) => {
      const socket: Socket = connect({ host: address.slice(0, at), port: Number(address.slice(at + 1)) });
      let got = '';
      const done = (what: string): void => {
        clearTimeout(timer);
        socket.destroy();
        resolve(what);
      };
      const timer = setTimeout(() => done(got === '' ? 'silence' : `echo ${got}`), silenceMs);
      socket.on('data', (d) => {
        got += d.toString();
        if (got === text) done(`echo ${got}`);
      });
      socket.on('error', () => done('closed'));
      socket.on('close', () => done(got === '' ? 'closed' : `echo ${got}`));
      socket.write(text);
    });
  }

  it('forwards, cuts open connections at both sides, refuses, blackholes and resumes', async () => {
    const echo = createServer((s) => {
      s.on('error', () => {});
      s.pipe(s);
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    const proxy = new TcpProxy(`127.0.0.1:${(echo.address() as AddressInfo).port}`);
    await proxy.start();
    try {
      expect(await probe(proxy.address, 'hello')).toBe('echo hello');

      // cut: an open connection is reset; the server side is destroyed too.
      const at = proxy.address.lastIndexOf(':');
      const held = connect({ host: '127.0.0.1', port: Number(proxy.address.slice(at + 1)) });
      const ended = new Promise<string>((r) => {
        held.on('error', (e: NodeJS.ErrnoException) => r(e.code ?? 'error'));
        held.on('close', () => r('close'));
      });
      await new Promise<void>((r) => held.on('connect', () => r()));
      await waitUntil('the proxy to hold the connection', () => proxy.openConnections === 1);
      expect(proxy.cut()).toBe(1);
      expect(['ECONNRESET', 'close']).toContain(await ended);
      expect(proxy.openConnections).toBe(0);

      proxy.refuse();
      expect(await probe(proxy.address, 'x')).toBe('closed');
      proxy.blackhole();
      expect(await probe(proxy.address, 'y', 500)).toBe('silence'); // nothing within half a second (a blackhole never answers)
      proxy.resume();
      expect(await probe(proxy.address, 'back')).toBe('echo back');
      expect(proxy.counters).toMatchObject({ connectionsForwarded: 3, connectionsRefused: 2, connectionsCut: 1 });
    } finally {
      await proxy.stop();
      await new Promise<void>((r) => echo.close(() => r()));
    }
  });
});
