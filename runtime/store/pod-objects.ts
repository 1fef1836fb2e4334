/**
 * Pods as Kubernetes v1 Pod objects, for tools that watch a store. Each stage writes
 * the fact it knows, read from the pod transitions of its step (the trace points of
 * machines/): the ReplicaSet writes a created pod (Pending) and deletes it when its
 * tombstone completes (or it is rolled back); the Scheduler writes the binding
 * (spec.nodeName) when it places a waiting pod on a node; a Kubelet writes Running,
 * and Succeeded (killed by a tombstone) or Failed (the sandbox failed). This only observes transitions; it decides nothing.
 *
 * Writes from different processes can reach the store in any order, so a write never
 * lowers a pod's phase (`rankOfPodObject`), and only the ReplicaSet creates an object.
 */
import { podCacheOf, podStateHas, type StageState } from '../../machines/index.js';

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

/** One queued pod write: the latest object of the pod, or its deletion. */
export type PodWrite =
  | {
      readonly kind: 'put';
      readonly pod: string;
      readonly object: PodObject;
      /** Only the creator (the ReplicaSet) writes a pod that does not exist; others only update it, never recreate a deleted one. */
      readonly create: boolean;
    }
  | { readonly kind: 'delete'; readonly pod: string };

export interface PodObject {
  readonly apiVersion: 'v1';
  readonly kind: 'Pod';
  readonly metadata: {
    readonly name: string;
    readonly namespace: 'default';
    readonly uid: string;
    readonly labels: { readonly app: string };
    readonly ownerReferences: ReadonlyArray<{ readonly apiVersion: 'apps/v1'; readonly kind: 'ReplicaSet'; readonly name: string; readonly controller: true }>;
  };
  readonly spec: {
    readonly nodeName?: string;
    readonly containers: ReadonlyArray<{ readonly name: string; readonly image: string }>;
  };
  readonly status: { readonly phase: PodPhase };
}

/** The store key of a pod object (etcd) and its file name stem (file store). */
export function podKeyOf(name: string): string {
  return `/registry/pods/default/${name}`;
}

/** A stable uid derived from the pod name (names are never reused, REQ of DEC on pod names). */
export function podUidOf(name: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  }
  const hex = (h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0')).repeat(2);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function podObjectOf(name: string, fn: string, phase: PodPhase, node: string | null): PodObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      uid: podUidOf(name),
      labels: { app: fn },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: fn, controller: true }],
    },
    spec: { ...(node === null || node === '' ? {} : { nodeName: node }), containers: [{ name: fn, image: `kubedirect/${fn}` }] },
    status: { phase },
  };
}

/** How far a pod object has come: a write never replaces an object of a higher rank. */
export function rankOfPodObject(object: PodObject): number {
  switch (object.status.phase) {
    case 'Pending':
      return object.spec.nodeName === undefined ? 1 : 2;
    case 'Running':
      return 3;
    case 'Succeeded':
    case 'Failed':
      return 4;
  }
}

/** `next` merged over `existing`: keeps a nodeName that `next` does not carry. */
export function mergePodObject(existing: PodObject, next: PodObject): PodObject {
  if (next.spec.nodeName !== undefined || existing.spec.nodeName === undefined) return next;
  return { ...next, spec: { ...next.spec, nodeName: existing.spec.nodeName } };
}

interface Transition {
  readonly machine: 'replicaset-pod' | 'scheduler-pod' | 'kubelet-pod';
  readonly pod: string;
  readonly event: string;
  readonly from: string;
  readonly to: string;
}

/** The pod writes a step's transitions call for (`before` and `after` are the stage's states around the step). */
export function podWritesOf(trace: readonly Transition[], before: StageState, after: StageState): PodWrite[] {
  const writes: PodWrite[] = [];
  const recordOf = (pod: string): { function: string; node: string | null } | null => {
    const entry = podCacheOf(after).get(pod) ?? podCacheOf(before).get(pod);
    return entry === undefined ? null : { function: entry.record.function, node: entry.record.node ?? null };
  };
  const put = (pod: string, phase: PodPhase, create: boolean): void => {
    const record = recordOf(pod);
    if (record === null) return;
    writes.push({ kind: 'put', pod, create, object: podObjectOf(pod, record.function, phase, record.node) });
  };
  const stateOf = (s: string): string => s.split('.')[0] ?? s;
  for (const t of trace) {
    const to = stateOf(t.to);
    const from = stateOf(t.from);
    if (to === from) continue;
    switch (t.machine) {
      case 'replicaset-pod':
        if (to === 'pending' && from === 'unknown') put(t.pod, 'Pending', true);
        else if (to === 'gone' && from !== 'unknown') writes.push({ kind: 'delete', pod: t.pod });
        break;
      case 'scheduler-pod':
        // The binding: a waiting pod placed on a node (`unscheduled -> pending`), told by the machine's tags.
        if (podStateHas('scheduler-pod', t.to, 'placed') && !podStateHas('scheduler-pod', t.from, 'placed') && podStateHas('scheduler-pod', t.from, 'alive')) put(t.pod, 'Pending', false);
        break;
      case 'kubelet-pod':
        if (to === 'running' && from === 'starting') put(t.pod, 'Running', false);
        else if (to === 'gone' && from !== 'unknown') put(t.pod, t.event === 'sandbox.failed' && from !== 'killing' ? 'Failed' : 'Succeeded', false);
        break;
    }
  }
  return writes;
}
