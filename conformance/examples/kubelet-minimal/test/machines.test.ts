/**
 * The two pure machines of the minimal Kubelet against the rows of their state tables
 * in spec/04-lifecycles.md, one row per case: the state before, the event, the state
 * after and the effects.
 */
import { describe, expect, it } from 'vitest';
import { DownstreamSession } from '../downstream-session.js';
import { SandboxMachine } from '../sandbox-machine.js';
import type { PodRecord, Sandbox, SandboxEvent, SandboxState } from '../sandbox-machine.js';

const record = (name: string, fn = 'fn'): PodRecord => ({ name, function: fn, priority: 0, node: 'n1' });

/** A machine of capacity 2 holding `p` in `state` (or nothing), built through its boot rows. */
function holding(state: SandboxState | null): SandboxMachine {
  const machine = new SandboxMachine(2, new Set(['fn']));
  const inventory: Sandbox[] = state === null ? [] : [{ record: record('fn-1-0'), state, origin: state === 'killing' ? 'scheduler' : null }];
  machine.boot(inventory);
  return machine;
}

const provision: SandboxEvent = { kind: 'pod.provision', record: record('fn-1-0') };
const tombstone: SandboxEvent = { kind: 'pod.tombstone', name: 'fn-1-0', origin: 'replicaset' };
const name = 'fn-1-0';

describe('Kubelet sandbox table (04)', () => {
  const rows: [SandboxState | null, SandboxEvent, SandboxState | null, unknown[]][] = [
    [null, provision, 'starting', [{ kind: 'sandbox.start', record: record(name) }]],
    [null, { kind: 'pod.provision', record: record('other-1-0', 'other') }, null, [{ kind: 'up', notification: { kind: 'pod.failed', name: 'other-1-0', reason: 'unknown-owner' } }]],
    ['starting', provision, 'starting', []],
    ['killing', provision, 'killing', []],
    ['starting', { kind: 'sandbox.started', name }, 'running', [{ kind: 'up', notification: { kind: 'pod.running', name } }]],
    ['starting', { kind: 'sandbox.failed', name }, null, [{ kind: 'up', notification: { kind: 'pod.failed', name, reason: 'sandbox-failed' } }]],
    ['running', { kind: 'sandbox.failed', name }, null, [{ kind: 'up', notification: { kind: 'pod.failed', name, reason: 'sandbox-failed' } }]],
    ['running', tombstone, 'killing', [{ kind: 'sandbox.kill', record: record(name), origin: 'replicaset' }]],
    ['starting', tombstone, 'killing', [{ kind: 'sandbox.kill', record: record(name), origin: 'replicaset' }]],
    ['killing', tombstone, 'killing', []],
    ['killing', { kind: 'sandbox.started', name }, 'killing', []],
    ['killing', { kind: 'sandbox.killed', name }, null, [{ kind: 'up', notification: { kind: 'tombstone.done', name } }]],
    ['killing', { kind: 'sandbox.failed', name }, null, [{ kind: 'up', notification: { kind: 'tombstone.done', name } }]],
    [null, tombstone, null, [{ kind: 'up', notification: { kind: 'tombstone.done', name } }]],
  ];
  it.each(rows)('%s + %o -> %s', (from, event, to, effects) => {
    const machine = holding(from);
    expect(machine.apply(event)).toEqual(effects);
    expect(machine.list().find((sandbox) => sandbox.record.name === name)?.state ?? null).toBe(to);
  });

  it('refuses a provision beyond capacity, counting sandboxes being killed (REQ-POD-012)', () => {
    const machine = holding('killing');
    machine.apply({ kind: 'pod.provision', record: record('fn-1-1') });
    expect(machine.apply({ kind: 'pod.provision', record: record('fn-1-2') })).toEqual([
      { kind: 'up', notification: { kind: 'pod.failed', name: 'fn-1-2', reason: 'capacity-exceeded' } },
    ]);
  });

  it('never starts a failed name again (REQ-POD-014)', () => {
    const machine = holding('running');
    machine.apply({ kind: 'sandbox.failed', name });
    expect(machine.apply(provision)).toEqual([{ kind: 'up', notification: { kind: 'pod.failed', name, reason: 'sandbox-failed' } }]);
    expect(machine.list()).toEqual([]);
  });

  it('kills again at boot what was being killed, and reports it as a tombstone', () => {
    const machine = new SandboxMachine(2, new Set(['fn']));
    expect(machine.boot([{ record: record(name), state: 'killing', origin: 'scheduler' }])).toEqual([
      { kind: 'sandbox.kill', record: record(name), origin: 'scheduler' },
    ]);
    expect(machine.snapshot()).toEqual({ pods: [], tombstones: [{ record: record(name), origin: 'scheduler' }] });
  });
});

describe('downstream-session table (04) with fencing (02)', () => {
  it('accepts only newer hellos and never lowers currentEpoch', () => {
    const session = new DownstreamSession();
    expect(session.hello(5)).toBe('apply');
    expect(session.hello(5)).toBe('stale-epoch');
    expect(session.hello(4)).toBe('stale-epoch');
    session.linkLost(5);
    expect(session).toMatchObject({ state: 'idle', currentEpoch: 5 });
    expect(session.hello(5)).toBe('stale-epoch');
  });

  it('applies records only when synced and ends the session on anything out of order', () => {
    const session = new DownstreamSession();
    session.hello(7);
    expect(session.mayNotify()).toBe(true);
    expect(session.record(7)).toBe('out-of-order');
    expect(session.state).toBe('idle');
    session.hello(8);
    expect(session.record(7)).toBe('stale-epoch');
    expect(session.sync(8)).toBe('apply');
    expect(session.record(8)).toBe('apply');
    expect(session.sync(8)).toBe('out-of-order');
    expect(session.mayNotify()).toBe(false);
  });

  it('ignores link.lost of a session that is no longer current', () => {
    const session = new DownstreamSession();
    session.hello(1);
    session.hello(2);
    session.linkLost(1);
    expect(session.state).toBe('awaitingSync');
  });
});
