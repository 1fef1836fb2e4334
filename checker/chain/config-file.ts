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
  for (const key of budgetKeys) {
    const n = config.budgets[key] ?? 0;
    if (!Number.isInteger(n) || n < 0) problems.push(`budgets.${key} must be a whole number from 0`);
  }
  if (config.scaleWhen !== undefined && config.scaleWhen !== 'anytime' && config.scaleWhen !== 'quiescent') problems.push('scaleWhen is "anytime" or "quiescent"');
  for (const stage of config.crashable ?? []) if (!['autoscaler', 'deployment', 'replicaset', 'scheduler'].includes(stage)) problems.push(`crashable: "${stage}" is not a controller`);
  return problems;
}
