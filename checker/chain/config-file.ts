/** Loading a check configuration from a preset name or a JSON/YAML file, with clear errors. */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { chainConfigProblems, validDesired, type ChainConfig } from '../../machines/index.js';
import { isVariantName, type ProtocolVariant } from '../../spec/variants.js';
import { presetNames, presets, type CheckConfig, type FaultBudgets } from './presets.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const budgetKeys: ReadonlyArray<keyof FaultBudgets> = ['total', 'controllerCrash', 'kubeletRestart', 'nodeCrash', 'linkCut', 'sandboxFailure', 'forgedHello', 'forgedPod'];

export function loadCheckConfig(presetOrFile: string, variant: ProtocolVariant): CheckConfig {
  const preset = presets[presetOrFile];
  const config = preset ?? readConfigFile(presetOrFile);
  const withVariant: CheckConfig = { ...config, chain: { ...config.chain, variant } };
  const problems = checkConfigProblems(withVariant);
  if (problems.length > 0) throw new ConfigError(`${presetOrFile}: ${problems.join('; ')}`);
  return withVariant;
}

function readConfigFile(path: string): CheckConfig {
  if (!/\.(json|ya?ml)$/.test(path)) throw new ConfigError(`unknown preset "${path}"; choose one of ${presetNames().join(', ')}, or give a .json, .yaml or .yml file`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(`${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null) throw new ConfigError(`${path} must hold an object with chain, scaleScript and budgets`);
  const v = value as Partial<CheckConfig> & { chain?: Partial<ChainConfig> };
  return {
    name: v.name ?? path,
    description: v.description ?? `configuration file ${path}`,
    chain: {
      functions: v.chain?.functions ?? [],
      nodes: v.chain?.nodes ?? [],
      variant: 'correct',
      ...(v.chain?.creationWindowPodsMax !== undefined ? { creationWindowPodsMax: v.chain.creationWindowPodsMax } : {}),
    },
    scaleScript: v.scaleScript ?? [],
    budgets: { total: 0, controllerCrash: 0, kubeletRestart: 0, nodeCrash: 0, linkCut: 0, sandboxFailure: 0, ...(v.budgets ?? {}) },
    ...(v.startSynced !== undefined ? { startSynced: v.startSynced } : {}),
    ...(v.scaleWhen !== undefined ? { scaleWhen: v.scaleWhen } : {}),
    ...(v.ties !== undefined ? { ties: v.ties } : {}),
    ...(v.symmetry !== undefined ? { symmetry: v.symmetry } : {}),
    ...(v.abstraction !== undefined ? { abstraction: v.abstraction } : {}),
    ...(v.scaleChoices !== undefined ? { scaleChoices: v.scaleChoices } : {}),
    ...(v.crashable !== undefined ? { crashable: v.crashable } : {}),
    ...(v.maxStates !== undefined ? { maxStates: v.maxStates } : {}),
    ...(v.maxDepth !== undefined ? { maxDepth: v.maxDepth } : {}),
    ...(v.maxSeconds !== undefined ? { maxSeconds: v.maxSeconds } : {}),
  };
}

export function checkConfigProblems(config: CheckConfig): string[] {
  const problems = chainConfigProblems(config.chain);
  if (!isVariantName(config.chain.variant) && config.chain.variant !== 'correct') problems.push(`unknown variant ${config.chain.variant}`);
  const functions = new Set(config.chain.functions.map((f) => f.name));
  config.scaleScript.forEach((s, i) => {
    if (!functions.has(s.function)) problems.push(`scaleScript[${i}]: function "${s.function}" is not in chain.functions`);
    if (!validDesired(s.desired)) problems.push(`scaleScript[${i}]: desired must be a whole number from 0`);
  });
  problems.push(...scaleChoicesProblems(config, functions));
  for (const key of budgetKeys) {
    const n = config.budgets[key] ?? 0;
    if (!Number.isInteger(n) || n < 0) problems.push(`budgets.${key} must be a whole number from 0`);
  }
  if (config.scaleWhen !== undefined && config.scaleWhen !== 'anytime' && config.scaleWhen !== 'quiescent') problems.push('scaleWhen is "anytime" or "quiescent"');
  if (config.ties !== undefined && config.ties !== 'explore' && config.ties !== 'spec') problems.push('ties is "explore" or "spec"');
  if (config.symmetry !== undefined && typeof config.symmetry !== 'boolean') problems.push('symmetry is true or false');
  if (config.abstraction !== undefined && typeof config.abstraction !== 'boolean') problems.push('abstraction is true or false');
  for (const stage of config.crashable ?? []) if (!['autoscaler', 'deployment', 'replicaset', 'scheduler'].includes(stage)) problems.push(`crashable: "${stage}" is not a controller`);
  return problems;
}

/** How many scale requests `scaleChoices` may offer at once, at most: more makes every state branch too widely to search. */
export const scaleChoicesOfferedMax = 16;

function scaleChoicesProblems(config: CheckConfig, functions: ReadonlySet<string>): string[] {
  const choices = config.scaleChoices;
  if (choices === undefined) return [];
  if (typeof choices !== 'object' || choices === null) return ['scaleChoices must be an object with range and steps'];
  const problems: string[] = [];
  const range = choices.range as unknown;
  const [low, high] = Array.isArray(range) ? (range as unknown[]) : [];
  if (!Array.isArray(range) || range.length !== 2 || !validDesired(low as number) || !validDesired(high as number) || (low as number) > (high as number))
    problems.push('scaleChoices.range must be [low, high]: two whole numbers from 0, low <= high');
  if (!Number.isInteger(choices.steps) || choices.steps < 0) problems.push('scaleChoices.steps must be a whole number from 0');
  const chosen = choices.functions ?? [...functions];
  if (!Array.isArray(chosen)) problems.push('scaleChoices.functions must be a list of function names');
  else for (const fn of chosen) if (!functions.has(fn)) problems.push(`scaleChoices.functions: "${String(fn)}" is not in chain.functions`);
  if (problems.length === 0 && Array.isArray(chosen) && chosen.length * ((high as number) - (low as number) + 1) > scaleChoicesOfferedMax)
    problems.push(`scaleChoices offers ${chosen.length * ((high as number) - (low as number) + 1)} scale requests at once, above scaleChoicesOfferedMax (${scaleChoicesOfferedMax}): narrow the range or the functions`);
  return problems;
}
