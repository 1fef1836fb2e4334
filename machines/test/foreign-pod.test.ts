/**
 * Issue 17, defect 5 (REQ-CACHE-013, DEC-41): a pod nobody above knows, found in the
 * snapshot of a Kubelet whose link already synced, is ended by the Scheduler instead of
 * adopted. On a link's first sync in an incarnation the same snapshot is adopted (recovery).
 */
import { describe, expect, it } from 'vitest';
import { initStage, podCacheOf, schedulerToKubelet, stepStage, type ChainConfig, type DownMessage, type StageState } from '../index.js';

const config: ChainConfig = { functions: [{ name: 'fn', priority: 0 }], nodes: [{ name: 'n1', capacity: 2 }], variant: 'correct' };
const link = schedulerToKubelet('n1');
const foreign = { name: 'fn-0-9', function: 'fn', priority: 0, node: 'n1' };

/** The Scheduler connects to kubelet:n1 and receives `pods` in the snapshot; returns the step. */
function handshake(state: StageState, pods: Array<{ record: typeof foreign; phase: 'running' }>) {
  const connected = stepStage(config, 'scheduler', state, { type: 'link.connected', link });
  const hello = connected.effects.find((e) => e.type === 'message.send');
  if (hello?.type !== 'message.send') throw new Error('no hello');
  const epoch = (hello.message as DownMessage).epoch;
  return stepStage(config, 'scheduler', connected.state, { type: 'message.received', link, message: { type: 'session.snapshot', epoch, scales: [], pods, tombstones: [] } });
}

describe('a pod nobody above knows (REQ-CACHE-013)', () => {
  it('is adopted at the first sync of the link in this incarnation (recovery)', () => {
    const result = handshake(initStage(config, 'scheduler', { incarnation: 1 }), [{ record: foreign, phase: 'running' }]);
    expect(podCacheOf(result.state).get('fn-0-9')?.lifecycle).toBe('running');
  });

  it('is held as a tombstone of the Scheduler and killed when the link synced before', () => {
    const first = handshake(initStage(config, 'scheduler', { incarnation: 1 }), []);
    const lost = stepStage(config, 'scheduler', first.state, { type: 'link.lost', link }).state;
    const result = handshake(lost, [{ record: foreign, phase: 'running' }]);
    expect(result.trace).toEqual([{ machine: 'scheduler-pod', pod: 'fn-0-9', event: 'snapshot.foreign', from: 'unknown', to: 'terminating.unsent' }, { machine: 'scheduler-pod', pod: 'fn-0-9', event: 'forward', from: 'terminating.unsent', to: 'terminating.sent' }]);
    const entry = podCacheOf(result.state).get('fn-0-9');
    expect(entry).toMatchObject({ lifecycle: 'terminating.sent', origin: 'scheduler' });
    const sent = result.effects.flatMap((e) => (e.type === 'message.send' ? [e.message.type === 'pod.tombstone' ? `tombstone ${e.message.name} ${e.message.origin}` : e.message.type] : []));
    expect(sent).toEqual(['session.sync', 'tombstone fn-0-9 scheduler']);
  });
});
