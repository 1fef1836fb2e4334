/**
 * Scaler.SetScales over real gRPC to a real Autoscaler process (REQ-SCALE-007, REQ-SCALE-008):
 * random batches of valid and invalid entries. A batch with any bad entry (unknown
 * function, bad name, duplicate function, count out of range, no entry, too many) is
 * refused with the SetScale status rules and the desired counts Inspect shows do not
 * change; a good batch is answered OK and every count is stored at once.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stagesOf } from '../../machines/index.js';
import { desiredMax, scaleSetsEntriesMax } from '../../spec/limits.js';
import { testWaitMsMax } from '../../test/wait-until.js';
import { removeCluster, startStageProcess, waitHealthy, writeClusterConfig } from '../cluster/local-cluster.js';
import { getStageState, setScales } from '../cluster/rpc.js';
import type { ClusterConfig } from '../config.js';

const dir = mkdtempSync(join(tmpdir(), 'kd-set-scales-'));
const configured = ['a', 'b', 'c', 'd'];
let config: ClusterConfig;

beforeAll(async () => {
  config = await writeClusterConfig(dir, { nodes: 1, capacity: 10, functions: configured, startDelayMs: 0, killDelayMs: 0 });
  const stages = stagesOf(config.chain);
  for (const stage of [...stages].reverse()) startStageProcess(dir, stage);
  await waitHealthy(config, stages, testWaitMsMax);
}, 2 * testWaitMsMax);

afterAll(async () => {
  await removeCluster(dir);
}, 30_000);

const autoscaler = (): string => config.stages.autoscaler?.address ?? '';

/** The desired count of every function the Autoscaler knows, as Inspect shows it. */
async function desiredCounts(): Promise<Record<string, number>> {
  const state = await getStageState(autoscaler(), 5_000);
  return Object.fromEntries(state.scales.filter((s) => s.known).map((s) => [s.function, s.desired]));
}

type Entry = { function: string; desired: number };

/** The status SetScales must give `entries` (REQ-SCALE-007), or OK. */
function expectedCode(entries: readonly Entry[]): grpc.status {
  if (entries.length === 0 || entries.length > scaleSetsEntriesMax) return grpc.status.INVALID_ARGUMENT;
  const names = entries.map((e) => e.function);
  if (names.some((n) => !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(n)) || new Set(names).size !== names.length) return grpc.status.INVALID_ARGUMENT;
  for (const e of entries) {
    if (!configured.includes(e.function)) return grpc.status.NOT_FOUND;
    if (!Number.isInteger(e.desired) || e.desired < 0 || e.desired > desiredMax) return grpc.status.INVALID_ARGUMENT;
  }
  return grpc.status.OK;
}

async function callSetScales(entries: readonly Entry[]): Promise<{ code: grpc.status; reply: Entry[] | null }> {
  try {
    const reply = await setScales(autoscaler(), entries, 10_000);
    return { code: grpc.status.OK, reply: reply.scales };
  } catch (error) {
    return { code: (error as grpc.ServiceError).code, reply: null };
  }
}

const entry = fc.record({
  function: fc.constantFrom('a', 'b', 'c', 'd', 'ghost', 'Bad_Name'),
  desired: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 2 }) }, { weight: 1, arbitrary: fc.constant(desiredMax + 1) }),
});

describe('Scaler.SetScales: all or nothing (REQ-SCALE-007, REQ-SCALE-008)', () => {
  it('refuses a batch with any bad entry and changes nothing; stores every count of a good batch', async () => {
    let good = 0;
    let bad = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 0, maxLength: 5 }), async (entries) => {
        const before = await desiredCounts();
        const expected = expectedCode(entries);
        const outcome = await callSetScales(entries);
        expect(outcome.code).toBe(expected);
        const after = await desiredCounts();
        if (expected === grpc.status.OK) {
          good++;
          expect(outcome.reply).toEqual(entries);
          expect(after).toEqual({ ...before, ...Object.fromEntries(entries.map((e) => [e.function, e.desired])) });
        } else {
          bad++;
          expect(after).toEqual(before);
        }
      }),
      { numRuns: 40 },
    );
    // The generator must have exercised both sides.
    expect(good).toBeGreaterThan(0);
    expect(bad).toBeGreaterThan(0);
  }, 4 * testWaitMsMax);

  it(`refuses more than scaleSetsEntriesMax (${scaleSetsEntriesMax}) entries as INVALID_ARGUMENT, storing none`, async () => {
    const before = await desiredCounts();
    const entries = Array.from({ length: scaleSetsEntriesMax + 1 }, (_, i) => ({ function: configured[i % configured.length] as string, desired: 1 }));
    expect((await callSetScales(entries)).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(await desiredCounts()).toEqual(before);
  }, testWaitMsMax);
});
