/**
 * The Scheduler profile. The testee is `scheduler`; the reference ReplicaSet dials it,
 * and it dials the suite's reference Kubelets `kubelet:n1` and `kubelet:n2`
 * (capacity 2 each; functions `fn` priority 0 and `hi` priority 10).
 */
import type { CaseContext } from '../harness/context.js';
import type { ConformanceCase } from './case.js';
import { downstreamSessionCases, podForwarderCases } from './common.js';
import { downstreamLink, framesFromTestee, snapshotIn, upstreamLink, upstreamSynced } from './helpers.js';
import { everyLinkSynced, namesOfPreempted, preemptedNames, schedulerRole, tombstonesSentDown } from './scheduler-steps.js';

const roles = schedulerRole;
const synced = everyLinkSynced;

/** Origins of every tombstone the testee sent to the Kubelet peers. */
function tombstoneOrigins(ctx: CaseContext): string[] {
  return tombstonesSentDown(ctx).map((t) => t.origin);
}

function perNode(ctx: CaseContext): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [node, n] of ctx.chain.nodes) counts[node] = n.sandboxes.size;
  return counts;
}

/**
 * A violation of REQ-SCHED-006 when the testee reported more than `allowed` preemptions:
 * `why` says why no pod waiting could preempt another. Blamed on the step in which the
 * first preemption beyond `allowed` was sent.
 */
function checkNoEqualPreemption(ctx: CaseContext, allowed: number, why: string): void {
  const names = preemptedNames(ctx);
  if (names.length <= allowed) return;
  let counted = 0;
  const extra = framesFromTestee(ctx, 'preempted').find((e) => (counted += namesOfPreempted(e).length) > allowed);
  const expected = allowed === 0 ? 'no preemption' : `${allowed} preemption${allowed === 1 ? '' : 's'}`;
  ctx.check(
    ['REQ-SCHED-006'],
    false,
    `the Scheduler preempted ${names.join(', ')} where ${expected} was due: ${why}. A pod may preempt only a strictly lower priority; preempting its equals is endless churn (each victim comes back as a new waiting pod of the same priority, which preempts again)`,
    extra,
  );
}

export const schedulerCases: readonly ConformanceCase[] = [
  {
    id: 'scheduler.place-and-terminate',
    roles,
    requirements: ['REQ-POD-006', 'REQ-POD-007', 'REQ-SCHED-002', 'REQ-SCHED-009', 'REQ-TOMB-002', 'REQ-TOMB-005', 'REQ-TOMB-008', 'REQ-TOPO-001', 'REQ-TOPO-002'],
    title: 'Places pods on warm nodes within capacity, passes running up, forwards tombstones',
    description:
      'Scale fn to 4 (two nodes of capacity 2): every pod must be provisioned to a Kubelet with its node set, two per node, and reported running up to the ReplicaSet. Scale to 0: every tombstone must reach the Kubelets and come back as tombstone.done.',
    async run(ctx) {
      if (!(await synced(ctx))) return;
      ctx.step('scale fn to 4');
      ctx.chain.scale('fn', 4);
      if (!(await ctx.waitFor(['REQ-POD-006', 'REQ-SCHED-009'], 'four pods running at the reference ReplicaSet', () => ctx.chain.podsOf('replicaset').filter((p) => p.lifecycle === 'running').length === 4, 10_000))) return;
      const counts = perNode(ctx);
      ctx.check(['REQ-SCHED-002'], counts['n1'] === 2 && counts['n2'] === 2, `four pods on two nodes of capacity 2 must be two per node, got ${JSON.stringify(counts)}`);
      ctx.step('scale fn to 0');
      ctx.chain.scale('fn', 0);
      await ctx.waitFor(['REQ-TOMB-002', 'REQ-TOMB-005'], 'every pod terminated and confirmed', () => ctx.chain.podsOf('replicaset').length === 0 && ctx.chain.runningSandboxes().length === 0, 10_000);
      const origins = tombstoneOrigins(ctx);
      ctx.check(['REQ-TOMB-008'], origins.length === 4 && origins.every((o) => o === 'replicaset'), `the tombstones of a scale-down must reach the Kubelets with origin replicaset, got ${origins.join(', ')}`);
    },
  },
  {
    id: 'scheduler.unschedulable-waits',
    roles,
    requirements: ['REQ-SCHED-005', 'REQ-SCHED-002', 'REQ-SCHED-006'],
    title: 'A pod that fits nowhere waits; it is neither failed nor rolled back, and never preempts its equals',
    description:
      'Scale fn to 6 on two nodes of capacity 2: four pods run; the other two must wait unscheduled (no pod.failed up, no preemption: every pod has priority 0, and the ReplicaSet keeps six alive pods). Then every kill is held and hi (priority 10) is scaled to 1: it preempts one fn pod; the two fn pods waiting with it must preempt none while the kill is held (only a strictly lower priority may be preempted, REQ-SCHED-006; fn pods that preempt their equals churn endlessly). Once the kills are released the hi pod runs; fn is scaled to 3: the waiting fn pods are withdrawn, three fn pods and the hi pod keep running.',
    timeoutMs: 30_000,
    async run(ctx) {
      if (!(await synced(ctx))) return;
      ctx.step('scale fn to 6 on two nodes of capacity 2: four run, two wait');
      ctx.chain.scale('fn', 6);
      if (!(await ctx.waitFor(['REQ-SCHED-002'], 'four pods running', () => ctx.chain.runningSandboxes().length === 4, 10_000))) return;
      ctx.step('the two pods that fit nowhere wait: no pod.failed, no preemption');
      const running = (): number => ctx.chain.runningSandboxes().length;
      const alive = (): number => ctx.chain.podsOf('replicaset').length;
      const waiting = (): boolean => running() === 4 && alive() === 6 && framesFromTestee(ctx, 'failed').length === 0 && preemptedNames(ctx).length === 0;
      await ctx.watch(waiting, 500);
      checkNoEqualPreemption(ctx, 0, 'every pod waiting has priority 0, like every pod running');
      const failed = framesFromTestee(ctx, 'failed')[0];
      ctx.check(['REQ-SCHED-005'], failed === undefined, `a pod that fits nowhere was reported failed (${failed?.summary ?? ''}): it must wait unscheduled, not be rolled back`, failed);
      ctx.check(['REQ-SCHED-005'], running() === 4 && alive() === 6, `with six pods wanted on two nodes of capacity 2, four must run and two wait (six alive at the ReplicaSet); ${running()} run and the ReplicaSet holds ${alive()} alive`);
      ctx.step('hold every kill; scale hi (priority 10) to 1: one fn pod is preempted for it, and the two fn pods waiting (priority 0) preempt none');
      for (const node of ctx.chain.nodes.keys()) ctx.chain.holdKills(node, true);
      ctx.chain.scale('hi', 1);
      if (!(await ctx.waitFor(['REQ-SCHED-006', 'REQ-SCHED-008'], 'a fn pod preempted for the hi pod (pod.preempted up)', () => preemptedNames(ctx).length > 0, 10_000))) return;
      await ctx.watch(() => preemptedNames(ctx).length <= 1, 1_500);
      checkNoEqualPreemption(ctx, 1, 'the hi pod needs one slot, and the other pods waiting are fn pods of priority 0, like every pod they could displace');
      ctx.step('release the kills: the hi pod runs');
      for (const node of ctx.chain.nodes.keys()) ctx.chain.holdKills(node, false);
      if (!(await ctx.waitFor(['REQ-SCHED-003'], 'the hi pod running', () => ctx.chain.runningSandboxes().some((p) => p.startsWith('hi-')), 10_000))) return;
      ctx.step('scale fn to 3: the waiting fn pods are withdrawn; three fn pods and the hi pod keep running');
      ctx.chain.scale('fn', 3);
      await ctx.waitFor(['REQ-SCHED-005'], 'four pods held at the ReplicaSet and four running', () => alive() === 4 && running() === 4, 10_000);
    },
  },
  {
    id: 'scheduler.capacity-until-kill-confirmed',
    roles,
    requirements: ['REQ-SCHED-003', 'REQ-SCHED-004', 'REQ-SCHED-006', 'REQ-SCHED-007', 'REQ-SCHED-008', 'REQ-TOMB-008'],
    title: 'Counts a preempted pod against its node until the kill is confirmed',
    description:
      'Both nodes are full of fn pods (priority 0); the Kubelets hold every kill. A hi pod (priority 10) arrives: the Scheduler preempts one fn pod (pod.preempted up, tombstone down). A fifth fn pod then arrives (a new decision round). The Scheduler must not place any pod on the node of the victim before tombstone.done (a reference Kubelet would refuse it: CAPACITY_EXCEEDED). Once kills are released the hi pod must run.',
    timeoutMs: 30_000,
    async run(ctx) {
      if (!(await synced(ctx))) return;
      ctx.chain.scale('fn', 4);
      if (!(await ctx.waitFor(['REQ-POD-006'], 'four fn pods running', () => ctx.chain.runningSandboxes().length === 4, 10_000))) return;
      ctx.step('hold every kill; scale hi to 1');
      ctx.chain.holdKills('n1', true);
      ctx.chain.holdKills('n2', true);
      ctx.chain.scale('hi', 1);
      await ctx.waitFor(['REQ-SCHED-006', 'REQ-SCHED-008'], 'a fn pod preempted (its sandbox being killed)', () => [...ctx.chain.nodes.values()].some((n) => n.heldKills.length > 0), 10_000);
      ctx.step('one more fn pod: a new event at the Scheduler, which decides placements again');
      ctx.chain.scale('fn', 5);
      await ctx.sleep(700);
      ctx.check(['REQ-SCHED-003'], !ctx.chain.runningSandboxes().some((p) => p.startsWith('hi-')) && [...ctx.chain.nodes.values()].every((n) => [...n.sandboxes.keys()].every((p) => !p.startsWith('hi-'))), 'the hi pod was placed while the preempted pod was still being killed');
      const preempted = (upstreamLink(ctx).current?.received ?? []).flatMap((f) => (f as { preempted?: { names?: string[] } }).preempted?.names ?? []);
      ctx.check(['REQ-SCHED-007'], preempted.length === 1, `one waiting hi pod needs exactly one preemption, got ${preempted.length}: ${preempted.join(', ')}`);
      ctx.check(['REQ-TOMB-008', 'REQ-SCHED-008'], tombstoneOrigins(ctx).every((o) => o === 'scheduler') && tombstoneOrigins(ctx).length >= 1, `a preemption's tombstone must carry origin scheduler, got ${tombstoneOrigins(ctx).join(', ')}`);
      ctx.step('release the kills');
      ctx.chain.holdKills('n1', false);
      ctx.chain.holdKills('n2', false);
      await ctx.waitFor(['REQ-SCHED-003'], 'the hi pod running', () => ctx.chain.runningSandboxes().some((p) => p.startsWith('hi-')), 10_000);
    },
  },
  {
    id: 'scheduler.snapshot-keeps-tombstone',
    roles,
    requirements: ['REQ-TOMB-003', 'REQ-SESS-009', 'REQ-TOMB-001'],
    title: 'A tombstone forwarded but not confirmed stays in the snapshot',
    description:
      'A pod runs; the Kubelets hold kills; scale to 0 forwards its tombstone, unconfirmed. The link from the ReplicaSet is cut; the Scheduler\'s snapshot in the next session must carry the tombstone (it holds it until tombstone.done).',
    async run(ctx) {
      if (!(await synced(ctx))) return;
      ctx.chain.scale('fn', 1);
      if (!(await ctx.waitFor(['REQ-POD-006'], 'one pod running', () => ctx.chain.runningSandboxes().length === 1, 10_000))) return;
      const pod = ctx.chain.runningSandboxes()[0] ?? '';
      ctx.chain.holdKills('n1', true);
      ctx.chain.holdKills('n2', true);
      ctx.step('scale to 0; the kill is held');
      ctx.chain.scale('fn', 0);
      if (!(await ctx.waitFor(['REQ-TOMB-002'], `the tombstone of ${pod} at its Kubelet`, () => [...ctx.chain.nodes.values()].some((n) => n.heldKills.includes(pod)), 10_000))) return;
      const link = upstreamLink(ctx);
      const e1 = link.epoch;
      ctx.step('cut the link from the ReplicaSet');
      link.cut();
      if (!(await ctx.waitFor(['REQ-FAIL-004'], 'a new synced session with the ReplicaSet', () => upstreamSynced(ctx) && link.epoch > e1, 10_000))) return;
      const snapshot = link.current === null ? null : snapshotIn(link.current);
      ctx.check(['REQ-TOMB-003', 'REQ-SESS-009'], snapshot !== null && snapshot.tombstones.has(pod), `the snapshot must carry the unconfirmed tombstone of ${pod}; got ${snapshot === null ? 'none' : JSON.stringify({ pods: [...snapshot.pods.keys()], tombstones: [...snapshot.tombstones] })}`);
      ctx.chain.holdKills('n1', false);
      ctx.chain.holdKills('n2', false);
      await ctx.waitFor(['REQ-TOMB-005'], 'the tombstone confirmed', () => ctx.chain.podsOf('replicaset').length === 0, 10_000);
    },
  },
  {
    id: 'scheduler.restart-adopts-pods',
    roles,
    requirements: ['REQ-SESS-001', 'REQ-SESS-002', 'REQ-REC-004', 'REQ-REC-005', 'REQ-CACHE-009', 'REQ-FAIL-001', 'REQ-CACHE-002'],
    title: 'A restarted Scheduler opens sessions with newer epochs and adopts the running pods',
    description:
      'Three pods run; the testee is killed and restarted. Its hellos must carry epochs greater than every epoch of its previous incarnation; it must adopt the pods from the Kubelets\' snapshots, answer the ReplicaSet once warm, and no pod may be killed or failed.',
    restartsTestee: true,
    timeoutMs: 30_000,
    async run(ctx) {
      if (!(await synced(ctx))) return;
      ctx.chain.scale('fn', 3);
      if (!(await ctx.waitFor(['REQ-POD-006'], 'three pods running', () => ctx.chain.runningSandboxes().length === 3, 10_000))) return;
      const before = ctx.chain.runningSandboxes();
      ctx.step('SIGKILL and restart the testee');
      await ctx.restartTestee();
      if (!(await synced(ctx))) return;
      await ctx.sleep(300);
      ctx.check(['REQ-CACHE-009', 'REQ-REC-004'], ctx.chain.runningSandboxes().join() === before.join(), `the pods running before the restart must still run: before ${before.join(', ')}, after ${ctx.chain.runningSandboxes().join(', ')}`);
      ctx.check(['REQ-CACHE-009'], ctx.chain.podsOf('replicaset').filter((p) => p.lifecycle === 'running').length === 3, 'the ReplicaSet must still hold three running pods');
      ctx.check(['REQ-SESS-002'], [...ctx.chain.fromTestee.values()].every((l) => downstreamLink(ctx, l.peer).epochMax > 0), 'every Kubelet link must have a session');
    },
  },
  ...podForwarderCases('scheduler'),
  ...downstreamSessionCases('scheduler', [
    {
      what: 'a provision from the ReplicaSet that names a node',
      frame: (e) => ({ epoch: e, provision: { pods: [{ name: 'fn-77-1', function: 'fn', priority: 0, node: 'n1' }] } }),
      reason: 'MALFORMED',
      requirements: ['REQ-POD-007'],
    },
    {
      what: 'a scale_set down the ReplicaSet link',
      frame: (e) => ({ epoch: e, scale_set: { scales: [{ function: 'fn', desired: 1 }] } }),
      reason: 'MALFORMED',
      requirements: ['REQ-TOPO-004'],
    },
  ]),
];
