/**
 * The chain's `sometimes` properties (SOMETIMES-* in spec/): reachability checks, so that
 * a pass is not vacuous. Written against chain states and actions only; the model passes
 * memoized forms of convergence and of stage tests (state-verdicts.ts).
 */
import { podCacheOf, serverSide, stagesOf, stateIsTombstone, type StageId, type StageState } from '../../machines/index.js';
import { isConverged } from '../../simulator/convergence.js';
import type { SometimesProperty } from '../engine/model.js';
import type { ChainAction } from './chain-actions.js';
import type { ChainState } from './chain-state.js';
import type { CheckConfig } from './presets.js';

function anyTombstone(state: ChainState, stage: StageId): boolean {
  return [...podCacheOf(state.stage(stage)).entries()].some((e) => stateIsTombstone(e.lifecycle));
}

/** A test of one stage's state, as a test of chain states (see StateVerdicts.stageTest). */
export type StageTest = (stage: StageId, test: (state: StageState) => boolean) => (s: ChainState) => boolean;

const unmemoizedStageTest: StageTest = (stage, test) => (s) => test(s.stage(stage));

/**
 * Reachability checks, so that a pass is not vacuous: each should be covered by a run.
 * `converged` may be a memoized form of `isConverged` (the model's goal), `stageTest` a
 * memoized form of testing a stage's state (they are checked on every transition until covered).
 */
export function chainSometimes(
  check: CheckConfig,
  converged: (s: ChainState) => boolean = (s) => isConverged(check.chain, s.world),
  stageTest: StageTest = unmemoizedStageTest,
): readonly SometimesProperty<ChainState, ChainAction>[] {
  const stages = stagesOf(check.chain);
  const schedulerPreempted = stageTest('scheduler', (scheduler) => [...podCacheOf(scheduler).entries()].some((e) => stateIsTombstone(e.lifecycle) && e.origin === 'scheduler'));
  const helloDeferred = stages.map((st) => stageTest(st, (state) => serverSide(state)?.session === 'helloDeferred'));
  return [
    {
      id: 'SOMETIMES-PREEMPTION',
      description: 'the Scheduler preempted a pod',
      holds: schedulerPreempted,
    },
    {
      id: 'SOMETIMES-TOMBSTONE-ACROSS-CRASH',
      description: 'a tombstone was held by a stage right after another stage crashed',
      holds: (s, a) => (a.kind === 'crash' || a.kind === 'nodeCrash' ? ['replicaset', 'scheduler'].some((st) => anyTombstone(s, st)) : false),
    },
    {
      id: 'SOMETIMES-STALE-DELIVERED',
      description: 'a message of an ended session arrived late (and had to be fenced)',
      holds: (_s, a) => a.kind === 'deliverStale',
    },
    {
      id: 'SOMETIMES-SCALE-DOWN-DONE',
      description: 'a termination completed: a sandbox was killed',
      holds: (_s, a) => a.kind === 'sandboxDone' && a.outcome === 'killed',
    },
    {
      id: 'SOMETIMES-DEFERRED-HELLO',
      description: 'a restarted stage deferred its upstream hello while cold',
      holds: (s) => helloDeferred.some((deferred) => deferred(s)),
    },
    {
      id: 'SOMETIMES-CONVERGED-AFTER-FAULT',
      description: 'the chain converged after a fault',
      holds: (s) => s.budgets.total < check.budgets.total && converged(s),
    },
  ];
}
