/**
 * The whole state of the chain after each step of a trace, not only what changed: every
 * stage (incarnation, each session with its state and epoch, desired counts, every pod
 * entry with its lifecycle), each node's sandboxes, the backing store, and the messages in
 * flight on every link. Replayed from the trace's actions through the simulator's
 * `applyAction` (the machines' own steps); a trace recorded with other machines may no
 * longer replay, and then the table is left out with the reason.
 */
import {
  clientSideOf,
  describeEpoch,
  linkEnds,
  linksOf,
  podCacheOf,
  serverSide,
  type ChainConfig,
  type LinkMessage,
  type StageId,
  type StageState,
} from '../../machines/index.js';
import { applyAction, type World } from '../../simulator/world.js';
import { ChainModel } from '../chain/model.js';
import { messageLabel, type CounterexampleTrace } from '../chain/trace.js';
import { walkPath } from '../engine/search.js';
import { traceStages } from './view.js';

/** A column of the state table: a stage, or one of the parts of the world beside the stages. */
export interface StateColumn {
  readonly key: string;
  readonly title: string;
}

export interface StateRow {
  /** 0 for the state the trace starts from, then the 1-based step after which this is the state. */
  readonly step: number;
  /** Per column key, the lines of its cell. */
  readonly cells: Readonly<Record<string, readonly string[]>>;
}

export interface StateTable {
  readonly columns: readonly StateColumn[];
  readonly rows: readonly StateRow[];
}

/** A session state with its epoch as `incarnation.counter` (spec/02-sessions-and-epochs.md); no epoch before the first session. */
function sessionText(session: string, epoch: number): string {
  return epoch === 0 ? session : `${session}, epoch ${describeEpoch(epoch)}`;
}

function stageLines(config: ChainConfig, stage: StageId, state: StageState): string[] {
  const lines = [`incarnation ${state.incarnation}`];
  for (const link of linksOf(config)) {
    const { upstream, downstream } = linkEnds(link);
    if (upstream === stage) {
      const side = clientSideOf(state, link);
      if (side !== undefined) lines.push(`to ${downstream}: ${sessionText(side.session, side.epoch)}`);
    }
  }
  const server = serverSide(state);
  if (server !== null) lines.push(`from ${linkEnds(server.link).upstream}: ${sessionText(server.session, server.epoch)}`);
  if ('scales' in state) for (const [fn, entry] of Object.entries(state.scales)) lines.push(`scale ${fn}=${entry.desired} (${entry.lifecycle})`);
  if ('desired' in state) for (const [fn, desired] of Object.entries(state.desired)) lines.push(`desired ${fn}=${desired}`);
  const pods = [...podCacheOf(state).entries()];
  if (pods.length === 0 && state.role !== 'autoscaler' && state.role !== 'deployment') lines.push('no pods');
  for (const entry of pods) lines.push(`${entry.record.name} ${entry.lifecycle}${entry.record.node !== null && state.role === 'scheduler' ? ` @${entry.record.node}` : ''}`);
  return lines;
}

function messageText(message: LinkMessage): string {
  return `${messageLabel(message)}, epoch ${describeEpoch(message.epoch)}`;
}

function inFlightLines(config: ChainConfig, world: World): string[] {
  const lines: string[] = [];
  for (const link of linksOf(config)) {
    const channels = world.links[link];
    if (channels === undefined) continue;
    const { upstream, downstream } = linkEnds(link);
    for (const direction of ['down', 'up'] as const) {
      const [from, to] = direction === 'down' ? [upstream, downstream] : [downstream, upstream];
      for (const m of channels[direction].current) lines.push(`${from} → ${to}: ${messageText(m)}`);
      for (const m of channels[direction].stale) lines.push(`${from} → ${to}: late ${messageText(m)}`);
    }
  }
  return lines.length === 0 ? ['nothing'] : lines;
}

function sandboxLines(config: ChainConfig, world: World): string[] {
  return config.nodes.map((node) => {
    const sandboxes = Object.values(world.sandboxes[node.name] ?? {});
    const list = sandboxes.map((s) => `${s.pod.name} ${s.state}`).join(', ');
    return `${node.name} (room ${node.capacity}): ${list === '' ? 'none' : list}`;
  });
}

function storeLines(world: World): string[] {
  const entries = Object.entries(world.store);
  return entries.length === 0 ? ['nothing stored'] : entries.map(([fn, desired]) => `${fn}=${desired}`);
}

/** The columns, then one row for the starting state and one after each step. */
export function stateTable(trace: CounterexampleTrace): StateTable {
  const config = trace.check.chain;
  const stages = traceStages(trace);
  const columns: StateColumn[] = [
    ...stages.map((stage) => ({ key: stage, title: stage })),
    { key: 'sandboxes', title: 'sandboxes (nodes)' },
    { key: 'store', title: 'store' },
    { key: 'in-flight', title: 'in flight' },
  ];
  const rowOf = (step: number, world: World): StateRow => {
    const cells: Record<string, readonly string[]> = {};
    for (const stage of stages) {
      const state = world.stages[stage];
      cells[stage] = state === undefined ? ['(no such stage)'] : stageLines(config, stage, state);
    }
    cells['sandboxes'] = sandboxLines(config, world);
    cells['store'] = storeLines(world);
    cells['in-flight'] = inFlightLines(config, world);
    return { step, cells };
  };
  let world = startingWorld(trace);
  const rows = [rowOf(0, world)];
  for (const step of trace.steps) {
    world = applyAction(config, world, step.action).world;
    rows.push(rowOf(step.step, world));
  }
  return { columns, rows };
}

/**
 * The world the trace's first step starts from. A figure's trace starts after a setup it
 * does not show: its path begins with the setup's actions, replayed through the model.
 */
function startingWorld(trace: CounterexampleTrace): World {
  const model = new ChainModel(trace.check);
  const skipped = trace.path.length - trace.steps.length;
  if (skipped <= 0) return model.initialState().world;
  const walked = walkPath(model, trace.path.slice(0, skipped));
  return walked[walked.length - 1]?.state.world ?? model.initialState().world;
}
