/**
 * REQ-POD-015: what the ReplicaSet stage does when one of its pods is rolled back, by
 * `pod.failed` (per-object invalidation) or by a snapshot without it (per-session
 * invalidation). The machine's `recordRollback` is checked here through the stage's
 * step, not through the machine: the entry leaves the cache and the replacement is
 * created and forwarded in the same step, under a new name.
 */
import { describe, expect, it } from 'vitest';
import { chainLinks, initStage, podCacheOf, stepStage, type ChainConfig, type DownMessage, type Effect, type StageEvent, type StageState, type UpMessage } from '../index.js';

const config: ChainConfig = { functions: [{ name: 'fn', priority: 0 }], nodes: [{ name: 'n1', capacity: 4 }], variant: 'correct' };
const up = chainLinks.deploymentToReplicaSet;
const down = chainLinks.replicaSetToScheduler;

function step(state: StageState, event: StageEvent) {
  return stepStage(config, 'replicaset', state, event);
}

function sent(effects: readonly Effect[]): Array<DownMessage | UpMessage> {
  return effects.flatMap((e) => (e.type === 'message.send' && e.link === down ? [e.message as DownMessage] : []));
}

/** A ReplicaSet with desired 1 whose pod `fn-1-0` has been forwarded on a synced session; with that session's epoch. */
function withOnePodForwarded(): { state: StageState; epoch: number } {
  let state = initStage(config, 'replicaset', { incarnation: 1 });
  const connected = step(state, { type: 'link.connected', link: down });
  const hello = sent(connected.effects)[0];
  if (hello?.type !== 'session.hello') throw new Error('no hello on link.connected');
  state = step(connected.state, { type: 'message.received', link: down, message: { type: 'session.snapshot', epoch: hello.epoch, scales: [], pods: [], tombstones: [] } }).state;
  const upEpoch = 5;
  state = step(state, { type: 'message.received', link: up, message: { type: 'session.hello', epoch: upEpoch } }).state;
  state = step(state, { type: 'message.received', link: up, message: { type: 'session.sync', epoch: upEpoch } }).state;
  const scaled = step(state, { type: 'message.received', link: up, message: { type: 'scale.set', epoch: upEpoch, scale: { function: 'fn', desired: 1 } } });
  expect(sent(scaled.effects).map((m) => m.type === 'pod.provision' && m.pod.name)).toEqual(['fn-1-0']);
  expect(podCacheOf(scaled.state).get('fn-1-0')?.lifecycle).toBe('provisioned');
  return { state: scaled.state, epoch: hello.epoch };
}

describe('ReplicaSet rollback (REQ-POD-015)', () => {
  it('pod.failed: the entry leaves the cache and the replacement is created and forwarded in the same step', () => {
    const { state, epoch } = withOnePodForwarded();
    const result = step(state, { type: 'message.received', link: down, message: { type: 'pod.failed', epoch, name: 'fn-1-0', reason: 'sandbox-failed' } });
    expect(result.disposition).toBe('applied');
    expect(result.trace.map((t) => `${t.pod} ${t.from} --${t.event}--> ${t.to}`)).toEqual([
      'fn-1-0 provisioned --downstream.failed--> gone',
      'fn-1-1 unknown --decide.create--> pending',
      'fn-1-1 pending --forward--> provisioned',
    ]);
    expect(podCacheOf(result.state).has('fn-1-0')).toBe(false);
    expect(sent(result.effects)).toEqual([{ type: 'pod.provision', epoch, pod: { name: 'fn-1-1', function: 'fn', priority: 0, node: null } }]);
  });

  it('a snapshot without the pod: rolled back at reconciliation, replaced and forwarded after the sync, never re-sent', () => {
    const { state } = withOnePodForwarded();
    let next = step(state, { type: 'link.lost', link: down }).state;
    const connected = step(next, { type: 'link.connected', link: down });
    const hello = sent(connected.effects)[0];
    if (hello?.type !== 'session.hello') throw new Error('no hello on link.connected');
    const result = step(connected.state, { type: 'message.received', link: down, message: { type: 'session.snapshot', epoch: hello.epoch, scales: [], pods: [], tombstones: [] } });
    next = result.state;
    expect(result.trace[0]).toEqual({ machine: 'replicaset-pod', pod: 'fn-1-0', event: 'snapshot.absent', from: 'provisioned', to: 'gone' });
    expect(podCacheOf(next).has('fn-1-0')).toBe(false);
    expect(sent(result.effects).map((m) => (m.type === 'pod.provision' ? `provision ${m.pod.name}` : m.type))).toEqual(['session.sync', 'provision fn-1-1']);
  });

  it('no replacement while the count is unknown: a restarted ReplicaSet rolls back an adopted pod and creates nothing', () => {
    const restarted = initStage(config, 'replicaset', { incarnation: 2 });
    const connected = step(restarted, { type: 'link.connected', link: down });
    const hello = sent(connected.effects)[0];
    if (hello?.type !== 'session.hello') throw new Error('no hello on link.connected');
    const pod = { name: 'fn-1-0', function: 'fn', priority: 0, node: null };
    const adopted = step(connected.state, { type: 'message.received', link: down, message: { type: 'session.snapshot', epoch: hello.epoch, scales: [], pods: [{ record: pod, phase: 'running' }], tombstones: [] } });
    expect(podCacheOf(adopted.state).get('fn-1-0')?.lifecycle).toBe('running');
    const result = step(adopted.state, { type: 'message.received', link: down, message: { type: 'pod.failed', epoch: hello.epoch, name: 'fn-1-0', reason: 'sandbox-failed' } });
    expect(result.trace.map((t) => `${t.pod} ${t.from} --${t.event}--> ${t.to}`)).toEqual(['fn-1-0 running --downstream.failed--> gone']);
    expect(podCacheOf(result.state).size).toBe(0);
    expect(sent(result.effects)).toEqual([]);
  });
});
