/**
 * Cases for the holes an independent Scheduler and hidden protocol bugs got through
 * (issue 22 item 5): the placement rule (REQ-SCHED-002: largest free capacity, ties by
 * node name), the victim rule (REQ-SCHED-006: lowest priority first, newest name among
 * equals), placement only on nodes that synced (REQ-REC-006), a tombstone for a pod
 * whose start is held below; and for the ReplicaSet, a
 * tombstone it learns only from the Scheduler's snapshot.
 */
import type { ConformanceCase } from './case.js';
import type { CaseContext } from '../harness/context.js';
import { downstreamSynced, everyDownstreamSynced } from './helpers.js';
import { everyLinkSynced, nodeOfPods, sandboxCount, tombstonesSentDown } from './scheduler-steps.js';

const synced = everyLinkSynced;

/** Names of the tombstones the testee sent to the Kubelet peers, in order. */
function tombstoneNamesSentDown(ctx: CaseContext): string[] {
  return tombstonesSentDown(ctx).map((t) => t.name);
}

/** Whether the testee sent any provision to `peer`, held frames included. */
function provisionSentTo(ctx: CaseContext, peer: string): boolean {
  for (const link of ctx.chain.fromTestee.values())
    if (link.peer === peer) for (const stream of link.streams) if ((stream.received as Array<{ provision?: unknown }>).some((f) => f.provision !== undefined)) return true;
  return false;
}

/** `(incarnation, n)` of a pod name, for "newest" (01 §Pod names). */
function ordinalOf(name: string): [number, number] {
  const parts = name.split('-');
  return [Number(parts.at(-2)), Number(parts.at(-1))];
}

function newest(names: readonly string[]): string {
  return [...names].sort((a, b) => {
    const [ia, na] = ordinalOf(a);
    const [ib, nb] = ordinalOf(b);
    return ib - ia || nb - na;
  })[0] ?? '';
}

export const schedulerHoleCases: readonly ConformanceCase[] = [
  {
    id: 'scheduler.places-on-largest-free',
    roles: ['scheduler'],
    requirements: ['REQ-SCHED-002'],
    title: 'Places each pod on the node with the largest free capacity, ties by node name',
    description:
      'Nodes n1 (capacity 3) and n2 (capacity 1). fn is scaled to 1, 2, 3, 4, one pod at a time: the pods must go to n1 (3 free against 1), n1 (2 against 1), n1 (a tie at 1: n1 by name), then n2.',
    chain: { functions: [{ name: 'fn', priority: 0 }], nodes: [{ name: 'n1', capacity: 3 }, { name: 'n2', capacity: 1 }] },
    timeoutMs: 30_000,
    async run(ctx) {
      if (!(await synced(ctx))) return;
      const expected = ['n1', 'n1', 'n1', 'n2'];
      for (const [i, node] of expected.entries()) {
        ctx.step(`scale fn to ${i + 1}: the new pod must go to ${node}`);
        const before = nodeOfPods(ctx);
        const freeBefore = Object.fromEntries(ctx.launch.chain.nodes.map((n) => [n.name, n.capacity - [...before.values()].filter((x) => x === n.name).length]));
        ctx.chain.scale('fn', i + 1);
        if (!(await ctx.waitFor(['REQ-SCHED-002'], `pod ${i + 1} placed and started`, () => nodeOfPods(ctx).size === i + 1, 10_000))) return;
        const placed = [...nodeOfPods(ctx)].filter(([name]) => !before.has(name));
        const free = `free before it: ${JSON.stringify(freeBefore)}`;
        if (!ctx.check(['REQ-SCHED-002'], placed.length === 1 && placed[0]?.[1] === node, `pod ${placed[0]?.[0] ?? '?'} was placed on ${placed[0]?.[1] ?? '?'}, expected ${node} (${free}; largest free capacity first, ties by node name)`)) return;
      }
    },
  },
  {
    id: 'scheduler.preempts-lowest-newest',
    roles: ['scheduler'],
    requirements: ['REQ-SCHED-006', 'REQ-SCHED-003'],
    title: 'Preempts the lowest priority first, and the newest pod among equals',
    description:
      'Three nodes of capacity 1; functions lo (priority 0), mid (5), hi (10). Two lo pods and one mid pod fill the nodes; then hi is scaled to 1. The Scheduler must preempt exactly one pod: the newer of the two lo pods (not the older one, not mid), and place hi once that pod\'s tombstone.done has come.',
    chain: {
      functions: [
        { name: 'lo', priority: 0 },
        { name: 'mid', priority: 5 },
        { name: 'hi', priority: 10 },
      ],
      nodes: [
        { name: 'n1', capacity: 1 },
        { name: 'n2', capacity: 1 },
        { name: 'n3', capacity: 1 },
      ],
    },
    timeoutMs: 30_000,
    async run(ctx) {
      if (!(await synced(ctx))) return;
      ctx.step('two lo pods and one mid pod fill the three nodes');
      ctx.chain.scale('lo', 2);
      ctx.chain.scale('mid', 1);
      if (!(await ctx.waitFor(['REQ-SCHED-002'], 'three pods running', () => ctx.chain.runningSandboxes().length === 3, 10_000))) return;
      const lo = ctx.chain.runningSandboxes().filter((n) => n.startsWith('lo-'));
      const victim = newest(lo);
      ctx.step(`scale hi to 1: ${victim} (the newer lo pod) must be the victim`);
      ctx.chain.scale('hi', 1);
      if (!(await ctx.waitFor(['REQ-SCHED-006'], 'a preemption (a tombstone sent to a Kubelet)', () => tombstoneNamesSentDown(ctx).length > 0, 10_000))) return;
      const first = tombstoneNamesSentDown(ctx)[0] ?? '';
      ctx.check(['REQ-SCHED-006'], first === victim, `the Scheduler preempted ${first}; with lo pods ${lo.join(', ')} and a mid pod, the victim must be the lowest priority and, among equals, the newest: ${victim}`);
      await ctx.waitFor(['REQ-SCHED-006', 'REQ-SCHED-003'], 'the hi pod running', () => ctx.chain.runningSandboxes().some((n) => n.startsWith('hi-')), 10_000);
      await ctx.holdsFor(['REQ-SCHED-006'], 'no further preemption once hi runs (one victim is enough)', () => tombstoneNamesSentDown(ctx).length === 1, 500);
    },
  },
  {
    id: 'scheduler.places-only-on-synced-nodes',
    roles: ['scheduler'],
    requirements: ['REQ-REC-006'],
    title: 'Places pods only on nodes whose link has synced in this incarnation',
    description:
      'Nodes n1 (capacity 1) and n2 (capacity 3); the link to kubelet:n2 is held from the start, so it never syncs. fn is scaled to 1 and the suite lets 1.5 s pass. A Scheduler that stays cold (REQ-REC-005) gets no pod meanwhile; one that answers early and gets the pod must place it on n1, the only warm node, which has room, never on n2 whatever its larger capacity. Then the link is released: once it syncs one pod must run, and no pod the testee received before n2 synced may be on n2.',
    chain: { functions: [{ name: 'fn', priority: 0 }], nodes: [{ name: 'n1', capacity: 1 }, { name: 'n2', capacity: 3 }] },
    setup(chain) {
      for (const link of chain.fromTestee.values()) if (link.peer === 'kubelet:n2') link.hold(true);
    },
    timeoutMs: 30_000,
    async run(ctx) {
      if (!(await ctx.waitFor(['REQ-SESS-011'], 'the link to kubelet:n1 synced', () => downstreamSynced(ctx, 'kubelet:n1'), 10_000))) return;
      ctx.step('scale fn to 1 while the link to kubelet:n2 is held (never synced)');
      ctx.chain.scale('fn', 1);
      await ctx.holdsFor(['REQ-SESS-008', 'REQ-REC-006'], 'no provision sent to kubelet:n2 while its link has not synced', () => !provisionSentTo(ctx, 'kubelet:n2'), 1_500);
      const receivedWhileCold = new Set(ctx.chain.sentToTestee);
      ctx.step(`release the link to kubelet:n2 (pods the testee holds from before: ${receivedWhileCold.size === 0 ? 'none' : [...receivedWhileCold].join(', ')})`);
      for (const link of ctx.chain.fromTestee.values()) link.hold(false);
      if (!(await ctx.waitFor(['REQ-REC-004'], 'every Kubelet link synced', () => everyDownstreamSynced(ctx), 10_000))) return;
      if (!(await ctx.waitFor(['REQ-POD-006'], 'one pod running', () => ctx.chain.runningSandboxes().length === 1 && sandboxCount(ctx) === 1, 10_000))) return;
      const misplaced = [...nodeOfPods(ctx)].filter(([name, node]) => node === 'n2' && receivedWhileCold.has(name)).map(([name]) => name);
      ctx.check(['REQ-REC-006'], misplaced.length === 0, `${misplaced.join(', ')} was placed on n2 while the link to kubelet:n2 had never synced (the testee held the pod before that link synced, and n1 had room): a Scheduler places pods only on warm nodes`);
    },
  },
  {
    id: 'scheduler.tombstone-while-start-held',
    roles: ['scheduler'],
    requirements: ['REQ-TOMB-002', 'REQ-TOMB-001', 'REQ-SCHED-003'],
    title: 'Forwards the tombstone of a pod whose sandbox is still starting',
    description:
      'The Kubelet peers hold every sandbox start. fn is scaled to 1: the pod is provisioned to a Kubelet (bound at the Scheduler) but does not start. fn is scaled to 0: the Scheduler must forward the tombstone to that Kubelet (not drop it because the pod is not running yet); the sandbox must be killed, and once the starts are released nothing may run.',
    async run(ctx) {
      if (!(await synced(ctx))) return;
      for (const node of ctx.chain.nodes.keys()) ctx.chain.holdStarts(node, true);
      ctx.step('scale fn to 1; its sandbox start is held');
      ctx.chain.scale('fn', 1);
      if (!(await ctx.waitFor(['REQ-POD-006'], 'the pod provisioned to a Kubelet peer', () => sandboxCount(ctx) === 1, 10_000))) return;
      const [pod = '', node = ''] = [...nodeOfPods(ctx)][0] ?? [];
      ctx.step(`scale fn to 0 while ${pod} is still starting on ${node}`);
      ctx.chain.scale('fn', 0);
      await ctx.waitFor(['REQ-TOMB-002', 'REQ-TOMB-001'], `the tombstone of ${pod} forwarded to kubelet:${node} (a bound pod may be alive below: its tombstone must not be dropped)`, () => tombstoneNamesSentDown(ctx).includes(pod), 5_000);
      ctx.step('release the starts');
      for (const n of ctx.chain.nodes.keys()) ctx.chain.holdStarts(n, false);
      await ctx.waitFor(['REQ-TOMB-002', 'REQ-TOMB-005'], 'no sandbox left and no pod left at the ReplicaSet', () => sandboxCount(ctx) === 0 && ctx.chain.podsOf('replicaset').length === 0, 5_000);
    },
  },
];

export const replicaSetHoleCases: readonly ConformanceCase[] = [
  {
    id: 'replicaset.scale-down-spares-running',
    roles: ['replicaset'],
    requirements: ['REQ-RS-003'],
    title: 'At a scale-down, terminates a pod that is not running yet before a running one',
    description:
      'fn is scaled to 1 and its pod runs. The Kubelet peers then hold every sandbox start and fn is scaled to 2: the second pod is provisioned but does not run. fn is scaled to 1: the tombstone must be for the pod that is not running (pending before provisioned before running, REQ-RS-003); the running pod must keep running.',
    timeoutMs: 30_000,
    async run(ctx) {
      if (!(await synced(ctx))) return;
      ctx.chain.scale('fn', 1);
      if (!(await ctx.waitFor(['REQ-POD-006'], 'one pod running', () => ctx.chain.runningSandboxes().length === 1, 10_000))) return;
      const running = ctx.chain.runningSandboxes()[0] ?? '';
      ctx.step('hold every sandbox start; scale fn to 2');
      for (const node of ctx.chain.nodes.keys()) ctx.chain.holdStarts(node, true);
      ctx.chain.scale('fn', 2);
      if (!(await ctx.waitFor(['REQ-POD-006'], 'the second pod provisioned to a Kubelet, its start held', () => sandboxCount(ctx) === 2, 10_000))) return;
      const starting = [...nodeOfPods(ctx).keys()].find((name) => name !== running) ?? '';
      ctx.step(`scale fn to 1: ${starting} (not running) must be terminated, not ${running} (running)`);
      ctx.chain.scale('fn', 1);
      if (!(await ctx.waitFor(['REQ-RS-003'], 'a tombstone sent down', () => tombstoneNamesSentDown(ctx).length > 0, 10_000))) return;
      const first = tombstoneNamesSentDown(ctx)[0] ?? '';
      ctx.check(['REQ-RS-003'], first === starting, `the ReplicaSet terminated ${first}, which runs, while ${starting} was only provisioned: a scale-down terminates pending before provisioned before running pods`);
      ctx.step('release the starts');
      for (const node of ctx.chain.nodes.keys()) ctx.chain.holdStarts(node, false);
      await ctx.waitFor(['REQ-RS-002'], `one pod running (${running}) and nothing else`, () => ctx.chain.runningSandboxes().join() === running && sandboxCount(ctx) === 1, 10_000);
    },
  },
  {
    id: 'replicaset.snapshot-tombstone-counts',
    roles: ['replicaset'],
    requirements: ['REQ-CACHE-009', 'REQ-RS-004', 'REQ-RS-002'],
    title: 'Counts a tombstone it learns from the Scheduler\'s snapshot against creation',
    description:
      'fn runs two pods; kills are held at the Kubelets; fn is scaled to 1, so one pod is being killed. The testee is killed and restarted: its cache is empty, and the Scheduler\'s snapshot holds one pod alive and one tombstone. fn is scaled to 2 again: while the kill is held, no new pod may be created (alive 1 + terminating 1 = 2, REQ-RS-004); once the kill is released, exactly one new pod must make two running.',
    restartsTestee: true,
    timeoutMs: 40_000,
    async run(ctx) {
      if (!(await synced(ctx))) return;
      ctx.chain.scale('fn', 2);
      if (!(await ctx.waitFor(['REQ-POD-006'], 'two pods running', () => ctx.chain.runningSandboxes().length === 2, 10_000))) return;
      ctx.step('hold kills; scale fn to 1');
      for (const node of ctx.chain.nodes.keys()) ctx.chain.holdKills(node, true);
      ctx.chain.scale('fn', 1);
      if (!(await ctx.waitFor(['REQ-RS-003'], 'one sandbox being killed', () => [...ctx.chain.nodes.values()].some((n) => [...n.sandboxes.values()].some((s) => s.state === 'killing')), 10_000))) return;
      ctx.step('SIGKILL and restart the testee; scale fn to 2');
      await ctx.restartTestee();
      ctx.chain.scale('fn', 2);
      if (!(await synced(ctx))) return;
      await ctx.holdsFor(['REQ-CACHE-009', 'REQ-RS-004'], 'no pod created while a tombstone from the snapshot is still being killed (2 sandboxes held: 1 running, 1 being killed)', () => sandboxCount(ctx) <= 2, 1_500);
      ctx.step('release the kills');
      for (const node of ctx.chain.nodes.keys()) ctx.chain.holdKills(node, false);
      await ctx.waitFor(['REQ-RS-002'], 'two pods running and nothing else', () => ctx.chain.runningSandboxes().length === 2 && sandboxCount(ctx) === 2, 10_000);
    },
  },
];
