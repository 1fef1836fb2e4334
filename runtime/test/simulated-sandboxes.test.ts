/**
 * The `simulated` sandbox driver (runtime/node/simulated-sandboxes.ts) and its journal
 * (runtime/node/sandbox-journal.ts): a restarted Kubelet (a new SimulatedSandboxes on
 * the same data dir) finds every sandbox in its last state, the journal is compacted
 * as it grows, and a last line cut short by a crash is ignored.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { PodRecord } from '../../machines/index.js';
import { readSandboxJournal, sandboxJournalLinesMin } from '../node/sandbox-journal.js';
import type { SandboxReport } from '../node/sandbox-runtime.js';
import { SimulatedSandboxes, simulatedSandboxesFileOf } from '../node/simulated-sandboxes.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kd-simulated-'));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function pod(n: number): PodRecord {
  return { name: `fn-1-${n}`, function: 'fn', priority: 0, node: 'n1' };
}

async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 20));
}

describe('simulated sandboxes', () => {
  it('a sandbox being killed is found again with the origin of its tombstone; a journal line without one (older journal) gets the Scheduler', async () => {
    const dir = tempDir();
    const first = new SimulatedSandboxes(dir, { startDelayMs: 0, killDelayMs: 60_000 }, () => {});
    first.resume();
    first.start(pod(1));
    first.start(pod(2));
    await settle();
    first.kill(pod(1), 'replicaset');
    first.stop(); // before the kill has ended
    const second = new SimulatedSandboxes(dir, { startDelayMs: 0, killDelayMs: 0 }, () => {});
    expect(second.inventory()).toEqual([
      { pod: pod(1), state: 'killing', origin: 'replicaset' },
      { pod: pod(2), state: 'running' },
    ]);
    second.stop();
    const journal = simulatedSandboxesFileOf(dir);
    appendFileSync(journal, `${JSON.stringify({ pod: pod(2), state: 'killing' })}\n`);
    const third = new SimulatedSandboxes(dir, { startDelayMs: 0, killDelayMs: 0 }, () => {});
    expect(third.inventory()[1]).toEqual({ pod: pod(2), state: 'killing', origin: 'scheduler' });
    third.stop();
  });

  it('a restarted Kubelet finds each sandbox in its last state; those still starting report started after resume', async () => {
    const dir = tempDir();
    const reports: SandboxReport[] = [];
    const first = new SimulatedSandboxes(dir, { startDelayMs: 0, killDelayMs: 0 }, (r) => reports.push(r));
    first.resume();
    for (const n of [1, 2, 3]) first.start(pod(n));
    await settle();
    first.kill(pod(2), 'replicaset');
    await settle();
    first.start(pod(4));
    first.stop(); // before pod 4 has started
    expect(reports).toEqual([
      { type: 'sandbox.started', pod: 'fn-1-1' },
      { type: 'sandbox.started', pod: 'fn-1-2' },
      { type: 'sandbox.started', pod: 'fn-1-3' },
      { type: 'sandbox.killed', pod: 'fn-1-2' },
    ]);

    const again: SandboxReport[] = [];
    const second = new SimulatedSandboxes(dir, { startDelayMs: 0, killDelayMs: 0 }, (r) => again.push(r));
    expect(second.inventory()).toEqual([
      { pod: pod(1), state: 'running' },
      { pod: pod(3), state: 'running' },
      { pod: pod(4), state: 'starting' },
    ]);
    second.resume();
    await settle();
    expect(again).toEqual([{ type: 'sandbox.started', pod: 'fn-1-4' }]);
    second.stop();
  });

  it('the journal is compacted as sandboxes come and go, and still holds exactly the sandboxes left', async () => {
    const dir = tempDir();
    const sandboxes = new SimulatedSandboxes(dir, { startDelayMs: 0, killDelayMs: 0 }, () => undefined);
    sandboxes.start(pod(0));
    for (let n = 1; n <= sandboxJournalLinesMin; n++) {
      sandboxes.start(pod(n));
      sandboxes.kill(pod(n), 'replicaset');
    }
    await settle();
    sandboxes.stop();
    const lines = readFileSync(simulatedSandboxesFileOf(dir), 'utf8').split('\n').filter((l) => l !== '');
    expect(lines.length).toBeLessThanOrEqual(sandboxJournalLinesMin + 2);
    expect([...readSandboxJournal(simulatedSandboxesFileOf(dir)).values()]).toEqual([{ pod: pod(0), state: 'running' }]);
  });

  it('a last line cut short by a crash is ignored', () => {
    const dir = tempDir();
    const sandboxes = new SimulatedSandboxes(dir, { startDelayMs: 60_000, killDelayMs: 0 }, () => undefined);
    sandboxes.start(pod(1));
    sandboxes.stop();
    appendFileSync(simulatedSandboxesFileOf(dir), '{"pod":{"name":"fn-1-2","func');
    const restarted = new SimulatedSandboxes(dir, { startDelayMs: 0, killDelayMs: 0 }, () => undefined);
    expect(restarted.inventory()).toEqual([{ pod: pod(1), state: 'starting' }]);
    restarted.stop();
  });
});
