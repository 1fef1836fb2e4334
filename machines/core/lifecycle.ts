/**
 * Stepping a lifecycle machine. Lifecycle machines (pods, sessions, scale entries)
 * have no context: their state is their state value, kept in the stage state as a
 * dotted string (`terminating.sent`). Their actions are names that the stage turns
 * into effects with the data of the entry. Because a step depends only on
 * (machine, state, event type), it is memoized: XState runs once per distinct step.
 *
 * The types stay to the edge: a `LifecycleMachine<S, E, A>` carries its states, events
 * and actions as types (checked against the XState definition when it is made), so a
 * stage holds `S`, steps with `E` and switches over `A`; a switch ending in
 * `unreachable` fails to compile when the machine gains an action the stage ignores.
 */
import { transition, type AnyStateMachine, type StateValue } from 'xstate';
import { assert } from './assert.js';

declare const lifecycleTypes: unique symbol;

/** An XState lifecycle machine whose states (dotted leaves), events and actions are known as types. */
export type LifecycleMachine<S extends string, E extends string, A extends string> = AnyStateMachine & {
  readonly [lifecycleTypes]?: { readonly states: S; readonly events: E; readonly actions: A };
};

/** The states, events and actions of a `LifecycleMachine`. */
export type LifecycleStateOf<M> = M extends LifecycleMachine<infer S, string, string> ? S : never;
export type LifecycleEventOf<M> = M extends LifecycleMachine<string, infer E, string> ? E : never;
export type LifecycleActionOf<M> = M extends LifecycleMachine<string, string, infer A> ? A : never;

export interface LifecycleStep<S extends string = string, A extends string = string> {
  readonly state: S;
  readonly actions: readonly A[];
  /** False when no transition was enabled: the same state, no action. */
  readonly changed: boolean;
}

/**
 * The machine with its declared states, events and actions as types. Checks that the
 * declared states are exactly its leaf states and the declared actions exactly the
 * actions it implements, so that the types cannot drift from the definition.
 */
export function typedLifecycle<const S extends string, const E extends string, const A extends string>(
  machine: AnyStateMachine,
  declared: { readonly states: readonly S[]; readonly events: readonly E[]; readonly actions: readonly A[] },
): LifecycleMachine<S, E, A> {
  const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && [...a].sort().join('|') === [...b].sort().join('|');
  const leaves = lifecycleStatesOf(machine);
  assert(sameSet(leaves, declared.states), `${machine.id}: declared states ${declared.states.join(', ')} are not its leaf states ${leaves.join(', ')}`);
  const implemented = Object.keys(machine.implementations.actions);
  assert(sameSet(implemented, declared.actions), `${machine.id}: declared actions ${declared.actions.join(', ')} are not its actions ${implemented.join(', ')}`);
  return machine as LifecycleMachine<S, E, A>;
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

export function stepLifecycle<S extends string, E extends string, A extends string>(machine: LifecycleMachine<S, E, A>, state: NoInfer<S>, eventType: NoInfer<E>): LifecycleStep<S, A> {
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
  if (cached !== undefined) return cached as LifecycleStep<S, A>;
  const snapshot = machine.resolveState({ value: stringToStateValue(state), context: {} });
  const [next, actions] = transition(machine, snapshot, { type: eventType });
  const step: LifecycleStep<S, A> = {
    state: stateValueToString(next.value) as S,
    actions: actions.map((action) => action.type as A),
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
export function initialLifecycleState<S extends string>(machine: LifecycleMachine<S, string, string>): S {
  const snapshot = machine.resolveState({ value: machine.config.initial as string, context: {} });
  return stateValueToString(snapshot.value) as S;
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
