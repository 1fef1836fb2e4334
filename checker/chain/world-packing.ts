/**
 * Packing a world into a chain state (a vector of interned component ids) and back, and
 * the state's fingerprint from its components' content hashes. Owns the interned parts
 * (stage states, sandboxes, store, incarnations, budgets, ghost) and the message lists
 * that every other part of the packed model reads component values from.
 */
import { InvariantViolation, type LinkId, type LinkMessage, type StageId, type StageState } from '../../machines/index.js';
import type { Ghost } from '../../simulator/ghost.js';
import type { LinkChannels, Sandbox, World } from '../../simulator/world.js';
import { finish, type Fingerprint } from '../engine/fingerprint.js';
import { ChainState } from './chain-state.js';
import { Interner } from './interning.js';
import { idSpan } from './memo-tables.js';
import { MessageLists } from './message-lists.js';
import type { FaultBudgets } from './presets.js';
import type { StateLayout } from './state-layout.js';

/**
 * DEC-56: a ghost with its empty tombstone histories left out. A stage's history absent
 * and empty mean the same to every reader (`ghost.tombstoned[stage] ?? []`), but a
 * restart writes an empty one (simulator/world.ts), so two ghosts that differ only there
 * would make two states of one.
 */
export function canonicalGhost(ghost: Ghost): Ghost {
  let empty = false;
  for (const stage in ghost.tombstoned) if ((ghost.tombstoned[stage] as readonly string[]).length === 0) empty = true;
  if (!empty) return ghost;
  const tombstoned: Record<string, readonly string[]> = {};
  for (const [stage, names] of Object.entries(ghost.tombstoned)) if (names.length > 0) tombstoned[stage] = names;
  return { ...ghost, tombstoned };
}

/**
 * DEC-56: fault budgets as they constrain the future. A fault of a kind is possible while
 * both its kind's budget and the total are above zero, and takes one from both, so a
 * kind's budget above the total never matters: each kind's budget is replaced by the
 * smaller of it and the total. Two states that differ only in which kinds of fault they
 * took (and so in budgets that can no longer be spent) become one.
 */
export function canonicalBudgets(budgets: FaultBudgets): FaultBudgets {
  const total = budgets.total;
  let over = false;
  for (const key in budgets) if (key !== 'total' && (budgets[key as keyof FaultBudgets] as number) > total) over = true;
  if (!over) return budgets;
  const capped: Record<string, number> = {};
  for (const [key, value] of Object.entries(budgets)) capped[key] = key === 'total' ? value : Math.min(value as number, total);
  return capped as unknown as FaultBudgets;
}

/** A packed array of `length` zeros (pushed, so that V8 keeps it packed rather than holey). */
function zeros(length: number): number[] {
  const array: number[] = [];
  for (let i = 0; i < length; i++) array.push(0);
  return array;
}

export class WorldPacking {
  /** Every component but the message lists, hash-consed. */
  readonly parts = new Interner();
  readonly lists: MessageLists;
  /** Ghost id -> id of its highest desired counts (what the invariants read of it). */
  readonly maxDesiredOf: number[] = [];

  constructor(
    private readonly layout: StateLayout,
    /** The stepper's interned messages. */
    messages: Interner,
    /** Exact state abstraction (DEC-56): ghosts interned in their canonical form (`canonicalGhost`). */
    private readonly abstraction = true,
  ) {
    this.lists = new MessageLists(messages);
  }

  /** The id of a ghost (every ghost is interned here, so that its highest desired counts are known by id). */
  ghostId(ghost: Ghost): number {
    const id = this.parts.idOf(this.abstraction ? canonicalGhost(ghost) : ghost);
    if (this.maxDesiredOf[id] === undefined) this.maxDesiredOf[id] = this.parts.idOf(ghost.maxDesired);
    if (id >= idSpan) throw new InvariantViolation('more interned components than the packed model\'s memo keys allow');
    return id;
  }

  /** Packs a world (the initial one, or one after a fault taken by `applyAction`). */
  stateOfWorld(world: World, scaled: number, budgets: FaultBudgets): ChainState {
    const layout = this.layout;
    const ids = zeros(layout.componentCount);
    layout.stages.forEach((stage, i) => {
      ids[i] = this.parts.idOf(world.stages[stage] as object);
    });
    layout.links.forEach((link, l) => {
      const c = world.links[link] as LinkChannels;
      ids[layout.channelPos(l, 'down', false)] = this.lists.idOf(c.down.current);
      ids[layout.channelPos(l, 'down', true)] = this.lists.idOf(c.down.stale);
      ids[layout.channelPos(l, 'up', false)] = this.lists.idOf(c.up.current);
      ids[layout.channelPos(l, 'up', true)] = this.lists.idOf(c.up.stale);
    });
    layout.nodes.forEach((node, n) => {
      ids[layout.sandboxesAt + n] = this.parts.idOf(world.sandboxes[node] as object);
    });
    ids[layout.storeAt] = this.parts.idOf(world.store);
    ids[layout.incarnationsAt] = this.parts.idOf(world.incarnations);
    ids[layout.budgetsAt] = this.parts.idOf(budgets);
    ids[layout.ghostAt] = this.ghostId(world.ghost);
    ids[layout.scaledAt] = scaled;
    return new ChainState(this, ids, scaled, budgets);
  }

  /** The state of a complete id vector (its scale-script position and budgets read from it). */
  stateOfIds(ids: ArrayLike<number>): ChainState {
    return new ChainState(this, ids, ids[this.layout.scaledAt] as number, this.parts.values[ids[this.layout.budgetsAt] as number] as FaultBudgets);
  }

  /** The world of a packed state, from canonical components (for ChainState.world). */
  worldOf(ids: readonly number[]): World {
    const layout = this.layout;
    const values = this.parts.values;
    const lists = this.lists.values;
    const stages: Record<StageId, StageState> = {};
    for (let i = 0; i < layout.stages.length; i++) stages[layout.stages[i] as StageId] = values[ids[i] as number] as StageState;
    const links: Record<LinkId, LinkChannels> = {};
    for (let l = 0; l < layout.links.length; l++) {
      const at = layout.channelsAt + l * 4;
      links[layout.links[l] as LinkId] = {
        down: { current: lists[ids[at] as number] as readonly LinkMessage[], stale: lists[ids[at + 1] as number] as readonly LinkMessage[] },
        up: { current: lists[ids[at + 2] as number] as readonly LinkMessage[], stale: lists[ids[at + 3] as number] as readonly LinkMessage[] },
      };
    }
    const sandboxes: Record<string, Readonly<Record<string, Sandbox>>> = {};
    for (let n = 0; n < layout.nodes.length; n++) sandboxes[layout.nodes[n] as string] = values[ids[layout.sandboxesAt + n] as number] as Record<string, Sandbox>;
    return {
      stages,
      incarnations: values[ids[layout.incarnationsAt] as number] as Record<StageId, number>,
      store: values[ids[layout.storeAt] as number] as Record<string, number>,
      links,
      sandboxes,
      ghost: values[ids[layout.ghostAt] as number] as Ghost,
    };
  }

  /** One stage's state in a packed state. */
  stageOf(ids: readonly number[], stage: StageId): StageState {
    return this.parts.values[ids[this.layout.stagePosOf(stage)] as number] as StageState;
  }

  /**
   * The state's 64-bit fingerprint, from its components' content hashes in position
   * order (not from the ids, which depend on the order components were first seen): the
   * same state has the same fingerprint in every process and worker thread.
   */
  fingerprint(ids: readonly number[]): Fingerprint {
    const kinds = this.layout.kinds;
    const partsHigh = this.parts.hashHigh;
    const partsLow = this.parts.hashLow;
    const listsHigh = this.lists.hashHigh;
    const listsLow = this.lists.hashLow;
    let a = 0x811c9dc5;
    let b = 0x9747b28c;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      const kind = kinds[i];
      const h = kind === 0 ? (partsHigh[id] as number) : kind === 1 ? (listsHigh[id] as number) : id;
      const l = kind === 0 ? (partsLow[id] as number) : kind === 1 ? (listsLow[id] as number) : id;
      a = Math.imul(a ^ h, 0x01000193);
      a ^= a >>> 15;
      b = Math.imul(b ^ l, 0x5bd1e995);
      b ^= b >>> 13;
    }
    return finish(a, b);
  }
}
