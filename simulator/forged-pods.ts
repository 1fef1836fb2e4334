/**
 * Pods of the forgedPod fault (simulator/world.ts): provisioned to a Kubelet by an
 * impersonated Scheduler, never asked for. They are named with incarnation 0, which no
 * ReplicaSet has (REQ-SESS-001), so that the history checks can tell them apart: the
 * protocol must end them, and their start is no fault of the real Scheduler. Each forgery
 * picks a fresh name: a name reused by an impersonator (on two nodes, or after its first
 * sandbox ended) is outside what the protocol can promise in plaintext mode, and would show
 * as a placement or restart of the chain's own pods.
 */
export function forgedPodName(fn: string, epoch: number, nodeIndex: number): string {
  // The epoch followed by the node's number (at most 9 nodes): two forgeries never pick the same name, also on two nodes at the same epoch.
  return `${fn}-0-${epoch * 10 + nodeIndex + 1}`;
}

export function isForgedPodName(name: string): boolean {
  return /-0-\d+$/.test(name);
}
