/**
 * Configurations with Kubelets alike (same capacity) and the Scheduler's ties explored, so
 * that symmetry reduction applies (DEC-53): small enough to search exhaustively with and
 * without it, sequentially and on worker threads.
 */
import { ciChain, ciScaleScript, type CheckConfig } from '../presets.js';

/** Two Kubelets of capacity 1, preemption, scale-down of placed pods, one Kubelet restart or node crash. */
export const pair: CheckConfig = {
  name: 'pair',
  description: 'two alike Kubelets, one node fault',
  // ci's world (two Kubelets of capacity 1, lo and hi, lo 2, hi 1, lo 1), with node faults only.
  chain: ciChain,
  scaleScript: ciScaleScript,
  budgets: { total: 1, controllerCrash: 0, kubeletRestart: 1, nodeCrash: 1, linkCut: 0, sandboxFailure: 0 },
  scaleWhen: 'quiescent',
  startSynced: true,
  ties: 'explore',
};

/** Three Kubelets, one function scaled to 2 then 1, no faults: 6 renamings. */
export const trio: CheckConfig = {
  ...pair,
  name: 'trio',
  chain: { ...pair.chain, functions: [{ name: 'lo', priority: 0 }], nodes: ['n1', 'n2', 'n3'].map((name) => ({ name, capacity: 1 })) },
  scaleScript: [
    { function: 'lo', desired: 2 },
    { function: 'lo', desired: 1 },
  ],
  budgets: { total: 0, controllerCrash: 0, kubeletRestart: 0, nodeCrash: 0, linkCut: 0, sandboxFailure: 0 },
};
