/**
 * The layout of a packed state's id vector: which position holds which component (each
 * stage, the four message queues of each link, each node's sandboxes, the store,
 * incarnations, budgets, ghost, scale-script position) and what kind of id it holds.
 * Fixed by the chain's config; every other part of the packed model indexes through it.
 */
import { InvariantViolation, linkEnds, linksOf, stagesOf, type ChainConfig, type LinkId, type StageId } from '../../machines/index.js';

export class StateLayout {
  readonly links: readonly LinkId[];
  readonly stages: readonly StageId[];
  readonly nodes: readonly string[];
  /** Each stage's position (stages come first, in `stagesOf` order). */
  readonly stagePos = new Map<StageId, number>();
  readonly linkIndex = new Map<LinkId, number>();
  readonly nodeIndex = new Map<string, number>();
  readonly channelsAt: number;
  readonly sandboxesAt: number;
  readonly storeAt: number;
  readonly incarnationsAt: number;
  readonly budgetsAt: number;
  readonly ghostAt: number;
  readonly scaledAt: number;
  /** The length of the id vector. */
  readonly componentCount: number;
  /** Per position: 0 an interned part, 1 a message list, 2 a plain number. */
  readonly kinds: Uint8Array;
  /** Per link: the positions of its upstream and downstream stage. */
  readonly upstreamPos: Int32Array;
  readonly downstreamPos: Int32Array;

  constructor(config: ChainConfig) {
    this.links = linksOf(config);
    this.stages = stagesOf(config);
    this.nodes = config.nodes.map((n) => n.name);
    // The emptiness of every message queue and each link's client status make one number in a memo key (exact below 2^53).
    if (this.links.length > 9) throw new InvariantViolation('the packed chain model supports at most 9 links (8 Kubelets)');
    this.stages.forEach((stage, i) => this.stagePos.set(stage, i));
    this.links.forEach((link, i) => this.linkIndex.set(link, i));
    this.nodes.forEach((node, i) => this.nodeIndex.set(node, i));
    this.channelsAt = this.stages.length;
    this.sandboxesAt = this.channelsAt + this.links.length * 4;
    this.storeAt = this.sandboxesAt + this.nodes.length;
    this.incarnationsAt = this.storeAt + 1;
    this.budgetsAt = this.storeAt + 2;
    this.ghostAt = this.storeAt + 3;
    this.scaledAt = this.storeAt + 4;
    this.componentCount = this.storeAt + 5;
    this.kinds = new Uint8Array(this.componentCount);
    this.kinds.fill(1, this.channelsAt, this.sandboxesAt);
    this.kinds[this.scaledAt] = 2;
    this.upstreamPos = Int32Array.from(this.links, (l) => this.stagePos.get(linkEnds(l).upstream) ?? -1);
    this.downstreamPos = Int32Array.from(this.links, (l) => this.stagePos.get(linkEnds(l).downstream) ?? -1);
  }

  /** A link's index. */
  linkOf(link: LinkId): number {
    const l = this.linkIndex.get(link);
    if (l === undefined) throw new InvariantViolation(`unknown link ${link}`);
    return l;
  }

  /** The position of one of a link's four message queues (current or stale, per direction). */
  channelPos(link: number, direction: 'down' | 'up', stale: boolean): number {
    return this.channelsAt + link * 4 + (direction === 'down' ? 0 : 2) + (stale ? 1 : 0);
  }

  /** A stage's position. */
  stagePosOf(stage: StageId): number {
    const pos = this.stagePos.get(stage);
    if (pos === undefined) throw new InvariantViolation(`unknown stage ${stage}`);
    return pos;
  }
}
