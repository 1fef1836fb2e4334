/**
 * The Kubelet profile. The testee is `kubelet:n1`; the suite runs the rest of the chain
 * (Autoscaler, Deployment, ReplicaSet, Scheduler) as reference machines, and the
 * reference Scheduler dials the testee. Cases that need frames no correct Scheduler
 * sends take the link over with a raw session (helpers.ts).
 */
import { describeEpoch } from '../../machines/index.js';
import { batchRecordsMax, frameBytesMax } from '../../spec/limits.js';
import type { CaseContext } from '../harness/context.js';
import { outcomeOf, type ClientStream } from '../harness/links.js';
import type { ConformanceCase } from './case.js';
import {
  alivePods,
  failuresIn,
  hello,
  namesIn,
  podRecord,
  podsIn,
  rawSyncedSession,
  restoreUpstream,
  snapshotIn,
  upstreamLink,
  upstreamSynced,
} from './helpers.js';
import { currentSnapshot, foreignPodNames, kubeletRole as kubelet, runningOnTestee, scaleToRunning, schedulerPeer as scheduler, sessionSynced, snapshotAfterRestart } from './kubelet-steps.js';

/** A pod name from an imaginary ReplicaSet incarnation, never used by the reference peers. */
const foreignPod = foreignPodNames(77);

/**
 * After frames the testee had to reject on other streams: the session `current` must still
 * be the link's current one, not ended (else a violation of `requirements` saying
 * `ended`), and a pod must run through it.
 */
async function currentSessionGoesOn(ctx: CaseContext, current: ClientStream | null, requirements: readonly string[], ended: string): Promise<void> {
  ctx.check(requirements, upstreamLink(ctx).current === current && current !== null && !current.ended, ended);
  ctx.step('the current session still works');
  ctx.chain.scale('fn', 1);
  await ctx.waitFor(requirements, 'one pod running through the current session', () => runningOnTestee(ctx).length === 1);
}

export const kubeletCases: readonly ConformanceCase[] = [
  {
    id: 'kubelet.handshake',
    roles: kubelet,
    requirements: ['REQ-WIRE-001', 'REQ-SESS-009', 'REQ-SESS-011', 'REQ-SESS-020', 'REQ-TOPO-003', 'REQ-WIRE-008'],
    title: 'Answers a hello with a snapshot and syncs',
    description:
      'The reference Scheduler opens a session (Hello with a fresh epoch). The testee must answer with its snapshot (empty at first start) carrying the same epoch, accept session.sync, and the link must be synced at the Scheduler.',
    async run(ctx) {
      ctx.step('the Scheduler opens a session');
      if (!(await ctx.waitFor(['REQ-SESS-009', 'REQ-SESS-011'], 'the session with the testee synced at the reference Scheduler', () => upstreamSynced(ctx)))) return;
      const stream = upstreamLink(ctx).current;
      const snapshot = stream === null ? null : snapshotIn(stream);
      ctx.check(['REQ-SESS-009'], snapshot !== null && snapshot.pods.size === 0 && snapshot.tombstones.size === 0, 'a freshly started Kubelet with no sandboxes must send an empty snapshot');
    },
  },
  {
    id: 'kubelet.provision-and-terminate',
    roles: kubelet,
    requirements: ['REQ-POD-006', 'REQ-POD-011', 'REQ-TOMB-002', 'REQ-TOMB-005', 'REQ-SESS-013', 'REQ-WIRE-002'],
    title: 'Starts provisioned pods, reports them running, kills tombstoned ones',
    description:
      'Scale to 3: the reference Scheduler provisions three pods on n1; each must be reported pod.running. Scale to 1: two tombstones; each must be answered tombstone.done once killed, and the third pod must stay running.',
    async run(ctx) {
      await sessionSynced(ctx);
      ctx.step('scale fn to 3');
      if ((await scaleToRunning(ctx, 3)) === null) return;
      ctx.step('scale fn to 1');
      ctx.chain.scale('fn', 1);
      if (!(await ctx.waitFor(['REQ-TOMB-002', 'REQ-TOMB-005'], 'the two tombstones acknowledged (tombstone.done) and one pod left', () => ctx.chain.podsOf(scheduler).length === 1))) return;
      ctx.check(['REQ-TOMB-002'], runningOnTestee(ctx).length === 1, 'the pod that was not tombstoned must still be running');
    },
  },
  {
    id: 'kubelet.capacity-exceeded',
    roles: kubelet,
    requirements: ['REQ-POD-012', 'REQ-POD-011'],
    title: 'Refuses a provision beyond its capacity',
    description:
      'A raw session provisions capacity + 1 pods (capacity 4) in one batch. Exactly four must be reported running and the fifth must be answered pod.failed{CAPACITY_EXCEEDED}; a duplicate provision of a running pod must be ignored.',
    async run(ctx) {
      await sessionSynced(ctx);
      ctx.step('a raw session provisions five pods on a node of capacity 4');
      const raw = await rawSyncedSession(ctx, 'provision beyond capacity');
      if (raw === null) return;
      const names = [1, 2, 3, 4, 5].map(foreignPod);
      raw.write({ epoch: raw.epoch, provision: { pods: names.map((n) => podRecord(n, 'n1')) } });
      const done = (): boolean => namesIn(raw.stream, 'running').length >= 4 && failuresIn(raw.stream).length >= 1;
      if (await ctx.waitFor(['REQ-POD-012'], 'four pod.running and one pod.failed', done)) {
        const failures = failuresIn(raw.stream);
        ctx.check(['REQ-POD-012'], failures.length === 1 && failures[0]?.name === names[4] && failures[0]?.reason === 'CAPACITY_EXCEEDED', `expected pod.failed{${names[4]}, CAPACITY_EXCEEDED}, got ${JSON.stringify(failures)}`);
      }
      ctx.step('a duplicate provision of a running pod');
      raw.write({ epoch: raw.epoch, provision: { pods: [podRecord(names[0] ?? '', 'n1')] } });
      await ctx.sleep(200);
      ctx.check(['REQ-POD-011'], failuresIn(raw.stream).length === 1 && !raw.stream.ended, 'a provision for a pod the Kubelet already holds must be ignored (no failure, no rejection)');
      ctx.check(['REQ-POD-011'], namesIn(raw.stream, 'running').filter((n) => n === names[0]).length === 1, `${names[0]} must be reported running exactly once`);
      raw.end();
    },
  },
  {
    id: 'kubelet.unknown-owner',
    roles: kubelet,
    requirements: ['REQ-POD-008'],
    title: 'Refuses per pod a provision for a function it is not configured with',
    description:
      'A raw session provisions, in one batch, a pod of the configured function and a pod of function `other`, which is not configured. The first must run; the second must be answered pod.failed{UNKNOWN_OWNER}, never reported running, and the session must go on.',
    async run(ctx) {
      await sessionSynced(ctx);
      ctx.step('a raw session provisions a pod of fn and a pod of the unconfigured function other');
      const raw = await rawSyncedSession(ctx, 'unknown owner');
      if (raw === null) return;
      const known = foreignPod(21);
      const unknown = 'other-77-22';
      raw.write({ epoch: raw.epoch, provision: { pods: [podRecord(known, 'n1'), podRecord(unknown, 'n1', 'other')] } });
      const done = (): boolean => namesIn(raw.stream, 'running').includes(known) && failuresIn(raw.stream).length >= 1;
      if (await ctx.waitFor(['REQ-POD-008'], `pod.running for ${known} and a pod.failed`, done)) {
        const failures = failuresIn(raw.stream);
        ctx.check(['REQ-POD-008'], failures.length === 1 && failures[0]?.name === unknown && failures[0]?.reason === 'UNKNOWN_OWNER', `expected pod.failed{${unknown}, UNKNOWN_OWNER}, got ${JSON.stringify(failures)}`);
      }
      await ctx.sleep(200);
      ctx.check(['REQ-POD-008'], !namesIn(raw.stream, 'running').includes(unknown), `${unknown} must never be reported running`);
      ctx.check(['REQ-POD-008'], !raw.stream.ended, 'the session must go on after a per-pod refusal');
      raw.end();
    },
  },
  {
    id: 'kubelet.tombstone-idempotent',
    roles: kubelet,
    requirements: ['REQ-TOMB-004', 'REQ-TOMB-006'],
    title: 'Acknowledges a tombstone for an unknown pod and ignores a provision after a tombstone',
    description:
      'In a raw session: a tombstone for a pod the Kubelet never held must be answered tombstone.done at once (never an error); a pod provisioned, tombstoned and provisioned again must not run again.',
    sandbox: { startDelayMs: 5, killDelayMs: 5 },
    async run(ctx) {
      await sessionSynced(ctx);
      const raw = await rawSyncedSession(ctx, 'tombstones');
      if (raw === null) return;
      ctx.step('a tombstone for an unknown pod');
      raw.write({ epoch: raw.epoch, tombstone: { tombstones: [{ name: foreignPod(9), origin: 'replicaset' }] } });
      await ctx.waitFor(['REQ-TOMB-004'], `tombstone.done for the unknown pod ${foreignPod(9)}`, () => namesIn(raw.stream, 'tombstone_done').includes(foreignPod(9)));
      ctx.step('provision, tombstone, provision again');
      const pod = foreignPod(10);
      raw.write({ epoch: raw.epoch, provision: { pods: [podRecord(pod, 'n1')] } });
      await ctx.waitFor(['REQ-POD-006'], `pod.running for ${pod}`, () => namesIn(raw.stream, 'running').includes(pod));
      raw.write({ epoch: raw.epoch, tombstone: { tombstones: [{ name: pod, origin: 'scheduler' }] } });
      raw.write({ epoch: raw.epoch, provision: { pods: [podRecord(pod, 'n1')] } });
      await ctx.waitFor(['REQ-TOMB-005'], `tombstone.done for ${pod}`, () => namesIn(raw.stream, 'tombstone_done').includes(pod));
      await ctx.sleep(150);
      ctx.check(['REQ-TOMB-006'], namesIn(raw.stream, 'running').filter((n) => n === pod).length === 1, `${pod} must not run again after its tombstone`);
      ctx.check(['REQ-TOMB-006'], !raw.stream.ended, 'a provision after a tombstone is ignored, not an error');
      await restoreUpstream(ctx, raw);
      ctx.check(['REQ-TOMB-006'], !alivePods(ctx, scheduler).includes(pod), `${pod} must not be in the Kubelet's snapshot alive`);
    },
  },
  {
    id: 'kubelet.stale-hello',
    roles: kubelet,
    requirements: ['REQ-SESS-004', 'REQ-SESS-006', 'REQ-WIRE-005', 'REQ-WIRE-006'],
    title: 'Rejects a hello whose epoch is not newer (STALE_EPOCH)',
    description:
      'While the reference Scheduler is synced at epoch E, a second stream says Hello with epoch E and then E-1. Each must be answered Rejected{STALE_EPOCH} and ended with FAILED_PRECONDITION; the session of epoch E must go on.',
    async run(ctx) {
      await sessionSynced(ctx);
      const link = upstreamLink(ctx);
      const current = link.current;
      for (const delta of [0, -1]) {
        const epoch = link.epoch + delta;
        ctx.step(`a hello with epoch ${describeEpoch(epoch)} (current ${describeEpoch(link.epoch)})`);
        const raw = link.rawStream(`stale hello ${epoch}`);
        raw.write(hello(ctx, epoch));
        await ctx.expectRejection(raw.stream, 'STALE_EPOCH', ['REQ-SESS-004', 'REQ-SESS-006'], `a hello with epoch ${describeEpoch(epoch)}`);
      }
      await currentSessionGoesOn(ctx, current, ['REQ-SESS-006', 'REQ-SESS-004'], 'the current session must not be ended by a stale hello');
    },
  },
  {
    id: 'kubelet.late-frames',
    roles: kubelet,
    requirements: ['REQ-SESS-004', 'REQ-FAIL-006', 'REQ-WIRE-001', 'REQ-FAIL-007'],
    title: 'Fences a late frame of an ended session',
    description:
      'The link is cut after session E1; the Scheduler reconnects with E2. A provision frame of E1 (a late duplicate) written on the E2 stream must be rejected STALE_EPOCH and not applied: after the next resync the pod must not exist.',
    async run(ctx) {
      await sessionSynced(ctx);
      const link = upstreamLink(ctx);
      const e1 = link.epoch;
      ctx.step('cut the link; the Scheduler reconnects');
      link.cut();
      if (!(await ctx.waitFor(['REQ-FAIL-004'], 'a new synced session', () => upstreamSynced(ctx) && link.epoch > e1))) return;
      ctx.step(`a late provision of epoch ${describeEpoch(e1)} on the stream of epoch ${describeEpoch(link.epoch)}`);
      const pod = foreignPod(20);
      const stream = link.inject({ epoch: e1, provision: { pods: [podRecord(pod, 'n1')] } }, `late provision of ${pod} from epoch ${describeEpoch(e1)}`);
      if (stream === null) return;
      await ctx.expectRejection(stream, 'STALE_EPOCH', ['REQ-SESS-004', 'REQ-WIRE-001'], `a provision of the ended session ${e1}`);
      ctx.step('resync: the late pod must not exist');
      await ctx.waitFor(['REQ-FAIL-004'], 'a new synced session', () => upstreamSynced(ctx));
      const snapshot = currentSnapshot(ctx);
      ctx.check(['REQ-SESS-004', 'REQ-FAIL-006'], snapshot !== null && !snapshot.pods.has(pod) && !snapshot.tombstones.has(pod), `the fenced provision of ${pod} was applied: the next snapshot holds it`);
    },
  },
  {
    id: 'kubelet.malformed-records',
    roles: kubelet,
    requirements: ['REQ-WIRE-004', 'REQ-POD-005', 'REQ-TOPO-004', 'REQ-FAIL-007', 'REQ-WIRE-005'],
    title: 'Rejects malformed frames as a whole (MALFORMED) without applying any record',
    description:
      'In the synced session the suite writes frames that break REQ-WIRE-004: a provision batch whose second record names another node, a pod name that does not start with its function, a scale_set (not allowed down a Kubelet link), a tombstone with an unknown origin. Each must be answered Rejected{MALFORMED} with INVALID_ARGUMENT and no record of it applied (the good first record of the batch must not run).',
    timeoutMs: 30_000,
    async run(ctx) {
      const link = upstreamLink(ctx);
      const frames: Array<[string, (epoch: number) => Record<string, unknown>, string[]]> = [
        ['a batch whose second record names node n2', (e) => ({ epoch: e, provision: { pods: [podRecord(foreignPod(30), 'n1'), podRecord(foreignPod(31), 'n2')] } }), ['REQ-WIRE-004']],
        ['a pod name that does not start with its function', (e) => ({ epoch: e, provision: { pods: [podRecord(foreignPod(32), 'n1'), { ...podRecord('other-77-1', 'n1') }] } }), ['REQ-POD-005']],
        ['a scale_set down a Kubelet link', (e) => ({ epoch: e, scale_set: { scales: [{ function: 'fn', desired: 1 }] } }), ['REQ-TOPO-004']],
        ['a tombstone with an unknown origin', (e) => ({ epoch: e, tombstone: { tombstones: [{ name: foreignPod(33), origin: 'autoscaler' }] } }), ['REQ-WIRE-004', 'REQ-TOMB-008']],
      ];
      for (const [what, make, reqs] of frames) {
        if (!(await sessionSynced(ctx))) return;
        ctx.step(what);
        const stream = link.inject(make(link.epoch) as never, what);
        if (stream === null) return;
        await ctx.expectRejection(stream, 'MALFORMED', reqs, what);
      }
      ctx.step('nothing of the rejected frames was applied');
      await sessionSynced(ctx);
      const snapshot = currentSnapshot(ctx);
      const leaked = [30, 31, 32, 33].map(foreignPod).filter((p) => snapshot === null || snapshot.pods.has(p) || snapshot.tombstones.has(p));
      ctx.check(['REQ-WIRE-004', 'REQ-FAIL-007'], snapshot !== null && leaked.length === 0, `records of rejected frames were applied: ${leaked.join(', ')}`);
    },
  },
  {
    id: 'kubelet.malformed-hello',
    roles: kubelet,
    requirements: ['REQ-WIRE-004', 'REQ-SESS-003', 'REQ-WIRE-009', 'REQ-SESS-007', 'REQ-FAIL-007', 'REQ-WIRE-005', 'REQ-WIRE-006'],
    title: 'Rejects a malformed hello without changing its epoch',
    description:
      'Extra streams send: a Hello with epoch 0 (MALFORMED), a frame with no body (MALFORMED), a Hello with protocol version 2 and a huge epoch (UNSUPPORTED_VERSION). Each must be rejected with its reason and status; afterwards a hello with the current epoch + 1 must still be accepted (the rejected hellos did not raise the epoch).',
    async run(ctx) {
      await sessionSynced(ctx);
      const link = upstreamLink(ctx);
      const huge = link.epoch + 1_000_000;
      const cases: Array<[string, Record<string, unknown>, 'MALFORMED' | 'UNSUPPORTED_VERSION', string[]]> = [
        ['a Hello with epoch 0', hello(ctx, 0) as never, 'MALFORMED', ['REQ-SESS-003', 'REQ-WIRE-004']],
        ['a frame with no body', { epoch: huge }, 'MALFORMED', ['REQ-WIRE-004']],
        ['a Hello with protocol version 2', hello(ctx, huge, { protocol_version: 2 }) as never, 'UNSUPPORTED_VERSION', ['REQ-WIRE-009']],
      ];
      for (const [what, frame, reason, reqs] of cases) {
        ctx.step(what);
        const raw = link.rawStream(what);
        raw.write(frame as never);
        await ctx.expectRejection(raw.stream, reason, reqs, what);
      }
      ctx.step('a hello with the current epoch + 1 is still accepted');
      const raw = await rawSyncedSession(ctx, 'epoch after rejected hellos');
      ctx.check(['REQ-SESS-007', 'REQ-FAIL-007'], raw !== null && !raw.stream.ended, 'a rejected hello changed the current epoch');
      await restoreUpstream(ctx, raw);
    },
  },
  {
    id: 'kubelet.oversized',
    roles: kubelet,
    requirements: ['REQ-WIRE-004', 'REQ-WIRE-006', 'REQ-FAIL-007'],
    title: 'Rejects a batch of more than batchRecordsMax records (BATCH_TOO_LARGE)',
    description: `In the synced session a provision batch of ${batchRecordsMax + 1} records must be rejected with BATCH_TOO_LARGE and RESOURCE_EXHAUSTED, none applied; a frame larger than frameBytesMax (${frameBytesMax} bytes) must end the stream with RESOURCE_EXHAUSTED.`,
    async run(ctx) {
      await sessionSynced(ctx);
      const link = upstreamLink(ctx);
      ctx.step(`a provision batch of ${batchRecordsMax + 1} records`);
      const pods = Array.from({ length: batchRecordsMax + 1 }, (_, i) => podRecord(foreignPod(100 + i), 'n1'));
      const stream = link.inject({ epoch: link.epoch, provision: { pods } }, `${pods.length} records in one batch`);
      if (stream !== null) await ctx.expectRejection(stream, 'BATCH_TOO_LARGE', ['REQ-WIRE-004'], 'an oversized batch');
      ctx.step(`a frame larger than ${frameBytesMax} bytes`);
      await sessionSynced(ctx);
      const big = link.inject({ epoch: link.epoch, tombstone: { tombstones: [{ name: foreignPod(5000), origin: 'x'.repeat(frameBytesMax + 10) }] } }, 'a frame above frameBytesMax');
      if (big !== null) {
        const outcome = await outcomeOf(big, 3_000);
        ctx.check(['REQ-WIRE-004', 'REQ-WIRE-006'], outcome !== null && outcome.code === 8, `a frame above frameBytesMax must end the stream with RESOURCE_EXHAUSTED, got ${outcome === null ? 'no end' : outcome.code}`);
      }
      ctx.step('nothing was applied');
      await sessionSynced(ctx);
      const snapshot = currentSnapshot(ctx);
      ctx.check(['REQ-WIRE-004', 'REQ-FAIL-007'], snapshot !== null && snapshot.pods.size === 0, 'records of a rejected batch were applied');
    },
  },
  {
    id: 'kubelet.unauthorized-upstream',
    roles: kubelet,
    requirements: ['REQ-SEC-002', 'REQ-SEC-003', 'REQ-SESS-007', 'REQ-FAIL-007', 'REQ-WIRE-006', 'REQ-TOPO-001'],
    title: 'Rejects a hello from a stage that is not its configured upstream',
    description:
      'Extra streams say Hello with a newer epoch but upstream_stage_id "replicaset" (UNAUTHORIZED_UPSTREAM, PERMISSION_DENIED), and with downstream_stage_id "kubelet:n9" (WRONG_DOWNSTREAM, FAILED_PRECONDITION). The session of the real Scheduler must go on and keep working.',
    async run(ctx) {
      await sessionSynced(ctx);
      const link = upstreamLink(ctx);
      const current = link.current;
      ctx.step('a hello from "replicaset"');
      const a = link.rawStream('hello from a non-configured upstream');
      a.write(hello(ctx, link.epoch + 10, { upstream_stage_id: 'replicaset' }));
      await ctx.expectRejection(a.stream, 'UNAUTHORIZED_UPSTREAM', ['REQ-SEC-002', 'REQ-SEC-003'], 'a hello from replicaset');
      ctx.step('a hello for "kubelet:n9"');
      const b = link.rawStream('hello for another downstream');
      b.write(hello(ctx, link.epoch + 11, { downstream_stage_id: 'kubelet:n9' }));
      await ctx.expectRejection(b.stream, 'WRONG_DOWNSTREAM', ['REQ-SEC-003'], 'a hello for kubelet:n9');
      await currentSessionGoesOn(ctx, current, ['REQ-SESS-007', 'REQ-FAIL-007'], 'a rejected hello ended the current session');
    },
  },
  {
    id: 'kubelet.out-of-order',
    roles: kubelet,
    requirements: ['REQ-WIRE-001', 'REQ-SESS-011', 'REQ-SESS-018'],
    title: 'Rejects frames out of session order (OUT_OF_ORDER)',
    description:
      'Extra streams: a stream whose first frame is a Sync while a session is current; after the link is cut (no session current), a stream whose first frame is a provision; a session that sends a provision before its Sync; a second Hello, with a newer epoch, on one stream. Each must be rejected OUT_OF_ORDER with FAILED_PRECONDITION and nothing applied; the second Hello must not raise the epoch: a new stream with that epoch is then accepted.',
    async run(ctx) {
      await sessionSynced(ctx);
      const link = upstreamLink(ctx);
      ctx.step('a stream that starts with a Sync');
      const a = link.rawStream('sync first');
      a.write({ epoch: link.epoch + 5, sync: {} });
      await ctx.expectRejection(a.stream, 'OUT_OF_ORDER', ['REQ-WIRE-001'], 'a Sync as the first frame');
      link.pause();
      link.cut();
      const epoch = link.epochMax + 1;
      ctx.step('no session current: a stream that starts with a provision');
      const idle = link.rawStream('provision first while idle');
      idle.write({ epoch, provision: { pods: [podRecord(foreignPod(41), 'n1')] } });
      await ctx.expectRejection(idle.stream, 'OUT_OF_ORDER', ['REQ-WIRE-001'], 'a provision as the first frame of a stream while no session is current');
      ctx.step('a provision before the Sync');
      const b = link.rawStream('provision before sync');
      b.write(hello(ctx, epoch));
      await ctx.waitFor(['REQ-SESS-009'], 'the snapshot', () => b.stream.snapshotDone || b.stream.ended);
      b.write({ epoch, provision: { pods: [podRecord(foreignPod(40), 'n1')] } });
      await ctx.expectRejection(b.stream, 'OUT_OF_ORDER', ['REQ-SESS-011'], 'a provision before the Sync');
      ctx.step('a second Hello on one stream');
      const c = link.rawStream('second hello');
      c.write(hello(ctx, epoch + 1));
      await ctx.waitFor(['REQ-SESS-009'], 'the snapshot', () => c.stream.snapshotDone || c.stream.ended);
      c.write(hello(ctx, epoch + 2));
      await ctx.expectRejection(c.stream, 'OUT_OF_ORDER', ['REQ-WIRE-001'], 'a second Hello on one stream');
      ctx.step(`a new stream with the epoch of the rejected second Hello (${epoch + 2})`);
      const d = link.rawStream('hello with the epoch of the rejected second hello');
      d.write(hello(ctx, epoch + 2));
      await ctx.waitFor(['REQ-WIRE-001', 'REQ-SESS-018'], `a snapshot for the hello of epoch ${epoch + 2}: a second Hello on a stream must not change the current epoch`, () => d.stream.snapshotDone || d.stream.ended);
      ctx.check(['REQ-WIRE-001', 'REQ-SESS-018'], d.stream.snapshotDone, `the hello of epoch ${epoch + 2} was refused (${d.stream.rejections.map((r) => r.reason).join(', ') || 'no Rejected frame'}): the rejected second Hello raised the current epoch`);
      await restoreUpstream(ctx, null);
      const snapshot = currentSnapshot(ctx);
      ctx.check(['REQ-SESS-011'], snapshot !== null && !snapshot.pods.has(foreignPod(40)) && !snapshot.pods.has(foreignPod(41)), 'a provision sent before the Sync, or as the first frame of a stream, was applied');
    },
  },
  {
    id: 'kubelet.newer-hello-supersedes',
    roles: kubelet,
    requirements: ['REQ-WIRE-007', 'REQ-SESS-006', 'REQ-SESS-018', 'REQ-WIRE-005'],
    title: 'A newer hello ends the previous session with STALE_EPOCH',
    description:
      'While the reference Scheduler is synced at epoch E, a second stream says Hello with E+1. The testee must answer it with a snapshot and end the stream of E with Rejected{STALE_EPOCH} carrying epoch E (FAILED_PRECONDITION, ErrorDetail with epoch E).',
    async run(ctx) {
      await sessionSynced(ctx);
      const link = upstreamLink(ctx);
      const old = link.current;
      if (old === null) return;
      link.pause();
      ctx.step(`a hello with epoch ${describeEpoch(old.epoch + 1)} on a new stream`);
      const raw = link.rawStream('newer hello');
      raw.write(hello(ctx, old.epoch + 1));
      await ctx.waitFor(['REQ-SESS-006'], 'a snapshot for the newer hello', () => raw.stream.snapshotDone);
      await ctx.expectRejection(old, 'STALE_EPOCH', ['REQ-WIRE-007'], `the superseded session of epoch ${describeEpoch(old.epoch)}`, 3_000, old.epoch);
      await restoreUpstream(ctx, { stream: raw.stream, epoch: old.epoch + 1, write: raw.write, end: raw.end, halfClose: raw.halfClose });
    },
  },
  {
    id: 'kubelet.link-cut',
    roles: kubelet,
    requirements: ['REQ-FAIL-004', 'REQ-SESS-018', 'REQ-SESS-009', 'REQ-SESS-015', 'REQ-POD-007'],
    title: 'Keeps its pods across a link cut and reports them in the next snapshot',
    description: 'Two pods run; the link is cut; the Scheduler reconnects with a newer epoch. The snapshot must list both pods running, each record with node n1 (the record as provisioned), and nothing must be rolled back.',
    async run(ctx) {
      await sessionSynced(ctx);
      const before = await scaleToRunning(ctx, 2);
      if (before === null) return;
      const link = upstreamLink(ctx);
      const e1 = link.epoch;
      ctx.step('cut the link');
      link.cut();
      if (!(await ctx.waitFor(['REQ-FAIL-004'], 'a new synced session', () => upstreamSynced(ctx) && link.epoch > e1))) return;
      const snapshot = currentSnapshot(ctx);
      ctx.check(['REQ-SESS-009', 'REQ-FAIL-004'], snapshot !== null && before.every((p) => snapshot.pods.get(p) === 'RUNNING'), `the snapshot after the cut must list ${before.join(', ')} running`);
      const nodes = before.map((p) => `${p}@${snapshot?.records.get(p)?.node ?? '?'}`);
      ctx.check(['REQ-POD-007'], snapshot !== null && before.every((p) => snapshot.records.get(p)?.node === 'n1'), `every record of the Kubelet's snapshot must carry its node n1, got ${nodes.join(', ')}`);
      ctx.check(['REQ-FAIL-004'], runningOnTestee(ctx).join() === before.join(), 'the pods must still be running at the Scheduler after the resync');
    },
  },
  {
    id: 'kubelet.restart-keeps-sandboxes',
    roles: kubelet,
    requirements: ['REQ-FAIL-003', 'REQ-POD-013', 'REQ-SESS-001', 'REQ-FAIL-001', 'REQ-REC-003'],
    title: 'A restarted Kubelet finds its sandboxes and reports them',
    description:
      'Two pods run; the testee is killed (SIGKILL) and started again with the same launch config. The reference Scheduler reconnects; the snapshot must list both pods (their sandboxes survived the process), and they must be tombstoned and killed normally afterwards.',
    restartsTestee: true,
    timeoutMs: 30_000,
    async run(ctx) {
      await sessionSynced(ctx);
      const before = await scaleToRunning(ctx, 2);
      if (before === null) return;
      ctx.step('SIGKILL and restart the testee');
      await ctx.restartTestee();
      const snapshot = await snapshotAfterRestart(ctx, ['REQ-SESS-001', 'REQ-REC-003']);
      if (snapshot === null) return;
      ctx.check(['REQ-FAIL-003', 'REQ-POD-013'], snapshot !== null && before.every((p) => snapshot.pods.has(p)), `the restarted Kubelet's snapshot must list ${before.join(', ')}, got ${JSON.stringify([...(snapshot?.pods.keys() ?? [])])}`);
      ctx.step('scale to 0: the found pods are killed');
      ctx.chain.scale('fn', 0);
      await ctx.waitFor(['REQ-POD-013', 'REQ-TOMB-005'], 'both pods terminated (tombstone.done)', () => ctx.chain.podsOf(scheduler).length === 0);
    },
  },
  {
    id: 'kubelet.killing-is-tombstone',
    roles: kubelet,
    requirements: ['REQ-TOMB-007', 'REQ-TOMB-001', 'REQ-SESS-009', 'REQ-TOMB-008'],
    title: 'A sandbox being killed stays a tombstone in the snapshot',
    description:
      'With a slow sandbox runtime (kills take 1.5 s) a running pod is tombstoned; right after the tombstone reaches the testee the link is cut. The next snapshot must carry the pod as a tombstone (neither alive nor absent) until the kill ends, then tombstone.done.',
    sandbox: { startDelayMs: 5, killDelayMs: 1_500 },
    async run(ctx) {
      await sessionSynced(ctx);
      const [pod = ''] = (await scaleToRunning(ctx, 1)) ?? [];
      if (pod === '') return;
      const link = upstreamLink(ctx);
      ctx.step('scale to 0; cut the link once the tombstone is sent');
      ctx.chain.scale('fn', 0);
      await ctx.waitFor(['REQ-TOMB-002'], `the tombstone of ${pod} sent`, () => podsIn(ctx, scheduler, 'terminating.sent').includes(pod));
      await ctx.sleep(100);
      const e1 = link.epoch;
      link.cut();
      if (!(await ctx.waitFor(['REQ-FAIL-004'], 'a new synced session', () => upstreamSynced(ctx) && link.epoch > e1))) return;
      const snapshot = currentSnapshot(ctx);
      ctx.check(['REQ-TOMB-001', 'REQ-TOMB-007', 'REQ-SESS-009'], snapshot !== null && snapshot.tombstones.has(pod) && !snapshot.pods.has(pod), `while its sandbox is being killed, ${pod} must be a tombstone in the snapshot; got ${snapshot === null ? 'no snapshot' : JSON.stringify({ pods: [...snapshot.pods.keys()], tombstones: [...snapshot.tombstones] })}`);
      const origins = (link.current?.received ?? []).flatMap((f) => ((f as { snapshot?: { tombstones?: Array<{ record: { name: string } | null; origin: string }> } }).snapshot?.tombstones ?? []).filter((t) => t.record?.name === pod).map((t) => t.origin));
      ctx.check(['REQ-TOMB-008'], origins.length === 0 || origins.every((o) => o === 'replicaset'), `the tombstone of ${pod} (a scale-down: origin replicaset) came back with origin ${origins.join(', ')}`);
      await ctx.waitFor(['REQ-TOMB-005'], `tombstone.done for ${pod}`, () => ctx.chain.podsOf(scheduler).length === 0, 5_000);
    },
  },
];
