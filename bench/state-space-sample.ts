/**
 * Where does a preset's state space blow up? Two views:
 * - a breadth-first search without any reduction to `--bfs-depth`: each level's new
 *   states by faults taken and scale requests made, then how many of all those states
 *   remain distinct when one component (or one field of the ghost) is left out: how much
 *   an abstraction of that component could save at most;
 * - random walks to `--depth`: at each walk's last state, the enabled actions by kind,
 *   the messages in flight and on how many queues, and which pairs of enabled actions
 *   commute (a then b reaches the same state as b then a): the room a partial-order
 *   reduction has.
 *
 *     npx tsx bench/state-space-sample.ts --preset deep --bfs-depth 8 --depth 15 --walks 300
 */
import { parseCommandLineOrExit } from '../cli/args.js';
import { ChainModel, type ChainAction, type ChainState } from '../checker/chain/model.js';
import { StateLayout } from '../checker/chain/state-layout.js';
import type { Ghost } from '../simulator/ghost.js';
import { presetNames, presets, type CheckConfig } from '../checker/chain/presets.js';

function main(): void {
  const args = parseCommandLineOrExit({
    command: 'bench/state-space-sample.ts',
    program: 'npx tsx',
    about: 'Samples states of a preset at a depth (random walks) and counts what is enabled, what is in flight and which enabled pairs commute.',
    options: {
      preset: { kind: 'choice', value: 'NAME', choices: presetNames(), default: 'deep', help: 'the preset' },
      depth: { kind: 'whole', value: 'N', min: 1, max: 1000, default: 15, help: 'steps per walk' },
      walks: { kind: 'whole', value: 'N', min: 1, max: 100000, default: 300, help: 'number of walks' },
      seed: { kind: 'whole', value: 'N', min: 0, max: 2 ** 30, default: 1, help: 'random seed' },
      'bfs-depth': { kind: 'whole', value: 'N', min: 0, max: 200, default: 0, help: 'levels of the breadth-first census (0: none)' },
    },
    example: 'npx tsx bench/state-space-sample.ts --preset deep --depth 15 --walks 300',
    exits: { ok: 'sampled' },
  }, process.argv.slice(2));
  const preset = presets[args.options.preset] as CheckConfig;
  const model = new ChainModel(preset);
  if (args.options['bfs-depth'] > 0) levelCensus(preset, args.options['bfs-depth']);
  let seed = Number(args.options.seed);
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const kinds = new Map<string, number>();
  let states = 0;
  let messages = 0;
  let busyQueues = 0;
  let pairs = 0;
  let commuting = 0;
  let protocolPairs = 0;
  let protocolCommuting = 0;
  for (let w = 0; w < Number(args.options.walks); w++) {
    let state = model.initialState();
    for (let d = 0; d < Number(args.options.depth); d++) {
      const actions = model.actions(state);
      if (actions.length === 0) break;
      state = model.next(state, actions[random(actions.length)] as ChainAction).state;
    }
    states++;
    const world = state.world;
    for (const link of Object.values(world.links))
      for (const channel of [link.down, link.up])
        for (const queue of [channel.current, channel.stale]) {
          messages += queue.length;
          if (queue.length > 0) busyQueues++;
        }
    const actions = model.actions(state);
    for (const a of actions) kinds.set(a.kind, (kinds.get(a.kind) ?? 0) + 1);
    for (let i = 0; i < actions.length; i++)
      for (let j = i + 1; j < actions.length; j++) {
        const a = actions[i] as ChainAction;
        const b = actions[j] as ChainAction;
        const protocol = model.fairness(a) !== null && model.fairness(b) !== null;
        pairs++;
        if (protocol) protocolPairs++;
        if (commutes(model, state, a, b)) {
          commuting++;
          if (protocol) protocolCommuting++;
        }
      }
  }
  const per = (n: number) => (n / states).toFixed(2);
  console.log(`${states} states sampled at depth ${String(args.options.depth)} of ${preset.name}`);
  console.log(`messages in flight per state: ${per(messages)} on ${per(busyQueues)} queues`);
  console.log(`enabled actions per state: ${[...kinds].map(([k, n]) => `${k} ${per(n)}`).join(', ')}`);
  console.log(`pairs of enabled actions per state: ${per(pairs)}, commuting ${per(commuting)} (${((100 * commuting) / Math.max(pairs, 1)).toFixed(1)}%)`);
  console.log(`pairs of fair (protocol) actions per state: ${per(protocolPairs)}, commuting ${per(protocolCommuting)} (${((100 * protocolCommuting) / Math.max(protocolPairs, 1)).toFixed(1)}%)`);
}

/** Breadth-first without reductions: each level by faults and scale steps taken, then what leaving out one component would merge. */
function levelCensus(preset: CheckConfig, depthMax: number): void {
  const model = new ChainModel({ ...preset, symmetry: false });
  let level = [model.initialState()];
  const seen = new Set<string>([model.key(level[0] as ChainState)]);
  const all = [...level];
  for (let d = 1; d <= depthMax; d++) {
    const next: ChainState[] = [];
    for (const s of level)
      for (const a of model.actions(s)) {
        const t = model.next(s, a).state;
        const k = model.key(t);
        if (seen.has(k)) continue;
        seen.add(k);
        next.push(t);
        all.push(t);
      }
    const groups = new Map<string, number>();
    for (const s of next) {
      const k = `${preset.budgets.total - s.budgets.total} faults, ${s.scaled} scaled`;
      groups.set(k, (groups.get(k) ?? 0) + 1);
    }
    console.log(`depth ${d}: ${next.length} new states; ${[...groups].sort().map(([k, n]) => `${k}: ${n}`).join('; ')}`);
    level = next;
  }
  const layout = new StateLayout(preset.chain);
  const distinctWithout = (name: string, drop: (i: number) => boolean, ghost?: (g: Ghost, s: ChainState) => unknown) => {
    const keys = new Set<string>();
    for (const s of all) {
      const parts = s.ids.map((id, i) => (drop(i) ? '_' : String(id)));
      if (ghost !== undefined) parts[layout.ghostAt] = JSON.stringify(ghost(s.world.ghost, s));
      keys.add(parts.join(','));
    }
    console.log(`without ${name}: ${keys.size} of ${all.length} states distinct (${(all.length / keys.size).toFixed(2)}x)`);
  };
  distinctWithout('the ghost', (i) => i === layout.ghostAt);
  for (const field of ['created', 'dead', 'placement', 'tombstoned', 'maxDesired', 'decreased'] as const) distinctWithout(`ghost.${field}`, () => false, (g) => ({ ...g, [field]: null }));
  // What the ghost would hold if it forgot the pods that nothing else in the world names any more.
  distinctWithout('ghost entries of pods named nowhere else', () => false, (g, s) => {
    const { ghost: _ghost, ...rest } = s.world;
    const text = JSON.stringify(rest);
    const named = (pod: string) => text.includes(`"${pod}"`);
    const tombstoned = Object.fromEntries(Object.entries(g.tombstoned).map(([stage, pods]) => [stage, (pods ?? []).filter(named)]).filter(([, pods]) => (pods ?? []).length > 0));
    const placement = Object.fromEntries(Object.entries(g.placement).filter(([pod]) => named(pod)));
    return { ...g, tombstoned, placement, dead: g.dead.filter(named) };
  });
  distinctWithout('stale queues', (i) => i >= layout.channelsAt && i < layout.sandboxesAt && (i - layout.channelsAt) % 2 === 1);
  distinctWithout('incarnations', (i) => i === layout.incarnationsAt);
  distinctWithout('the store', (i) => i === layout.storeAt);
  distinctWithout('the fault budgets', (i) => i === layout.budgetsAt);
}

/** a then b and b then a both possible and reach the same state. */
function commutes(model: ChainModel, state: ChainState, a: ChainAction, b: ChainAction): boolean {
  const after = (first: ChainAction, second: ChainAction) => {
    const mid = model.next(state, first).state;
    const match = model.actions(mid).find((x) => model.describe(x) === model.describe(second));
    return match === undefined ? null : model.key(model.next(mid, match).state);
  };
  const ab = after(a, b);
  return ab !== null && ab === after(b, a);
}

main();
