/**
 * The store-mediated transports of a stage, when ClusterConfig.transport
 * (transport-config.ts) says `store-mediated`.
 *
 * The store-mediated transport is the Kubernetes API-server pattern, kept as a
 * baseline for the burst benchmark (bench/burst/): same stages, same machines, only
 * how a message travels differs. README.md here has the mapping of sessions.
 */
import { linkEnds, type StageId } from '../../machines/index.js';
import type { StagePort } from '../node/link-transport.js';
import { mediatedPrefixDefault, type TransportKind } from './transport-config.js';
import type { ClusterConfig } from '../config.js';
import { downstreamLinksOf, upstreamLinkOf } from '../config.js';
import { SharedEtcdClient } from './shared-client.js';
import { StoreDownstreamLink } from './store-downstream-link.js';
import { StoreUpstreamLink } from './store-upstream-link.js';

export function transportKindOf(config: ClusterConfig): TransportKind {
  return config.transport?.kind ?? 'direct';
}

export interface MediatedTransports {
  readonly upstream: StoreUpstreamLink | null;
  readonly downstreams: readonly StoreDownstreamLink[];
  /** Announces the stage on its upstream link first (so its upstream may open a session), then starts the downstream links. */
  start(): Promise<void>;
}

/** The store-mediated transports of `stage`'s links; null when the cluster's links are direct. */
export function mediatedTransportsOf(config: ClusterConfig, stage: StageId, functions: ReadonlySet<string>, port: StagePort, incarnation: number): MediatedTransports | null {
  const transport = config.transport;
  if (transport === undefined || transport.kind !== 'store-mediated') return null;
  const shared = new SharedEtcdClient(transport.etcd);
  const prefix = transport.prefix ?? mediatedPrefixDefault;
  const upstreamLink = upstreamLinkOf(config, stage);
  const upstream = upstreamLink === null ? null : new StoreUpstreamLink(upstreamLink, stage, functions, port, shared, incarnation, prefix);
  const downstreams = downstreamLinksOf(config, stage).map((link) => {
    if (linkEnds(link).upstream !== stage) throw new Error(`${link} is not a link from ${stage}`);
    return new StoreDownstreamLink(link, stage, functions, port, shared, incarnation, prefix);
  });
  return {
    upstream,
    downstreams,
    start: async () => {
      await upstream?.start();
      for (const d of downstreams) d.start();
    },
  };
}
