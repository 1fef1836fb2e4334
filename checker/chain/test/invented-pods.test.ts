/**
 * INV-NO-INVENTED-POD (checker/chain/invented-pods.ts): a machine step that names a pod
 * its state and event never named, and that it did not create, is a violation of that
 * property with a counterexample, with and without the state abstraction that relies on
 * it (DEC-58), never an internal error (issue 22 item 2: no model run ends in exit 3).
 *
 * The broken machine is made here by wrapping the machines' `stepStage`: a Kubelet that
 * reports a second pod running, a name computed from the provisioned one instead of read.
 */
import { describe, expect, it, vi } from 'vitest';
import type * as Machines from '../../../machines/index.js';
import { InvariantViolation, type StageEvent, type StageState, type StepResult } from '../../../machines/index.js';
import { violationOfAssertion } from '../../../simulator/assertion-properties.js';
import { search } from '../../engine/search.js';
import { InventedPodCheck } from '../invented-pods.js';
import { loadCheckConfig } from '../config-file.js';
import { ChainModel } from '../model.js';
import { buildTrace } from '../trace.js';

/** Whether the wrapped `stepStage` invents a pod (tests switch it on and off). */
const broken = vi.hoisted(() => ({ on: false }));

vi.mock('../../../machines/index.js', async (importOriginal) => {
  const machines = await importOriginal<typeof Machines>();
  return {
    ...machines,
    stepStage: (...args: Parameters<typeof Machines.stepStage>) => {
      const result = machines.stepStage(...args);
      const [, stage, , event] = args;
      if (!broken.on || !stage.startsWith('kubelet:') || event.type !== 'message.received' || event.message.type !== 'pod.provision') return result;
      const { epoch, pod } = event.message;
      // The bug: the next ordinal's name, computed instead of read from any record.
      const invented = pod.name.replace(/-(\d+)$/, (_, n: string) => `-${Number(n) + 1}`);
      return { ...result, effects: [...result.effects, { type: 'message.send', link: event.link, message: { type: 'pod.running', epoch, name: invented } }] };
    },
  };
});

const exhaustiveRunMs = 300_000;

describe('INV-NO-INVENTED-POD', () => {
  const config = loadCheckConfig('smoke', 'correct');

  it('holds a step that names only what its input named, or what it created, and reports one that invents a name', () => {
    const check = new InventedPodCheck(loadCheckConfig('ci', 'correct').chain);
    const before = { role: 'kubelet' } as unknown as StageState;
    const event = { type: 'link.lost', link: 'scheduler>kubelet:n1' } as const satisfies StageEvent;
    const invents = { state: before, effects: [{ type: 'message.send', link: 'scheduler>kubelet:n1', message: { type: 'pod.running', epoch: 1, name: 'lo-1-7' } }], links: [], trace: [], disposition: 'applied' } as unknown as StepResult<StageState>;
    expect(() => check.checkStep(before, event, invents)).toThrow(InvariantViolation);
    // Again on the same step: a caller that swallowed the first error gets it again.
    let thrown: unknown;
    try {
      check.checkStep(before, event, invents);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvariantViolation);
    expect(violationOfAssertion(thrown as InvariantViolation, 'kubelet:n1')).toMatchObject({ property: 'INV-NO-INVENTED-POD', message: expect.stringMatching(/names pod lo-1-7, which neither its state nor its event named/) });
    const creates = { ...invents, trace: [{ event: 'decide.create', pod: 'lo-1-7' }] } as unknown as StepResult<StageState>;
    expect(() => check.checkStep(before, event, creates)).not.toThrow();
    const forged = { ...invents, effects: [], state: { role: 'kubelet', pods: { 'lo-0-1': {} } } } as unknown as StepResult<StageState>;
    expect(() => check.checkStep(before, event, forged)).not.toThrow();
  });

  it('is a counterexample, not an internal error, with and without the abstraction, and the correct machines keep it', () => {
    broken.on = false;
    expect(search(new ChainModel(config), {}).verdict).toBe('verified');
    broken.on = true;
    try {
      const lengths = [true, false].map((abstraction) => {
        const check = { ...config, abstraction };
        const result = search(new ChainModel(check), {});
        expect(result.verdict).toBe('violated');
        expect(result.violation?.property).toBe('INV-NO-INVENTED-POD');
        expect(result.violation?.message).toMatch(/kubelet:n1: assertion failed: a stage names a pod it was never told of: a kubelet step on message\.received names pod \w+-\d+-1/);
        // The counterexample renders: its last step is the Kubelet's delivery of the provision.
        const trace = buildTrace(check, result.violation!);
        expect(trace.property).toBe('INV-NO-INVENTED-POD');
        return result.violation!.path.length;
      });
      expect(lengths[0]).toBe(lengths[1]);
      expect(lengths[0]).toBeGreaterThan(0);
    } finally {
      broken.on = false;
    }
  }, exhaustiveRunMs);
});
