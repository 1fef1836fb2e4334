/**
 * A fault-injecting TCP proxy for tests: it listens on a loopback port and forwards
 * every connection to a target (a stage's gRPC address). Put it on a link by giving
 * the link's upstream the proxy's address to dial (`ClusterConfig.linkDialAddresses`).
 *
 * Faults:
 * - `cut()`: destroys every current connection at both sides at once (a TCP reset;
 *   bytes in flight inside the proxy are lost). Both ends see their stream fail: a
 *   link cut (spec/06-failure-model.md).
 * - `refuse()` / `blackhole()`: new connections are reset at once, or accepted and
 *   never answered nor forwarded (a silent network), until `resume()`. `cut()` first
 *   to also end the current ones.
 *
 * The proxy decides nothing about the protocol and reads no byte; it only counts
 * connections and bytes so that a test can see the link went through it.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

export type ProxyMode = 'forwarding' | 'refusing' | 'blackholing';

export interface ProxyCounters {
  /** Connections accepted and forwarded since the proxy started. */
  readonly connectionsForwarded: number;
  /** Connections reset or held by `refuse` / `blackhole`. */
  readonly connectionsRefused: number;
  /** Connections destroyed by `cut`. */
  readonly connectionsCut: number;
  /** Bytes forwarded in either direction. */
  readonly bytesForwarded: number;
}

interface Pair {
  readonly client: Socket;
  upstream: Socket | null;
}

export class TcpProxy {
  private server: Server | null = null;
  private readonly pairs = new Set<Pair>();
  private readonly held = new Set<Socket>();
  private modeNow: ProxyMode = 'forwarding';
  private counts = { connectionsForwarded: 0, connectionsRefused: 0, connectionsCut: 0, bytesForwarded: 0 };
  port = 0;

  /** `target` is host:port on loopback; `listenPort` 0 picks a free port. */
  constructor(
    private readonly target: string,
    private readonly listenPort = 0,
  ) {
    const at = target.lastIndexOf(':');
    if (at <= 0 || !/^\d{1,5}$/.test(target.slice(at + 1))) throw new Error(`TcpProxy: target "${target}" must be host:port`);
  }

  /** host:port the proxy listens on (after `start`). */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get mode(): ProxyMode {
    return this.modeNow;
  }

  get counters(): ProxyCounters {
    return { ...this.counts };
  }

  /** Connections currently forwarded. */
  get openConnections(): number {
    return this.pairs.size;
  }

  async start(): Promise<void> {
    if (this.server !== null) throw new Error('TcpProxy: already started');
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenPort, '127.0.0.1', () => {
        server.off('error', reject);
        this.port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  /** Destroys every current connection at both sides (in-flight bytes are lost). Returns how many. */
  cut(): number {
    const n = this.pairs.size;
    for (const pair of [...this.pairs]) this.destroyPair(pair, true);
    this.counts.connectionsCut += n;
    return n;
  }

  /** From now on, new connections are reset at once (connection refused, as by a firewall rejecting). */
  refuse(): void {
    this.modeNow = 'refusing';
  }

  /** From now on, new connections are accepted and left silent (no byte forwarded: a partition). */
  blackhole(): void {
    this.modeNow = 'blackholing';
  }

  /** Forwards new connections again; connections held by `blackhole` are reset (their peers reconnect). */
  resume(): void {
    this.modeNow = 'forwarding';
    for (const socket of this.held) socket.resetAndDestroy();
    this.held.clear();
  }

  /** Stops listening and destroys every connection. */
  async stop(): Promise<void> {
    this.cut();
    for (const socket of this.held) socket.destroy();
    this.held.clear();
    const server = this.server;
    this.server = null;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    client.on('error', () => {});
    if (this.modeNow === 'refusing') {
      this.counts.connectionsRefused++;
      client.resetAndDestroy();
      return;
    }
    if (this.modeNow === 'blackholing') {
      this.counts.connectionsRefused++;
      this.held.add(client);
      client.pause();
      client.on('close', () => this.held.delete(client));
      return;
    }
    this.counts.connectionsForwarded++;
    const pair: Pair = { client, upstream: null };
    this.pairs.add(pair);
    const at = this.target.lastIndexOf(':');
    const upstream = connect({ host: this.target.slice(0, at), port: Number(this.target.slice(at + 1)) });
    pair.upstream = upstream;
    upstream.on('error', () => {});
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    const count = (chunk: Buffer): void => {
      this.counts.bytesForwarded += chunk.length;
    };
    client.on('data', count);
    upstream.on('data', count);
    client.pipe(upstream);
    upstream.pipe(client);
    // Either side closing ends the pair: the proxy never keeps a half-open connection.
    client.on('close', () => this.destroyPair(pair, false));
    upstream.on('close', () => this.destroyPair(pair, false));
  }

  private destroyPair(pair: Pair, reset: boolean): void {
    if (!this.pairs.delete(pair)) return;
    for (const socket of [pair.client, pair.upstream]) {
      if (socket === null || socket.destroyed) continue;
      if (reset) socket.resetAndDestroy();
      else socket.destroy();
    }
  }
}
