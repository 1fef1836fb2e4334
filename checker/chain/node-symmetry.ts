/**
 * Symmetry over identical Kubelets: renaming nodes of equal capacity maps a state of the
 * chain to an equivalent one (same behaviour up to the renaming), once the Scheduler's
 * ties are explored (DEC-52; with the spec's name-order tie-break it is not: the first
 * node by name gets the next pod). The search then keeps one state per orbit: the
 * renaming with the smallest fingerprint (`canonical`).
 *
 * A renaming moves the components of the renamed nodes (each Kubelet's stage state, the
 * four queues of its link, its sandboxes) to their new positions and rewrites every node
 * name in every component: the bare name (`n1`), its Kubelet (`kubelet:n1`) and its link
 * (`scheduler>kubelet:n1`), as whole JSON strings, keys included. Records kept in sorted
 * order (the Scheduler's `toKubelets`, every record in stage states and messages) are
 * sorted again; the incarnations keep the configuration's stage order; the ghost's
 * records keep their insertion order (renamed in place, as the renamed history would have
 * built them). Renamed components are memoized per (renaming, id).
 */
import { InvariantViolation, kubeletId, reviveStageState, schedulerToKubelet, type ChainConfig } from '../../machines/index.js';
import type { Ghost } from '../../simulator/ghost.js';
import { fingerprintOf, type Fingerprint } from '../engine/fingerprint.js';
import type { ChainState } from './chain-state.js';
import type { Interner } from './interning.js';
import type { StateLayout } from './state-layout.js';
import type { WorldPacking } from './world-packing.js';

/** The most renamings kept (4 identical nodes: 24); beyond, symmetry is refused. */
export const symmetryGroupSizeMax = 24;

type Order = 'sorted' | 'inPlace' | 'configOrder';

interface Renaming {
  /** New node index of each node index. */
  readonly nodeTo: readonly number[];
  /** Per position of the id vector: the position its component moves to. */
  readonly positionTo: Int32Array;
  /** Whole JSON string -> its renamed string (bare names, Kubelets, links). */
  readonly tokens: ReadonlyMap<string, string>;
  /** Per component kind: id -> renamed id (undefined until first asked). */
  readonly parts: number[];
  readonly lists: number[];
  readonly messages: number[];
}

/** Every permutation of `0 .. n-1` that maps each node to one of equal capacity, the identity first. */
function capacityPreservingPermutations(capacities: readonly number[]): number[][] {
  const out: number[][] = [];
  const walk = (prefix: number[]) => {
    if (prefix.length === capacities.length) {
      out.push(prefix);
      return;
    }
    for (let to = 0; to < capacities.length; to++)
      if (!prefix.includes(to) && capacities[to] === capacities[prefix.length]) walk([...prefix, to]);
  };
  walk([]);
  return out;
}

export class NodeSymmetry {
  /** Renamings; index 0 is the identity. */
  private readonly renamings: Renaming[];
  /** compose[a][b]: the renaming a after b. */
  private readonly composeTable: number[][];
  private readonly inverseOf: number[];
  private readonly stageOrder: readonly string[];
  /** Per node index: its Kubelet's stage position, its link's index, its capacity (by slot). */
  private readonly stageOfNode: readonly number[];
  private readonly linkOfNode: readonly number[];
  private readonly capacityOfSlot: readonly number[];
  /** A renamed id vector, reused by `canonical` (only the best is copied out). */
  private readonly scratch: number[] = [];
  /** Each renaming's node mapping, for the candidates of `canonical`. */
  private readonly nodeMaps: ReadonlyArray<readonly number[]>;
  /** Every node token as a whole JSON string, for name-blind signatures. */
  private readonly tokenPattern: RegExp;
  /** Name-blind signatures of components, per kind (parts, lists), by id. */
  private readonly partSignatures: number[] = [];
  private readonly listSignatures: number[] = [];
  /** Per node: its signature, and per slot the signature that goes there (scratch). */
  private readonly nodeSignatures: number[] = [];
  private readonly slotSignatures: number[] = [];

  constructor(
    config: ChainConfig,
    private readonly layout: StateLayout,
    private readonly packing: WorldPacking,
    private readonly messages: Interner,
  ) {
    const nodes = config.nodes.map((n) => n.name);
    const permutations = capacityPreservingPermutations(config.nodes.map((n) => n.capacity));
    if (permutations.length > symmetryGroupSizeMax) throw new InvariantViolation(`symmetry over ${permutations.length} renamings of nodes (above symmetryGroupSizeMax ${symmetryGroupSizeMax})`);
    this.stageOrder = layout.stages;
    this.stageOfNode = nodes.map((node) => layout.stagePosOf(kubeletId(node)));
    this.linkOfNode = nodes.map((node) => layout.linkOf(schedulerToKubelet(node)));
    this.capacityOfSlot = config.nodes.map((n) => n.capacity);
    for (let pos = 0; pos < layout.componentCount; pos++) this.scratch.push(0);
    this.renamings = permutations.map((nodeTo) => this.renamingOf(nodes, nodeTo));
    this.nodeMaps = permutations;
    const escaped = nodes.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
    this.tokenPattern = new RegExp(`"(?:scheduler>kubelet:|kubelet:)?(?:${escaped})"`, 'g');
    const indexOf = new Map(permutations.map((p, i) => [p.join(','), i]));
    const find = (p: number[]) => {
      const i = indexOf.get(p.join(','));
      if (i === undefined) throw new InvariantViolation('renamings of equal-capacity nodes are not closed under composition');
      return i;
    };
    this.composeTable = permutations.map((a) => permutations.map((b) => find(b.map((to) => a[to] as number))));
    this.inverseOf = permutations.map((p) => {
      const inverse: number[] = [];
      p.forEach((to, from) => (inverse[to] = from));
      return find(inverse);
    });
  }

  /** The number of renamings (1: no two nodes are alike). */
  get size(): number {
    return this.renamings.length;
  }

  compose(outer: number, inner: number): number {
    return (this.composeTable[outer] as number[])[inner] as number;
  }

  inverse(element: number): number {
    return this.inverseOf[element] as number;
  }

  /** The renaming of the state with the smallest fingerprint, and which renaming it is. */
  /**
   * The orbit's representative: among the renamings that put the nodes in the order of
   * their name-blind signatures (each node's Kubelet, link queues and sandboxes, hashed
   * with every node name replaced by one placeholder, which a renaming cannot change),
   * the one with the smallest fingerprint. Usually the signatures differ and one renaming
   * is a candidate; equal signatures leave several, all tried. Either way the candidates
   * of a state and of any renaming of it give the same representative.
   */
  canonical(state: ChainState, fingerprint: (ids: readonly number[]) => Fingerprint): { ids: readonly number[]; element: number } {
    const candidates = this.candidates(state.ids);
    let bestElement = candidates[0] as number;
    if (candidates.length === 1) return { ids: bestElement === 0 ? state.ids : this.applyToIds(state.ids, bestElement), element: bestElement };
    const scratch = this.scratch;
    this.renameInto(state.ids, bestElement, scratch);
    let bestFp = fingerprint(scratch);
    for (let c = 1; c < candidates.length; c++) {
      const element = candidates[c] as number;
      this.renameInto(state.ids, element, scratch);
      const fp = fingerprint(scratch);
      if (fp.high < bestFp.high || (fp.high === bestFp.high && fp.low < bestFp.low)) {
        bestElement = element;
        bestFp = fp;
      }
    }
    return { ids: bestElement === 0 ? state.ids : this.applyToIds(state.ids, bestElement), element: bestElement };
  }

  /** The id vector of the state renamed by `element`. */
  applyToIds(ids: readonly number[], element: number): number[] {
    const out: number[] = [];
    for (let pos = 0; pos < ids.length; pos++) out.push(0);
    if (element === 0) {
      for (let pos = 0; pos < ids.length; pos++) out[pos] = ids[pos] as number;
      return out;
    }
    this.renameInto(ids, element, out);
    return out;
  }

  /** The renamings that sort the nodes by signature (ascending slots): at least one. */
  private candidates(ids: readonly number[]): number[] {
    const layout = this.layout;
    const signatures = this.nodeSignatures;
    const n = layout.nodes.length;
    for (let i = 0; i < n; i++) {
      const link = layout.channelsAt + (this.linkOfNode[i] as number) * 4;
      let h = this.partSignature(ids[this.stageOfNode[i] as number] as number);
      h = Math.imul(h ^ this.partSignature(ids[layout.sandboxesAt + i] as number), 0x01000193);
      for (let q = 0; q < 4; q++) h = Math.imul(h ^ this.listSignature(ids[link + q] as number), 0x5bd1e995) ^ (h >>> 15);
      signatures[i] = h | 0;
    }
    const candidates: number[] = [];
    for (let element = 0; element < this.nodeMaps.length; element++) {
      const nodeTo = this.nodeMaps[element] as readonly number[];
      // The renaming puts node i at slot nodeTo[i]: a candidate when the slots' signatures ascend.
      for (let i = 0; i < n; i++) this.slotSignatures[nodeTo[i] as number] = signatures[i] as number;
      let ascending = true;
      for (let slot = 1; slot < n && ascending; slot++) if (this.capacityOfSlot[slot] === this.capacityOfSlot[slot - 1] && (this.slotSignatures[slot - 1] as number) > (this.slotSignatures[slot] as number)) ascending = false;
      if (ascending) candidates.push(element);
    }
    return candidates;
  }

  private partSignature(id: number): number {
    let signature = this.partSignatures[id];
    if (signature === undefined) {
      signature = fingerprintOf(JSON.stringify(this.packing.parts.values[id]).replace(this.tokenPattern, '"#"')).high | 0;
      this.partSignatures[id] = signature;
    }
    return signature;
  }

  private listSignature(id: number): number {
    let signature = this.listSignatures[id];
    if (signature === undefined) {
      signature = fingerprintOf(JSON.stringify(this.packing.lists.values[id]).replace(this.tokenPattern, '"#"')).high | 0;
      this.listSignatures[id] = signature;
    }
    return signature;
  }

  /** Writes the id vector of the state renamed by `element` (not the identity) into `out`. */
  private renameInto(ids: readonly number[], element: number, out: number[]): void {
    const renaming = this.renamings[element] as Renaming;
    const layout = this.layout;
    for (let pos = 0; pos < ids.length; pos++) {
      const id = ids[pos] as number;
      const kind = layout.kinds[pos];
      const to = renaming.positionTo[pos] as number;
      if (kind === 2) out[to] = id;
      else if (kind === 1) out[to] = this.renamedList(renaming, id);
      else if (pos === layout.budgetsAt) out[to] = id;
      else out[to] = renaming.parts[id] ?? this.renamedPart(renaming, id, pos < layout.stages.length, pos === layout.incarnationsAt ? 'configOrder' : pos === layout.ghostAt ? 'inPlace' : 'sorted');
    }
  }

  /** A fairness class (a string naming links, nodes and pods) renamed by `element`. */
  renameText(text: string, element: number): string {
    if (element === 0) return text;
    const tokens = (this.renamings[element] as Renaming).tokens;
    // Longest forms first: a link contains its Kubelet, which contains its node.
    return text.replace(/(scheduler>kubelet:|kubelet:)?([^\s>:]+)/g, (whole) => tokens.get(whole) ?? whole);
  }

  private renamingOf(nodes: readonly string[], nodeTo: readonly number[]): Renaming {
    const layout = this.layout;
    const tokens = new Map<string, string>();
    nodes.forEach((node, i) => {
      const to = nodes[nodeTo[i] as number] as string;
      tokens.set(node, to);
      tokens.set(kubeletId(node), kubeletId(to));
      tokens.set(schedulerToKubelet(node), schedulerToKubelet(to));
    });
    const positionTo = Int32Array.from({ length: layout.componentCount }, (_, pos) => pos);
    nodes.forEach((node, i) => {
      const to = nodes[nodeTo[i] as number] as string;
      positionTo[layout.stagePosOf(kubeletId(node))] = layout.stagePosOf(kubeletId(to));
      const from = layout.linkOf(schedulerToKubelet(node));
      const into = layout.linkOf(schedulerToKubelet(to));
      for (let q = 0; q < 4; q++) positionTo[layout.channelsAt + from * 4 + q] = layout.channelsAt + into * 4 + q;
      positionTo[layout.sandboxesAt + i] = layout.sandboxesAt + (nodeTo[i] as number);
    });
    return { nodeTo, positionTo, tokens, parts: [], lists: [], messages: [] };
  }

  private renamedPart(renaming: Renaming, id: number, stage: boolean, order: Order): number {
    let renamed = renaming.parts[id];
    if (renamed === undefined) {
      const value = this.renameValue(renaming, JSON.parse(JSON.stringify(this.packing.parts.values[id])) as unknown, order);
      renamed = order === 'inPlace' ? this.packing.ghostId(value as Ghost) : this.packing.parts.idOf((stage ? reviveStageState(value) : value) as object);
      renaming.parts[id] = renamed;
    }
    return renamed;
  }

  private renamedList(renaming: Renaming, id: number): number {
    if (id === 0) return 0;
    let renamed = renaming.lists[id];
    if (renamed === undefined) {
      const messageIds = (this.packing.lists.messageIds[id] as number[]).map((m) => this.renamedMessage(renaming, m));
      renamed = this.packing.lists.idOfMessageIds(messageIds);
      renaming.lists[id] = renamed;
    }
    return renamed;
  }

  private renamedMessage(renaming: Renaming, id: number): number {
    let renamed = renaming.messages[id];
    if (renamed === undefined) {
      renamed = this.messages.idOf(this.renameValue(renaming, JSON.parse(JSON.stringify(this.messages.values[id])) as unknown, 'sorted') as object);
      renaming.messages[id] = renamed;
    }
    return renamed;
  }

  /** `value` (plain JSON) with every node name renamed, records reordered as `order` says. */
  private renameValue(renaming: Renaming, value: unknown, order: Order): unknown {
    if (typeof value === 'string') return renaming.tokens.get(value) ?? value;
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((v) => this.renameValue(renaming, v, order));
    const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => [renaming.tokens.get(k) ?? k, this.renameValue(renaming, v, order)] as const);
    const renamedKeys = entries.some(([k], i) => k !== Object.keys(value as object)[i]);
    if (renamedKeys && order === 'sorted') entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (renamedKeys && order === 'configOrder') entries.sort(([a], [b]) => this.stageOrder.indexOf(a) - this.stageOrder.indexOf(b));
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) out[k] = v;
    return out;
  }
}
