/**
 * Handing chain states to other worker threads (parallel search, Model.encode/decode):
 * ids are local to a worker, so a state travels as the sender's ids plus the content of
 * every component the peer has not been sent before; the peer keeps a translation of the
 * sender's ids to its own.
 */
import { InvariantViolation, reviveStageState } from '../../machines/index.js';
import type { Ghost } from '../../simulator/ghost.js';
import type { ChainState } from './chain-state.js';
import type { MemoStepper } from './interning.js';
import type { StateLayout } from './state-layout.js';
import type { WorldPacking } from './world-packing.js';

/** A state in transit between worker threads. */
interface EncodedState {
  readonly ids: Int32Array;
  readonly parts: ReadonlyArray<readonly [number, string]>;
  readonly lists: ReadonlyArray<readonly [number, readonly number[]]>;
  readonly messages: ReadonlyArray<readonly [number, string]>;
}

export class StateTransfer {
  /** Per peer: the ids (of parts, lists, messages) already sent to it. */
  private readonly sentTo = new Map<number, { parts: Set<number>; lists: Set<number>; messages: Set<number> }>();
  /** Per sending worker: its ids -> this worker's ids. */
  private readonly receivedFrom = new Map<number, { parts: number[]; lists: number[]; messages: number[] }>();

  constructor(
    private readonly layout: StateLayout,
    private readonly packing: WorldPacking,
    private readonly stepper: MemoStepper,
  ) {}

  encode(state: ChainState, peer: number): EncodedState {
    let sent = this.sentTo.get(peer);
    if (sent === undefined) {
      sent = { parts: new Set(), lists: new Set(), messages: new Set() };
      this.sentTo.set(peer, sent);
    }
    const parts: Array<[number, string]> = [];
    const lists: Array<[number, number[]]> = [];
    const messages: Array<[number, string]> = [];
    const ids = state.ids;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      const kind = this.layout.kinds[i];
      if (kind === 0 && !sent.parts.has(id)) {
        sent.parts.add(id);
        parts.push([id, JSON.stringify(this.packing.parts.values[id])]);
      } else if (kind === 1 && !sent.lists.has(id)) {
        sent.lists.add(id);
        const messageIds = this.packing.lists.messageIds[id] as number[];
        for (const m of messageIds)
          if (!sent.messages.has(m)) {
            sent.messages.add(m);
            messages.push([m, JSON.stringify(this.stepper.messages.values[m])]);
          }
        lists.push([id, messageIds]);
      }
    }
    return { ids: Int32Array.from(ids), parts, lists, messages };
  }

  decode(data: unknown, from: number): ChainState {
    const encoded = data as EncodedState;
    let known = this.receivedFrom.get(from);
    if (known === undefined) {
      known = { parts: [], lists: [], messages: [] };
      this.receivedFrom.set(from, known);
    }
    for (const [m, json] of encoded.messages) known.messages[m] = this.stepper.messages.idOf(JSON.parse(json) as object);
    const messages = known.messages;
    for (const [list, messageIds] of encoded.lists) known.lists[list] = this.packing.lists.idOfMessageIds(messageIds.map((m) => messages[m] as number));
    // A stage state's pod cache is a class (machines/README.md, "Canonical state"): revive it.
    const stageParts = new Set(encoded.ids.slice(0, this.layout.stages.length));
    for (const [part, json] of encoded.parts) {
      const value = JSON.parse(json) as object;
      known.parts[part] = this.packing.parts.idOf(stageParts.has(part) ? reviveStageState(value) : value);
    }
    const ids = new Int32Array(encoded.ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = encoded.ids[i] as number;
      const kind = this.layout.kinds[i];
      const local = kind === 0 ? known.parts[id] : kind === 1 ? known.lists[id] : id;
      if (local === undefined) throw new InvariantViolation(`worker ${from} sent component ${id} at position ${i} without its content`);
      ids[i] = local;
    }
    this.packing.ghostId(this.packing.parts.values[ids[this.layout.ghostAt] as number] as Ghost);
    return this.packing.stateOfIds(ids);
  }
}
