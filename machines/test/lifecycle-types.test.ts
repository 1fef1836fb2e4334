/**
 * The typed boundary between the machines and the stages (core/lifecycle.ts). The
 * `@ts-expect-error` lines are the type-level half: `npm run typecheck` fails if any of
 * them compiles, i.e. if a stage could hold another machine's state, step an event the
 * machine does not have, or leave an action out of its switch. The runtime half checks
 * that the declared types cannot drift from the XState definitions.
 */
import { setup } from 'xstate';
import { describe, expect, it } from 'vitest';
import { unreachable } from '../core/assert.js';
import { stepLifecycle, typedLifecycle } from '../core/lifecycle.js';
import { namedActions } from '../core/no-op-actions.js';
import type { SchedulerPodAction } from '../pods/scheduler-pod.machine.js';
import { machinesFor } from '../stages/machine-set.js';

const machines = machinesFor('correct');

/** A switch over every Scheduler pod action: it compiles only while it names them all. */
function describeAction(action: SchedulerPodAction): string {
  switch (action) {
    case 'sendProvision':
    case 'sendTombstone':
      return 'down';
    case 'notifyRunning':
    case 'notifyFailed':
    case 'notifyPreempted':
    case 'notifyTombstoneDone':
      return 'up';
    default:
      return unreachable(action, 'Scheduler pod action');
  }
}

/** The same switch with one action left out: the compiler rejects the `unreachable` call. */
function describeActionIgnoringOne(action: SchedulerPodAction): string {
  switch (action) {
    case 'sendProvision':
    case 'sendTombstone':
      return 'down';
    case 'notifyRunning':
    case 'notifyFailed':
    case 'notifyPreempted':
      return 'up';
    default:
      // @ts-expect-error 'notifyTombstoneDone' is not handled, so `action` is not `never` here
      return unreachable(action, 'Scheduler pod action');
  }
}

describe('typed lifecycles', () => {
  it('steps with the machine own states, events and actions as types', () => {
    const step = stepLifecycle(machines.schedulerPod, 'pending', 'forward');
    expect(step).toEqual({ state: 'bound', actions: ['sendProvision'], changed: true });
    expect(step.actions.map(describeAction)).toEqual(['down']);
    // Each of these is refused by the compiler, and goes wrong at run time when forced through.
    // @ts-expect-error 'provisioned' is a ReplicaSet pod state, not a Scheduler pod state
    expect(() => stepLifecycle(machines.schedulerPod, 'provisioned', 'forward')).toThrow(/does not exist/);
    // @ts-expect-error 'decide.create' is not an event of the Scheduler pod machine
    expect(stepLifecycle(machines.schedulerPod, 'pending', 'decide.create').changed).toBe(false);
    // @ts-expect-error a step's state is the machine's state type, not any string
    const wrong: 'provisioned' = step.state;
    expect(wrong).toBe('bound');
  });

  it('an action left out of a switch is an error at run time too, should the types be bypassed', () => {
    expect(() => describeActionIgnoringOne('notifyTombstoneDone')).toThrow(/unreachable Scheduler pod action/);
  });

  it('refuses declared states or actions that are not those of the machine', () => {
    const machine = setup({ types: { events: {} as { type: 'go' } }, actions: namedActions(['act'] as const) }).createMachine({
      id: 'toy',
      initial: 'a',
      states: { a: { on: { go: { target: 'b', actions: 'act' } } }, b: {} },
    });
    expect(() => typedLifecycle(machine, { states: ['a', 'b'], events: ['go'], actions: ['act'] })).not.toThrow();
    expect(() => typedLifecycle(machine, { states: ['a', 'b', 'c'], events: ['go'], actions: ['act'] })).toThrow(/declared states a, b, c are not its leaf states a, b/);
    expect(() => typedLifecycle(machine, { states: ['a', 'b'], events: ['go'], actions: ['act', 'other'] })).toThrow(/declared actions act, other are not its actions act/);
  });
});
