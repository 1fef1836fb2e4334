/**
 * Groups of a state's components, each interned as one dense id (TupleTable), the first
 * half of the memo keys of the state-level verdicts: 0 every stage and the sandboxes
 * (convergence), 1 the stages that hold pods and the sandboxes (invariants), 2 the
 * sandboxes (the protocol's enabled actions). Computed at most once per state.
 */
import { InvariantViolation, roleOf } from '../../machines/index.js';
import type { ChainState } from './chain-state.js';
import { idSpan, TupleTable } from './memo-tables.js';
import type { StateLayout } from './state-layout.js';

export class ComponentGroups {
  /** Per group: the table of its distinct id tuples. */
  private readonly tables: readonly TupleTable[];

  constructor(layout: StateLayout) {
    const sandboxPositions = layout.nodes.map((_, n) => layout.sandboxesAt + n);
    // The state invariants read only the stages that hold pods (links that carry pods start at the ReplicaSet or the Scheduler).
    const podStages = layout.stages.map((stage, i) => ({ stage, i })).filter(({ stage }) => roleOf(stage) === 'replicaset' || roleOf(stage) === 'scheduler' || roleOf(stage) === 'kubelet');
    this.tables = [
      new TupleTable(Int32Array.from([...layout.stages.map((_, i) => i), ...sandboxPositions])),
      new TupleTable(Int32Array.from([...podStages.map(({ i }) => i), ...sandboxPositions])),
      new TupleTable(Int32Array.from(sandboxPositions)),
    ];
  }

  /** The id of a group of a state's components (see ChainState.group0), interned, computed once per state. */
  groupOf(state: ChainState, group: 0 | 1 | 2): number {
    const known = group === 0 ? state.group0 : group === 1 ? state.group1 : state.group2;
    if (known >= 0) return known;
    const table = this.tables[group] as TupleTable;
    const id = table.idOf(state.ids);
    if (id >= idSpan) throw new InvariantViolation('more distinct component groups than the packed model\'s memo keys allow');
    if (group === 0) state.group0 = id;
    else if (group === 1) state.group1 = id;
    else state.group2 = id;
    return id;
  }
}
