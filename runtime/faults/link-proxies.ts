/**
 * Puts a fault-injecting TCP proxy (tcp-proxy.ts) on each of some links of a local cluster
 * and has the upstreams dial the proxies (DIR/cluster.json rewritten), before the stages
 * start. Used by the fault tests and the chaos soak.
 */
import { linkEnds, type LinkId } from '../../machines/index.js';
import { setLinkDialAddresses } from '../cluster/local-cluster.js';
import type { ClusterConfig } from '../config.js';
import { TcpProxy } from './tcp-proxy.js';

export async function proxyLinks(dir: string, config: ClusterConfig, links: readonly LinkId[]): Promise<{ config: ClusterConfig; proxies: Map<LinkId, TcpProxy> }> {
  const proxies = new Map<LinkId, TcpProxy>();
  const addresses: Record<LinkId, string> = {};
  for (const link of links) {
    const proxy = new TcpProxy(config.stages[linkEnds(link).downstream]?.address ?? '');
    await proxy.start();
    proxies.set(link, proxy);
    addresses[link] = proxy.address;
  }
  return { config: setLinkDialAddresses(dir, addresses), proxies };
}
