/**
 * The explorer's view of one chain state: what each stage holds (sessions and epochs, desired
 * counts, pod cache, a Kubelet's sandboxes), what is in flight on each link, the backing
 * store. Read through the machines' views (`clientSides`, `serverSide`, `desiredCounts`,
 * `podCacheOf`) and the simulator's world; nothing here decides anything.
 */
import {
  assert,
  clientSides,
  describeEpoch,
  desiredCounts,
  linkEnds,
  nodeOfKubelet,
  podCacheClassOf,
  podCacheOf,
  podMachineOfRole,
  roleOf,
  serverSide,
  type LinkMessage,
  type StageId,
  type StageState,
} from '../machines/index.js';
import type { ChainState } from '../checker/chain/chain-state.js';
import { messageLabel } from '../checker/chain/trace.js';
import { isConverged } from '../simulator/convergence.js';
import type { World } from '../simulator/world.js';
import type { CheckConfig } from '../checker/chain/presets.js';
import type { CellView, LinkView, MessageView, PodView, QueuesView, SessionView, StageView, StateView } from './view.js';

/** An epoch as incarnation.counter; `-` for 0 (no session yet). */
export function epochText(epoch: number): string {
  return epoch === 0 ? '-' : describeEpoch(epoch);
}

function sessionsOf(stage: StageId, state: StageState): SessionView[] {
  const sessions: SessionView[] = [];
  const server = serverSide(state);
  if (server !== null) {
    sessions.push({ key: `${stage}/session/${server.link}`, link: server.link, side: 'server', peer: linkEnds(server.link).upstream, session: server.session, epoch: epochText(server.epoch) });
  }
  for (const client of clientSides(state)) {
    sessions.push({ key: `${stage}/session/${client.link}`, link: client.link, side: 'client', peer: linkEnds(client.link).downstream, session: client.session, epoch: epochText(client.epoch) });
  }
  return sessions;
}

function podsOf(stage: StageId, state: StageState): PodView[] {
  const machine = podMachineOfRole(roleOf(stage));
  return [...podCacheOf(state).entries()].map((entry) => ({
    key: `${stage}/pod/${entry.record.name}`,
    name: entry.record.name,
    function: entry.record.function,
    node: entry.record.node,
    lifecycle: entry.lifecycle,
    // The state tags of the stage's pod machine say the class (machines/pods/pod-tags.ts).
    cacheClass: (machine === null ? null : podCacheClassOf(machine, entry.lifecycle)) ?? 'gone',
  }));
}

function stageView(world: World, stage: StageId, state: StageState): StageView {
  const pods = podsOf(stage, state);
  const podCounts: Record<string, number> = { waiting: 0, dirty: 0, clean: 0, tombstone: 0 };
  for (const pod of pods) podCounts[pod.cacheClass] = (podCounts[pod.cacheClass] ?? 0) + 1;
  const node = roleOf(stage) === 'kubelet' ? nodeOfKubelet(stage) : null;
  const sandboxes = node === null ? [] : Object.entries(world.sandboxes[node] ?? {}).map(([pod, sandbox]) => ({ key: `${stage}/sandbox/${pod}`, pod, state: sandbox.state }));
  return {
    id: stage,
    role: state.role,
    incarnation: state.incarnation,
    sessions: sessionsOf(stage, state),
    desired: desiredCounts(state).map((d) => ({ key: `${stage}/desired/${d.function}`, function: d.function, desired: d.desired, clean: d.clean })),
    pods,
    podCounts,
    sandboxes,
  };
}

function messageView(message: LinkMessage, fresh: boolean): MessageView {
  return { type: message.type, label: messageLabel(message), epoch: epochText(message.epoch), fresh };
}

/**
 * How many messages at the tail of `now` were sent since `before`: a queue only loses
 * messages at its head and gains them at its tail, so the rest of `now` is the longest
 * tail of `before` that `now` starts with.
 */
export function freshCount(before: readonly LinkMessage[], now: readonly LinkMessage[]): number {
  const same = (a: LinkMessage, b: LinkMessage) => a === b || JSON.stringify(a) === JSON.stringify(b);
  for (let removed = 0; removed <= before.length; removed++) {
    const kept = before.length - removed;
    if (kept > now.length) continue;
    let prefix = true;
    for (let i = 0; i < kept && prefix; i++) prefix = same(before[removed + i] as LinkMessage, now[i] as LinkMessage);
    if (prefix) return now.length - kept;
  }
  return now.length;
}

function queuesView(now: { current: readonly LinkMessage[]; stale: readonly LinkMessage[] }, before: { current: readonly LinkMessage[]; stale: readonly LinkMessage[] } | undefined): QueuesView {
  const view = (queue: readonly LinkMessage[], old: readonly LinkMessage[] | undefined) => {
    const fresh = old === undefined ? 0 : freshCount(old, queue);
    assert(fresh >= 0 && fresh <= queue.length, `${fresh} fresh messages in a queue of ${queue.length}`);
    return queue.map((m, i) => messageView(m, i >= queue.length - fresh));
  };
  return { current: view(now.current, before?.current), stale: view(now.stale, before?.stale) };
}

function linksView(world: World, before: World | null): LinkView[] {
  return Object.entries(world.links).map(([link, channels]) => {
    const { upstream, downstream } = linkEnds(link);
    const old = before?.links[link];
    return { link, upstream, downstream, down: queuesView(channels.down, old?.down), up: queuesView(channels.up, old?.up) };
  });
}

/** The view of `state`; `before` (the state one step earlier, if any) marks the messages just sent. */
export function stateView(check: CheckConfig, state: ChainState, before: ChainState | null): StateView {
  const world = state.world;
  const store: CellView[] = Object.entries(world.store).map(([fn, desired]) => ({ key: `store/${fn}`, label: fn, text: String(desired) }));
  return {
    stages: Object.entries(world.stages).map(([stage, s]) => stageView(world, stage, s)),
    links: linksView(world, before === null ? null : before.world),
    store,
    budgets: { ...state.budgets },
    scaled: state.scaled,
    converged: isConverged(check.chain, world),
  };
}

/** Every keyed item of a view with its text: what `changed` and `removed` compare. */
export function cellsOf(view: StateView): Map<string, string> {
  const cells = new Map<string, string>();
  for (const stage of view.stages) {
    cells.set(`${stage.id}/incarnation`, String(stage.incarnation));
    for (const s of stage.sessions) cells.set(s.key, `${s.side} ${s.link}: ${s.session} ${s.epoch}`);
    for (const d of stage.desired) cells.set(d.key, `${d.function}=${d.desired} ${d.clean ? 'clean' : 'dirty'}`);
    for (const p of stage.pods) cells.set(p.key, `${p.name} ${p.lifecycle}${p.node === null ? '' : ` @${p.node}`}`);
    for (const b of stage.sandboxes) cells.set(b.key, `sandbox ${b.pod} ${b.state}`);
  }
  for (const c of view.store) cells.set(c.key, `stored ${c.label}=${c.text}`);
  for (const [kind, left] of Object.entries(view.budgets)) cells.set(`budget/${kind}`, String(left));
  cells.set('scaled', String(view.scaled));
  return cells;
}

/** The keys whose text changed or that appeared, and the items that went, from `before` to `now`. */
export function differences(before: Map<string, string>, now: Map<string, string>): { changed: string[]; removed: Array<{ key: string; text: string }> } {
  const changed: string[] = [];
  const removed: Array<{ key: string; text: string }> = [];
  for (const [key, text] of now) if (before.get(key) !== text) changed.push(key);
  for (const [key, text] of before) if (!now.has(key)) removed.push({ key, text });
  return { changed, removed };
}
