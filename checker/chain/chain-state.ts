/**
 * A state of the chain model, packed: the vector of its components' interned ids (layout
 * in state-layout.ts), the world object built only when something asks for it. Kept apart
 * from the model so that everything that makes or reads states can import it alone.
 */
import type { StageId, StageState } from '../../machines/index.js';
import type { World } from '../../simulator/world.js';
import type { FaultBudgets } from './presets.js';

/** What a state asks of the packing that made it (world-packing.ts implements it; named here so that the two files do not import each other). */
export interface StateUnpacking {
  worldOf(ids: readonly number[]): World;
  stageOf(ids: readonly number[], stage: StageId): StageState;
}

export class ChainState {
  private materialized: World | undefined;
  /**
   * Interned ids of groups of components (-1 until asked), for memo keys: 0 every stage
   * and the sandboxes, 1 the stages that hold pods and the sandboxes, 2 the sandboxes
   * (see component-groups.ts).
   */
  group0 = -1;
  group1 = -1;
  group2 = -1;

  /**
   * The content ids of the components, in the layout's fixed order. A plain array of small
   * integers, not an Int32Array: every transition copies it, and V8 allocates a small-integer
   * array on its young heap, where a typed array this long gets an off-heap buffer that is
   * costly to allocate and to free (it was the largest single cost of a transition).
   */
  readonly ids: number[];

  constructor(
    private readonly packing: StateUnpacking,
    /** Component ids (an Int32Array when decoded from another worker thread: copied into a plain array). */
    ids: ArrayLike<number>,
    /** Scale-script steps taken. */
    readonly scaled: number,
    /** Faults left, per kind. */
    readonly budgets: FaultBudgets,
  ) {
    this.ids = Array.isArray(ids) ? (ids as number[]) : Array.from(ids);
  }

  /** The world this state stands for (built on first use, from canonical components). */
  get world(): World {
    if (this.materialized === undefined) this.materialized = this.packing.worldOf(this.ids);
    return this.materialized;
  }

  /** One stage's state, without building the world. */
  stage(stage: StageId): StageState {
    return this.packing.stageOf(this.ids, stage);
  }
}
