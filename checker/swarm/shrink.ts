/**
 * Reducing a failing swarm configuration (issue 22, item 1): fewer nodes, functions, scale
 * steps and faults, smaller capacities, as long as the search still finds a violation of
 * the same property within the budget. Greedy: the first smaller configuration that still
 * fails is kept, then reduced again, until none of its reductions fails.
 */
import type { CheckConfig, FaultBudgets } from '../chain/presets.js';

/** The configurations one reduction smaller than `config`, most effective first. */
export function reductionsOf(config: CheckConfig): CheckConfig[] {
  const out: CheckConfig[] = [];
  const { chain } = config;
  // Fewer nodes: drop each in turn.
  if (chain.nodes.length > 1) for (let i = 0; i < chain.nodes.length; i++) out.push({ ...config, chain: { ...chain, nodes: chain.nodes.filter((_, j) => j !== i) } });
  // Fewer functions: drop one with its scale steps.
  if (chain.functions.length > 1)
    for (const fn of chain.functions) {
      const functions = chain.functions.filter((f) => f.name !== fn.name);
      const choices = config.scaleChoices;
      out.push({
        ...config,
        chain: { ...chain, functions },
        scaleScript: config.scaleScript.filter((s) => s.function !== fn.name),
        ...(choices !== undefined ? { scaleChoices: { ...choices, functions: (choices.functions ?? chain.functions.map((f) => f.name)).filter((name) => name !== fn.name) } } : {}),
      });
    }
  // Fewer scale steps: drop each in turn; then fewer chosen requests.
  for (let i = 0; i < config.scaleScript.length; i++) out.push({ ...config, scaleScript: config.scaleScript.filter((_, j) => j !== i) });
  if (config.scaleChoices !== undefined) {
    const { scaleChoices, ...rest } = config;
    out.push(scaleChoices.steps > 1 ? { ...config, scaleChoices: { ...scaleChoices, steps: scaleChoices.steps - 1 } } : rest);
  }
  // Fewer faults: one less in total, then one less of each kind.
  const b = config.budgets;
  if (b.total > 0) out.push({ ...config, budgets: { ...b, total: b.total - 1 } });
  for (const key of Object.keys(b) as Array<keyof FaultBudgets>) {
    if (key === 'total' || (b[key] ?? 0) === 0) continue;
    out.push({ ...config, budgets: { ...b, [key]: (b[key] ?? 0) - 1 } });
  }
  // Smaller capacities and desired counts.
  chain.nodes.forEach((node, i) => {
    if (node.capacity > 1) out.push({ ...config, chain: { ...chain, nodes: chain.nodes.map((n, j) => (j === i ? { ...n, capacity: n.capacity - 1 } : n)) } });
  });
  config.scaleScript.forEach((step, i) => {
    if (step.desired > 0) out.push({ ...config, scaleScript: config.scaleScript.map((s, j) => (j === i ? { ...s, desired: s.desired - 1 } : s)) });
  });
  // Quiescent scale requests interleave with less.
  if (config.scaleWhen !== 'quiescent') out.push({ ...config, scaleWhen: 'quiescent' });
  return out.filter(isUsable);
}

/** A reduction must leave a configuration that still means something: some function, some node, faults within the total. */
function isUsable(config: CheckConfig): boolean {
  return config.chain.functions.length > 0 && config.chain.nodes.length > 0 && (config.scaleScript.length > 0 || (config.scaleChoices?.steps ?? 0) > 0);
}

/** A measure of size that every reduction lowers: shrinking always ends. */
export function sizeOf(config: CheckConfig): number {
  const faults = Object.entries(config.budgets).reduce((sum, [, n]) => sum + (n ?? 0), 0);
  const capacity = config.chain.nodes.reduce((sum, n) => sum + n.capacity, 0);
  const desired = config.scaleScript.reduce((sum, s) => sum + s.desired + 1, 0);
  const fns = config.scaleChoices?.functions?.length ?? config.chain.functions.length;
  return config.chain.nodes.length * 100 + config.chain.functions.length * 100 + desired * 10 + (config.scaleChoices?.steps ?? 0) * 10 + fns + faults * 10 + capacity * 10 + (config.scaleWhen === 'quiescent' ? 0 : 1);
}

/**
 * Greedy reduction: `fails(candidate)` runs the search; the first reduction that fails is
 * kept. At most `attemptsMax` searches.
 */
export function shrinkConfig(config: CheckConfig, fails: (candidate: CheckConfig) => boolean, attemptsMax: number): { config: CheckConfig; attempts: number; steps: number } {
  let current = config;
  let attempts = 0;
  let steps = 0;
  for (let progress = true; progress && attempts < attemptsMax; ) {
    progress = false;
    for (const candidate of reductionsOf(current)) {
      if (attempts >= attemptsMax) break;
      if (sizeOf(candidate) >= sizeOf(current)) continue;
      attempts++;
      if (fails(candidate)) {
        current = candidate;
        steps++;
        progress = true;
        break;
      }
    }
  }
  return { config: current, attempts, steps };
}
