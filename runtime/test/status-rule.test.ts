/**
 * `kd status` and the simulator judge convergence by one rule
 * (machines/stages/convergence.ts) from two observations: the simulator from its world,
 * `kd status` from the stages' Inspect answers. Over every world of simulated runs
 * (every named scenario, a few seeds, the correct protocol and known-bad variants), both
 * give the same counts per function and the same problems (but for what only one of
 * them can see), and a settled world the same verdict.
 */
import { describe, expect, it } from 'vitest';
import { convergenceProblemsOf, functionCountsOf, stagesOf, type ChainConfig, type StageId } from '../../machines/index.js';
import type { ProtocolVariant } from '../../spec/variants.js';
import { isQuiescent, observeWorld } from '../../simulator/convergence.js';
import { namedScenarios } from '../../simulator/named-scenarios.js';
import { replay, simulate } from '../../simulator/simulate.js';
import type { World } from '../../simulator/world.js';
import { observeCluster } from '../cluster/status.js';
import type { ClusterConfig } from '../config.js';
import { inspectState } from '../node/inspect.js';
import type { WireStageState } from '../wire/proto.js';

function chainOf(variant: ProtocolVariant): ChainConfig {
  return {
    functions: [
      { name: 'low', priority: 0 },
      { name: 'high', priority: 10 },
    ],
    nodes: [
      { name: 'n1', capacity: 3 },
      { name: 'n2', capacity: 3 },
    ],
    variant,
  };
}

const seenByBoth = (problem: string): boolean => !problem.startsWith('not quiescent') && !problem.startsWith('pods wait although');

/** What each stage's Inspect.GetState would answer in `world`. */
function inspectWorld(chain: ChainConfig, world: World): Map<StageId, WireStageState | null> {
  const states = new Map<StageId, WireStageState | null>();
  for (const stage of stagesOf(chain)) {
    const state = world.stages[stage];
    states.set(stage, state === undefined ? null : inspectState({ stage, chain, state, lastRejections: new Map(), function: '', omitPods: false }));
  }
  return states;
}

describe('one convergence rule for kd status and the simulator', () => {
  for (const variant of ['correct', 'no-tombstones', 'drop-tombstone-on-forward'] as const) {
    it(`${variant}: every world of every named scenario gets the same counts and problems from both observers, a settled one the same verdict`, () => {
      const chain = chainOf(variant);
      const cluster = { chain } as unknown as ClusterConfig;
      let settled = 0;
      const verdicts = new Set<boolean>();
      for (const [name, scenario] of Object.entries(namedScenarios)) {
        for (const seed of [1, 2, 3]) {
          const run = simulate({ config: chain, seed, scenario: scenario.build({ config: chain, replicas: 5 }) });
          for (const world of replay(chain, run.trace).worlds) {
            const simulated = observeWorld(chain, world);
            const inspected = observeCluster(cluster, inspectWorld(chain, world));
            const simulatedProblems = convergenceProblemsOf(simulated);
            const inspectedProblems = convergenceProblemsOf(inspected);
            const where = `${name}, seed ${seed}: simulator ${JSON.stringify(simulatedProblems)}, kd status ${JSON.stringify(inspectedProblems)}`;
            // Every world: the same counts, and the same problems but the two only one observer can see
            // (quiescence; free slots, which the Scheduler counts before the sandboxes exist).
            expect(functionCountsOf(inspected), where).toEqual(functionCountsOf(simulated));
            expect(inspectedProblems.filter(seenByBoth), where).toEqual(simulatedProblems.filter(seenByBoth));
            if (!isQuiescent(chain, world)) continue;
            settled++;
            expect(inspectedProblems.length === 0, where).toBe(simulatedProblems.length === 0);
            verdicts.add(simulatedProblems.length === 0);
          }
        }
      }
      expect(settled).toBeGreaterThan(20);
      if (variant === 'correct') expect(verdicts.has(true)).toBe(true);
    });
  }
});
