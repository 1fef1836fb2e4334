/**
 * Scheduler cases on what the ReplicaSet above must learn and what it must never have to:
 * a preemption is reported up with `pod.preempted`, also that of a pod whose start is not
 * confirmed yet (REQ-SCHED-008); a pod alive below that nobody above knows is ended, not
 * adopted (REQ-CACHE-013). Before these cases only the model checker killed the mutants
 * `scheduler-preempts-silently` and `scheduler-adopts-foreign-pod` (mutants/catalogue.ts);
 * conformance/test/mutant-probes.test.ts shows each case failing its mutant.
 */
import type { CaseContext } from '../harness/context.js';
import type { LogEntry } from '../harness/run-log.js';
import type { ConformanceCase } from './case.js';
import { alivePods, podRecord, upstreamLink } from './helpers.js';
import { everyLinkSynced, nodeOfPods, preemptedNames, sandboxCount, schedulerRole, tombstonesSentDown } from './scheduler-steps.js';

/** A pod of an imaginary ReplicaSet incarnation: no reference peer ever names it. */
const foreignPod = 'fn-99-0';

/** The first frame the testee sent up that names `pod` (running, failed, preempted, tombstone.done), if any. */
function toldUpAbout(ctx: CaseContext, pod: string): LogEntry | undefined {
  const peer = upstreamLink(ctx).peer;
  return ctx.log.entries.find((e) => e.kind === 'frame' && e.from === ctx.stage && e.to === peer && e.summary.split(/[\s[\]]+/).includes(pod));
}

export const schedulerUpstreamViewCases: readonly ConformanceCase[] = [
  {
    id: 'scheduler.preemption-reported-up',
    roles: schedulerRole,
    requirements: ['REQ-SCHED-008', 'REQ-SCHED-006'],
    title: 'Reports every preemption up with pod.preempted, also of a pod whose start is not confirmed',
    description:
      'The Kubelet peers hold every sandbox start. fn is scaled to 4: the four pods fill both nodes (capacity 2 each), provisioned but not running (bound at the Scheduler). hi (priority 10) is scaled to 1: the Scheduler must preempt one fn pod, forward its tombstone (origin scheduler) and send pod.preempted for it up to the ReplicaSet. Once the starts are released the hi pod runs and the ReplicaSet no longer holds the victim alive.',
    timeoutMs: 30_000,
    async run(ctx) {
      if (!(await everyLinkSynced(ctx))) return;
      for (const node of ctx.chain.nodes.keys()) ctx.chain.holdStarts(node, true);
      ctx.step('hold every start; scale fn to 4: four pods provisioned, none confirmed running');
      ctx.chain.scale('fn', 4);
      if (!(await ctx.waitFor(['REQ-POD-006'], 'four pods provisioned to the Kubelet peers, their starts held', () => sandboxCount(ctx) === 4, 10_000))) return;
      ctx.step('scale hi (priority 10) to 1: one bound fn pod must be preempted and reported up');
      ctx.chain.scale('hi', 1);
      const preemption = (): { name: string; peer: string } | undefined => tombstonesSentDown(ctx).find((t) => t.origin === 'scheduler');
      if (!(await ctx.waitFor(['REQ-SCHED-006', 'REQ-SCHED-008'], 'a tombstone of origin scheduler (a preemption) sent to a Kubelet', () => preemption() !== undefined, 10_000))) return;
      const victim = preemption()?.name ?? '';
      const reported = (): boolean => preemptedNames(ctx).includes(victim);
      await ctx.waitFor(['REQ-SCHED-008'], `pod.preempted for ${victim} sent up to the ReplicaSet: its tombstone (origin scheduler) went to ${preemption()?.peer ?? '?'}, and a preemption must be reported up, also of a pod whose start is not confirmed yet`, reported, 5_000);
      ctx.step('release the starts: the hi pod runs, and the ReplicaSet no longer holds the victim alive');
      for (const node of ctx.chain.nodes.keys()) ctx.chain.holdStarts(node, false);
      if (!(await ctx.waitFor(['REQ-SCHED-003'], 'the hi pod running', () => ctx.chain.runningSandboxes().some((p) => p.startsWith('hi-')), 10_000))) return;
      await ctx.waitFor(['REQ-SCHED-008'], `the ReplicaSet no longer holds ${victim} alive (it learns of a preemption only from pod.preempted)`, () => !alivePods(ctx, 'replicaset').includes(victim), 5_000);
    },
  },
  {
    id: 'scheduler.foreign-pod-ended',
    roles: schedulerRole,
    requirements: ['REQ-CACHE-013', 'REQ-TOMB-008'],
    title: 'Ends a pod alive below that nobody above knows, instead of adopting it',
    description: `Every link synced, no pod wanted. A sandbox of ${foreignPod}, which no ReplicaSet created, appears on n1 (as if an impersonated Scheduler had provisioned it) and kubelet:n1 crash-restarts, so that its next snapshot holds the pod alive. The link to kubelet:n1 has synced before in this incarnation of the testee, so nothing alive below it can be unknown: the testee must send ${foreignPod}'s tombstone with origin scheduler to kubelet:n1, the sandbox must be killed, and the ReplicaSet must never hear of the pod.`,
    timeoutMs: 30_000,
    async run(ctx) {
      if (!(await everyLinkSynced(ctx))) return;
      ctx.step(`a sandbox of ${foreignPod} nobody above knows appears on n1; kubelet:n1 crash-restarts and reports it in its snapshot`);
      ctx.chain.addForeignSandbox('n1', podRecord(foreignPod, 'n1'));
      ctx.chain.crashPeer('kubelet:n1');
      const tombstone = (): { origin: string; peer: string } | undefined => tombstonesSentDown(ctx).find((t) => t.name === foreignPod);
      const sent = (): boolean => tombstone() !== undefined;
      if (!(await ctx.waitFor(['REQ-CACHE-013'], `the tombstone of ${foreignPod} sent to kubelet:n1: a pod alive below a link that synced before is one nobody above knows, and must be ended, not adopted`, sent, 10_000))) return;
      const t = tombstone();
      ctx.check(['REQ-CACHE-013', 'REQ-TOMB-008'], t?.origin === 'scheduler' && t.peer === 'kubelet:n1', `the tombstone of ${foreignPod} went to ${t?.peer ?? '?'} with origin ${t?.origin ?? '?'}; expected kubelet:n1, origin scheduler`);
      ctx.step(`${foreignPod} is killed, and the ReplicaSet never hears of it`);
      await ctx.waitFor(['REQ-CACHE-013'], `the sandbox of ${foreignPod} killed`, () => !nodeOfPods(ctx).has(foreignPod), 10_000);
      const told = toldUpAbout(ctx, foreignPod);
      ctx.check(['REQ-CACHE-013'], told === undefined, `the testee told the ReplicaSet about ${foreignPod}, a pod it never created: ${told?.summary ?? ''}`, told);
    },
  },
];
