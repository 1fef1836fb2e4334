/**
 * The spec's figures, drawn from runs, not by hand: each named scenario below is run on
 * the chain model (the simulator's world stepped through the machines, as `kd check` and
 * `kd explore` step it) and drawn as a sequence diagram by the checker's SVG renderer, so
 * a change to the machines changes the figures. A scenario is a setup (run, not drawn)
 * and the steps drawn; `settle` takes the first enabled protocol action until nothing is
 * left, so every run is deterministic. A spec chapter places a figure with a line
 * `<!-- figure: NAME -->`; the architecture figure of the chain is drawn from a chain
 * configuration.
 */
import { ChainModel, type ChainAction, type ChainState } from '../../checker/chain/model.js';
import type { CheckConfig, FaultBudgets } from '../../checker/chain/presets.js';
import { buildTrace, type CounterexampleTrace } from '../../checker/chain/trace.js';
import { traceToSvg } from '../../checker/render/index.js';
import { chainStages, kubeletId, linksOf, linkEnds, stagesOf, type ChainConfig, type StageId } from '../../machines/index.js';
import type { WorldAction } from '../../simulator/world.js';
import { escapeHtml } from './layout.js';

/** Steps one `settle` may take before the scenario is declared stuck. */
export const settleStepsMax = 400;

export type FigureStep =
  /** The first enabled action matching these fields (a scale request, a fault, a sandbox failure, a late delivery). */
  | { readonly op: 'take'; readonly action: Partial<WorldAction> & { readonly kind: WorldAction['kind'] } }
  /** First enabled protocol action (deliveries, late deliveries, connects, sandboxes started or killed) until none, or `steps` of them; `except` leaves some kinds out. */
  | { readonly op: 'settle'; readonly steps?: number; readonly except?: ReadonlyArray<WorldAction['kind']> };

export interface FigureScenario {
  readonly name: string;
  readonly title: string;
  /** What the reader should look for, one or two sentences (Markdown-free). */
  readonly caption: string;
  readonly config: CheckConfig;
  /** Run first, not drawn. */
  readonly setup: readonly FigureStep[];
  readonly shown: readonly FigureStep[];
}

const noFaults: FaultBudgets = { total: 0, controllerCrash: 0, kubeletRestart: 0, nodeCrash: 0, linkCut: 0, sandboxFailure: 0 };
const oneNode: ChainConfig = { functions: [{ name: 'f', priority: 0 }], nodes: [{ name: 'n1', capacity: 1 }], variant: 'correct' };

function config(name: string, scaleScript: CheckConfig['scaleScript'], budgets: Partial<FaultBudgets> = {}, chain: ChainConfig = oneNode, startSynced = true): CheckConfig {
  const total = Object.values(budgets).reduce((sum, n) => sum + n, 0);
  return { name, description: `figure ${name}`, chain, scaleScript, budgets: { ...noFaults, ...budgets, total }, startSynced };
}

const settle: FigureStep = { op: 'settle' };
const scale = (fn: string, desired: number): FigureStep => ({ op: 'take', action: { kind: 'scale', function: fn, desired } });

export const figureScenarios: readonly FigureScenario[] = [
  {
    name: 'handshake',
    title: 'Boot: the two-round handshake on every link, bottom-up',
    caption:
      'Every upstream connects and sends session.hello with a fresh epoch; a stage answers with its snapshot only once it is warm (its own downstream links synced), so the handshakes complete from the Kubelet up; session.sync ends round 2.',
    config: config('handshake', [], {}, oneNode, false),
    setup: [],
    shown: [settle],
  },
  {
    name: 'provisioning',
    title: 'Provisioning: scale f to 1',
    caption:
      'Intent flows down as writes into each cache first (scale.set, then pod.provision with the node the Scheduler chose); truth flows up as it happens (scale.applied, pod.running), turning the dirty entries clean.',
    config: config('provisioning', [{ function: 'f', desired: 1 }]),
    setup: [],
    shown: [scale('f', 1), settle],
  },
  {
    name: 'rollback',
    title: 'Rollback: a sandbox fails to start',
    caption:
      'The Kubelet reports pod.failed; the Scheduler and the ReplicaSet roll their entries back, and the ReplicaSet creates a replacement under a new name, which is provisioned and starts.',
    config: config('rollback', [{ function: 'f', desired: 1 }], { sandboxFailure: 1 }),
    setup: [],
    shown: [scale('f', 1), { op: 'settle', except: ['sandboxDone'] }, { op: 'take', action: { kind: 'sandboxDone', outcome: 'failed' } }, settle],
  },
  {
    name: 'termination',
    title: 'Termination with tombstones: scale f from 1 to 0',
    caption:
      'The ReplicaSet turns its entry into a tombstone and sends pod.tombstone down; every stage keeps its tombstone until the Kubelet has killed the sandbox and tombstone.done comes back up, so the pod cannot be resurrected by a late message or a snapshot.',
    config: config('termination', [
      { function: 'f', desired: 1 },
      { function: 'f', desired: 0 },
    ]),
    setup: [scale('f', 1), settle],
    shown: [scale('f', 0), settle],
  },
  {
    name: 'preemption',
    title: 'Preemption: a high-priority pod on a full node',
    caption:
      'The only node runs a low-priority pod; the Scheduler tombstones it for the high-priority one, waits for the kill to be confirmed before binding the newcomer, and tells the ReplicaSet with pod.preempted.',
    config: config(
      'preemption',
      [
        { function: 'lo', desired: 1 },
        { function: 'hi', desired: 1 },
      ],
      {},
      { functions: [{ name: 'lo', priority: 0 }, { name: 'hi', priority: 10 }], nodes: [{ name: 'n1', capacity: 1 }], variant: 'correct' },
    ),
    setup: [scale('lo', 1), settle],
    shown: [scale('hi', 1), settle],
  },
  {
    name: 'crash-recovery',
    title: 'Recovery after a crash: the ReplicaSet restarts',
    caption:
      'The restarted ReplicaSet is a new incarnation with an empty cache: it is cold, so it defers the Deployment\'s hello, first syncs with the Scheduler to learn the pods below from its snapshot, and answers the Deployment only once warm.',
    config: config('crash-recovery', [{ function: 'f', desired: 1 }], { controllerCrash: 1 }),
    setup: [scale('f', 1), settle],
    shown: [{ op: 'take', action: { kind: 'crash', stage: chainStages.replicaset } }, settle],
  },
  {
    name: 'cut-recovery',
    title: 'Recovery after a cut: late messages of the old session are fenced',
    caption:
      'The link from the Deployment to the ReplicaSet is cut while scale.set is in flight; the Deployment opens a new session with a newer epoch, re-sends its dirty entry in round 2, and the late copy of the old session arrives and is fenced by its epoch.',
    config: config('cut-recovery', [{ function: 'f', desired: 1 }], { linkCut: 1 }),
    setup: [],
    shown: [scale('f', 1), { op: 'settle', steps: 1 }, { op: 'take', action: { kind: 'cut', link: 'deployment>replicaset' } }, { op: 'settle', except: ['deliverStale'] }, { op: 'take', action: { kind: 'deliverStale' } }, settle],
  },
];

const settleKinds: ReadonlyArray<WorldAction['kind']> = ['deliver', 'deliverStale', 'connect', 'sandboxDone'];

function matches(action: ChainAction, wanted: Partial<WorldAction>): boolean {
  return Object.entries(wanted).every(([key, value]) => (action as unknown as Record<string, unknown>)[key] === value);
}

/** The path of action indices a scenario's steps take from `state`; the state reached. */
function runSteps(model: ChainModel, state: ChainState, steps: readonly FigureStep[], scenario: string): { path: number[]; state: ChainState } {
  const path: number[] = [];
  const take = (index: number) => {
    path.push(index);
    const next = model.next(state, model.actions(state)[index] as ChainAction);
    if (next.violations.length > 0) throw new Error(`figure ${scenario}: ${next.violations.map((v) => `${v.property}: ${v.message}`).join('; ')}`);
    state = next.state;
  };
  for (const step of steps) {
    if (step.op === 'take') {
      const index = model.actions(state).findIndex((a) => matches(a, step.action));
      if (index < 0) throw new Error(`figure ${scenario}: no enabled action ${JSON.stringify(step.action)}; enabled: ${model.actions(state).map((a) => model.describe(a)).join(', ')}`);
      take(index);
      continue;
    }
    const limit = step.steps ?? settleStepsMax;
    for (let taken = 0; taken < limit; taken++) {
      const index = model.actions(state).findIndex((a) => settleKinds.includes(a.kind) && !(step.except ?? []).includes(a.kind) && !(a.kind === 'sandboxDone' && a.outcome === 'failed'));
      if (index < 0) break;
      if (taken === settleStepsMax - 1) throw new Error(`figure ${scenario}: still not settled after ${settleStepsMax} steps`);
      take(index);
    }
  }
  return { path, state };
}

/** A scenario's drawn steps as a trace (numbered from 1 after the setup). */
export function runFigureScenario(scenario: FigureScenario): CounterexampleTrace {
  const model = new ChainModel(scenario.config);
  const setup = runSteps(model, model.initialState(), scenario.setup, scenario.name);
  const shown = runSteps(model, setup.state, scenario.shown, scenario.name);
  const whole = buildTrace(scenario.config, { property: '', message: '', kind: 'safety', path: [...setup.path, ...shown.path] });
  const steps = whole.steps.slice(setup.path.length).map((s, i) => ({ ...s, step: i + 1 }));
  return { ...whole, steps };
}

/** A scenario drawn as a figure for a spec page. */
export function figureHtml(scenario: FigureScenario): string {
  const trace = runFigureScenario(scenario);
  const chain = scenario.config.chain;
  const subtitle = `nodes ${chain.nodes.map((n) => n.name).join(', ')} · functions ${chain.functions.map((f) => f.name).join(', ')} · ${trace.steps.length} steps · scenario ${scenario.name}`;
  const svg = traceToSvg(trace, { title: scenario.title, subtitle });
  return `<figure class="diagram protocol-figure" id="figure-${scenario.name}">${svg}<figcaption>${escapeHtml(scenario.caption)} <span class="muted">Drawn from a run of the machines (scenario <code>${escapeHtml(scenario.name)}</code> in <code>docs/build/protocol-figures.ts</code>); hover a row for each stage's state after it.</span></figcaption></figure>`;
}

/** What each kind of link carries besides the session messages (hello, snapshot, sync), down and up. */
const linkTraffic: ReadonlyArray<{ readonly from: StageId; readonly down: readonly string[]; readonly up: readonly string[] }> = [
  { from: chainStages.autoscaler, down: ['scale.set'], up: ['scale.applied'] },
  { from: chainStages.deployment, down: ['scale.set'], up: ['scale.applied'] },
  { from: chainStages.replicaset, down: ['pod.provision', 'pod.tombstone'], up: ['pod.running, pod.failed,', 'pod.preempted, tombstone.done'] },
  { from: chainStages.scheduler, down: ['pod.provision (bound),', 'pod.tombstone'], up: ['pod.running, pod.failed,', 'tombstone.done'] },
];

const svgText = (x: number, y: number, text: string, anchor = 'middle'): string => `<text class="small" x="${x}" y="${y}" text-anchor="${anchor}">${escapeHtml(text)}</text>`;

/** The chain as boxes and arrows: one row of controllers, the Kubelets fanned out below the Scheduler. */
export function architectureSvg(chain: ChainConfig): string {
  const boxWidth = 120;
  const boxHeight = 40;
  const gap = 190;
  const top = 58;
  const controllers: StageId[] = [chainStages.autoscaler, chainStages.deployment, chainStages.replicaset, chainStages.scheduler];
  const kubelets = stagesOf(chain).filter((s) => !controllers.includes(s));
  const position = new Map<StageId, { x: number; y: number }>();
  controllers.forEach((stage, i) => position.set(stage, { x: 20 + i * (boxWidth + gap), y: top }));
  const scheduler = position.get(chainStages.scheduler) ?? { x: 0, y: 0 };
  const kubeletTop = top + boxHeight + 110;
  const kubeletGap = 24;
  const kubeletsWidth = kubelets.length * boxWidth + (kubelets.length - 1) * kubeletGap;
  const kubeletsLeft = Math.min(scheduler.x + boxWidth / 2 - kubeletsWidth / 2, scheduler.x + boxWidth - kubeletsWidth);
  kubelets.forEach((stage, i) => position.set(stage, { x: kubeletsLeft + i * (boxWidth + kubeletGap), y: kubeletTop }));
  const width = 20 + controllers.length * boxWidth + (controllers.length - 1) * gap + 20;
  const height = kubeletTop + boxHeight + 64;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-size="12">`,
    '<title>The Kubedirect chain: stages and the links between them</title>',
    "<style>text { font-family: 'DejaVu Sans', Arial, sans-serif; fill: #222; } .box { fill: #f0f3f8; stroke: #5a6170; } .name { font-weight: bold; } .down { stroke: #3f6fc0; stroke-width: 1.6; } .up { stroke: #4f8f33; stroke-width: 1.6; stroke-dasharray: 5 3; } .small { font-size: 10.5px; fill: #444; }</style>",
    '<defs><marker id="arch-down" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#3f6fc0"/></marker><marker id="arch-up" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#4f8f33"/></marker></defs>',
    '<text x="20" y="20" font-size="13" font-weight="bold">The chain: one link per pair of neighbours, each with its own sessions and epochs</text>',
    '<text x="20" y="38" font-size="11.5">The upstream opens every session (hello, then sync) and sends intent down; the downstream answers with a snapshot and sends truth up.</text>',
  ];
  for (const link of linksOf(chain)) {
    const { upstream, downstream } = linkEnds(link);
    const a = position.get(upstream);
    const b = position.get(downstream);
    if (a === undefined || b === undefined) continue;
    const horizontal = a.y === b.y;
    const from = horizontal ? { x: a.x + boxWidth, y: a.y + boxHeight / 2 } : { x: a.x + boxWidth / 2, y: a.y + boxHeight };
    const to = horizontal ? { x: b.x, y: b.y + boxHeight / 2 } : { x: b.x + boxWidth / 2, y: b.y };
    const [dx, dy] = horizontal ? [0, 6] : [6, 0];
    out.push(`<line class="down" x1="${from.x - dx}" y1="${from.y - dy}" x2="${to.x - dx}" y2="${to.y - dy}" marker-end="url(#arch-down)"/>`);
    out.push(`<line class="up" x1="${to.x + dx}" y1="${to.y + dy}" x2="${from.x + dx}" y2="${from.y + dy}" marker-end="url(#arch-up)"/>`);
  }
  for (const traffic of linkTraffic) {
    const p = position.get(traffic.from);
    if (p === undefined) continue;
    if (traffic.from === chainStages.scheduler) {
      // The Scheduler's links fan out downwards: their traffic is written once, left of the fan.
      const x = kubeletsLeft - 12;
      const y = top + boxHeight + 30;
      traffic.down.forEach((t, i) => out.push(svgText(x, y + i * 13, `${t}${i === traffic.down.length - 1 ? ' \u2193' : ''}`, 'end')));
      traffic.up.forEach((t, i) => out.push(svgText(x, y + 32 + i * 13, `${t}${i === traffic.up.length - 1 ? ' \u2191' : ''}`, 'end')));
      continue;
    }
    const x = p.x + boxWidth + gap / 2;
    const y = p.y + boxHeight / 2;
    traffic.down.forEach((t, i) => out.push(svgText(x, y - 12 - (traffic.down.length - 1 - i) * 13, t)));
    traffic.up.forEach((t, i) => out.push(svgText(x, y + 20 + i * 13, t)));
  }
  for (const [stage, p] of position) {
    out.push(`<rect class="box" x="${p.x}" y="${p.y}" width="${boxWidth}" height="${boxHeight}" rx="5"/>`, `<text class="name" x="${p.x + boxWidth / 2}" y="${p.y + boxHeight / 2 + 4}" text-anchor="middle">${escapeHtml(stage)}</text>`);
  }
  const legendY = height - 34;
  out.push(
    `<line class="down" x1="20" y1="${legendY - 4}" x2="60" y2="${legendY - 4}" marker-end="url(#arch-down)"/><text x="68" y="${legendY}">down: hello, sync, and intent (desired counts, new pods, placements, tombstones)</text>`,
    `<line class="up" x1="20" y1="${legendY + 14}" x2="60" y2="${legendY + 14}" marker-end="url(#arch-up)"/><text x="68" y="${legendY + 18}">up: snapshot, and truth (applied counts, running, failed, preempted, kills done)</text>`,
    '</svg>',
  );
  return out.join('\n');
}

/** The chain drawn for the home page and chapter 01: three nodes. */
export const architectureChain: ChainConfig = {
  functions: [{ name: 'f', priority: 0 }],
  nodes: [1, 2, 3].map((i) => ({ name: `n${i}`, capacity: 1 })),
  variant: 'correct',
};

export function architectureHtml(): string {
  const kubelets = architectureChain.nodes.map((n) => kubeletId(n.name));
  return `<figure class="diagram architecture-figure" id="figure-architecture">${architectureSvg(architectureChain)}<figcaption>The chain: Autoscaler, Deployment, ReplicaSet, Scheduler and one Kubelet per node (${escapeHtml(kubelets.join(', '))}), drawn from a chain configuration by <code>docs/build/protocol-figures.ts</code>. Solid arrows carry intent down, dashed ones carry truth up, each link with its own sessions and epochs (chapter 02).</figcaption></figure>`;
}

/** The figures a page may place, by name. */
export function figureByName(name: string): (() => string) | undefined {
  if (name === 'architecture') return architectureHtml;
  const scenario = figureScenarios.find((s) => s.name === name);
  return scenario === undefined ? undefined : () => figureHtml(scenario);
}

/** Replaces each `<!-- figure: NAME -->` of rendered HTML by the figure; an unknown name fails the build. Returns the HTML and the figures placed. */
export function placeFigures(html: string, where: string): { html: string; placed: string[] } {
  const placed: string[] = [];
  const out = html.replace(/<!--\s*figure:\s*([a-z0-9-]+)\s*-->/g, (_marker, name: string) => {
    const figure = figureByName(name);
    if (figure === undefined) throw new Error(`${where}: unknown figure "${name}"; the figures are architecture, ${figureScenarios.map((s) => s.name).join(', ')}`);
    placed.push(name);
    return figure();
  });
  return { html: out, placed };
}
