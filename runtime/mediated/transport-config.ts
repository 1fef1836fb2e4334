/**
 * The `transport` section of a cluster.json: which transport carries the links.
 *
 *   {"kind": "direct"}                                           gRPC Link.Session streams (the default)
 *   {"kind": "store-mediated", "etcd": "http://127.0.0.1:2379"}  one etcd object per record, prefix watches (transport.ts)
 */
import { etcdEndpointProblem } from '../store/store.js';

export const transportKinds = ['direct', 'store-mediated'] as const;
export type TransportKind = (typeof transportKinds)[number];

export type TransportConfig =
  | { readonly kind: 'direct' }
  | {
      readonly kind: 'store-mediated';
      /** http://HOST:PORT of etcd's client URL (loopback). */
      readonly etcd: string;
      /** Key prefix of this cluster's links (default /kubedirect/mediated/): clusters sharing one etcd need different ones, since epochs repeat across clusters. */
      readonly prefix?: string;
    };

export const mediatedPrefixDefault = '/kubedirect/mediated/';

/** The transport config of a cluster.json (`raw` as read); throws on a bad one. Absent: direct. */
export function transportConfigOf(raw: unknown): TransportConfig {
  if (raw === undefined || raw === null) return { kind: 'direct' };
  const r = raw as { kind?: unknown; etcd?: unknown; prefix?: unknown };
  if (r.kind === 'direct') return { kind: 'direct' };
  if (r.kind === 'store-mediated') {
    const etcd = typeof r.etcd === 'string' ? r.etcd.replace(/\/+$/, '') : '';
    const problem = etcdEndpointProblem(etcd);
    if (problem !== null) throw new Error(`transport: ${problem}`);
    if (r.prefix !== undefined && (typeof r.prefix !== 'string' || !/^\/[A-Za-z0-9._/-]*\/$/.test(r.prefix)))
      throw new Error(`transport.prefix must be a key prefix that starts and ends with "/", got ${JSON.stringify(r.prefix)}`);
    return { kind: 'store-mediated', etcd, ...(typeof r.prefix === 'string' ? { prefix: r.prefix } : {}) };
  }
  throw new Error(`transport.kind must be "direct" or "store-mediated", got ${JSON.stringify(r.kind)}`);
}

