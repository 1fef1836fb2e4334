/**
 * One etcd client per stage process, shared by the stage's mediated links and closed
 * when the last of them stops.
 */
import { EtcdGrpcClient } from './etcd-grpc.js';

export class SharedEtcdClient {
  readonly client: EtcdGrpcClient;
  private users = 0;

  constructor(endpoint: string) {
    this.client = new EtcdGrpcClient(endpoint);
  }

  acquire(): EtcdGrpcClient {
    this.users += 1;
    return this.client;
  }

  release(): void {
    this.users -= 1;
    if (this.users <= 0) this.client.close();
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
