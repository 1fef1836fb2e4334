/**
 * A real local cluster: every stage its own OS process, gRPC over loopback sockets.
 * One cluster serves the whole file (starting processes is the slow part on a shared
 * 2-core machine): bad input first, then a burst up to 200 pods and down to 50 through
 * tombstones, then SIGKILL and restart of each controller stage during a burst and of a
 * Kubelet. Every process is stopped in afterAll, also when a test fails.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runDown, runScale, runStatus, runUp } from '../../cli/cluster-commands.js';
import { main } from '../../cli/main.js';
import { linkEnds, type StageId } from '../../machines/index.js';
import { batchRecordsMax } from '../../spec/limits.js';
import { loadClusterConfig, type ClusterConfig } from '../config.js';
import { configFileOf, pidOf, processIsAlive, runningStages, sleep, startStageProcess, removeCluster, waitHealthy } from '../cluster/local-cluster.js';
import { getStageState, setScale } from '../cluster/rpc.js';
import { clusterStatus, waitConverged } from '../cluster/status.js';
import { reasonOfStatus } from '../wire/errors.js';
import { LinkClient, type DownstreamFrame, type UpstreamFrame } from '../wire/proto.js';

const dir = mkdtempSync(join(tmpdir(), 'kd-cluster-'));
let config: ClusterConfig;
const noPrint = (): void => {};


async function scale(n: number): Promise<void> {
  expect(await runScale(['fn', String(n), '--dir', dir], noPrint)).toBe(0);
}

beforeAll(async () => {
  const lines: string[] = [];
  expect(await runUp(['--nodes', '4', '--dir', dir], (l) => lines.push(l))).toBe(0);
  expect(lines.join('\n')).toMatch(/kubelet:n4 +127\.0\.0\.1:\d+/);
  config = loadClusterConfig(configFileOf(dir));
  await waitConverged(config, 0, 60_000);
}, 120_000);

afterAll(async () => {
  await removeCluster(dir);
}, 30_000);

// ---------------------------------------------------------------------------
// (c) Bad input: the specified status, and the stage keeps serving
// ---------------------------------------------------------------------------

interface Outcome {
  readonly frames: DownstreamFrame[];
  readonly code: number;
  readonly reason: string | null;
}

/** Opens a Link.Session to `stage` as a rogue client, sends `frames`, and collects what comes back until the stream ends. */
function rogueSession(stage: StageId, frames: readonly UpstreamFrame[]): Promise<Outcome> {
  const address = config.stages[stage]?.address ?? '';
  const client = new LinkClient(address, grpc.credentials.createInsecure());
  const method = (LinkClient.service as grpc.ServiceDefinition)['Session'];
  if (method === undefined) throw new Error('no Session');
  const call = client.makeBidiStreamRequest(
    '/kubedirect.v1.Link/Session',
    method.requestSerialize as (f: UpstreamFrame) => Buffer,
    method.responseDeserialize as (b: Buffer) => DownstreamFrame,
  );
  const received: DownstreamFrame[] = [];
  return new Promise((resolve) => {
    const timer = setTimeout(() => call.cancel(), 10_000);
    call.on('data', (f: DownstreamFrame) => received.push(f));
    call.on('error', () => {});
    call.on('status', (s: grpc.StatusObject) => {
      clearTimeout(timer);
      client.close();
      resolve({ frames: received, code: s.code, reason: reasonOfStatus(s) });
    });
    for (const f of frames) call.write(f);
  });
}

describe('bad input', () => {
  const hello = (upstream: string, downstream: string, epoch: number): UpstreamFrame => ({
    epoch,
    hello: { upstream_stage_id: upstream, downstream_stage_id: downstream, protocol_version: 1 },
  });

  it('rejects malformed frames, stale epochs, unauthorized upstreams and oversized batches, and keeps serving', async () => {
    const before = await getStageState(config.stages['deployment']?.address ?? '');
    const link = before.links.find((l) => l.end === 'downstream');
    expect(link?.state).toBe('synced');

    const malformed = await rogueSession('deployment', [{ epoch: 0, sync: {} }]);
    expect([malformed.code, malformed.reason]).toEqual([grpc.status.INVALID_ARGUMENT, 'MALFORMED']);
    expect(malformed.frames.at(-1)?.rejected?.reason).toBe('MALFORMED');

    const noBody = await rogueSession('kubelet:n1', [{ epoch: 5 }]);
    expect([noBody.code, noBody.reason]).toEqual([grpc.status.INVALID_ARGUMENT, 'MALFORMED']);

    const stale = await rogueSession('deployment', [hello('autoscaler', 'deployment', 1)]);
    expect([stale.code, stale.reason]).toEqual([grpc.status.FAILED_PRECONDITION, 'STALE_EPOCH']);

    const stranger = await rogueSession('deployment', [hello('replicaset', 'deployment', 2 ** 40)]);
    expect([stranger.code, stranger.reason]).toEqual([grpc.status.PERMISSION_DENIED, 'UNAUTHORIZED_UPSTREAM']);

    const wrongPeer = await rogueSession('kubelet:n2', [hello('scheduler', 'kubelet:n1', 2 ** 40)]);
    expect([wrongPeer.code, wrongPeer.reason]).toEqual([grpc.status.FAILED_PRECONDITION, 'WRONG_DOWNSTREAM']);

    const firstNotHello = await rogueSession('scheduler', [{ epoch: 7, sync: {} }]);
    expect([firstNotHello.code, firstNotHello.reason]).toEqual([grpc.status.FAILED_PRECONDITION, 'OUT_OF_ORDER']);

    const pods = Array.from({ length: batchRecordsMax + 1 }, (_, i) => ({ name: `fn-1-${i}`, function: 'fn', priority: 0, node: 'n1' }));
    const oversized = await rogueSession('kubelet:n1', [{ epoch: 9, provision: { pods } }]);
    expect([oversized.code, oversized.reason]).toEqual([grpc.status.RESOURCE_EXHAUSTED, 'BATCH_TOO_LARGE']);

    // No state changed: the real session is the same one, and the chain still works.
    const after = await getStageState(config.stages['deployment']?.address ?? '');
    const linkAfter = after.links.find((l) => l.end === 'downstream');
    expect([linkAfter?.state, linkAfter?.epoch]).toEqual(['synced', link?.epoch]);
    expect(after.incarnation).toBe(before.incarnation);
    expect(linkAfter?.last_rejection?.reason).toBe('UNAUTHORIZED_UPSTREAM');
    const kubelet = await getStageState(config.stages['kubelet:n1']?.address ?? '');
    expect(kubelet.pods).toEqual([]);
    expect(kubelet.links[0]?.state).toBe('synced');
  });

  it('refuses bad operator input: exit code 2 at the CLI, UNKNOWN_FUNCTION / MALFORMED at the Scaler', async () => {
    expect(await main(['scale', 'nope', '3', '--dir', dir], noPrint)).toBe(2);
    expect(await main(['scale', 'fn', 'many', '--dir', dir], noPrint)).toBe(2);
    // Several pairs (Scaler.SetScales): checked whole before anything is sent.
    const desiredBefore = (await clusterStatus(config)).functions.map((f) => f.desired);
    const errors: string[] = [];
    const scaleError = async (args: string[]) => {
      const spy = vi.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
      try {
        return await main(['scale', ...args, '--dir', dir], noPrint);
      } finally {
        spy.mockRestore();
      }
    };
    expect(await scaleError(['fn', '3', 'fn'])).toBe(2);
    expect(errors.at(-1)).toMatch(/"fn" has no desired count: give FUNCTION N pairs/);
    expect(await scaleError(['fn', '3', 'fn', '4'])).toBe(2);
    expect(errors.at(-1)).toMatch(/function "fn" appears twice; give each function once; nothing was stored/);
    expect(await scaleError(['fn', '3', 'nope', '4'])).toBe(2);
    expect(errors.at(-1)).toMatch(/function "nope" is not configured; configured: fn; nothing was stored/);
    expect(await scaleError(['fn', '3', 'x', 'many'])).toBe(2);
    expect((await clusterStatus(config)).functions.map((f) => f.desired)).toEqual(desiredBefore);
    expect(await main(['status', '--dir', join(dir, 'missing')], noPrint)).toBe(2);
    const address = config.stages['autoscaler']?.address ?? '';
    const refused = (fn: string, n: number) =>
      setScale(address, fn, n).then(
        () => 'accepted',
        (e: grpc.ServiceError) => `${e.code} ${reasonOfStatus(e)}`,
      );
    expect(await refused('nope', 3)).toBe(`${grpc.status.NOT_FOUND} UNKNOWN_FUNCTION`);
    expect(await refused('fn', 2_000_000)).toBe(`${grpc.status.INVALID_ARGUMENT} MALFORMED`);
    expect((await getStageState(address)).scales).toEqual([]);
  });
});

// ---------------------------------------------------------------------------
// (a) Burst up to 200 pods on 4 nodes, then down to 50 through tombstones
// ---------------------------------------------------------------------------

describe('burst', () => {
  it('converges to 200 pods on 4 Kubelets, then to 50 through tombstones', async () => {
    const up = Date.now();
    await scale(200);
    const scaledUp = await waitConverged(config, 200, 90_000);
    const upMs = Date.now() - up;
    expect(scaledUp.functions[0]).toMatchObject({ desired: 200, running: 200 });
    console.log(`[runtime] 0 -> 200 pods on 4 nodes converged in ${upMs} ms (wall clock, polled every 200 ms)`);

    const down = Date.now();
    await scale(50);
    // The tombstones are visible on the way down (or already acknowledged, on a fast run).
    const during = await clusterStatus(config);
    const seenTombstones = during.stages.some((s) => s.cache.tombstones > 0);
    const scaledDown = await waitConverged(config, 50, 90_000);
    console.log(`[runtime] 200 -> 50 pods converged in ${Date.now() - down} ms (tombstones seen mid-way: ${seenTombstones})`);
    expect(scaledDown.functions[0]).toMatchObject({ desired: 50, running: 50 });
    for (const s of scaledDown.stages) expect(s.cache.tombstones).toBe(0);

    const lines: string[] = [];
    expect(await runStatus(['--json', '--dir', dir], (l) => lines.push(l))).toBe(0);
    expect(JSON.parse(lines.join('\n')).converged).toBe(true);
  }, 200_000);
});

// ---------------------------------------------------------------------------
// (b) SIGKILL and restart of each stage during a burst
// ---------------------------------------------------------------------------

describe('crash and restart during a burst', () => {
  const victims: StageId[] = ['autoscaler', 'deployment', 'replicaset', 'scheduler', 'kubelet:n2'];
  const targets = [150, 90, 170, 60, 140];

  for (const [i, stage] of victims.entries()) {
    it(`SIGKILL of ${stage} mid-burst: the chain converges`, async () => {
      const target = targets[i] ?? 100;
      const pid = pidOf(dir, stage);
      expect(pid).not.toBeNull();
      const incarnation = (await getStageState(config.stages[stage]?.address ?? '')).incarnation;
      const started = Date.now();
      await scale(target);
      await sleep(150);
      process.kill(pid as number, 'SIGKILL');
      while (processIsAlive(pid as number)) await sleep(20);
      startStageProcess(dir, stage);
      await waitHealthy(config, [stage], 60_000);
      const converged = await waitConverged(config, target, 90_000);
      console.log(`[runtime] SIGKILL ${stage} during 0..${target}: converged ${Date.now() - started} ms after the scale request`);
      const after = converged.stages.find((s) => s.stage === stage);
      expect(after?.incarnation).toBeGreaterThan(incarnation);
      expect(converged.functions[0]).toMatchObject({ desired: target, running: target });
      // Every link is in a session whose epoch was opened by the current upstream incarnation.
      for (const s of converged.stages)
        for (const l of s.sessions) if (l.end === 'upstream') expect(Math.floor(l.epoch / 2 ** 20)).toBe(s.incarnation);
      expect(linkEnds('scheduler>kubelet:n2').downstream).toBe('kubelet:n2');
    }, 200_000);
  }
});

describe('kd down', () => {
  it('stops every stage cleanly', async () => {
    const lines: string[] = [];
    expect(await runDown(['--dir', dir], (l) => lines.push(l))).toBe(0);
    expect(lines.join('\n')).not.toMatch(/killed/);
    expect(runningStages(dir)).toEqual([]);
  }, 30_000);
});
