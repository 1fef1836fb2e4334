/**
 * The Scheduler's ties as the model's nondeterminism (DEC-52): every enabled action whose
 * Scheduler step meets a tie (equally free nodes, equally ranked victims) is followed in
 * the action list by one action per other alternative, each carrying its digits
 * (`WorldAction.choices`, machines/core/choices.ts). The action without digits takes the
 * spec's rule, so a model with no tie lists exactly the actions it listed before.
 */
import type { StepOutcome } from '../../simulator/world.js';
import type { ActionPlans } from './action-plans.js';
import type { ChainAction, PackedAction } from './chain-actions.js';
import type { ChainState } from './chain-state.js';
import type { PackedTransitions } from './packed-transitions.js';

const noRadices: readonly number[] = Object.freeze([]);

export function isPackedAction(action: ChainAction): action is PackedAction {
  switch (action.kind) {
    case 'deliver':
    case 'deliverStale':
    case 'dropStale':
    case 'connect':
    case 'sandboxDone':
    case 'scale':
      return true;
    default:
      return false;
  }
}

export class TieChoices {
  /** The outcomes of the faults of the last state asked about (a fault is worked out once for its ties and again for its successor otherwise). */
  private outcomesOf: ChainState | null = null;
  private readonly outcomes = new Map<ChainAction, StepOutcome>();

  constructor(
    private readonly plans: ActionPlans,
    private readonly transitions: PackedTransitions,
    /** A fault taken on the state's world (`applyAction`). */
    private readonly applyFault: (state: ChainState, action: ChainAction) => StepOutcome,
  ) {}

  /** `base` with the alternatives of every tie after the action that meets it; `base` itself when no action meets one. */
  expand(state: ChainState, base: readonly ChainAction[]): readonly ChainAction[] {
    let expanded: ChainAction[] | null = null;
    for (let i = 0; i < base.length; i++) {
      const action = base[i] as ChainAction;
      const radices = this.radicesOf(state, action, undefined);
      if (radices.length === 0) {
        if (expanded !== null) expanded.push(action);
        continue;
      }
      if (expanded === null) expanded = base.slice(0, i);
      expanded.push(action);
      this.alternatives(state, action, [], radices, expanded);
    }
    return expanded ?? base;
  }

  /** A fault's outcome, worked out once per state (see `outcomes`). */
  faultOutcome(state: ChainState, action: ChainAction): StepOutcome {
    if (this.outcomesOf !== state) {
      this.outcomesOf = state;
      this.outcomes.clear();
    }
    let outcome = this.outcomes.get(action);
    if (outcome === undefined) {
      outcome = this.applyFault(state, action);
      this.outcomes.set(action, outcome);
    }
    return outcome;
  }

  /**
   * Every alternative below `prefix` (digits fixed so far) whose digits beyond the prefix
   * are not all 0, each once: a digit d > 0 at each later tie, earlier ones at 0, then
   * recursively below it (later ties may depend on earlier picks).
   */
  private alternatives(state: ChainState, action: ChainAction, prefix: readonly number[], radices: readonly number[], out: ChainAction[]): void {
    for (let j = prefix.length; j < radices.length; j++)
      for (let d = 1; d < (radices[j] as number); d++) {
        const digits = [...prefix];
        while (digits.length < j) digits.push(0);
        digits.push(d);
        out.push(this.plans.canonical({ ...action, choices: digits }));
        this.alternatives(state, action, digits, this.radicesOf(state, action, digits), out);
      }
  }

  /**
   * The ties an action meets. A step that breaks an internal assertion meets none here:
   * the model's `next` reports it as a violation when the search takes the action.
   */
  private radicesOf(state: ChainState, action: ChainAction, digits: readonly number[] | undefined): readonly number[] {
    try {
      if (isPackedAction(action)) return this.transitions.choiceRadicesOf(state.ids, action, digits);
      return this.faultOutcome(state, digits === undefined ? action : this.plans.canonical({ ...action, choices: digits })).choiceRadices;
    } catch {
      return noRadices;
    }
  }
}
