/**
 * Pods of the forgedPod fault (simulator/world.ts): provisioned to a Kubelet by an
 * impersonated Scheduler, never asked for. They are named with incarnation 0, which no
 * ReplicaSet has (REQ-SESS-001), so that the history checks can tell them apart: the
 * protocol must end them, and their start is no fault of the real Scheduler.
 */
export function forgedPodName(fn: string, epoch: number): string {
  return `${fn}-0-${epoch}`;
}

export function isForgedPodName(name: string): boolean {
  return /-0-\d+$/.test(name);
}
