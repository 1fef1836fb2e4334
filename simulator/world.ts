/**
 * The world around the machines: one FIFO channel per link and direction, the sandbox
 * runtime of each node, the backing store, and faults. Pure and JSON-only, so the
 * simulator and the model checker share it: both step the same machines through
 * `applyAction`, the single place where a driver's obligations (machines/README.md) are
 * met in this process. Checks on the hot path are written `if (...) throw` so that no
 * message string is built unless the check fails.
 */
import {
  bootEffects,
  InvariantViolation,
  initStage,
  kubeletId,
  linkEnds,
  linksOf,
  nodeOfKubelet,
  roleOf,
  stagesOf,
  stepStage,
  clientSideOf,
  clientWantsSession,
  serverSide,
  type ChainConfig,
  type Effect,
  type LinkId,
  type LinkMessage,
  type PodRecord,
  type Role,
  type StageEvent,
  type StageId,
  type StageState,
  withEntry,
  withoutEntry,
  sessionsPerIncarnationMax,
  schedulerToKubelet,
} from '../machines/index.js';
import { forgedPodName } from './forged-pods.js';
import { emptyGhost, observeStep, type Ghost, type ObservedStep, type Violation } from './ghost.js';

export type SandboxState = 'starting' | 'running' | 'killing';

export interface Sandbox {
  readonly pod: PodRecord;
  readonly state: SandboxState;
  /** Being killed: the origin of the tombstone, kept for the inventory of a restarted Kubelet (REQ-TOMB-008). */
  readonly origin?: Role;
}

export interface Channel {
  /** Messages of the current transport, FIFO. */
  readonly current: readonly LinkMessage[];
  /** Messages of ended sessions that may still arrive late (or never): the receiver must fence them. */
  readonly stale: readonly LinkMessage[];
}

export interface LinkChannels {
  readonly down: Channel;
  readonly up: Channel;
}

export interface World {
  readonly stages: Readonly<Record<StageId, StageState>>;
  /** Durable per-process incarnation counters. */
  readonly incarnations: Readonly<Record<StageId, number>>;
  /** The Autoscaler's backing store. */
  readonly store: Readonly<Record<string, number>>;
  readonly links: Readonly<Record<LinkId, LinkChannels>>;
  /** The sandbox runtime of each node: the physical truth. */
  readonly sandboxes: Readonly<Record<string, Readonly<Record<string, Sandbox>>>>;
  /** History kept only to check properties (never read by the machines). */
  readonly ghost: Ghost;
}

export type Direction = 'down' | 'up';

/**
 * Everything that can happen next. Faults and scale requests are chosen by the scenario or
 * the checker. `choices` picks among the Scheduler's alternatives where the spec leaves a
 * tie (DEC-52): the digits of the Scheduler steps the action takes, in order
 * (machines/core/choices.ts); absent, the spec's rule.
 */
export type WorldAction = WorldActionKind & { readonly choices?: readonly number[] };

type WorldActionKind =
  | { readonly kind: 'deliver'; readonly link: LinkId; readonly direction: Direction }
  | { readonly kind: 'deliverStale'; readonly link: LinkId; readonly direction: Direction }
  | { readonly kind: 'dropStale'; readonly link: LinkId; readonly direction: Direction }
  | { readonly kind: 'connect'; readonly link: LinkId }
  | { readonly kind: 'sandboxDone'; readonly node: string; readonly pod: string; readonly outcome: 'started' | 'failed' | 'killed' }
  | { readonly kind: 'scale'; readonly function: string; readonly desired: number }
  | { readonly kind: 'cut'; readonly link: LinkId }
  | { readonly kind: 'crash'; readonly stage: StageId }
  | { readonly kind: 'nodeCrash'; readonly node: string }
  /** An impersonated upstream's hello far above the downstream's epoch, then its stream closed (issue 17, defect 4). */
  | { readonly kind: 'forgeHello'; readonly link: LinkId }
  /** An impersonated Scheduler's session with a Kubelet that provisions a pod nobody above knows (issue 17, defect 5). */
  | { readonly kind: 'forgePod'; readonly node: string };

export interface StepOutcome {
  readonly world: World;
  readonly violations: readonly Violation[];
  /** The ties the action's Scheduler steps met: the number of alternatives of each, in order (empty when none). */
  readonly choiceRadices: readonly number[];
}

/** A stepper that hands an action's choice digits to its Scheduler steps in order and collects the ties they meet. */
class ChoiceTracking {
  readonly radices: number[] = [];
  constructor(
    private readonly stepper: StageStepper,
    private readonly digits: readonly number[],
  ) {}

  readonly step: StageStepper = (config, stage, state, event) => {
    if (stage !== 'scheduler') return this.stepper(config, stage, state, event);
    const rest = this.radices.length === 0 ? this.digits : this.digits.slice(this.radices.length);
    const result = this.stepper(config, stage, state, event, rest.length === 0 ? undefined : rest);
    if (result.choiceRadices !== undefined) for (const k of result.choiceRadices) this.radices.push(k);
    return result;
  };
}

const noRadices: readonly number[] = Object.freeze([]);

const emptyChannel: Channel = { current: [], stale: [] };

export function initialWorld(config: ChainConfig): World {
  const stages: Record<StageId, StageState> = {};
  const incarnations: Record<StageId, number> = {};
  for (const stage of stagesOf(config)) {
    incarnations[stage] = 1;
    stages[stage] = initStage(config, stage, { incarnation: 1 });
  }
  const links: Record<LinkId, LinkChannels> = {};
  for (const link of linksOf(config)) links[link] = { down: emptyChannel, up: emptyChannel };
  const sandboxes: Record<string, Record<string, Sandbox>> = {};
  for (const node of config.nodes) sandboxes[node.name] = {};
  return { stages, incarnations, store: {}, links, sandboxes, ghost: emptyGhost(config) };
}

function stageOf(world: World, stage: StageId): StageState {
  const state = world.stages[stage];
  if (state === undefined) throw new InvariantViolation(`unknown stage ${stage}`);
  return state;
}

function channelOf(world: World, link: LinkId, direction: Direction): Channel {
  const channels = world.links[link];
  if (channels === undefined) throw new InvariantViolation(`unknown link ${link}`);
  return channels[direction];
}

function withChannel(world: World, link: LinkId, direction: Direction, channel: Channel): World {
  const channels = world.links[link];
  if (channels === undefined) throw new InvariantViolation(`unknown link ${link}`);
  return { ...world, links: { ...world.links, [link]: { ...channels, [direction]: channel } } };
}

/** The actions enabled in `world`, excluding faults and scale requests. */
export function protocolActions(config: ChainConfig, world: World): WorldAction[] {
  const actions: WorldAction[] = [];
  for (const link of linksOf(config)) {
    const channels = world.links[link];
    if (channels === undefined) continue;
    for (const direction of ['down', 'up'] as const) {
      if (channels[direction].current.length > 0) actions.push({ kind: 'deliver', link, direction });
      if (channels[direction].stale.length > 0) {
        actions.push({ kind: 'deliverStale', link, direction });
        actions.push({ kind: 'dropStale', link, direction });
      }
    }
    const { upstream } = linkEnds(link);
    const client = clientSideOf(stageOf(world, upstream), link);
    if (client !== undefined && clientWantsSession(client)) actions.push({ kind: 'connect', link });
  }
  for (const node of config.nodes) {
    for (const [pod, sandbox] of Object.entries(world.sandboxes[node.name] ?? {})) {
      for (const outcome of sandboxOutcomesOf(sandbox)) actions.push({ kind: 'sandboxDone', node: node.name, pod, outcome });
    }
  }
  return actions;
}

/**
 * What the sandbox runtime may report next for a sandbox: `started` while starting,
 * `killed` while being killed, and `failed` (it dies of itself) in both: while starting
 * (REQ-POD-014) or while being killed (its Kubelet must still acknowledge the kill,
 * REQ-TOMB-005). Not yet while running: a failure is then enabled in a settled chain,
 * which the checker's notions of quiescence and of a dead end do not allow for yet.
 */
export function sandboxOutcomesOf(sandbox: Sandbox): ReadonlyArray<'started' | 'failed' | 'killed'> {
  switch (sandbox.state) {
    case 'starting':
      return startingOutcomes;
    case 'killing':
      return killingOutcomes;
    default:
      return [];
  }
}
const startingOutcomes = ['started', 'failed'] as const;
const killingOutcomes = ['killed', 'failed'] as const;

/** Whether `cut` is meaningful for a link: some session is open or being opened on it. */
export function linkIsOpen(world: World, link: LinkId): boolean {
  const { upstream } = linkEnds(link);
  const client = clientSideOf(stageOf(world, upstream), link);
  return client !== undefined && !clientWantsSession(client);
}

/** Steps one stage; the model checker passes a memoizing one. */
export type StageStepper = typeof stepStage;

/**
 * Observes one stage step for the history checks (simulator/ghost.ts); the model checker
 * may pass a memoizing one. It must return `ghost` itself when nothing changed.
 */
export type StepObserver = (config: ChainConfig, ghost: Ghost, step: ObservedStep) => { ghost: Ghost; violations: readonly Violation[] };

// Hot-path note: no closures are created per action (tsx keeps function names by
// wrapping each closure, which costs more than the closure itself).
export function applyAction(config: ChainConfig, world: World, action: WorldAction, plainStepper: StageStepper = stepStage, observe: StepObserver = observeStep): StepOutcome {
  const violations: Violation[] = [];
  const tracking = new ChoiceTracking(plainStepper, action.choices ?? noRadices);
  const stepper = tracking.step;
  let next = world;
  switch (action.kind) {
    case 'deliver':
    case 'deliverStale': {
      const channel = channelOf(world, action.link, action.direction);
      const queue = action.kind === 'deliver' ? channel.current : channel.stale;
      const message = queue[0];
      if (message === undefined) throw new InvariantViolation(`no message to deliver on ${action.link} ${action.direction}`);
      const rest = queue.slice(1);
      next = withChannel(world, action.link, action.direction, action.kind === 'deliver' ? { current: rest, stale: channel.stale } : { current: channel.current, stale: rest });
      const { upstream, downstream } = linkEnds(action.link);
      next = deliverEvent(config, next, action.direction === 'down' ? downstream : upstream, { type: 'message.received', link: action.link, message }, violations, stepper, observe);
      break;
    }
    case 'dropStale': {
      const channel = channelOf(world, action.link, action.direction);
      next = withChannel(world, action.link, action.direction, { current: channel.current, stale: channel.stale.slice(1) });
      break;
    }
    case 'connect':
      next = deliverEvent(config, world, linkEnds(action.link).upstream, { type: 'link.connected', link: action.link }, violations, stepper, observe);
      break;
    case 'sandboxDone': {
      const remaining = sandboxesAfterDone(world.sandboxes[action.node] ?? {}, action.node, action.pod, action.outcome);
      next = { ...world, sandboxes: { ...world.sandboxes, [action.node]: remaining } };
      if (action.outcome !== 'started') next = { ...next, ghost: { ...next.ghost, dead: addName(next.ghost.dead, action.pod) } };
      next = deliverEvent(config, next, kubeletId(action.node), { type: `sandbox.${action.outcome}`, pod: action.pod }, violations, stepper, observe);
      break;
    }
    case 'scale':
      next = deliverEvent(config, world, 'autoscaler', { type: 'scale.requested', function: action.function, desired: action.desired }, violations, stepper, observe);
      break;
    case 'cut':
      next = endLink(config, world, action.link, violations, stepper, observe);
      break;
    case 'crash':
      next = restartStage(config, world, action.stage, false, violations, stepper, observe);
      break;
    case 'nodeCrash':
      next = restartStage(config, world, kubeletId(action.node), true, violations, stepper, observe);
      break;
    case 'forgeHello':
      next = forgeHello(config, world, action.link, violations, stepper, observe);
      break;
    case 'forgePod':
      next = forgePod(config, world, action.node, violations, stepper, observe);
      break;
  }
  return { world: next, violations, choiceRadices: tracking.radices.length === 0 ? noRadices : tracking.radices };
}

/** `list` (sorted names) with `name` added. */
export function addName(list: readonly string[], name: string): readonly string[] {
  if (list.includes(name)) return list;
  return [...list, name].sort();
}

/** A node's sandboxes after the runtime reports `outcome` for `pod`: running once started, gone once failed or killed. */
export function sandboxesAfterDone(sandboxes: Readonly<Record<string, Sandbox>>, node: string, pod: string, outcome: 'started' | 'failed' | 'killed'): Readonly<Record<string, Sandbox>> {
  const sandbox = sandboxes[pod];
  if (sandbox === undefined) throw new InvariantViolation(`no sandbox ${pod} on ${node}`);
  return outcome === 'started' ? withEntry(sandboxes, pod, { ...sandbox, state: 'running' as const }) : withoutEntry(sandboxes, pod);
}

/** A node's sandboxes after its Kubelet's `sandbox.start` or `sandbox.kill` effect. */
export function sandboxesAfterEffect(sandboxes: Readonly<Record<string, Sandbox>>, node: string, effect: Extract<Effect, { type: 'sandbox.start' | 'sandbox.kill' }>): Readonly<Record<string, Sandbox>> {
  if (effect.type === 'sandbox.start') return withEntry(sandboxes, effect.pod.name, { pod: effect.pod, state: 'starting' as const });
  const sandbox = sandboxes[effect.pod.name];
  if (sandbox === undefined) throw new InvariantViolation(`the Kubelet of ${node} kills ${effect.pod.name}, which has no sandbox`);
  return withEntry(sandboxes, effect.pod.name, { pod: sandbox.pod, state: 'killing' as const, origin: effect.origin });
}

/** The backing store after the Autoscaler's `store.persist` effect. */
export function storeAfterEffect(store: Readonly<Record<string, number>>, effect: Extract<Effect, { type: 'store.persist' }>): Readonly<Record<string, number>> {
  return withEntry(store, effect.function, effect.desired);
}

/**
 * The session on `link` ends at both ends. What was in flight may still arrive late at a
 * live receiver (which must fence it), but never at a later incarnation of a crashed one
 * (spec REQ-FAIL-005: its transport died with it).
 */
function endLink(config: ChainConfig, world: World, link: LinkId, violations: Violation[], stepper: StageStepper, observe: StepObserver, crashed: StageId | null = null): World {
  const channels = world.links[link];
  if (channels === undefined) throw new InvariantViolation(`unknown link ${link}`);
  const { upstream, downstream } = linkEnds(link);
  let next: World = {
    ...world,
    links: { ...world.links, [link]: { down: keepInFlight(channels.down, downstream, crashed), up: keepInFlight(channels.up, upstream, crashed) } },
  };
  if (upstream !== crashed) next = deliverEvent(config, next, upstream, { type: 'link.lost', link }, violations, stepper, observe);
  if (downstream !== crashed) next = deliverEvent(config, next, downstream, { type: 'link.lost', link }, violations, stepper, observe);
  return next;
}

/** How far above the downstream's epoch a forged hello goes: three incarnations of the upstream (the reproduction). */
export const forgedHelloEpochJump = 3 * sessionsPerIncarnationMax;

/**
 * An impersonated upstream (plaintext mode): a hello on a stream of its own with an epoch
 * `forgedHelloEpochJump` above the downstream's, which supersedes the real session (its
 * transport is rejected: both ends lose it), then the impersonator closes its stream.
 * What the downstream answers goes to the impersonator and is lost with its stream.
 */
function forgeHello(config: ChainConfig, world: World, link: LinkId, violations: Violation[], stepper: StageStepper, observe: StepObserver): World {
  let next = endLink(config, world, link, violations, stepper, observe);
  const { downstream } = linkEnds(link);
  const server = serverSide(stageOf(next, downstream));
  if (server === null) throw new InvariantViolation(`${downstream} has no server side on ${link}`);
  const channels = next.links[link];
  next = deliverEvent(config, next, downstream, { type: 'message.received', link, message: { type: 'session.hello', epoch: server.epoch + forgedHelloEpochJump } }, violations, stepper, observe);
  next = { ...next, links: { ...next.links, [link]: channels as LinkChannels } };
  return deliverEvent(config, next, downstream, { type: 'link.lost', link }, violations, stepper, observe);
}

/**
 * An impersonated Scheduler (plaintext mode): a session of its own with a Kubelet, one
 * epoch above the Kubelet's (which supersedes the real one: both ends lose it), completed
 * with a sync and a provision of a pod nobody above knows, then closed. The Kubelet starts
 * the sandbox; its answers go to the impersonator and are lost with its stream.
 */
function forgePod(config: ChainConfig, world: World, node: string, violations: Violation[], stepper: StageStepper, observe: StepObserver): World {
  const link = schedulerToKubelet(node);
  const kubelet = kubeletId(node);
  let next = endLink(config, world, link, violations, stepper, observe);
  const server = serverSide(stageOf(next, kubelet));
  const fn = config.functions[0];
  if (server === null || fn === undefined) throw new InvariantViolation(`${kubelet} has no server side, or the chain no function`);
  const epoch = server.epoch + 1;
  const pod: PodRecord = { name: forgedPodName(fn.name, epoch, config.nodes.findIndex((n) => n.name === node)), function: fn.name, priority: fn.priority, node };
  const channels = next.links[link];
  const messages: LinkMessage[] = [{ type: 'session.hello', epoch }, { type: 'session.sync', epoch }, { type: 'pod.provision', epoch, pod }];
  for (const message of messages) next = deliverEvent(config, next, kubelet, { type: 'message.received', link, message }, violations, stepper, observe);
  next = { ...next, links: { ...next.links, [link]: channels as LinkChannels } };
  return deliverEvent(config, next, kubelet, { type: 'link.lost', link }, violations, stepper, observe);
}

/** What stays of a channel when its session ends: nothing for a crashed receiver, else everything, as stale. */
function keepInFlight(channel: Channel, receiver: StageId, crashed: StageId | null): Channel {
  return receiver === crashed ? emptyChannel : channel.current.length === 0 ? channel : { current: [], stale: [...channel.stale, ...channel.current] };
}

function restartStage(config: ChainConfig, world: World, stage: StageId, nodeCrash: boolean, violations: Violation[], stepper: StageStepper, observe: StepObserver): World {
  let next = world;
  for (const link of linksOf(config)) {
    const { upstream, downstream } = linkEnds(link);
    if (upstream !== stage && downstream !== stage) continue;
    next = endLink(config, next, link, violations, stepper, observe, stage);
  }
  const incarnation = (next.incarnations[stage] ?? 0) + 1;
  let inventory: Sandbox[] = [];
  if (roleOf(stage) === 'kubelet') {
    const node = nodeOfKubelet(stage);
    const sandboxes = next.sandboxes[node] ?? {};
    if (nodeCrash) {
      let dead = next.ghost.dead;
      for (const name of Object.keys(sandboxes)) dead = addName(dead, name);
      next = { ...next, sandboxes: { ...next.sandboxes, [node]: {} }, ghost: { ...next.ghost, dead } };
    } else {
      inventory = Object.values(sandboxes);
    }
  }
  const state = initStage(config, stage, { incarnation, durableDesired: next.store, inventory });
  for (const effect of bootEffects(state)) next = carryOut(next, stage, effect);
  return {
    ...next,
    stages: { ...next.stages, [stage]: state },
    incarnations: { ...next.incarnations, [stage]: incarnation },
    ghost: { ...next.ghost, tombstoned: { ...next.ghost.tombstoned, [stage]: [] } },
  };
}

/** Steps one stage with one event and carries out its effects, in order. */
function deliverEvent(config: ChainConfig, world: World, stage: StageId, event: StageEvent, violations: Violation[], stepper: StageStepper, observe: StepObserver): World {
  const before = stageOf(world, stage);
  const result = stepper(config, stage, before, event);
  let next: World = result.state === before ? world : { ...world, stages: { ...world.stages, [stage]: result.state } };
  for (const effect of result.effects) next = carryOut(next, stage, effect);
  const observed = observe(config, next.ghost, { stage, event, before, after: result.state, effects: result.effects, trace: result.trace, disposition: result.disposition });
  for (const v of observed.violations) violations.push(v);
  return observed.ghost === next.ghost ? next : { ...next, ghost: observed.ghost };
}

function carryOut(world: World, stage: StageId, effect: Effect): World {
  switch (effect.type) {
    case 'message.send': {
      const { upstream } = linkEnds(effect.link);
      const direction: Direction = upstream === stage ? 'down' : 'up';
      const channel = channelOf(world, effect.link, direction);
      return withChannel(world, effect.link, direction, { ...channel, current: [...channel.current, effect.message] });
    }
    case 'sandbox.start':
    case 'sandbox.kill': {
      const node = nodeOfKubelet(stage);
      return { ...world, sandboxes: { ...world.sandboxes, [node]: sandboxesAfterEffect(world.sandboxes[node] ?? {}, node, effect) } };
    }
    case 'store.persist':
      return { ...world, store: storeAfterEffect(world.store, effect) };
  }
}

/**
 * The boot of a chain in one fixed order: the first enabled action, repeatedly, until
 * nothing is left. Replaying these actions from the initial world gives the booted,
 * synced chain that the model checker may start from.
 */
export function bootSequence(config: ChainConfig, stepper: StageStepper = stepStage, stepsMax = 10_000): { world: World; actions: WorldAction[] } {
  let world = initialWorld(config);
  const actions: WorldAction[] = [];
  for (let steps = 0; steps < stepsMax; steps++) {
    const first = protocolActions(config, world)[0];
    if (first === undefined) return { world, actions };
    actions.push(first);
    world = applyAction(config, world, first, stepper).world;
  }
  throw new Error(`the chain did not boot within ${stepsMax} steps`);
}
