/** REQ-CACHE-010: the Scheduler refuses a Kubelet snapshot holding a pod of another node, with no state change. */
import { describe, expect, it } from 'vitest';
import { misplacedInSnapshot } from '../stages/scheduler.js';
import { PodCache } from '../stages/pod-cache.js';
import { initStage, schedulerToKubelet, stepStage, type ChainConfig, type DownMessage, type StageState, type UpMessage } from '../index.js';

const config: ChainConfig = {
  functions: [{ name: 'fn', priority: 0 }],
  nodes: [
    { name: 'n1', capacity: 4 },
    { name: 'n2', capacity: 4 },
  ],
  variant: 'correct',
};
const link = schedulerToKubelet('n2');

/** A Scheduler whose session to kubelet:n2 awaits the snapshot, and that session's epoch. */
function awaitingSnapshot(): { state: StageState; epoch: number } {
  const start = initStage(config, 'scheduler', { incarnation: 1 });
  const connected = stepStage(config, 'scheduler', start, { type: 'link.connected', link });
  const hello = connected.effects.find((e) => e.type === 'message.send' && e.link === link);
  if (hello?.type !== 'message.send') throw new Error('no hello sent on link.connected');
  return { state: connected.state, epoch: (hello.message as DownMessage).epoch };
}

function snapshot(epoch: number, node: string | null): UpMessage {
  return { type: 'session.snapshot', epoch, scales: [], pods: [{ record: { name: 'fn-1-0', function: 'fn', priority: 0, node }, phase: 'running' }], tombstones: [] };
}

describe('Scheduler snapshot validation (REQ-CACHE-010)', () => {
  it('refuses a snapshot from kubelet:n2 whose pod names node n1: rejected, malformed, nothing applied', () => {
    const { state, epoch } = awaitingSnapshot();
    const result = stepStage(config, 'scheduler', state, { type: 'message.received', link, message: snapshot(epoch, 'n1') });
    expect(result.disposition).toBe('rejected');
    expect(result.rejection?.reason).toBe('malformed');
    expect(result.rejection?.message).toContain('names node n1');
    expect(result.state).toBe(state);
    expect(result.effects).toEqual([]);
  });

  it('applies the same snapshot when the pod names n2', () => {
    const { state, epoch } = awaitingSnapshot();
    const result = stepStage(config, 'scheduler', state, { type: 'message.received', link, message: snapshot(epoch, 'n2') });
    expect(result.disposition).toBe('applied');
    expect(result.rejection).toBeUndefined();
    expect(result.state).not.toBe(state);
  });

  it('refuses a pod this Scheduler holds placed on another node, even when the snapshot record names no node', () => {
    const held = PodCache.of([{ record: { name: 'fn-1-0', function: 'fn', priority: 0, node: 'n1' }, lifecycle: 'running', origin: null }]);
    const message = snapshot(7, null);
    if (message.type !== 'session.snapshot') throw new Error('not a snapshot');
    expect(misplacedInSnapshot('n2', message, held)).toContain('placed on node n1 here');
    expect(misplacedInSnapshot('n1', message, held)).toBeNull();
  });
});

describe('Kubelet provision of an unconfigured function (REQ-POD-008, DEC-17)', () => {
  it('is refused per pod with pod.failed{unknown-owner}, holding nothing and starting no sandbox', () => {
    const kubelet = 'kubelet:n1';
    const kubeletLink = schedulerToKubelet('n1');
    const epoch = 2 ** 20 + 1;
    let state = initStage(config, kubelet, { incarnation: 1 });
    for (const message of [{ type: 'session.hello', epoch }, { type: 'session.sync', epoch }] as DownMessage[])
      state = stepStage(config, kubelet, state, { type: 'message.received', link: kubeletLink, message }).state;
    const result = stepStage(config, kubelet, state, {
      type: 'message.received',
      link: kubeletLink,
      message: { type: 'pod.provision', epoch, pod: { name: 'other-1-0', function: 'other', priority: 0, node: 'n1' } },
    });
    expect(result.disposition).toBe('applied');
    expect(result.effects).toEqual([{ type: 'message.send', link: kubeletLink, message: { type: 'pod.failed', epoch, name: 'other-1-0', reason: 'unknown-owner' } }]);
    expect(result.effects.some((e) => e.type === 'sandbox.start')).toBe(false);
  });
});
