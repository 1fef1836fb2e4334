/**
 * Lifecycle coverage: every state node of every lifecycle machine is reachable from
 * its initial state, and every transition declared in its config (source state node,
 * event) is taken by some path, using the catalog's event list and `stepLifecycle`
 * (the same stepping the stages use). A second walk with `xstate/graph`
 * (`getShortestPaths`) cross-checks the reachable state values.
 *
 * Writes the report to out/machine-coverage.json (out/ is git-ignored).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { AnyStateMachine } from 'xstate';
import { getShortestPaths, getStateNodes } from 'xstate/graph';
import { variantNames, type ProtocolVariant } from '../../spec/variants.js';
import { lifecycleCatalog, correctMachines, type LifecycleMachineEntry } from '../catalog.js';
import { initialLifecycleState, stateValueToString, stepLifecycle } from '../core/lifecycle.js';
import { machinesFor } from '../stages/machine-set.js';

type AnyStateNode = AnyStateMachine['root'];

/** A transition as declared in a machine config: the state node that declares it and its event. */
interface DeclaredTransition {
  readonly source: string;
  readonly event: string;
}

interface Walk {
  /** Atomic states reached, each with the shortest event path from the initial state. */
  readonly paths: ReadonlyMap<string, readonly string[]>;
  /** Declared transitions taken, keyed `source|event`, with a path that takes them. */
  readonly taken: ReadonlyMap<string, readonly string[]>;
  /** Action names emitted by some step. */
  readonly actions: ReadonlySet<string>;
  /** Steps whose outcome disagrees with the declared config (should be none). */
  readonly mismatches: readonly string[];
}

interface MachineCoverage {
  readonly key: string;
  readonly title: string;
  readonly variant: ProtocolVariant;
  readonly statesReached: number;
  readonly statesTotal: number;
  readonly statesUnreached: readonly string[];
  readonly transitionsTaken: number;
  readonly transitionsTotal: number;
  readonly transitionsUntaken: readonly string[];
  readonly actionsEmitted: number;
  readonly actionsTotal: number;
  readonly actionsUnemitted: readonly string[];
}

function allStateNodes(machine: AnyStateMachine): AnyStateNode[] {
  return getStateNodes(machine.root);
}

function declaredTransitions(machine: AnyStateMachine): DeclaredTransition[] {
  const declared: DeclaredTransition[] = [];
  for (const node of [machine.root, ...allStateNodes(machine)])
    for (const event of node.transitions.keys()) declared.push({ source: node.id, event });
  return declared;
}

function transitionKey(t: DeclaredTransition): string {
  return `${t.source}|${t.event}`;
}

/** The state node of a dotted lifecycle state (`terminating.sent`). */
function nodeOf(machine: AnyStateMachine, state: string): AnyStateNode {
  return machine.getStateNodeById(`${machine.id}.${state}`);
}

/** The declared transition XState selects for `event` in atomic `state`: the deepest declaring node (no guards here). */
function selectedTransition(machine: AnyStateMachine, state: string, event: string): DeclaredTransition | null {
  for (let node: AnyStateNode | undefined = nodeOf(machine, state); node !== undefined; node = node.parent)
    if (node.transitions.has(event)) return { source: node.id, event };
  return null;
}

function walk(machine: AnyStateMachine, events: readonly string[]): Walk {
  const initial = initialLifecycleState(machine);
  const paths = new Map<string, readonly string[]>([[initial, []]]);
  const taken = new Map<string, readonly string[]>();
  const actions = new Set<string>();
  const mismatches: string[] = [];
  const queue = [initial];
  for (let at = 0; at < queue.length; at++) {
    const state = queue[at] as string;
    const path = paths.get(state) ?? [];
    for (const event of events) {
      const step = stepLifecycle(machine, state, event);
      const selected = selectedTransition(machine, state, event);
      if (selected === null) {
        if (step.changed || step.actions.length > 0) mismatches.push(`${state} --${event}--> ${step.state}: no declared transition, yet the step changed`);
        continue;
      }
      if (!taken.has(transitionKey(selected))) taken.set(transitionKey(selected), [...path, event]);
      for (const action of step.actions) actions.add(action);
      if (!paths.has(step.state)) {
        paths.set(step.state, [...path, event]);
        queue.push(step.state);
      }
    }
  }
  return { paths, taken, actions, mismatches };
}

/** State node ids reached: each reached atomic state and its ancestors (the root excluded). */
function reachedNodeIds(machine: AnyStateMachine, reached: Iterable<string>): Set<string> {
  const ids = new Set<string>();
  for (const state of reached)
    for (let node: AnyStateNode | undefined = nodeOf(machine, state); node !== undefined && node !== machine.root; node = node.parent) ids.add(node.id);
  return ids;
}

function coverageOf(entry: LifecycleMachineEntry, machine: AnyStateMachine, variant: ProtocolVariant): MachineCoverage & { walk: Walk } {
  const result = walk(machine, entry.events);
  const reached = reachedNodeIds(machine, result.paths.keys());
  const stateIds = allStateNodes(machine).map((n) => n.id);
  const declared = declaredTransitions(machine).map(transitionKey);
  return {
    key: entry.key,
    title: entry.title,
    variant,
    statesReached: stateIds.filter((id) => reached.has(id)).length,
    statesTotal: stateIds.length,
    statesUnreached: stateIds.filter((id) => !reached.has(id)),
    transitionsTaken: declared.filter((k) => result.taken.has(k)).length,
    transitionsTotal: declared.length,
    transitionsUntaken: declared.filter((k) => !result.taken.has(k)),
    actionsEmitted: entry.actions.filter((a) => result.actions.has(a)).length,
    actionsTotal: entry.actions.length,
    actionsUnemitted: entry.actions.filter((a) => !result.actions.has(a)),
    walk: result,
  };
}

function percent(part: number, total: number): string {
  return total === 0 ? '100%' : `${Math.round((part / total) * 1000) / 10}%`;
}

/**
 * States a variant makes unreachable by design: under `cold-handshake` a cold stage
 * answers at once, so `helloDeferred` has no incoming transition.
 */
const unreachableByDesign: Partial<Record<ProtocolVariant, readonly string[]>> = {
  'cold-handshake': ['downstream-session.helloDeferred'],
};

describe('lifecycle machines (correct protocol): every state and every declared transition is reachable', () => {
  const machines = correctMachines();

  for (const entry of lifecycleCatalog) {
    const machine = machines[entry.key] as AnyStateMachine;

    describe(entry.title, () => {
      it('declares only events of the catalog, and the catalog lists no event the machine ignores everywhere', () => {
        const declaredEvents = new Set(declaredTransitions(machine).map((t) => t.event));
        expect([...declaredEvents].filter((e) => !entry.events.includes(e))).toEqual([]);
        expect(entry.events.filter((e) => !declaredEvents.has(e))).toEqual([]);
      });

      it('reaches every state node from the initial state', () => {
        const coverage = coverageOf(entry, machine, 'correct');
        expect(coverage.statesUnreached).toEqual([]);
        expect(coverage.walk.mismatches).toEqual([]);
      });

      it('takes every declared transition (source state node, event) on some path', () => {
        const coverage = coverageOf(entry, machine, 'correct');
        expect(coverage.transitionsUntaken).toEqual([]);
      });

      it('emits every action the catalog lists', () => {
        const coverage = coverageOf(entry, machine, 'correct');
        expect(coverage.actionsUnemitted).toEqual([]);
      });

      it('agrees with xstate/graph getShortestPaths on the reachable state values', () => {
        const paths = getShortestPaths(machine, { events: entry.events.map((type) => ({ type })) as never });
        const viaGraph = new Set(paths.map((p) => stateValueToString(p.state.value)));
        const viaSteps = new Set(coverageOf(entry, machine, 'correct').walk.paths.keys());
        expect([...viaGraph].sort()).toEqual([...viaSteps].sort());
      });
    });
  }
});

describe('lifecycle machines of every known-bad variant: state reachability', () => {
  for (const variant of variantNames) {
    it(`${variant}: every state node is reachable (except those the variant removes by design)`, () => {
      const machines = machinesFor(variant);
      const unreached = lifecycleCatalog.flatMap((entry) => coverageOf(entry, machines[entry.key] as AnyStateMachine, variant).statesUnreached);
      expect(unreached).toEqual([...(unreachableByDesign[variant] ?? [])]);
    });
  }
});

describe('coverage report', () => {
  it('computes, prints and writes out/machine-coverage.json, at 100% for the correct protocol', () => {
    const machines = correctMachines();
    const correct = lifecycleCatalog.map((entry) => coverageOf(entry, machines[entry.key] as AnyStateMachine, 'correct'));
    const variantRows = variantNames.map((variant) => {
      const set = machinesFor(variant);
      return {
        variant,
        unreachableByDesign: [...(unreachableByDesign[variant] ?? [])],
        machines: lifecycleCatalog.map((entry) => {
          const c = coverageOf(entry, set[entry.key] as AnyStateMachine, variant);
          return {
            key: c.key,
            statesReached: c.statesReached,
            statesTotal: c.statesTotal,
            statesUnreached: c.statesUnreached,
            transitionsTaken: c.transitionsTaken,
            transitionsTotal: c.transitionsTotal,
          };
        }),
      };
    });

    const strip = ({ walk: w, ...rest }: MachineCoverage & { walk: Walk }) => ({
      ...rest,
      shortestPaths: Object.fromEntries([...w.paths].sort(([a], [b]) => (a < b ? -1 : 1))),
    });
    const report = { generatedBy: 'machines/test/coverage.test.ts', correct: correct.map(strip), variants: variantRows };

    const rows = correct.map((c) => ({
      machine: c.key,
      states: `${c.statesReached}/${c.statesTotal} (${percent(c.statesReached, c.statesTotal)})`,
      transitions: `${c.transitionsTaken}/${c.transitionsTotal} (${percent(c.transitionsTaken, c.transitionsTotal)})`,
      actions: `${c.actionsEmitted}/${c.actionsTotal}`,
    }));
    console.log('Lifecycle machine coverage (correct protocol)');
    console.table(rows);
    console.log(
      'Variants, states reached / total per machine:\n' +
        variantRows.map((v) => `  ${v.variant.padEnd(26)} ${v.machines.map((m) => `${m.key} ${m.statesReached}/${m.statesTotal}`).join(', ')}`).join('\n'),
    );

    const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
    const outFile = resolve(repoRoot, 'out', 'machine-coverage.json');
    mkdirSync(dirname(outFile), { recursive: true });
    writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`);

    for (const c of correct) {
      expect(c.statesReached, `${c.key} states`).toBe(c.statesTotal);
      expect(c.transitionsTaken, `${c.key} transitions`).toBe(c.transitionsTotal);
    }
  });
});
