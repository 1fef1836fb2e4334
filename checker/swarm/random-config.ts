/**
 * Swarm mode's worlds (issue 22, item 1): small random configurations of the chain, each
 * drawn from its own seed so that one can be drawn again alone. The ranges are named
 * limits (`swarmWorld`), defined once here.
 */
import type { ProtocolVariant } from '../../spec/variants.js';
import { SeededRandom } from '../../simulator/random.js';
import type { CheckConfig, FaultBudgets } from '../chain/presets.js';

/** The ranges swarm configurations are drawn from. */
export const swarmWorld = {
  nodesMax: 3,
  capacityMax: 2,
  functionsMax: 2,
  /**
   * Priorities a function may have: three values, so that preemption can happen and a
   * victim can be chosen between two lower priorities (INV-PREEMPTION-RULE, DEC-67).
   */
  priorities: [0, 5, 10] as const,
  scaleStepsMax: 3,
  desiredMax: 3,
  /** Faults of all kinds together, per run. */
  faultsMax: 2,
  /** Scale requests the model may choose (CheckConfig.scaleChoices), when a configuration has them. */
  chosenStepsMax: 2,
} as const;

/** Every kind of fault the model has: sandboxes that fail (also while being killed) included. */
const faultKinds: ReadonlyArray<keyof FaultBudgets> = ['controllerCrash', 'kubeletRestart', 'nodeCrash', 'linkCut', 'sandboxFailure', 'forgedHello', 'forgedPod'];

/** The seed of configuration `index` of a swarm run with `seed` (a mix of both, so that neighbours differ). */
export function configSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Configuration `index` of a swarm run with `seed`: the same for the same seed and index, always. */
export function randomConfig(seed: number, index: number, variant: ProtocolVariant | 'correct'): CheckConfig {
  const random = new SeededRandom(configSeed(seed, index));
  const nodes = Array.from({ length: random.int(1, swarmWorld.nodesMax) }, (_, i) => ({ name: `n${i + 1}`, capacity: random.int(1, swarmWorld.capacityMax) }));
  const functionCount = random.int(1, swarmWorld.functionsMax);
  const names = functionCount === 1 ? ['f'] : ['lo', 'hi'];
  const functions = names.map((name) => ({ name, priority: random.pick(swarmWorld.priorities) }));
  const scaleScript = Array.from({ length: random.int(1, swarmWorld.scaleStepsMax) }, () => ({ function: random.pick(names), desired: random.int(0, swarmWorld.desiredMax) }));
  const budgets: Record<keyof FaultBudgets, number> = { total: random.int(0, swarmWorld.faultsMax), controllerCrash: 0, kubeletRestart: 0, nodeCrash: 0, linkCut: 0, sandboxFailure: 0, forgedHello: 0, forgedPod: 0 };
  if (budgets.total > 0) {
    // One to three kinds of fault, each allowed up to the total.
    const kinds = random.int(1, 3);
    for (let k = 0; k < kinds; k++) budgets[random.pick(faultKinds)] = budgets.total;
  }
  const chosen = random.below(4) === 0 ? random.int(1, swarmWorld.chosenStepsMax) : 0;
  return {
    name: `swarm-${seed}-${index}`,
    description: `swarm configuration ${index} of seed ${seed}`,
    chain: { functions, nodes, variant },
    scaleScript,
    ...(chosen > 0 ? { scaleChoices: { range: [0, 2] as const, steps: chosen } } : {}),
    scaleWhen: random.below(2) === 0 ? 'quiescent' : 'anytime',
    budgets,
    startSynced: true,
  };
}

/** A configuration as a config file holds it (`kd check --preset FILE --variant V` reads it back). */
export function configFileOf(config: CheckConfig): Record<string, unknown> {
  const { name, description, chain, scaleScript, scaleChoices, scaleWhen, budgets, startSynced, crashable } = config;
  return {
    name,
    description,
    chain: { functions: chain.functions, nodes: chain.nodes },
    scaleScript,
    ...(scaleChoices !== undefined ? { scaleChoices } : {}),
    ...(scaleWhen !== undefined ? { scaleWhen } : {}),
    budgets,
    ...(startSynced !== undefined ? { startSynced } : {}),
    ...(crashable !== undefined ? { crashable } : {}),
  };
}

/** One line: nodes, functions, scale script and choices, faults. */
export function describeConfig(config: CheckConfig): string {
  const faults = Object.entries(config.budgets)
    .filter(([key, n]) => key !== 'total' && (n ?? 0) > 0)
    .map(([key, n]) => `${key} ${String(n)}`);
  const choices = config.scaleChoices === undefined ? '' : ` +${config.scaleChoices.steps} chosen 0..${config.scaleChoices.range[1]}`;
  return (
    `nodes ${config.chain.nodes.map((n) => `${n.name}:${n.capacity}`).join(' ')}; functions ${config.chain.functions.map((f) => `${f.name}(p${f.priority})`).join(' ')}; ` +
    `scale ${config.scaleScript.map((s) => `${s.function}->${s.desired}`).join(', ') || 'none'}${choices} (${config.scaleWhen ?? 'anytime'}); ` +
    `faults ${config.budgets.total === 0 || faults.length === 0 ? 'none' : `${config.budgets.total} of ${faults.join(', ')}`}`
  );
}
