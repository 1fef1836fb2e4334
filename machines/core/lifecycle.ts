/**
 * Stepping a lifecycle machine. Lifecycle machines (pods, sessions, scale entries)
 * have no context: their state is their state value, kept in the stage state as a
 * dotted string (`terminating.sent`). Their actions are names that the stage turns
 * into effects with the data of the entry. Because a step depends only on
 * (machine, state, event type), it is memoized: XState runs once per distinct step.
 */
import { transition, type AnyStateMachine, type StateValue } from 'xstate';
import { assert } from './assert.js';

export interface LifecycleStep {
  readonly state: string;
  readonly actions: readonly string[];
  /** False when no transition was enabled: the same state, no action. */
  readonly changed: boolean;
}

export function stateValueToString(value: StateValue): string {
  if (typeof value === 'string') return value;
  const keys = Object.keys(value);
  assert(keys.length === 1, `lifecycle machines have no parallel states: ${JSON.stringify(value)}`);
  const key = keys[0] as string;
  return `${key}.${stateValueToString(value[key] as StateValue)}`;
}

export function stringToStateValue(state: string): StateValue {
  const at = state.indexOf('.');
  if (at < 0) return state;
  return { [state.slice(0, at)]: stringToStateValue(state.slice(at + 1)) };
}

/** Steps by machine, then state, then event type: nested maps, so that a look-up builds no key string. */
const memo = new WeakMap<AnyStateMachine, Map<string, Map<string, LifecycleStep>>>();

export function stepLifecycle(machine: AnyStateMachine, state: string, eventType: string): LifecycleStep {
  let byState = memo.get(machine);
  if (byState === undefined) {
    byState = new Map();
    memo.set(machine, byState);
  }
  let byEvent = byState.get(state);
  if (byEvent === undefined) {
    byEvent = new Map();
    byState.set(state, byEvent);
  }
  const cached = byEvent.get(eventType);
  if (cached !== undefined) return cached;
  const snapshot = machine.resolveState({ value: stringToStateValue(state), context: {} });
  const [next, actions] = transition(machine, snapshot, { type: eventType });
  const step: LifecycleStep = {
    state: stateValueToString(next.value),
    actions: actions.map((action) => action.type),
    changed: next !== snapshot,
  };
  byEvent.set(eventType, step);
  return step;
}

const tagsMemo = new WeakMap<AnyStateMachine, Map<string, ReadonlySet<string>>>();

/** The tags of a state of a lifecycle machine (its own and its ancestors'), memoized. */
export function lifecycleTagsOf(machine: AnyStateMachine, state: string): ReadonlySet<string> {
  let byState = tagsMemo.get(machine);
  if (byState === undefined) {
    byState = new Map();
    tagsMemo.set(machine, byState);
  }
  let tags = byState.get(state);
  if (tags === undefined) {
    tags = machine.resolveState({ value: stringToStateValue(state), context: {} }).tags as ReadonlySet<string>;
    byState.set(state, tags);
  }
  return tags;
}

/** The initial state of a lifecycle machine, as a dotted string. */
export function initialLifecycleState(machine: AnyStateMachine): string {
  const snapshot = machine.resolveState({ value: machine.config.initial as string, context: {} });
  return stateValueToString(snapshot.value);
}

const statesMemo = new WeakMap<AnyStateMachine, readonly string[]>();

/** Every leaf state of a lifecycle machine, as dotted strings, in definition order. */
export function lifecycleStatesOf(machine: AnyStateMachine): readonly string[] {
  let states = statesMemo.get(machine);
  if (states === undefined) {
    const leaves: string[] = [];
    const visit = (node: { path: readonly string[]; states: Record<string, unknown> }): void => {
      const children = Object.values(node.states) as Array<{ path: readonly string[]; states: Record<string, unknown> }>;
      if (children.length === 0 && node.path.length > 0) leaves.push(node.path.join('.'));
      for (const child of children) visit(child);
    };
    visit(machine.root as unknown as { path: readonly string[]; states: Record<string, unknown> });
    states = leaves;
    statesMemo.set(machine, states);
  }
  return states;
}
