/**
 * Swarm mode (`kd check --swarm`, issue 22, item 1): many small random configurations
 * (random-config.ts), each searched exhaustively within a budget of seconds and states;
 * the first that fails is reduced (shrink.ts) to a small configuration that still fails,
 * with its shortest counterexample. The seed and the index of each configuration are
 * printed: the same seed draws the same configurations.
 */
import type { ProtocolVariant } from '../../spec/variants.js';
import { search, type Counterexample, type SearchResult } from '../engine/search.js';
import { ChainModel } from '../chain/model.js';
import type { CheckConfig } from '../chain/presets.js';
import { randomConfig } from './random-config.js';
import { shrinkConfig } from './shrink.js';

export interface SwarmOptions {
  readonly seed: number;
  readonly configs: number;
  readonly variant: ProtocolVariant | 'correct';
  /** Per configuration: stop its search after this many seconds (it then counts as bounded). */
  readonly budgetSeconds: number;
  /** Per configuration: stop its search after this many distinct states. */
  readonly budgetStates: number;
  /** Searches the reduction may run, at most. */
  readonly shrinkAttemptsMax?: number;
  readonly onConfig?: (outcome: SwarmConfigOutcome) => void;
  readonly onShrink?: (event: { readonly attempt: number; readonly config: CheckConfig; readonly fails: boolean }) => void;
}

export interface SwarmConfigOutcome {
  readonly index: number;
  readonly config: CheckConfig;
  readonly verdict: SearchResult['verdict'];
  readonly bound: string | null;
  readonly states: number;
  readonly seconds: number;
  readonly property: string | null;
}

export interface SwarmFailure {
  /** The configuration that failed first, as drawn. */
  readonly found: SwarmConfigOutcome;
  /** The reduced configuration, which fails the same property. */
  readonly shrunk: CheckConfig;
  /** Its shortest counterexample (breadth-first). */
  readonly violation: Counterexample;
  readonly shrinkAttempts: number;
  readonly shrinkSteps: number;
}

export interface SwarmResult {
  readonly seed: number;
  readonly variant: string;
  readonly outcomes: readonly SwarmConfigOutcome[];
  readonly verified: number;
  readonly bounded: number;
  readonly failure: SwarmFailure | null;
  readonly seconds: number;
}

/** Searches for a configuration that may be cut short: verdict, and the violation if one was found. */
export function searchWithin(config: CheckConfig, budgetSeconds: number, budgetStates: number): SearchResult {
  return search(new ChainModel(config), { maxSeconds: budgetSeconds, maxStates: budgetStates });
}

/** The swarm: configurations 0..configs-1 of the seed in order, stopping at the first that fails, which is then reduced. */
export function runSwarm(options: SwarmOptions): SwarmResult {
  const started = performance.now();
  const outcomes: SwarmConfigOutcome[] = [];
  let failure: SwarmFailure | null = null;
  for (let index = 0; index < options.configs && failure === null; index++) {
    const config = randomConfig(options.seed, index, options.variant);
    const result = searchWithin(config, options.budgetSeconds, options.budgetStates);
    const outcome: SwarmConfigOutcome = {
      index,
      config,
      verdict: result.verdict,
      bound: result.bound ?? null,
      states: result.states,
      seconds: result.seconds,
      property: result.violation?.property ?? null,
    };
    outcomes.push(outcome);
    options.onConfig?.(outcome);
    if (result.violation !== null) failure = reduceFailure(outcome, result.violation, options);
  }
  return {
    seed: options.seed,
    variant: options.variant,
    outcomes,
    verified: outcomes.filter((o) => o.verdict === 'verified').length,
    bounded: outcomes.filter((o) => o.verdict === 'bounded').length,
    failure,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Reduces a failing configuration: a candidate fails when its search finds a violation of the same property. */
function reduceFailure(found: SwarmConfigOutcome, violation: Counterexample, options: SwarmOptions): SwarmFailure {
  let attempt = 0;
  const violations = new Map<CheckConfig, Counterexample>();
  const fails = (candidate: CheckConfig): boolean => {
    const result = searchWithin(candidate, options.budgetSeconds, options.budgetStates);
    const same = result.violation !== null && result.violation.property === violation.property;
    if (same && result.violation !== null) violations.set(candidate, result.violation);
    options.onShrink?.({ attempt: ++attempt, config: candidate, fails: same });
    return same;
  };
  const shrunk = shrinkConfig(found.config, fails, options.shrinkAttemptsMax ?? swarmShrinkAttemptsMax);
  const named = { ...shrunk.config, name: `${found.config.name}-shrunk`, description: `${found.config.description}, reduced` };
  return { found, shrunk: named, violation: violations.get(shrunk.config) ?? violation, shrinkAttempts: shrunk.attempts, shrinkSteps: shrunk.steps };
}

/** Searches the reduction of a failing configuration may run, by default. */
export const swarmShrinkAttemptsMax = 200;
