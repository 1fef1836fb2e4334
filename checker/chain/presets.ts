/**
 * What the checker explores: a chain configuration, a scale script and fault budgets.
 * Presets are named; a config file (JSON or YAML) has the same shape.
 */
import type { ChainConfig } from '../../machines/index.js';

export interface FaultBudgets {
  /** Faults of all kinds together. */
  readonly total: number;
  /** Crash-restarts of controllers (Autoscaler, Deployment, ReplicaSet, Scheduler), in total. */
  readonly controllerCrash: number;
  /** Kubelet process restarts (sandboxes survive). */
  readonly kubeletRestart: number;
  /** Node crashes (Kubelet and sandboxes die). */
  readonly nodeCrash: number;
  /** Link cuts (the session ends; in-flight messages become stale and may still arrive). */
  readonly linkCut: number;
  /** Sandboxes that fail to start. */
  readonly sandboxFailure: number;
  /** Hellos of an impersonated upstream far above the downstream's epoch, whose stream then closes (issue 17, defect 4). Optional: 0 when absent. */
  readonly forgedHello?: number;
  /** Pods provisioned to a Kubelet by an impersonated Scheduler, unknown above (issue 17, defect 5). Optional: 0 when absent. */
  readonly forgedPod?: number;
}

export interface ScaleChoices {
  readonly functions?: readonly string[];
  readonly range: readonly [number, number];
  readonly steps: number;
}

/** The scale requests a configuration may make: the script's in order, then `scaleChoices.steps` chosen ones. */
export function scaleStepsOf(check: Pick<CheckConfig, 'scaleScript' | 'scaleChoices'>): number {
  return check.scaleScript.length + (check.scaleChoices?.steps ?? 0);
}

export interface CheckConfig {
  readonly name: string;
  readonly description: string;
  readonly chain: ChainConfig;
  /** Desired counts the Autoscaler is asked for, in order. */
  readonly scaleScript: ReadonlyArray<{ readonly function: string; readonly desired: number }>;
  /**
   * Desired counts chosen by the model: after the scale script, `steps` more scale
   * requests, each setting any of `functions` (default: every function) to any count in
   * `range` (both ends included), at any point `scaleWhen` allows. Optional.
   */
  readonly scaleChoices?: ScaleChoices;
  /**
   * When the next scale request may come: at any point (`anytime`, the default), or only
   * once the chain is quiescent (`quiescent`: nothing in flight, no sandbox operation
   * under way), which removes the interleavings of requests with traffic.
   */
  readonly scaleWhen?: 'anytime' | 'quiescent';
  readonly budgets: FaultBudgets;
  /**
   * Start from the chain booted and every link synced (reached by taking the first enabled
   * action until quiescent) instead of exploring every order of the initial handshakes.
   * Crashes and cuts still explore handshakes in every order; `smoke` explores the boot.
   */
  readonly startSynced?: boolean;
  /**
   * The Scheduler's ties between equally free nodes and equally ranked victims (DEC-52):
   * every alternative explored (`explore`: the verdict then holds for every tie-break), or
   * only the spec's rule (`spec`, the default: first node by name, newest victim).
   * Symmetry reduction needs `explore`.
   */
  readonly ties?: 'explore' | 'spec';
  /**
   * Symmetry reduction over Kubelets of equal capacity (checker/chain/node-symmetry.ts):
   * on by default where it is sound, i.e. with `ties: 'explore'`; `false` turns it off.
   */
  readonly symmetry?: boolean;
  /**
   * Exact state abstraction (DEC-56): fault budgets kept as they constrain the future
   * (each kind's capped at the total) and the ghost without empty histories, so that
   * states that differ only there are one. On by default; `false` turns it off (the
   * verdict and the counterexamples' lengths are the same either way).
   */
  readonly abstraction?: boolean;
  /** Controllers that may crash (default: all four). */
  readonly crashable?: readonly string[];
  /**
   * Debug: check invariants and convergence in full in every state instead of memoized,
   * and re-run every packed transition through the simulator's `applyAction`, failing on
   * any difference (several times slower).
   */
  readonly debugChecks?: boolean;
  readonly maxStates?: number;
  readonly maxDepth?: number;
  readonly maxSeconds?: number;
}

const noFaults: FaultBudgets = { total: 0, controllerCrash: 0, kubeletRestart: 0, nodeCrash: 0, linkCut: 0, sandboxFailure: 0 };

/** The chain, script and faults of `ci`, shared with `ci-window` (and the checker's symmetry tests). */
export const ciChain: ChainConfig = {
  functions: [
    { name: 'lo', priority: 0 },
    { name: 'hi', priority: 10 },
  ],
  nodes: [
    { name: 'n1', capacity: 1 },
    { name: 'n2', capacity: 1 },
  ],
  variant: 'correct',
};
export const ciScaleScript: CheckConfig['scaleScript'] = [
  { function: 'lo', desired: 2 },
  { function: 'hi', desired: 1 },
  { function: 'lo', desired: 1 },
];
const ciBudgets: FaultBudgets = { ...noFaults, total: 1, controllerCrash: 1, linkCut: 1, nodeCrash: 1, forgedHello: 1, forgedPod: 1 };

/** What sets one of the wider worlds apart; the rest is shared (widerWorld). */
interface WiderWorld {
  readonly name: string;
  readonly description: string;
  /** One Kubelet per entry, n1, n2, ..., of that capacity. */
  readonly capacities: readonly number[];
  /** The scale script of the one function `f` (priority 0), in order. */
  readonly desired: readonly number[];
  readonly budgets: FaultBudgets;
  readonly scaleChoices?: ScaleChoices;
  /** Default `quiescent`. */
  readonly scaleWhen?: CheckConfig['scaleWhen'];
}

/**
 * A wider world (issue 22, item 1, DEC-49): one function `f` on Kubelets of the given
 * capacities, booted and synced; scale requests once quiescent unless said otherwise.
 */
function widerWorld(world: WiderWorld): CheckConfig {
  return {
    name: world.name,
    description: world.description,
    chain: { functions: [{ name: 'f', priority: 0 }], nodes: world.capacities.map((capacity, i) => ({ name: `n${i + 1}`, capacity })), variant: 'correct' },
    scaleScript: world.desired.map((desired) => ({ function: 'f', desired })),
    ...(world.scaleChoices === undefined ? {} : { scaleChoices: world.scaleChoices }),
    budgets: world.budgets,
    scaleWhen: world.scaleWhen ?? 'quiescent',
    startSynced: true,
    // Exhaustive here in at most 80 s (checker/README.md): a bound far above that, so that a regression shows as exit 4, not a hang.
    maxSeconds: 600,
  };
}

/** Functions of priority 0, 5 and 10 (`ranks`, `slow-victim`): a victim chosen between two lower priorities. */
const threePriorities: ChainConfig['functions'] = [
  { name: 'lo', priority: 0 },
  { name: 'mid', priority: 5 },
  { name: 'hi', priority: 10 },
];

export const presets: Readonly<Record<string, CheckConfig>> = {
  smoke: {
    name: 'smoke',
    description: 'one function, one node, scale to 1 and back to 0, no faults (seconds)',
    chain: { functions: [{ name: 'f', priority: 0 }], nodes: [{ name: 'n1', capacity: 1 }], variant: 'correct' },
    scaleScript: [
      { function: 'f', desired: 1 },
      { function: 'f', desired: 0 },
    ],
    budgets: noFaults,
  },
  ci: {
    name: 'ci',
    description:
      'two Kubelets; a low-priority function scales up to 2, a high-priority one to 1 (preemption), then the low one down to 1; one fault per run: a controller crash, a link cut, a node crash, a forged hello or a forged pod, at any point',
    chain: ciChain,
    scaleScript: ciScaleScript,
    budgets: ciBudgets,
    scaleWhen: 'quiescent',
    startSynced: true,
  },
  'ci-window': {
    name: 'ci-window',
    description:
      'ci with a creation window of one pod (REQ-RS-007): the ReplicaSet creates the next pod of a function only once the previous one is confirmed running, so every refill of the window is explored under the same faults',
    chain: { ...ciChain, creationWindowPodsMax: 1 },
    scaleScript: ciScaleScript,
    budgets: ciBudgets,
    scaleWhen: 'quiescent',
    startSynced: true,
  },
  deep: {
    name: 'deep',
    description: 'three Kubelets, two functions of different priority (preemption), two faults of any kind, every placement tie explored (symmetry reduction over the Kubelets)',
    chain: {
      functions: [
        { name: 'lo', priority: 0 },
        { name: 'hi', priority: 10 },
      ],
      nodes: [
        { name: 'n1', capacity: 1 },
        { name: 'n2', capacity: 1 },
        { name: 'n3', capacity: 1 },
      ],
      variant: 'correct',
    },
    scaleScript: [
      { function: 'lo', desired: 3 },
      { function: 'hi', desired: 1 },
    ],
    budgets: { total: 2, controllerCrash: 2, kubeletRestart: 2, nodeCrash: 2, linkCut: 2, sandboxFailure: 0 },
    startSynced: true,
    // Every tie of placement and preemption explored (DEC-52), which makes the three alike Kubelets symmetric: one state per orbit of renamings.
    ties: 'explore',
    // Larger than an exhaustive search finishes here: stop after ten minutes (exit 4).
    maxSeconds: 600,
  },
  // Wider worlds (issue 22, item 1): each small enough to finish exhaustively here; the
  // census (states, seconds) is in checker/README.md. `ci` and `deep` are unchanged.
  updown: widerWorld({
    name: 'updown',
    description:
      'two Kubelets of capacity 1; one function scales up to 2, down to 1 once both run (a placed, running pod is killed), up to 2 again; one fault per run: a controller crash, a Kubelet restart or a link cut, at any point',
    capacities: [1, 1],
    desired: [2, 1, 2],
    budgets: { ...noFaults, total: 1, controllerCrash: 1, kubeletRestart: 1, linkCut: 1 },
  }),
  roomy: widerWorld({
    name: 'roomy',
    description:
      'one Kubelet of capacity 3, above the highest desired count (2), so that overshoot can happen; one function scales to 2, 1 and 2 again, each request at any point (also while pods start or are killed); one fault: a controller crash, a Kubelet restart or a link cut',
    capacities: [3],
    desired: [2, 1, 2],
    budgets: { ...noFaults, total: 1, controllerCrash: 1, kubeletRestart: 1, linkCut: 1 },
    scaleWhen: 'anytime',
  }),
  restarts: widerWorld({
    name: 'restarts',
    description:
      'two Kubelets of capacity 1; one function scales to 2, to 0 once both run, then to 1; two faults among Kubelet restarts (up to 2, sandboxes survive) and a node crash, at any point (a restart during a kill included)',
    capacities: [1, 1],
    desired: [2, 0, 1],
    budgets: { ...noFaults, total: 2, kubeletRestart: 2, nodeCrash: 1 },
  }),
  'two-crashes': widerWorld({
    name: 'two-crashes',
    description: 'one Kubelet of capacity 1; one function scales to 1, 0 and 1 again; two controller crash-restarts (the same controller twice, or two of them), at any point',
    capacities: [1],
    desired: [1, 0, 1],
    budgets: { ...noFaults, total: 2, controllerCrash: 2 },
  }),
  chosen: widerWorld({
    name: 'chosen',
    description:
      'desired counts chosen by the model: one Kubelet of capacity 2; three scale requests, each setting the function to any count from 0 to 2 once the chain is quiescent; one fault: a Kubelet restart or a link cut',
    capacities: [2],
    desired: [],
    scaleChoices: { range: [0, 2], steps: 3 },
    budgets: { ...noFaults, total: 1, kubeletRestart: 1, linkCut: 1 },
  }),
  'crash-forged': widerWorld({
    name: 'crash-forged',
    description:
      'one Kubelet of capacity 1; one function scales to 1, 0 and 1 again; two faults: a controller crash and a forged hello (an impersonated upstream far ahead, its stream then closed), in either order, at any point, so that a forged hello reaches a cold stage before its sync (REQ-SESS-021)',
    capacities: [1],
    desired: [1, 0, 1],
    budgets: { ...noFaults, total: 2, controllerCrash: 1, forgedHello: 1 },
  }),
  // Issue 22's mutation depth (DEC-67): the Scheduler's rules of placement and preemption
  // (REQ-SCHED-002, -006, -007) need nodes of unequal free capacity and three priorities,
  // which no other preset has; INV-PLACEMENT-RULE and INV-PREEMPTION-RULE judge them.
  ranks: {
    name: 'ranks',
    description:
      'Kubelets of capacity 2 and 1 (unequal free capacity); three functions of priority 0, 5 and 10: lo scales to 2 and mid to 1 (the nodes are full), lo to 3 (one lo waits), hi to 1 (hi waits beside lo and preempts; the slot freed must go to hi), then lo down to 1; one fault: a link cut or a controller crash, at any point',
    chain: {
      functions: threePriorities,
      nodes: [
        { name: 'n1', capacity: 2 },
        { name: 'n2', capacity: 1 },
      ],
      variant: 'correct',
    },
    scaleScript: [
      { function: 'lo', desired: 2 },
      { function: 'mid', desired: 1 },
      { function: 'lo', desired: 3 },
      { function: 'hi', desired: 1 },
      { function: 'lo', desired: 1 },
    ],
    budgets: { ...noFaults, total: 1, linkCut: 1, controllerCrash: 1 },
    scaleWhen: 'quiescent',
    startSynced: true,
    maxSeconds: 600,
  },
  // A victim's kill is slow while other slots free (DEC-68): only then can a ReplicaSet
  // that forgets a preempted pod before its kill is confirmed overshoot (INV-NO-OVERSHOOT).
  'slow-victim': {
    name: 'slow-victim',
    description:
      'two Kubelets of capacity 1; functions of priority 0, 5 and 10: lo and mid scale to 1 (the nodes are full), hi to 1 (hi preempts lo), then hi and mid back to 0, each request at any point, so that slots free while the preempted pod is still being killed; no faults',
    chain: {
      functions: threePriorities,
      nodes: [
        { name: 'n1', capacity: 1 },
        { name: 'n2', capacity: 1 },
      ],
      variant: 'correct',
    },
    scaleScript: [
      { function: 'lo', desired: 1 },
      { function: 'mid', desired: 1 },
      { function: 'hi', desired: 1 },
      { function: 'hi', desired: 0 },
      { function: 'mid', desired: 0 },
    ],
    budgets: noFaults,
    scaleWhen: 'anytime',
    startSynced: true,
    maxSeconds: 600,
  },
  'sandbox-failures': {
    name: 'sandbox-failures',
    description:
      "ci's world and scale script with up to two sandboxes dying of themselves (while starting or while being killed) and a Kubelet restart, two faults per run: no other preset lets a sandbox fail",
    chain: ciChain,
    scaleScript: ciScaleScript,
    budgets: { total: 2, controllerCrash: 0, kubeletRestart: 1, nodeCrash: 0, linkCut: 0, sandboxFailure: 2 },
    scaleWhen: 'quiescent',
    startSynced: true,
  },
};

export function presetNames(): string[] {
  return Object.keys(presets);
}
