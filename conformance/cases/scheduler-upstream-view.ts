/**
 * Scheduler cases on what the ReplicaSet above must learn and what it must never have to:
 * a preemption is reported up with `pod.preempted`, also that of a pod whose start is not
 * confirmed yet (REQ-SCHED-008); a pod alive below that nobody above knows is ended, not
 * adopted, and counted against its node until it is dead (REQ-CACHE-013). Before these cases only the model checker killed the mutants
 * `scheduler-preempts-silently` and `scheduler-adopts-foreign-pod` (mutants/catalogue.ts);
 * conformance/test/mutant-probes.test.ts shows each case failing its mutant.
 */
import type { ConformanceCase } from './case.js';
import { alivePods, namesIn, podRecord, rawSyncedSession, restoreUpstream } from './helpers.js';
import { everyLinkSynced, nodeOfPods, preemptedNames, sandboxCount, schedulerRole, tombstonesSentDown } from './scheduler-steps.js';

/** A pod of an imaginary ReplicaSet incarnation: no reference peer ever names it. */
const foreignPod = 'fn-99-0';

export const schedulerUpstreamViewCases: readonly ConformanceCase[] = [
  {
    id: 'scheduler.unknown-tombstone-acknowledged',
    roles: schedulerRole,
    requirements: ['REQ-TOMB-004'],
    title: 'Acknowledges a tombstone for a pod it does not hold',
    description: `Every link synced. The suite takes the ReplicaSet's place in a raw session and sends the tombstone of ${foreignPod}, which the Scheduler never held: it must answer tombstone.done for it at once (REQ-TOMB-004: a tombstone for an unknown pod is acknowledged, never an error), and the session must go on. Before this case only the Kubelet's acknowledgement was tested; the mutant scheduler-unknown-tombstone-unacked passed every case and every model world (mutants/catalogue.ts says why the model cannot see it).`,
    timeoutMs: 30_000,
    async run(ctx) {
      if (!(await everyLinkSynced(ctx))) return;
      const raw = await rawSyncedSession(ctx, 'a tombstone for an unknown pod');
      if (raw === null) return;
      ctx.step(`the tombstone of ${foreignPod}, a pod the Scheduler never held, must be acknowledged`);
      raw.write({ epoch: raw.epoch, tombstone: { tombstones: [{ name: foreignPod, origin: 'replicaset' }] } });
      await ctx.waitFor(['REQ-TOMB-004'], `tombstone.done for ${foreignPod}, which the Scheduler never held: a tombstone for an unknown pod is acknowledged at once`, () => namesIn(raw.stream, 'tombstone_done').includes(foreignPod), 5_000);
      ctx.check(['REQ-TOMB-004'], !raw.stream.ended, 'a tombstone for an unknown pod is not an error: the session goes on');
      await restoreUpstream(ctx, raw);
    },
  },
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
    requirements: ['REQ-CACHE-013', 'REQ-TOMB-008', 'REQ-SCHED-003'],
    title: 'Ends a pod alive below that nobody above knows, instead of adopting it, and counts it until it is dead',
    description: `Every link synced, no pod wanted, kills held on n1. A sandbox of ${foreignPod}, which no ReplicaSet created, appears on n1 (as if an impersonated Scheduler had provisioned it) and kubelet:n1 crash-restarts, so that its next snapshot holds the pod alive. The link to kubelet:n1 has synced before in this incarnation of the testee, so nothing alive below it can be unknown: the testee must send ${foreignPod}'s tombstone with origin scheduler to kubelet:n1. While its kill is held the tombstone still takes one of n1's two slots: fn is scaled to 4 and only three pods may be placed (at most one on n1). Once the kill is released the sandbox is gone and the fourth pod runs.`,
    timeoutMs: 30_000,
    async run(ctx) {
      if (!(await everyLinkSynced(ctx))) return;
      ctx.step(`a sandbox of ${foreignPod} nobody above knows appears on n1; kubelet:n1 crash-restarts and reports it in its snapshot`);
      ctx.chain.holdKills('n1', true);
      ctx.chain.addForeignSandbox('n1', podRecord(foreignPod, 'n1'));
      ctx.chain.crashPeer('kubelet:n1');
      const tombstone = (): { origin: string; peer: string } | undefined => tombstonesSentDown(ctx).find((t) => t.name === foreignPod);
      const sent = (): boolean => tombstone() !== undefined;
      if (!(await ctx.waitFor(['REQ-CACHE-013'], `the tombstone of ${foreignPod} sent to kubelet:n1: a pod alive below a link that synced before is one nobody above knows, and must be ended, not adopted`, sent, 10_000))) return;
      const t = tombstone();
      ctx.check(['REQ-CACHE-013', 'REQ-TOMB-008'], t?.origin === 'scheduler' && t.peer === 'kubelet:n1', `the tombstone of ${foreignPod} went to ${t?.peer ?? '?'} with origin ${t?.origin ?? '?'}; expected kubelet:n1, origin scheduler`);
      ctx.step(`scale fn to 4 while the kill of ${foreignPod} is held: its tombstone still takes a slot of n1, so three pods fit`);
      ctx.chain.scale('fn', 4);
      const onN1 = (): string[] => [...nodeOfPods(ctx)].filter(([name, node]) => node === 'n1' && name !== foreignPod).map(([name]) => name);
      if (!(await ctx.waitFor(['REQ-POD-006'], 'three fn pods running', () => ctx.chain.runningSandboxes().filter((p) => p !== foreignPod).length >= 3, 10_000))) return;
      await ctx.watch(() => onN1().length <= 1, 1_000);
      ctx.check(['REQ-CACHE-013', 'REQ-SCHED-003'], onN1().length <= 1, `${onN1().join(', ')} placed on n1 (capacity 2) while the tombstone of ${foreignPod}, whose kill is held, still takes one of its slots: the tombstone counts against its node until tombstone.done`);
      ctx.step(`release the kill of ${foreignPod}: its sandbox is gone and the fourth pod runs`);
      ctx.chain.holdKills('n1', false);
      await ctx.waitFor(['REQ-CACHE-013', 'REQ-SCHED-003'], `the sandbox of ${foreignPod} killed and four fn pods running`, () => !nodeOfPods(ctx).has(foreignPod) && ctx.chain.runningSandboxes().length === 4, 10_000);
    },
  },
];
