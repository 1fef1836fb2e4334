/**
 * Issue 22, item 2: an internal assertion hit in a model run ends in a named property with
 * a counterexample, never in an internal error. The Kubelet is broken on purpose here (its
 * step wrapped by vi.mock; machines/ itself is unchanged), one way per test.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { KubeletState } from '../../../machines/stages/kubelet.js';

type Mutation = 'kill-after-killed' | 'ack-on-receipt' | 'assert-on-tombstone' | 'assert-on-hello' | 'killing-rebuilt-as-running' | 'none';
const broken = vi.hoisted(() => ({ mutation: 'none' as string }));

vi.mock('../../../machines/stages/kubelet.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../../machines/stages/kubelet.js')>();
  const { InvariantViolation } = await import('../../../machines/core/assert.js');
  return {
    ...original,
    // A restarted Kubelet that rebuilds a killing sandbox as running (one of issue 22's hidden bugs).
    initKubelet: (...args: Parameters<typeof original.initKubelet>) => {
      const [config, incarnation, inventory] = args;
      if ((broken.mutation as Mutation) !== 'killing-rebuilt-as-running') return original.initKubelet(...args);
      return original.initKubelet(config, incarnation, inventory.map((item) => (item.state === 'killing' ? { ...item, state: 'running' as const } : item)));
    },
    stepKubelet: (...args: Parameters<typeof original.stepKubelet>) => {
      const [, state, event] = args;
      const result = original.stepKubelet(...args);
      const mutation = broken.mutation as Mutation;
      if (mutation === 'kill-after-killed' && event.type === 'sandbox.killed') {
        // The example: a Kubelet that kills again a sandbox that is already gone.
        const record = (state as KubeletState).pods.get(event.pod)?.record;
        if (record !== undefined) return { ...result, effects: [...result.effects, { type: 'sandbox.kill' as const, pod: record }] };
      }
      if (mutation === 'ack-on-receipt' && event.type === 'message.received' && event.message.type === 'pod.tombstone') {
        // A kill acknowledged early: tombstone.done sent with the kill, before the sandbox is dead.
        const done = { type: 'tombstone.done' as const, epoch: event.message.epoch, name: event.message.name };
        return { ...result, effects: [...result.effects, { type: 'message.send' as const, link: event.link, message: done }] };
      }
      if (mutation === 'assert-on-hello' && event.type === 'message.received' && event.message.type === 'session.hello')
        throw new InvariantViolation('a made-up assertion of the Kubelet on hellos');
      if (mutation === 'assert-on-tombstone' && event.type === 'message.received' && event.message.type === 'pod.tombstone')
        throw new InvariantViolation('a made-up assertion of the Kubelet on tombstones');
      return result;
    },
  };
});

const { search } = await import('../../engine/search.js');
const { loadCheckConfig } = await import('../config-file.js');
const { ChainModel } = await import('../model.js');
const { buildTrace } = await import('../trace.js');

function checkSmoke() {
  const config = loadCheckConfig('smoke', 'correct');
  const result = search(new ChainModel(config), { maxSeconds: 300 });
  return { config, result };
}

describe('internal assertions hit in a model run are named properties', () => {
  beforeEach(() => {
    broken.mutation = 'none';
  });

  it('the unbroken Kubelet verifies smoke (the wrapper alone changes nothing)', () => {
    expect(checkSmoke().result.verdict).toBe('verified');
  }, 300_000);

  it('"the Kubelet of n1 kills f-..., which has no sandbox" is INV-SANDBOX-HELD with a counterexample, not an internal error', () => {
    broken.mutation = 'kill-after-killed';
    const { config, result } = checkSmoke();
    expect(result.verdict).toBe('violated');
    expect(result.violation?.property).toBe('INV-SANDBOX-HELD');
    expect(result.violation?.message).toMatch(/the Kubelet of n1 kills f-\S+, which has no sandbox/);
    const trace = buildTrace(config, result.violation!);
    expect(trace.steps.length).toBe(result.violation!.path.length);
    const last = trace.steps.at(-1)!;
    expect(last.description).toMatch(/sandbox f-\S+ on n1 killed/);
    expect(last.violations.map((v) => v.property)).toContain('INV-SANDBOX-HELD');
  }, 300_000);

  it('a kill acknowledged before the sandbox is dead breaks INV-KILL-ACK-AFTER-DEATH', () => {
    broken.mutation = 'ack-on-receipt';
    const { result } = checkSmoke();
    expect(result.violation?.property).toBe('INV-KILL-ACK-AFTER-DEATH');
    expect(result.violation?.message).toMatch(/acknowledges the tombstone of f-\S+ while it still holds its sandbox \((starting|running|killing)\)/);
  }, 300_000);

  it('any other assertion of a step is INV-STEP-ASSERTION, naming the stage and the assertion', () => {
    broken.mutation = 'assert-on-tombstone';
    const { config, result } = checkSmoke();
    expect(result.verdict).toBe('violated');
    expect(result.violation?.property).toBe('INV-STEP-ASSERTION');
    expect(result.violation?.message).toBe('kubelet:n1: assertion failed: a made-up assertion of the Kubelet on tombstones');
    expect(buildTrace(config, result.violation!).steps.at(-1)?.description).toMatch(/deliver down scheduler>kubelet:n1/);
  }, 300_000);

  it('an assertion broken while booting the chain (startSynced) is the initial state\'s violation, with an empty path', () => {
    broken.mutation = 'assert-on-hello';
    const config = loadCheckConfig('ci', 'correct');
    const result = search(new ChainModel(config), { maxSeconds: 300 });
    expect(result.verdict).toBe('violated');
    expect(result.violation?.property).toBe('INV-STEP-ASSERTION');
    expect(result.violation?.message).toMatch(/^during the boot \(startSynced\): kubelet:n\d: assertion failed: a made-up assertion of the Kubelet on hellos$/);
    expect(result.violation?.path).toEqual([]);
  }, 300_000);

  it('a restarted Kubelet that rebuilds a killing sandbox as running breaks INV-SANDBOX-HELD on the restarts preset', () => {
    broken.mutation = 'killing-rebuilt-as-running';
    const config = loadCheckConfig('restarts', 'correct');
    const result = search(new ChainModel(config), { maxSeconds: 300 });
    expect(result.violation?.property).toBe('INV-SANDBOX-HELD');
    expect(result.violation?.message).toMatch(/the Kubelet of n\d holds f-\S+ as running, but its sandbox is killing/);
    expect(buildTrace(config, result.violation!).steps.at(-1)?.description).toMatch(/^crash kubelet:n\d$/);
  }, 300_000);
});
