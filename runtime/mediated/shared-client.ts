/**
 * The etcd clients of a stage process, shared by the stage's mediated links and closed
 * when the last of them stops: the hand-written gRPC client for records and watches
 * (etcd-grpc.ts; README.md says why it stays), and the runtime's `etcd3` client
 * (runtime/store/etcd-client.ts) for the leases of the presence keys (presence.ts).
 */
import { EtcdClient } from '../store/etcd-client.js';
import { etcdCallMsMax, EtcdGrpcClient } from './etcd-grpc.js';

export class SharedEtcdClient {
  readonly client: EtcdGrpcClient;
  /** For the presence keys' leases (grant, keep-alive, revoke). */
  readonly leases: EtcdClient;
  private users = 0;

  constructor(endpoint: string) {
    this.client = new EtcdGrpcClient(endpoint);
    this.leases = new EtcdClient(endpoint, etcdCallMsMax);
  }

  acquire(): EtcdGrpcClient {
    this.users += 1;
    return this.client;
  }

  release(): void {
    this.users -= 1;
    if (this.users > 0) return;
    this.client.close();
    this.leases.close();
  }
}

/** Time a stopping link waits for etcd to take the removal of its presence key. */
export const presenceRemovalMsMax = 1_000;

/** `promise`, or nothing after `ms` (used when stopping: never hang on etcd). */
export async function bounded<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
