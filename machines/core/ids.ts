/** Stage and link identifiers. One name per concept, as in spec/01-roles-and-topology.md. */

export const roles = ['autoscaler', 'deployment', 'replicaset', 'scheduler', 'kubelet'] as const;
export type Role = (typeof roles)[number];

/** `autoscaler`, `deployment`, `replicaset`, `scheduler` or `kubelet:<node>`. */
export type StageId = string;
/** `<upstream stage>><downstream stage>`, e.g. `scheduler>kubelet:n1`. */
export type LinkId = string;

export const kubeletPrefix = 'kubelet:';

export function kubeletId(node: string): StageId {
  return `${kubeletPrefix}${node}`;
}

export function nodeOfKubelet(stage: StageId): string {
  if (!stage.startsWith(kubeletPrefix)) throw new Error(`not a kubelet stage id: ${stage}`);
  return stage.slice(kubeletPrefix.length);
}

export function roleOf(stage: StageId): Role {
  if (stage.startsWith(kubeletPrefix)) return 'kubelet';
  if ((roles as readonly string[]).includes(stage)) return stage as Role;
  throw new Error(`unknown stage id: ${stage}`);
}

export function linkId(upstream: StageId, downstream: StageId): LinkId {
  return `${upstream}>${downstream}`;
}

export function linkEnds(link: LinkId): { upstream: StageId; downstream: StageId } {
  const at = link.indexOf('>');
  if (at <= 0) throw new Error(`not a link id: ${link}`);
  return { upstream: link.slice(0, at), downstream: link.slice(at + 1) };
}

/** Position in the chain, top first; a tombstone originating at rank r is "at or above" any stage of rank >= r. */
export function roleRank(role: Role): number {
  return roles.indexOf(role);
}
