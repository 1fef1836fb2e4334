/**
 * The chain model's actions (the simulator's `WorldAction`) and what is fixed per action,
 * whatever the state: its one-line description, the fault budget it spends, its fairness
 * class. Pure functions of the action, shared by the model, its plans and traces.
 */
import { match } from 'ts-pattern';
import { roleOf } from '../../machines/index.js';
import type { WorldAction } from '../../simulator/world.js';
import type { FaultBudgets } from './presets.js';

export type ChainAction = WorldAction;

/** The actions taken on the ids of a packed state (packed-transitions.ts); faults take `applyAction` on the world. */
export type PackedAction = Extract<WorldAction, { kind: 'deliver' | 'deliverStale' | 'dropStale' | 'connect' | 'sandboxDone' | 'scale' }>;

export function describeAction(action: WorldAction): string {
  const text = describeKind(action);
  return action.choices === undefined ? text : `${text} (tie alternative ${action.choices.join('.')})`;
}

function describeKind(action: WorldAction): string {
  return match(action)
    .with({ kind: 'deliver' }, (a) => `deliver ${a.direction} ${a.link}`)
    .with({ kind: 'deliverStale' }, (a) => `deliver stale ${a.direction} ${a.link}`)
    .with({ kind: 'dropStale' }, (a) => `drop stale ${a.direction} ${a.link}`)
    .with({ kind: 'connect' }, (a) => `connect ${a.link}`)
    .with({ kind: 'sandboxDone' }, (a) => `sandbox ${a.pod} on ${a.node} ${a.outcome}`)
    .with({ kind: 'scale' }, (a) => `scale ${a.function} to ${a.desired}`)
    .with({ kind: 'cut' }, (a) => `cut ${a.link}`)
    .with({ kind: 'crash' }, (a) => `crash ${a.stage}`)
    .with({ kind: 'nodeCrash' }, (a) => `crash node ${a.node}`)
    .with({ kind: 'forgeHello' }, (a) => `forged hello on ${a.link}, then its stream closed`)
    .with({ kind: 'forgePod' }, (a) => `forged pod provisioned to kubelet:${a.node} by an impersonated Scheduler`)
    .exhaustive();
}

/** The fault budget an action spends, or null. */
export function budgetKind(action: WorldAction): keyof FaultBudgets | null {
  switch (action.kind) {
    case 'crash':
      return roleOf(action.stage) === 'kubelet' ? 'kubeletRestart' : 'controllerCrash';
    case 'nodeCrash':
      return 'nodeCrash';
    case 'cut':
      return 'linkCut';
    case 'forgeHello':
      return 'forgedHello';
    case 'forgePod':
      return 'forgedPod';
    case 'sandboxDone':
      return action.outcome === 'failed' ? 'sandboxFailure' : null;
    default:
      return null;
  }
}

/** The fairness class of an action (see Model.fairness), worked out once per action object by its plan (action-plans.ts). */
export function fairnessClass(action: WorldAction): string | null {
  switch (action.kind) {
    case 'deliver':
      return `deliver ${action.direction} ${action.link}`;
    case 'deliverStale':
    case 'dropStale':
      return `stale ${action.direction} ${action.link}`;
    case 'connect':
      return `connect ${action.link}`;
    case 'sandboxDone':
      return action.outcome === 'failed' ? null : `sandbox ${action.node} ${action.pod}`;
    default:
      return null;
  }
}
