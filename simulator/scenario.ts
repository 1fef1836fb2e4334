/** Scenarios: what the environment does to a simulated chain, step by step. */
import type { LinkId, StageId } from '../machines/index.js';

export type ScenarioStep =
  | { readonly op: 'scale'; readonly function: string; readonly desired: number }
  | { readonly op: 'crash'; readonly stage: StageId }
  | { readonly op: 'nodeCrash'; readonly node: string }
  | { readonly op: 'cut'; readonly link: LinkId }
  /** Random protocol steps: `steps` of them, or until quiescent when omitted. */
  | { readonly op: 'run'; readonly steps?: number };

export type Scenario = readonly ScenarioStep[];

export function describeStep(step: ScenarioStep): string {
  switch (step.op) {
    case 'scale':
      return `scale ${step.function} to ${step.desired}`;
    case 'crash':
      return `crash ${step.stage}`;
    case 'nodeCrash':
      return `crash node ${step.node}`;
    case 'cut':
      return `cut ${step.link}`;
    case 'run':
      return step.steps === undefined ? 'run until quiescent' : `run ${step.steps} steps`;
  }
}
