/**
 * The deterministic simulator: the whole chain in one process, seeded random delivery
 * order, faults from a scenario. It drives the machines only through world.ts.
 */
import { assertChainConfig, InvariantViolation, type ChainConfig } from '../machines/index.js';
import { violationOfAssertion } from './assertion-properties.js';
import { convergenceProblems, functionStatus, isQuiescent, type FunctionStatus } from './convergence.js';
import type { Violation } from './ghost.js';
import { checkInvariants } from './invariants.js';
import { SeededRandom } from './random.js';
import { describeStep, type Scenario, type ScenarioStep } from './scenario.js';
import { applyAction, initialWorld, protocolActions, type StepOutcome, type World, type WorldAction } from './world.js';

/** Random steps allowed for one `run` until quiescence before the run is declared stuck. */
export const runStepsMax = 200_000;

export interface SimulationOptions {
  readonly config: ChainConfig;
  readonly seed: number;
  readonly scenario: Scenario;
  /** Called with progress lines (phase changes and periodic cache summaries). */
  readonly onProgress?: (event: ProgressEvent) => void;
  /** Steps between periodic progress events. */
  readonly progressEverySteps?: number;
}

export type ProgressEvent =
  | { readonly kind: 'phase'; readonly step: number; readonly description: string; readonly world: World }
  | { readonly kind: 'tick'; readonly step: number; readonly world: World };

export interface SimulationResult {
  readonly seed: number;
  readonly steps: number;
  readonly world: World;
  /** Every action taken, in order: replaying them from the initial world gives the same run. */
  readonly trace: readonly WorldAction[];
  /** The first violation found (the run stops there), or null. */
  readonly violation: (Violation & { readonly step: number; readonly action: WorldAction }) | null;
  readonly converged: boolean;
  readonly problems: readonly string[];
  readonly functions: readonly FunctionStatus[];
}

/**
 * `applyAction`, with an assertion that fails in the step (a machine's or the world's) as a
 * violation of the property it states (DEC-50): the run stops there with the step and its
 * action, as for any other violation, and the world is left as it was before the step.
 */
function applyChecked(config: ChainConfig, world: World, action: WorldAction): StepOutcome {
  try {
    return applyAction(config, world, action);
  } catch (error) {
    if (!(error instanceof InvariantViolation)) throw error;
    return { world, violations: [violationOfAssertion(error, `the step ${JSON.stringify(action)}`)], choiceRadices: [] };
  }
}

class Run {
  world: World;
  steps = 0;
  readonly trace: WorldAction[] = [];
  violation: SimulationResult['violation'] = null;
  readonly random: SeededRandom;

  constructor(readonly options: SimulationOptions) {
    this.world = initialWorld(options.config);
    this.random = new SeededRandom(options.seed);
  }

  act(action: WorldAction): void {
    const outcome = applyChecked(this.options.config, this.world, action);
    this.world = outcome.world;
    this.steps++;
    this.trace.push(action);
    const found = [...outcome.violations, ...checkInvariants(this.options.config, this.world)];
    const first = found[0];
    if (first !== undefined && this.violation === null) this.violation = { ...first, step: this.steps, action };
    const every = this.options.progressEverySteps ?? 0;
    if (every > 0 && this.steps % every === 0) this.options.onProgress?.({ kind: 'tick', step: this.steps, world: this.world });
  }

  /** One random protocol step; stale messages only once nothing else is left. Returns false when quiescent. */
  randomStep(): boolean {
    const actions = protocolActions(this.options.config, this.world);
    if (actions.length === 0) return false;
    const isStale = (a: WorldAction) => a.kind === 'deliverStale' || a.kind === 'dropStale';
    const live: WorldAction[] = actions.filter((a) => !isStale(a));
    // Late delivery: a stale message is occasionally delivered while the new session runs.
    const useStale = live.length === 0 || (actions.length > live.length && this.random.next() < 0.1);
    this.act(this.random.pick(useStale ? actions.filter(isStale) : live));
    return true;
  }

  runScenarioStep(step: ScenarioStep): void {
    this.options.onProgress?.({ kind: 'phase', step: this.steps, description: describeStep(step), world: this.world });
    switch (step.op) {
      case 'scale':
        return this.act({ kind: 'scale', function: step.function, desired: step.desired });
      case 'crash':
        return this.act({ kind: 'crash', stage: step.stage });
      case 'nodeCrash':
        return this.act({ kind: 'nodeCrash', node: step.node });
      case 'cut':
        return this.act({ kind: 'cut', link: step.link });
      case 'run': {
        const limit = step.steps ?? runStepsMax;
        for (let i = 0; i < limit && this.violation === null; i++) if (!this.randomStep()) break;
        return;
      }
    }
  }
}

export function simulate(options: SimulationOptions): SimulationResult {
  assertChainConfig(options.config);
  const run = new Run(options);
  for (const step of options.scenario) {
    if (run.violation !== null) break;
    run.runScenarioStep(step);
  }
  if (run.violation === null) run.runScenarioStep({ op: 'run' });
  const problems = run.violation === null ? convergenceProblems(options.config, run.world) : [];
  return {
    seed: options.seed,
    steps: run.steps,
    world: run.world,
    trace: run.trace,
    violation: run.violation,
    converged: run.violation === null && problems.length === 0 && isQuiescent(options.config, run.world),
    problems,
    functions: functionStatus(options.config, run.world),
  };
}

/** Re-executes a recorded trace step by step; returns the world after each step and any violation. */
export function replay(config: ChainConfig, trace: readonly WorldAction[]): { worlds: World[]; violations: Array<Violation & { step: number }> } {
  let world = initialWorld(config);
  const worlds = [world];
  const violations: Array<Violation & { step: number }> = [];
  trace.forEach((action, i) => {
    const outcome = applyChecked(config, world, action);
    world = outcome.world;
    worlds.push(world);
    for (const v of [...outcome.violations, ...checkInvariants(config, world)]) violations.push({ ...v, step: i + 1 });
  });
  return { worlds, violations };
}
