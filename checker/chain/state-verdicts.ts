/**
 * The verdicts the search asks of every state, memoized by the ids of exactly the
 * components they read: the state invariants (simulator/invariants.ts), convergence
 * (the liveness goal, simulator/convergence.ts) and tests of one stage's state (for the
 * `sometimes` properties). `debugChecks` recomputes each every time and fails on a difference.
 */
import { InvariantViolation, type ChainConfig, type StageId, type StageState } from '../../machines/index.js';
import { isConverged } from '../../simulator/convergence.js';
import type { Violation } from '../../simulator/ghost.js';
import { checkInvariants } from '../../simulator/invariants.js';
import type { ChainState } from './chain-state.js';
import type { ComponentGroups } from './component-groups.js';
import { growBytes, PairMemo } from './memo-tables.js';
import type { CheckConfig } from './presets.js';
import type { StateLayout } from './state-layout.js';
import type { WorldPacking } from './world-packing.js';

export class StateVerdicts {
  private readonly config: ChainConfig;
  /** (pod-holding group, highest desired counts id) -> the state invariants' verdict. */
  private readonly invariantsByGroup = new PairMemo<readonly Violation[]>();
  /** (group of every stage and the sandboxes, store id) -> converged. */
  private readonly goalByGroup = new PairMemo<boolean>();

  constructor(
    private readonly check: CheckConfig,
    private readonly layout: StateLayout,
    private readonly packing: WorldPacking,
    private readonly groups: ComponentGroups,
  ) {
    this.config = check.chain;
  }

  /**
   * The state invariants, memoized by the ids of what they read: the stages that hold
   * pods, every node's sandboxes and the ghost's highest desired counts.
   */
  invariants(state: ChainState): readonly Violation[] {
    const group = this.groups.groupOf(state, 1);
    const maxDesired = this.packing.maxDesiredOf[state.ids[this.layout.ghostAt] as number] as number;
    let found = this.invariantsByGroup.get(group, maxDesired);
    if (found === undefined || this.check.debugChecks === true) {
      const fresh = checkInvariants(this.config, state.world);
      if (found !== undefined && JSON.stringify(found) !== JSON.stringify(fresh)) throw new InvariantViolation('memoized invariant verdict differs from checkInvariants');
      found = fresh;
      this.invariantsByGroup.set(group, maxDesired, found);
    }
    return found;
  }

  /** Converged, memoized by what it reads once nothing is in flight: stages, sandboxes, store. */
  readonly goal = (state: ChainState): boolean => {
    const layout = this.layout;
    const ids = state.ids;
    // Cheap necessary condition first: nothing in flight in any current session.
    for (let l = 0; l < layout.links.length; l++) if (ids[layout.channelPos(l, 'down', false)] !== 0 || ids[layout.channelPos(l, 'up', false)] !== 0) return false;
    const group = this.groups.groupOf(state, 0);
    const store = ids[layout.storeAt] as number;
    let converged = this.goalByGroup.get(group, store);
    if (converged === undefined || this.check.debugChecks === true) {
      const fresh = isConverged(this.config, state.world);
      if (converged !== undefined && converged !== fresh) throw new InvariantViolation('memoized convergence differs from isConverged');
      converged = fresh;
      this.goalByGroup.set(group, store, converged);
    }
    return converged;
  };

  /** `test` of a stage's state as a test of chain states, memoized by the stage's component id. */
  stageTest(stage: StageId, test: (state: StageState) => boolean): (s: ChainState) => boolean {
    const pos = this.layout.stagePosOf(stage);
    const values = this.packing.parts.values;
    /** Per stage id: 0 not yet tested, 1 false, 2 true. */
    let verdicts: Uint8Array = new Uint8Array(1024);
    return (s) => {
      const stageId = s.ids[pos] as number;
      if (stageId >= verdicts.length) verdicts = growBytes(verdicts, stageId);
      let verdict = verdicts[stageId] as number;
      if (verdict === 0 || this.check.debugChecks === true) {
        const fresh = test(values[stageId] as StageState) ? 2 : 1;
        if (verdict !== 0 && verdict !== fresh) throw new InvariantViolation(`memoized test of ${stage} differs`);
        verdict = fresh;
        verdicts[stageId] = verdict;
      }
      return verdict === 2;
    };
  }
}
