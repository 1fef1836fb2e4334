/**
 * The suite is the network: every stage of the chain except the testee runs here as a
 * reference machine (machines/), in this process. Links between two peers are
 * in-memory FIFO queues; the links that touch the testee are real gRPC streams that
 * the suite owns (links.ts), so it can cut them, hold them, inject frames and play
 * crashes. Kubelet peers run simulated sandboxes whose kills the suite may hold.
 *
 * The peers are an oracle too: a message of the testee's current session that a
 * reference peer fences is a protocol violation by the testee (links.ts names the
 * requirement).
 */
import {
  InvariantViolation,
  initStage,
  kubeletId,
  linkEnds,
  linksOf,
  nodeOfKubelet,
  roleOf,
  stagesOf,
  stepStage,
  type ChainConfig,
  type Disposition,
  type Role,
  type DownMessage,
  type LinkId,
  type PodRecord,
  type StageEvent,
  type StageId,
  type StageState,
  type UpMessage,
} from '../../machines/index.js';
import { ClientLinkToTestee, ServerLinkForTestee } from './links.js';
import type { RunLog } from './run-log.js';

export interface PeerChainOptions {
  readonly chain: ChainConfig;
  readonly testee: StageId;
  readonly testeeAddress: string;
  /** Where each downstream peer of the testee serves (the testee dials these). */
  readonly peerAddresses: Readonly<Record<StageId, string>>;
  readonly sandbox: { readonly startDelayMs: number; readonly killDelayMs: number };
  readonly log: RunLog;
  /** Delay before a peer reopens a link that ended. */
  readonly reconnectDelayMs: number;
  /** The peers' first incarnation (with --attach each case starts above the last, so its epochs are newer). */
  readonly incarnationBase?: number;
}

interface MemoryLink {
  readonly link: LinkId;
  /** Bumped when the link's session ends: messages of an older generation are lost. */
  generation: number;
  timer: NodeJS.Timeout | null;
}

interface Sandbox {
  readonly record: PodRecord;
  state: 'starting' | 'running' | 'killing';
  /** Being killed: the origin of the tombstone, for the inventory of a restarted Kubelet peer (REQ-TOMB-008). */
  origin: Role | null;
}

/** The sandbox runtime of a Kubelet peer. */
interface NodeSandboxes {
  readonly sandboxes: Map<string, Sandbox>;
  /** While true, kills are not carried out (a slow sandbox runtime). */
  holdKills: boolean;
  heldKills: string[];
  /** While true, sandbox starts do not complete (a slow sandbox runtime); released by holdStarts(node, false). */
  holdStarts: boolean;
  heldStarts: string[];
  /** Pod names whose start fails. */
  readonly failStarts: Set<string>;
  /** How many of the next sandbox starts fail (a sandbox runtime that breaks). */
  failNext: number;
}

export class PeerChain {
  readonly states = new Map<StageId, StageState>();
  readonly incarnations = new Map<StageId, number>();
  readonly memoryLinks = new Map<LinkId, MemoryLink>();
  /** The link on which the testee is the downstream (a peer dials the testee). */
  readonly toTestee: ClientLinkToTestee | null = null;
  /** The links on which the testee is the upstream (peers serve the testee). */
  readonly fromTestee = new Map<LinkId, ServerLinkForTestee>();
  readonly nodes = new Map<string, NodeSandboxes>();
  /** Pod names the peers provisioned to the testee. */
  readonly sentToTestee = new Set<string>();
  /** The Autoscaler peer's backing store. */
  readonly store = new Map<string, number>();
  /** Peers whose machine raised an assertion: they take no more events. */
  readonly broken = new Set<StageId>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(readonly options: PeerChainOptions) {
    const { chain, testee } = options;
    for (const stage of stagesOf(chain)) {
      if (stage === testee) continue;
      this.incarnations.set(stage, options.incarnationBase ?? 1);
      if (roleOf(stage) === 'kubelet') this.nodes.set(nodeOfKubelet(stage), { sandboxes: new Map(), holdKills: false, heldKills: [], holdStarts: false, heldStarts: [], failStarts: new Set(), failNext: 0 });
      this.states.set(stage, this.boot(stage));
    }
    for (const link of linksOf(chain)) {
      const { upstream, downstream } = linkEnds(link);
      if (downstream === testee) this.toTestee = new ClientLinkToTestee(this, link, options.testeeAddress);
      else if (upstream === testee) {
        const address = options.peerAddresses[downstream];
        if (address === undefined) throw new Error(`no address for the peer ${downstream}`);
        this.fromTestee.set(link, new ServerLinkForTestee(this, link, address));
      } else this.memoryLinks.set(link, { link, generation: 0, timer: null });
    }
  }

  get log(): RunLog {
    return this.options.log;
  }

  get chain(): ChainConfig {
    return this.options.chain;
  }

  /** Binds the servers of the testee's downstream peers and opens the in-memory links. */
  async start(): Promise<void> {
    for (const server of this.fromTestee.values()) await server.listen();
    for (const m of this.memoryLinks.values()) this.connectMemory(m);
  }

  /** Opens the link to the testee (after the testee is ready). */
  connectTestee(): void {
    this.toTestee?.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    for (const m of this.memoryLinks.values()) if (m.timer !== null) clearTimeout(m.timer);
    this.toTestee?.close();
    for (const server of this.fromTestee.values()) await server.close();
  }

  state(stage: StageId): StageState {
    const s = this.states.get(stage);
    if (s === undefined) throw new Error(`${stage} is not a peer`);
    return s;
  }

  later(ms: number, run: () => void): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopped) run();
    }, ms);
    this.timers.add(timer);
  }

  private boot(stage: StageId): StageState {
    const incarnation = this.incarnations.get(stage) ?? 1;
    const role = roleOf(stage);
    const node = role === 'kubelet' ? this.nodes.get(nodeOfKubelet(stage)) : undefined;
    return initStage(this.chain, stage, {
      incarnation,
      ...(role === 'autoscaler' ? { durableDesired: Object.fromEntries(this.store) } : {}),
      ...(node === undefined
        ? {}
        : { inventory: [...node.sandboxes.values()].map((s) => (s.origin === null ? { pod: s.record, state: s.state } : { pod: s.record, state: s.state, origin: s.origin })) }),
    });
  }

  // -------------------------------------------------------------------------
  // Events and effects
  // -------------------------------------------------------------------------

  /** Steps a peer with one event and carries out its effects; the disposition, or null when the peer is broken. */
  deliver(stage: StageId, event: StageEvent): Disposition | null {
    if (this.stopped || this.broken.has(stage)) return null;
    let result;
    try {
      result = stepStage(this.chain, stage, this.state(stage), event);
    } catch (error) {
      if (!(error instanceof InvariantViolation)) throw error;
      this.broken.add(stage);
      const what = event.type === 'message.received' ? `${event.message.type} on ${event.link}` : event.type;
      this.log.violation(
        ['REQ-POD-004', 'REQ-WIRE-004'],
        `the reference ${stage} could not accept ${what} from the testee: ${error.message}`,
      );
      return null;
    }
    this.states.set(stage, result.state);
    for (const effect of result.effects) {
      switch (effect.type) {
        case 'message.send':
          this.send(stage, effect.link, effect.message);
          break;
        case 'store.persist':
          this.store.set(effect.function, effect.desired);
          break;
        case 'sandbox.start':
          this.startSandbox(stage, effect.pod);
          break;
        case 'sandbox.kill':
          this.killSandbox(stage, effect.pod.name, effect.origin);
          break;
      }
    }
    return result.disposition;
  }

  private send(from: StageId, link: LinkId, message: DownMessage | UpMessage): void {
    const m = this.memoryLinks.get(link);
    if (m !== undefined) {
      const { upstream, downstream } = linkEnds(link);
      const to = from === upstream ? downstream : upstream;
      const generation = m.generation;
      setImmediate(() => {
        if (m.generation === generation && !this.stopped) this.deliver(to, { type: 'message.received', link, message });
      });
      return;
    }
    if (this.toTestee !== null && this.toTestee.link === link) return this.toTestee.send(message as DownMessage);
    const server = this.fromTestee.get(link);
    if (server !== undefined) return server.send(message as UpMessage);
    throw new Error(`${from} sent on unknown link ${link}`);
  }

  private connectMemory(m: MemoryLink): void {
    m.timer = null;
    if (this.stopped) return;
    this.deliver(linkEnds(m.link).upstream, { type: 'link.connected', link: m.link });
  }

  /** Ends the session of an in-memory link: both ends get link.lost, the upstream reconnects. */
  private loseMemory(m: MemoryLink, except: StageId | null): void {
    m.generation += 1;
    const { upstream, downstream } = linkEnds(m.link);
    if (downstream !== except) this.deliver(downstream, { type: 'link.lost', link: m.link });
    if (upstream !== except) this.deliver(upstream, { type: 'link.lost', link: m.link });
    if (m.timer === null) m.timer = setTimeout(() => this.connectMemory(m), this.options.reconnectDelayMs);
  }

  // -------------------------------------------------------------------------
  // Sandboxes of Kubelet peers
  // -------------------------------------------------------------------------

  private startSandbox(stage: StageId, pod: PodRecord): void {
    const node = this.nodes.get(nodeOfKubelet(stage));
    if (node === undefined) return;
    node.sandboxes.set(pod.name, { record: pod, state: 'starting', origin: null });
    if (node.holdStarts) {
      node.heldStarts.push(pod.name);
      return;
    }
    this.finishStart(stage, node, pod);
  }

  private finishStart(stage: StageId, node: NodeSandboxes, pod: PodRecord): void {
    this.later(this.options.sandbox.startDelayMs, () => {
      const sandbox = node.sandboxes.get(pod.name);
      if (sandbox?.state !== 'starting') return;
      if (node.failNext > 0) {
        node.failNext -= 1;
        node.failStarts.add(pod.name);
      }
      if (node.failStarts.has(pod.name)) {
        node.sandboxes.delete(pod.name);
        this.deliver(stage, { type: 'sandbox.failed', pod: pod.name });
        return;
      }
      sandbox.state = 'running';
      this.deliver(stage, { type: 'sandbox.started', pod: pod.name });
    });
  }

  private killSandbox(stage: StageId, pod: string, origin: Role | null = null): void {
    const node = this.nodes.get(nodeOfKubelet(stage));
    const sandbox = node?.sandboxes.get(pod);
    if (node === undefined || sandbox === undefined) {
      this.later(this.options.sandbox.killDelayMs, () => this.deliver(stage, { type: 'sandbox.killed', pod }));
      return;
    }
    sandbox.state = 'killing';
    if (origin !== null) sandbox.origin = origin;
    if (node.holdKills) {
      node.heldKills.push(pod);
      return;
    }
    this.later(this.options.sandbox.killDelayMs, () => {
      node.sandboxes.delete(pod);
      this.deliver(stage, { type: 'sandbox.killed', pod });
    });
  }

  /** Holds (or releases, completing the held starts) the starts of a Kubelet peer's sandboxes. */
  holdStarts(node: string, hold: boolean): void {
    const n = this.nodes.get(node);
    if (n === undefined) throw new Error(`no Kubelet peer for node ${node}`);
    n.holdStarts = hold;
    if (hold) return;
    for (const name of n.heldStarts.splice(0)) {
      const sandbox = n.sandboxes.get(name);
      if (sandbox !== undefined) this.finishStart(kubeletId(node), n, sandbox.record);
    }
  }

  /**
   * A running sandbox of `pod` appears in the sandbox runtime of the Kubelet peer of `node`
   * without any provision: one started by someone the chain does not know (an impersonated
   * Scheduler). Its Kubelet finds it at its next start (crashPeer), as every sandbox it holds.
   */
  addForeignSandbox(node: string, pod: PodRecord): void {
    const n = this.nodes.get(node);
    if (n === undefined) throw new Error(`no Kubelet peer for node ${node}`);
    if (n.sandboxes.has(pod.name)) throw new Error(`${node} already has a sandbox of ${pod.name}`);
    this.log.add({ kind: 'fault', from: 'suite', to: kubeletId(node), summary: `a sandbox of ${pod.name} nobody provisioned appears on ${node}` });
    n.sandboxes.set(pod.name, { record: pod, state: 'running', origin: null });
  }

  /** Holds (or releases, carrying out the held kills) the kills of a Kubelet peer's sandboxes. */
  holdKills(node: string, hold: boolean): void {
    const n = this.nodes.get(node);
    if (n === undefined) throw new Error(`no Kubelet peer for node ${node}`);
    n.holdKills = hold;
    if (hold) return;
    const held = n.heldKills.splice(0);
    for (const pod of held) this.killSandbox(kubeletId(node), pod);
  }

  // -------------------------------------------------------------------------
  // Inputs and faults the cases use
  // -------------------------------------------------------------------------

  /** A new desired count at the Autoscaler peer (when the testee is not the Autoscaler). */
  scale(fn: string, desired: number): void {
    this.log.add({ kind: 'fault', from: 'suite', to: 'autoscaler', summary: `scale.requested ${fn}=${desired}` });
    this.deliver('autoscaler', { type: 'scale.requested', function: fn, desired });
  }

  /** Crash and restart of a peer with a new incarnation: its sessions end, it starts cold. */
  crashPeer(stage: StageId): void {
    this.log.add({ kind: 'fault', from: 'suite', to: stage, summary: `crash-restart of the peer ${stage}` });
    for (const m of this.memoryLinks.values()) {
      const { upstream, downstream } = linkEnds(m.link);
      if (upstream === stage || downstream === stage) this.loseMemory(m, stage);
    }
    this.broken.delete(stage);
    this.incarnations.set(stage, (this.incarnations.get(stage) ?? 1) + 1);
    this.states.set(stage, this.boot(stage));
    if (this.toTestee !== null && linkEnds(this.toTestee.link).upstream === stage) this.toTestee.crashed();
    for (const server of this.fromTestee.values()) if (linkEnds(server.link).downstream === stage) server.crashed();
  }

  /** The pods a peer holds, by lifecycle state. */
  podsOf(stage: StageId): Array<{ name: string; lifecycle: string; node: string | null }> {
    const state = this.state(stage);
    if (state.role !== 'replicaset' && state.role !== 'scheduler' && state.role !== 'kubelet') return [];
    return [...state.pods.entries()].map((e) => ({ name: e.record.name, lifecycle: e.lifecycle, node: e.record.node }));
  }

  /** Sandboxes running on the Kubelet peers. */
  runningSandboxes(): string[] {
    const names: string[] = [];
    for (const n of this.nodes.values()) for (const [name, s] of n.sandboxes) if (s.state === 'running') names.push(name);
    return names.sort();
  }
}
