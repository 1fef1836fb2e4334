/** Every conformance case, by role. IDs are stable; the index (conformance/INDEX.md) is generated from this list. */
import type { Role } from '../../machines/index.js';
import type { ConformanceCase } from './case.js';
import { autoscalerCases } from './autoscaler.js';
import { deploymentCases } from './deployment.js';
import { inspectCases } from './inspect.js';
import { wholeChainCases } from './whole-chain.js';
import { kubeletCases } from './kubelet.js';
import { kubeletSettledCases } from './kubelet-settled.js';
import { kubeletHoleCases } from './kubelet-holes.js';
import { replicaSetHoleCases, schedulerHoleCases } from './scheduler-holes.js';
import { replicaSetCases } from './replicaset.js';
import { schedulerCases } from './scheduler.js';
import { schedulerUpstreamViewCases } from './scheduler-upstream-view.js';
import { undecodableFrameCases } from './undecodable.js';
import { helloTimeoutCases } from './hello-timeout.js';
import { coldForgedHelloCases } from './cold-forged-hello.js';

export const allCases: readonly ConformanceCase[] = [
  ...kubeletCases,
  ...kubeletSettledCases,
  ...kubeletHoleCases,
  ...schedulerCases,
  ...schedulerHoleCases,
  ...schedulerUpstreamViewCases,
  ...replicaSetCases,
  ...replicaSetHoleCases,
  ...deploymentCases,
  ...autoscalerCases,
  ...inspectCases,
  ...wholeChainCases,
  ...(['kubelet', 'scheduler', 'replicaset', 'deployment'] as const).flatMap(undecodableFrameCases),
  ...(['kubelet', 'scheduler', 'replicaset', 'deployment'] as const).flatMap(helloTimeoutCases),
  ...(['scheduler', 'replicaset', 'deployment'] as const).flatMap(coldForgedHelloCases),
];

export function casesForRole(role: Role): ConformanceCase[] {
  return allCases.filter((c) => c.roles.includes(role));
}

