/**
 * Cases that several roles share, built per role: the session rules every downstream
 * must keep (stale hellos, unauthorized peers, malformed frames), the cold start of a
 * middle stage, and the fault cases of a stage that holds pods and forwards them
 * (ReplicaSet, Scheduler): a lost tombstone, a stale notification.
 */
import { describeEpoch, stateIsTombstone, type Role, type StageId } from '../../machines/index.js';
import type { ConformanceCase } from './case.js';
import { downstreamLink, downstreamSynced, everyDownstreamSynced, hello, snapshotIn, upstreamLink, upstreamSynced } from './helpers.js';

/** The stage directly below a role, as the suite's peer. */
export function downstreamPeerOf(role: Role): StageId[] {
  switch (role) {
    case 'autoscaler':
      return ['deployment'];
    case 'deployment':
      return ['replicaset'];
    case 'replicaset':
      return ['scheduler'];
    case 'scheduler':
      return ['kubelet:n1', 'kubelet:n2'];
    case 'kubelet':
      return [];
  }
}

/** The first frame of a session with the testee's upstream role after the handshake: sent in a synced session. */
export interface MalformedFrame {
  readonly what: string;
  readonly frame: (epoch: number) => Record<string, unknown>;
  readonly reason: 'MALFORMED' | 'UNKNOWN_FUNCTION';
  readonly requirements: readonly string[];
}

/** Session cases of a downstream role other than the Kubelet (which has its own, more detailed ones). */
export function downstreamSessionCases(role: 'deployment' | 'replicaset' | 'scheduler', malformed: readonly MalformedFrame[]): ConformanceCase[] {
  const roles = [role] as const;
  return [
    {
      id: `${role}.stale-hello`,
      roles,
      requirements: ['REQ-SESS-004', 'REQ-SESS-006', 'REQ-WIRE-005', 'REQ-WIRE-006'],
      title: 'Rejects a hello whose epoch is not newer (STALE_EPOCH)',
      description: 'While its upstream peer is synced at epoch E, a second stream says Hello with epoch E-1: Rejected{STALE_EPOCH}, FAILED_PRECONDITION; the session of E goes on.',
      async run(ctx) {
        if (!(await ctx.waitFor(['REQ-SESS-011'], 'the upstream session synced', () => upstreamSynced(ctx), 10_000))) return;
        const link = upstreamLink(ctx);
        const current = link.current;
        ctx.step(`a hello with epoch ${describeEpoch(link.epoch - 1)}`);
        const raw = link.rawStream('stale hello');
        raw.write(hello(ctx, link.epoch - 1));
        await ctx.expectRejection(raw.stream, 'STALE_EPOCH', ['REQ-SESS-004', 'REQ-SESS-006'], `a hello with epoch ${describeEpoch(link.epoch - 1)}`);
        ctx.check(['REQ-SESS-006'], link.current === current && current !== null && !current.ended, 'a stale hello ended the current session');
      },
    },
    {
      id: `${role}.unauthorized-upstream`,
      roles,
      requirements: ['REQ-SEC-002', 'REQ-SEC-003', 'REQ-SESS-007', 'REQ-FAIL-007'],
      title: 'Rejects a hello from a stage that is not its configured upstream',
      description: 'A second stream says Hello with a newer epoch from "kubelet:n1" (UNAUTHORIZED_UPSTREAM, PERMISSION_DENIED) and one addressed to another stage (WRONG_DOWNSTREAM); the real session goes on.',
      async run(ctx) {
        if (!(await ctx.waitFor(['REQ-SESS-011'], 'the upstream session synced', () => upstreamSynced(ctx), 10_000))) return;
        const link = upstreamLink(ctx);
        const current = link.current;
        ctx.step('a hello from kubelet:n1');
        const a = link.rawStream('hello from a non-configured upstream');
        a.write(hello(ctx, link.epoch + 10, { upstream_stage_id: 'kubelet:n1' }));
        await ctx.expectRejection(a.stream, 'UNAUTHORIZED_UPSTREAM', ['REQ-SEC-002', 'REQ-SEC-003'], 'a hello from kubelet:n1');
        ctx.step('a hello for another stage');
        const b = link.rawStream('hello for another downstream');
        b.write(hello(ctx, link.epoch + 11, { downstream_stage_id: role === 'scheduler' ? 'replicaset' : 'scheduler' }));
        await ctx.expectRejection(b.stream, 'WRONG_DOWNSTREAM', ['REQ-SEC-003'], 'a hello for another stage');
        ctx.check(['REQ-SESS-007', 'REQ-FAIL-007'], link.current === current && current !== null && !current.ended, 'a rejected hello ended the current session');
      },
    },
    {
      id: `${role}.malformed-frames`,
      roles,
      requirements: ['REQ-WIRE-004', 'REQ-FAIL-007', 'REQ-WIRE-005', 'REQ-WIRE-006', ...new Set(malformed.flatMap((m) => m.requirements))],
      title: 'Rejects malformed frames as a whole',
      description: `In the synced session: ${malformed.map((m) => `${m.what} (${m.reason})`).join('; ')}. Each must end the stream with its reason and status; the upstream reconnects.`,
      timeoutMs: 30_000,
      async run(ctx) {
        const link = upstreamLink(ctx);
        for (const m of malformed) {
          if (!(await ctx.waitFor(['REQ-SESS-011'], 'the upstream session synced', () => upstreamSynced(ctx), 10_000))) return;
          ctx.step(m.what);
          const stream = link.inject(m.frame(link.epoch) as never, m.what);
          if (stream !== null) await ctx.expectRejection(stream, m.reason, m.requirements, m.what);
        }
        await ctx.waitFor(['REQ-SESS-011'], 'the upstream session synced again', () => upstreamSynced(ctx), 10_000);
      },
    },
    {
      id: `${role}.cold-start-defers-hello`,
      roles,
      requirements: ['REQ-REC-001', 'REQ-REC-002', 'REQ-REC-004', ...(role === 'scheduler' ? ['REQ-REC-005'] : [])],
      title: 'Answers its upstream only once every downstream link has synced',
      description:
        'The suite holds the links to the testee\'s downstream peers, so the freshly started testee is cold. Its upstream peer says Hello: for one second no snapshot may come back. Then the downstream links are released; once they sync the testee must answer the deferred hello.',
      setup(chain) {
        for (const link of chain.fromTestee.values()) link.hold(true);
      },
      async run(ctx) {
        const link = upstreamLink(ctx);
        ctx.step('the upstream peer says hello while the downstream links are held');
        await ctx.waitFor(['REQ-REC-002'], 'the upstream peer\'s hello sent', () => link.current !== null && link.current.epoch > 0);
        await ctx.holdsFor(['REQ-REC-001', 'REQ-REC-002'], 'no snapshot to the upstream while a downstream link has not synced (the testee is cold)', () => link.current === null || snapshotIn(link.current) === null, 1_000);
        ctx.step('release the downstream links');
        for (const l of ctx.chain.fromTestee.values()) l.hold(false);
        if (!(await ctx.waitFor(['REQ-REC-004'], 'every downstream link synced', () => everyDownstreamSynced(ctx), 10_000))) return;
        await ctx.waitFor(['REQ-REC-002'], 'the deferred hello answered and the upstream session synced', () => upstreamSynced(ctx), 10_000);
      },
    },
  ];
}

/** What the fault cases of a stage that forwards pods share: its role, the peers below it, and how a case waits for every link to sync. */
interface PodForwarder {
  readonly role: 'replicaset' | 'scheduler';
  readonly roles: readonly ['replicaset' | 'scheduler'];
  readonly below: readonly StageId[];
  readonly settle: (ctx: Parameters<ConformanceCase['run']>[0]) => Promise<boolean>;
}

function tombstoneResentAfterLossCase({ role, roles, below, settle }: PodForwarder): ConformanceCase {
  return {
    id: `${role}.tombstone-resent-after-loss`,
    roles,
    requirements: ['REQ-CACHE-005', 'REQ-TOMB-003', 'REQ-TOMB-001', 'REQ-CACHE-006', 'REQ-SESS-017'],
    title: 'Keeps a tombstone whose delivery was lost and sends it again',
    description:
      'Two pods run. Scale to 0: the first tombstone the testee sends down is lost and the link cut. In the next session the peer\'s snapshot shows the pod alive; the testee must keep its tombstone (not adopt the pod alive) and send it again in round 2, so that both pods end.',
    timeoutMs: 30_000,
    async run(ctx) {
      if (!(await settle(ctx))) return;
      ctx.step('scale fn to 2');
      await ctx.scale('fn', 2);
      if (!(await ctx.waitFor(['REQ-POD-006'], 'two sandboxes running', () => ctx.chain.runningSandboxes().length === 2, 10_000))) return;
      ctx.step('scale fn to 0; the first tombstone sent down is lost');
      const links = below.map((d) => downstreamLink(ctx, d));
      let lost = false;
      for (const l of links) l.dropAndCutOn((m) => (m.type === 'pod.tombstone' && !lost ? ((lost = true), true) : false));
      const streamsBefore = links.map((l) => l.streams.length);
      await ctx.scale('fn', 0);
      await ctx.waitFor(['REQ-TOMB-001'], 'a tombstone sent down', () => lost);
      ctx.step('the testee reconnects after the cut');
      // Reconnection first, so that a testee that never reconnects is told so, not that it lost a tombstone.
      if (!(await ctx.waitFor(['REQ-SESS-017', 'REQ-FAIL-004'], 'a new synced session on the link that was cut (an upstream must reconnect)', () => everyDownstreamSynced(ctx) && links.some((l, i) => l.streams.length > (streamsBefore[i] ?? 0)), 10_000))) return;
      ctx.step('the next session: the tombstone must be sent again');
      await ctx.waitFor(
        ['REQ-CACHE-005', 'REQ-TOMB-003'],
        `every sandbox ended (still running: ${ctx.chain.runningSandboxes().join(', ')}); a tombstone lost on the wire must be kept and sent again after the snapshot shows the pod alive`,
        () => ctx.chain.runningSandboxes().length === 0 && ctx.chain.nodes.size > 0 && [...ctx.chain.nodes.values()].every((n) => n.sandboxes.size === 0),
        6_000,
      );
    },
  };
}

function staleNotificationIgnoredCase({ role, roles, below, settle }: PodForwarder): ConformanceCase {
  return {
    id: `${role}.stale-notification-ignored`,
    roles,
    requirements: ['REQ-SESS-005', 'REQ-FAIL-006', 'REQ-SESS-004', 'REQ-CACHE-002', 'REQ-WIRE-001'],
    title: 'Ignores a notification of an ended session',
    description:
      'Pods run; the link to a downstream peer is cut and the testee reconnects. The suite then writes on the new stream a pod.failed carrying the epoch of the ended session, for a running pod. The testee must ignore it (REQ-SESS-005, REQ-WIRE-001: an upstream does not end the stream for a foreign epoch): no rollback, no replacement pod provisioned, the pod still held below, and the new session goes on.',
    async run(ctx) {
      if (!(await settle(ctx))) return;
      await ctx.scale('fn', 2);
      if (!(await ctx.waitFor(['REQ-POD-006'], 'two sandboxes running', () => ctx.chain.runningSandboxes().length === 2, 10_000))) return;
      const link = downstreamLink(ctx, below[0] ?? '');
      await ctx.waitFor(['REQ-SESS-011'], 'the link synced', () => downstreamSynced(ctx, link.peer));
      const victim = ctx.chain
        .podsOf(link.peer)
        .filter((p) => !stateIsTombstone(p.lifecycle))
        .map((p) => p.name)[0];
      if (victim === undefined) return void ctx.check(['REQ-POD-006'], false, `no pod held by ${link.peer}`);
      const e1 = link.current?.epoch ?? 0;
      ctx.step(`cut the link to ${link.peer}`);
      link.cut();
      if (!(await ctx.waitFor(['REQ-FAIL-004', 'REQ-SESS-017'], 'the testee reconnected and synced', () => downstreamSynced(ctx, link.peer) && (link.current?.epoch ?? 0) > e1, 10_000))) return;
      const provisionsBefore = [...ctx.chain.fromTestee.values()].reduce((n, l) => n + l.provisionCount, 0);
      const session = link.current;
      ctx.step(`a late pod.failed{${victim}} of epoch ${describeEpoch(e1)}`);
      link.inject({ epoch: e1, failed: { failures: [{ name: victim, reason: 'SANDBOX_FAILED' }] } }, `late pod.failed of ${victim} from epoch ${describeEpoch(e1)}`);
      await ctx.sleep(800);
      const provisionsAfter = [...ctx.chain.fromTestee.values()].reduce((n, l) => n + l.provisionCount, 0);
      ctx.check(['REQ-SESS-004', 'REQ-SESS-005', 'REQ-FAIL-006'], provisionsAfter === provisionsBefore, `the testee applied a notification of the ended session ${e1}: a replacement pod was provisioned`);
      ctx.check(['REQ-SESS-005', 'REQ-CACHE-002'], ctx.chain.runningSandboxes().includes(victim), `${victim} must still run`);
      ctx.check(['REQ-SESS-005', 'REQ-WIRE-001'], session !== null && link.current === session && !session.ended, `the testee ended the session of epoch ${session?.epoch ?? 0} for a frame of the ended session ${e1}: an upstream ignores a foreign epoch and keeps the stream`);
    },
  };
}

function failedPodReplacedCase({ role, roles, settle }: PodForwarder): ConformanceCase {
  return {
    id: `${role}.failed-pod-replaced`,
    roles,
    requirements: ['REQ-CACHE-003', 'REQ-CACHE-004', ...(role === 'scheduler' ? ['REQ-SCHED-009'] : ['REQ-RS-002', 'REQ-POD-015'])],
    title: 'Rolls back a pod whose sandbox failed; a new pod replaces it',
    description:
      'The next sandbox start on every node fails. Scale fn to 1: the failed pod must be rolled back (pod.failed passed up by a Scheduler), never provisioned again under its name, and a new pod (a new name) must end up running.',
    async run(ctx) {
      if (!(await settle(ctx))) return;
      for (const n of ctx.chain.nodes.values()) n.failNext = 1;
      ctx.step('scale fn to 1; the first start fails');
      await ctx.scale('fn', 1);
      await ctx.waitFor(['REQ-CACHE-003'], 'a pod running after the failed one was replaced', () => ctx.chain.runningSandboxes().length === 1 && [...ctx.chain.nodes.values()].some((n) => n.failStarts.size > 0), 10_000);
      const failed = [...ctx.chain.nodes.values()].flatMap((n) => [...n.failStarts]);
      ctx.check(['REQ-CACHE-003', 'REQ-CACHE-004'], failed.every((p) => !ctx.chain.runningSandboxes().includes(p)), `a failed pod must not run again: ${failed.join(', ')}`);
    },
  };
}

function provisionLostInvalidatedCase({ role, roles, below, settle }: PodForwarder): ConformanceCase {
  return {
    id: `${role}.provision-lost-invalidated`,
    roles,
    requirements: ['REQ-CACHE-007', 'REQ-CACHE-004', 'REQ-CACHE-006'],
    title: 'A provision lost on the wire is rolled back at the next snapshot, not re-sent',
    description:
      'The first provision the testee sends down is lost and the link cut. The next snapshot does not contain the pod: the testee must invalidate it (never send the same name again) and the chain must still reach the desired count with a new pod.',
    async run(ctx) {
      if (!(await settle(ctx))) return;
      let lost = false;
      for (const d of below) downstreamLink(ctx, d).dropAndCutOn((m) => (m.type === 'pod.provision' && !lost ? ((lost = true), true) : false));
      ctx.step('scale fn to 1; the provision is lost');
      await ctx.scale('fn', 1);
      await ctx.waitFor(['REQ-CACHE-007'], 'one pod running after the lost provision', () => lost && ctx.chain.runningSandboxes().length === 1, 10_000);
    },
  };
}

function unsentSentInRound2Case({ role, roles, below, settle }: PodForwarder): ConformanceCase {
  return {
    id: `${role}.unsent-sent-in-round-2`,
    roles,
    requirements: ['REQ-CACHE-008', 'REQ-CACHE-001', 'REQ-SESS-012', 'REQ-SESS-010'],
    title: 'Pods decided while the link is down are sent in round 2 of the next session',
    description:
      'Every downstream peer becomes unreachable; fn is scaled to 2. The testee must keep the new pods unsent (not invalidate them) and, once the peers are reachable again, provision each exactly once in round 2 of the new session; both must run.',
    async run(ctx) {
      if (!(await settle(ctx))) return;
      ctx.step('downstream peers unreachable; scale fn to 2');
      for (const d of below) downstreamLink(ctx, d).refuse(true);
      await ctx.scale('fn', 2);
      await ctx.sleep(500);
      ctx.check(['REQ-SESS-012'], ctx.chain.runningSandboxes().length === 0, 'pods ran while every downstream link was down');
      ctx.step('the peers are reachable again');
      for (const d of below) downstreamLink(ctx, d).refuse(false);
      await ctx.waitFor(['REQ-CACHE-008', 'REQ-SESS-010'], 'both pods running after the reconnection', () => ctx.chain.runningSandboxes().length === 2, 15_000);
    },
  };
}

function unknownNotificationsIgnoredCase({ role, roles, below, settle }: PodForwarder): ConformanceCase {
  return {
    id: `${role}.unknown-notifications-ignored`,
    roles,
    requirements: ['REQ-CACHE-012'],
    title: 'Ignores notifications about pods it does not hold or that do not apply',
    description: `In the current session of a downstream link the suite writes pod.running and tombstone.done for a pod the testee never held, and tombstone.done for a pod that is alive${role === 'scheduler' ? '; on the link of the other node, pod.failed for that pod (a Kubelet notification about a pod placed on another node)' : ''}. The testee must ignore them: the sessions go on, no pod is rolled back or replaced, the alive pod keeps running.`,
    async run(ctx) {
      if (!(await settle(ctx))) return;
      await ctx.scale('fn', 1);
      if (!(await ctx.waitFor(['REQ-POD-006'], 'one pod running', () => ctx.chain.runningSandboxes().length === 1, 10_000))) return;
      const pod = ctx.chain.runningSandboxes()[0] ?? '';
      const link = [...ctx.chain.fromTestee.values()].find((l) => ctx.chain.podsOf(l.peer).some((p) => p.name === pod)) ?? downstreamLink(ctx, below[0] ?? '');
      const current = link.current;
      const epoch = current?.epoch ?? 0;
      const before = [...ctx.chain.fromTestee.values()].reduce((n, l) => n + l.provisionCount, 0);
      ctx.step('notifications that do not apply');
      link.inject({ epoch, running: { names: ['fn-77-1'] } }, 'pod.running for an unknown pod');
      link.inject({ epoch, tombstone_done: { names: ['fn-77-2'] } }, 'tombstone.done for an unknown pod');
      link.inject({ epoch, tombstone_done: { names: [pod] } }, `tombstone.done for the alive pod ${pod}`);
      const other = role === 'scheduler' ? [...ctx.chain.fromTestee.values()].find((l) => l !== link && l.current !== null) : undefined;
      const otherSession = other?.current ?? null;
      if (other !== undefined && otherSession !== null) {
        const node = other.peer.slice('kubelet:'.length);
        other.inject({ epoch: otherSession.epoch, failed: { failures: [{ name: pod, reason: 'SANDBOX_FAILED' }] } }, `pod.failed for ${pod} from ${node}, where it is not placed`);
      }
      await ctx.sleep(700);
      const after = [...ctx.chain.fromTestee.values()].reduce((n, l) => n + l.provisionCount, 0);
      ctx.check(['REQ-CACHE-012'], after === before, `a notification that does not apply changed the testee: ${after - before} new pod(s) provisioned`);
      ctx.check(['REQ-CACHE-012'], ctx.chain.runningSandboxes().includes(pod), `${pod} must keep running`);
      ctx.check(['REQ-CACHE-012'], current !== null && link.current === current && !current.ended, 'the testee ended the session of a link for a notification that does not apply');
      if (other !== undefined) ctx.check(['REQ-CACHE-012'], otherSession !== null && other.current === otherSession && !otherSession.ended, `the testee ended its session with ${other.peer} for a notification about a pod placed on another node`);
    },
  };
}

/** Fault cases of a stage that forwards pods (ReplicaSet, Scheduler). */
export function podForwarderCases(role: 'replicaset' | 'scheduler'): ConformanceCase[] {
  const below = downstreamPeerOf(role);
  const settle = async (ctx: Parameters<ConformanceCase['run']>[0]): Promise<boolean> =>
    (await ctx.waitFor(['REQ-SESS-011'], 'every link of the testee synced', () => everyDownstreamSynced(ctx) && upstreamSynced(ctx), 10_000)) &&
    ctx.waitFor(['REQ-SESS-011'], 'every link of the testee synced', () => below.every((d) => downstreamSynced(ctx, d)));
  const forwarder: PodForwarder = { role, roles: [role], below, settle };
  return [tombstoneResentAfterLossCase(forwarder), staleNotificationIgnoredCase(forwarder), failedPodReplacedCase(forwarder), provisionLostInvalidatedCase(forwarder), unsentSentInRound2Case(forwarder), unknownNotificationsIgnoredCase(forwarder)];
}
