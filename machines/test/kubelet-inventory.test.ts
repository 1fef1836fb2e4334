/**
 * A Kubelet restarted while a kill is under way (REQ-POD-013, REQ-TOMB-008): the sandbox
 * inventory gives each sandbox being killed with the origin of its tombstone, the boot
 * effects kill it again carrying that origin, and the snapshot reports the tombstone with
 * it (before, every such tombstone got the origin `kubelet`, which the wire refuses).
 */
import { describe, expect, it } from 'vitest';
import { bootEffects, initStage, type ChainConfig, type KubeletState, type PodRecord } from '../index.js';
import { describeCache } from '../stages/pod-cache.js';

const config: ChainConfig = { functions: [{ name: 'fn', priority: 0 }], nodes: [{ name: 'n1', capacity: 2 }], variant: 'correct' };
const pod = (name: string): PodRecord => ({ name, function: 'fn', priority: 0, node: 'n1' });

describe('Kubelet boot from an inventory with a kill under way', () => {
  it('keeps the origin of the tombstone in its state, its kill and its snapshot', () => {
    const state = initStage(config, 'kubelet:n1', {
      incarnation: 2,
      inventory: [
        { pod: pod('fn-1-0'), state: 'killing', origin: 'replicaset' },
        { pod: pod('fn-1-1'), state: 'running' },
      ],
    }) as KubeletState;
    expect(bootEffects(state)).toEqual([{ type: 'sandbox.kill', pod: pod('fn-1-0'), origin: 'replicaset' }]);
    const view = describeCache(state.pods, 'kubelet-pod', true);
    expect(view.tombstones).toEqual([{ record: pod('fn-1-0'), origin: 'replicaset' }]);
  });

  it('refuses an inventory sandbox being killed without an origin (a driver that lost it)', () => {
    expect(() => initStage(config, 'kubelet:n1', { incarnation: 2, inventory: [{ pod: pod('fn-1-0'), state: 'killing' }] })).toThrow(/origin of its tombstone/);
  });
});
