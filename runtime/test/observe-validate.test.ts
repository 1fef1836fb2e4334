/**
 * `kd validate` on small hand-written NDJSON traces: a clean run, then each judged
 * property violated once; unreadable input exits 3.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';
import { SandboxJournal } from '../node/sandbox-journal.js';
import { simulatedSandboxesFileOf } from '../node/simulated-sandboxes.js';
import { validateTraces } from '../observe/validate.js';

const dir = mkdtempSync(join(tmpdir(), 'kd-validate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Rec = Record<string, unknown>;
let clock = 0;
const t = (): string => new Date(Date.UTC(2025, 0, 1) + clock++ * 10).toISOString();
const rec = (stage: string, incarnation: number, seq: number, fields: Rec): Rec => ({
  t: t(),
  stage,
  incarnation,
  seq,
  disposition: 'none',
  transitions: [],
  effects: [],
  sessions: [],
  ...fields,
});
const tp = (machine: string, pod: string, event: string, from: string, to: string): Rec => ({ machine, pod, event, from, to });
const send = (link: string, message: Rec): Rec => ({ type: 'message.send', link, message });
const down = (link: string, session: string, epoch: number): Rec => ({ link, end: 'downstream', session, epoch });

/** A clean run: the ReplicaSet creates p1 and p2, the Scheduler binds them to n1, kubelet:n1 starts them, p1 is killed. */
function cleanTrace(): Record<string, Rec[]> {
  const rsUp = { link: 'replicaset>scheduler', end: 'upstream', session: 'synced', epoch: 5 };
  const replicaset = [
    rec('replicaset', 1, 0, { event: { type: 'stage.started' }, sessions: [down('deployment>replicaset', 'idle', 0), { ...rsUp, session: 'disconnected', epoch: 0 }] }),
    rec('replicaset', 1, 1, {
      event: { type: 'message.received', link: 'deployment>replicaset', message: { type: 'session.hello', epoch: 3 } },
      disposition: 'applied',
      sessions: [down('deployment>replicaset', 'awaitingSync', 3), rsUp],
    }),
    rec('replicaset', 1, 2, {
      event: { type: 'message.received', link: 'deployment>replicaset', message: { type: 'session.sync', epoch: 3 } },
      disposition: 'applied',
      sessions: [down('deployment>replicaset', 'synced', 3), rsUp],
    }),
    rec('replicaset', 1, 3, {
      event: { type: 'message.received', link: 'deployment>replicaset', message: { type: 'scale.set', epoch: 3, function: 'fn', desired: 2 } },
      disposition: 'applied',
      transitions: [tp('replicaset-pod', 'fn-1-1', 'decide.create', 'unknown', 'pending'), tp('replicaset-pod', 'fn-1-2', 'decide.create', 'unknown', 'pending')],
      sessions: [down('deployment>replicaset', 'synced', 3), rsUp],
    }),
    rec('replicaset', 1, 4, {
      event: { type: 'message.received', link: 'deployment>replicaset', message: { type: 'scale.set', epoch: 3, function: 'fn', desired: 1 } },
      disposition: 'applied',
      transitions: [tp('replicaset-pod', 'fn-1-1', 'decide.terminate', 'running', 'terminating.unsent')],
      sessions: [down('deployment>replicaset', 'synced', 3), rsUp],
    }),
  ];
  const scheduler = [
    rec('scheduler', 1, 0, { event: { type: 'stage.started' } }),
    rec('scheduler', 1, 1, {
      event: { type: 'link.connected', link: 'scheduler>kubelet:n1' },
      effects: [send('scheduler>kubelet:n1', { type: 'pod.provision', epoch: 7, name: 'fn-1-1', node: 'n1' }), send('scheduler>kubelet:n1', { type: 'pod.provision', epoch: 7, name: 'fn-1-2', node: 'n1' })],
    }),
  ];
  const kubelet = [
    rec('kubelet:n1', 1, 0, { event: { type: 'stage.started' }, capacity: 2, sandboxes: [], sessions: [down('scheduler>kubelet:n1', 'idle', 0)] }),
    rec('kubelet:n1', 1, 1, {
      event: { type: 'message.received', link: 'scheduler>kubelet:n1', message: { type: 'session.hello', epoch: 7 } },
      disposition: 'applied',
      sessions: [down('scheduler>kubelet:n1', 'synced', 7)],
    }),
    rec('kubelet:n1', 1, 2, {
      event: { type: 'message.received', link: 'scheduler>kubelet:n1', message: { type: 'pod.provision', epoch: 7, name: 'fn-1-1', node: 'n1' } },
      disposition: 'applied',
      effects: [{ type: 'sandbox.start', pod: 'fn-1-1', node: 'n1' }],
      sessions: [down('scheduler>kubelet:n1', 'synced', 7)],
    }),
    rec('kubelet:n1', 1, 3, {
      event: { type: 'message.received', link: 'scheduler>kubelet:n1', message: { type: 'pod.provision', epoch: 7, name: 'fn-1-2', node: 'n1' } },
      disposition: 'applied',
      effects: [{ type: 'sandbox.start', pod: 'fn-1-2', node: 'n1' }],
      sessions: [down('scheduler>kubelet:n1', 'synced', 7)],
    }),
    rec('kubelet:n1', 1, 4, { event: { type: 'sandbox.killed', pod: 'fn-1-1' }, sessions: [down('scheduler>kubelet:n1', 'synced', 7)] }),
  ];
  return { replicaset, scheduler, 'kubelet-n1': kubelet };
}

let runNumber = 0;
function writeRun(traces: Record<string, Rec[]>): string {
  const run = join(dir, `run-${++runNumber}`);
  for (const [name, records] of Object.entries(traces)) {
    const stageDir = join(run, name);
    mkdirSync(stageDir, { recursive: true });
    writeFileSync(join(stageDir, 'trace.ndjson'), records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }
  return run;
}

function verdicts(run: string): Record<string, string> {
  return Object.fromEntries(validateTraces([run]).verdicts.map((v) => [v.id, v.verdict]));
}

function violatedOnly(run: string): string[] {
  return validateTraces([run])
    .verdicts.filter((v) => v.verdict === 'VIOLATED')
    .map((v) => v.id);
}

describe('kd validate on hand-written traces', () => {
  it('a clean run: every judged property OK, exit 0, and the unjudged ones listed', async () => {
    const run = writeRun(cleanTrace());
    expect(Object.values(verdicts(run)).every((v) => v === 'OK')).toBe(true);
    const lines: string[] = [];
    expect(await main(['validate', run], (l) => lines.push(l))).toBe(0);
    const text = lines.join('\n');
    for (const id of ['INV-FENCING', 'INV-UNIQUE-PLACEMENT', 'INV-NAME-UNIQUE', 'INV-NO-RESTART-AFTER-DEATH', 'INV-NO-RESURRECTION', 'INV-CAPACITY', 'INV-EPOCH-MONOTONIC', 'INV-ONLY-SYNC-FENCES'])
      expect(text).toMatch(new RegExp(`^OK +${id} `, 'm'));
    for (const id of ['INV-CACHE-COVERAGE', 'INV-TOMBSTONE-DOMINANCE', 'INV-NO-OVERSHOOT']) expect(text).toMatch(new RegExp(`^NOT JUDGED +${id} `, 'm'));
    expect(text).toMatch(/across nodes by trace wall time/);
  });

  const cases: Array<[string, (tr: Record<string, Rec[]>) => void]> = [
    [
      'INV-NAME-UNIQUE',
      (tr) =>
        tr['replicaset']?.push(
          rec('replicaset', 2, 0, { event: { type: 'stage.started' } }),
          rec('replicaset', 2, 1, { event: { type: 'link.connected', link: 'replicaset>scheduler' }, transitions: [tp('replicaset-pod', 'fn-1-2', 'decide.create', 'unknown', 'pending')] }),
        ),
    ],
    [
      'INV-UNIQUE-PLACEMENT',
      (tr) =>
        tr['scheduler']?.push(
          rec('scheduler', 1, 2, { event: { type: 'link.connected', link: 'scheduler>kubelet:n2' }, effects: [send('scheduler>kubelet:n2', { type: 'pod.provision', epoch: 9, name: 'fn-1-2', node: 'n2' })] }),
        ),
    ],
    [
      'INV-NO-RESTART-AFTER-DEATH',
      (tr) =>
        tr['kubelet-n1']?.push(
          rec('kubelet:n1', 2, 0, { event: { type: 'stage.started' }, capacity: 2, sandboxes: ['fn-1-2'] }),
          rec('kubelet:n1', 2, 1, { event: { type: 'link.connected', link: 'x' }, effects: [{ type: 'sandbox.start', pod: 'fn-1-1', node: 'n1' }] }),
        ),
    ],
    [
      'INV-NO-RESURRECTION',
      (tr) =>
        tr['replicaset']?.push(
          rec('replicaset', 1, 5, { event: { type: 'link.lost', link: 'replicaset>scheduler' }, transitions: [tp('replicaset-pod', 'fn-1-1', 'snapshot.running', 'terminating.unsent', 'running')] }),
        ),
    ],
    [
      'INV-CAPACITY',
      (tr) =>
        tr['kubelet-n1']?.push(
          rec('kubelet:n1', 1, 5, { event: { type: 'message.received' }, effects: [{ type: 'sandbox.start', pod: 'fn-1-3', node: 'n1' }] }),
          rec('kubelet:n1', 1, 6, { event: { type: 'message.received' }, effects: [{ type: 'sandbox.start', pod: 'fn-1-4', node: 'n1' }] }),
        ),
    ],
    [
      'INV-EPOCH-MONOTONIC',
      (tr) => tr['kubelet-n1']?.push(rec('kubelet:n1', 1, 5, { event: { type: 'message.received', link: 'scheduler>kubelet:n1', message: { type: 'session.hello', epoch: 6 } }, sessions: [down('scheduler>kubelet:n1', 'awaitingSync', 6)] })),
    ],
    [
      // A session that ended before its sync left its epoch behind (DEC-40 forgotten).
      'INV-ONLY-SYNC-FENCES',
      (tr) => tr['kubelet-n1']?.push(rec('kubelet:n1', 1, 5, { event: { type: 'link.lost', link: 'scheduler>kubelet:n1' }, sessions: [down('scheduler>kubelet:n1', 'idle', 9)] })),
    ],
    [
      'INV-FENCING',
      (tr) =>
        tr['kubelet-n1']?.push(
          rec('kubelet:n1', 1, 5, {
            event: { type: 'message.received', link: 'scheduler>kubelet:n1', message: { type: 'pod.tombstone', epoch: 6, name: 'fn-1-2', origin: 'replicaset' } },
            disposition: 'applied',
            sessions: [down('scheduler>kubelet:n1', 'synced', 7)],
          }),
        ),
    ],
  ];

  for (const [id, corrupt] of cases)
    it(`${id} violated once: only it is reported, with file:line, exit 1`, async () => {
      const traces = cleanTrace();
      corrupt(traces);
      const run = writeRun(traces);
      expect(violatedOnly(run)).toEqual([id]);
      const lines: string[] = [];
      expect(await main(['validate', run], (l) => lines.push(l))).toBe(1);
      const at = lines.findIndex((l) => new RegExp(`^VIOLATED +${id} `).test(l));
      expect(at).toBeGreaterThan(0);
      expect(lines[at + 1]).toMatch(/at .*trace\.ndjson:\d+: \{/);
    });

  it('a pod.failed{capacity-exceeded} from a Kubelet violates INV-CAPACITY', () => {
    const traces = cleanTrace();
    traces['kubelet-n1']?.push(
      rec('kubelet:n1', 1, 5, { event: { type: 'message.received' }, effects: [send('scheduler>kubelet:n1', { type: 'pod.failed', epoch: 7, name: 'fn-1-9', reason: 'capacity-exceeded' })] }),
    );
    expect(violatedOnly(writeRun(traces))).toEqual(['INV-CAPACITY']);
  });

  it('a directory is searched for trace.ndjson only: the sandbox journal next to it is not read', async () => {
    const run = writeRun(cleanTrace());
    const sandbox = { pod: { name: 'fn-1-2', function: 'fn', priority: 0, node: 'n1' }, state: 'running' } as const;
    const journal = new SandboxJournal(simulatedSandboxesFileOf(join(run, 'kubelet-n1')), new Map([[sandbox.pod.name, sandbox]]));
    journal.open();
    journal.close();
    expect(readFileSync(join(run, 'kubelet-n1', 'sandboxes.ndjson'), 'utf8')).toMatch(/fn-1-2/);
    const lines: string[] = [];
    expect(await main(['validate', run], (l) => lines.push(l))).toBe(0);
    expect(lines[0]).toMatch(/^kd validate: 3 trace file\(s\)/);
  });

  it('a directory without trace.ndjson exits 2 (bad input) and says what is searched', async () => {
    const empty = join(dir, 'no-traces');
    mkdirSync(empty, { recursive: true });
    writeFileSync(join(empty, 'sandboxes.ndjson'), '{"name":"fn-1-1","state":"running"}\n');
    const errors: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
    try {
      expect(await main(['validate', empty], () => {})).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(errors.join('\n')).toMatch(/no trace files in .*no-traces: a directory is searched for trace\.ndjson/);
  });

  it('unreadable input and no argument are bad input: exit 2 with a clear message', async () => {
    const bad = join(dir, 'bad.ndjson');
    writeFileSync(bad, '{"t": "x"}\nnot json\n');
    expect(await main(['validate', bad], () => {})).toBe(2);
    expect(await main(['validate', join(dir, 'missing.ndjson')], () => {})).toBe(2);
    expect(await main(['validate'], () => {})).toBe(2);
  });
});
