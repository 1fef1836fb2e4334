/**
 * Kubelet cases that pin the points of the spec an outside implementer had to guess
 * (issue 22 item 7, DEC-34): which reason wins when several apply, the epoch of a
 * Rejected frame, a half-close, names checked for form only, a priority taken as sent,
 * a name provisioned again after its pod ended, SIGTERM and the sandboxes.
 */
import { epochMax } from '../../spec/limits.js';
import type { ConformanceCase } from './case.js';
import { failuresIn, hello, namesIn, podRecord, rawSyncedSession, restoreUpstream, upstreamLink } from './helpers.js';
import { outcomeOf } from '../harness/links.js';
import { currentSnapshot, foreignPodNames, kubeletRole as kubelet, scaleToRunning, schedulerPeer as scheduler, sessionSynced, snapshotAfterRestart } from './kubelet-steps.js';

/** A pod name from an imaginary ReplicaSet incarnation, never used by the reference peers. */
const foreignPod = foreignPodNames(78);

export const kubeletSettledCases: readonly ConformanceCase[] = [
  {
    id: 'kubelet.error-precedence',
    roles: kubelet,
    requirements: ['REQ-WIRE-016', 'REQ-WIRE-005', 'REQ-WIRE-001', 'REQ-FAIL-007'],
    title: 'Answers a frame that breaks several rules with the reason REQ-WIRE-016 puts first',
    description:
      'Extra streams send: a Hello with epoch 0 from a stage that is not the upstream (MALFORMED, not UNAUTHORIZED_UPSTREAM: validity comes first; the Rejected frame carries epoch 0); a Hello with epoch epochMax + 1 (MALFORMED, epoch 0); a scale_set as the first frame of a stream (MALFORMED, not OUT_OF_ORDER: the body is not allowed on the link); in a session waiting for its Sync, a provision with another epoch than the stream\'s (STALE_EPOCH, not OUT_OF_ORDER). Each with its status and an ErrorDetail; afterwards the current epoch + 1 is still accepted.',
    async run(ctx) {
      await sessionSynced(ctx);
      const link = upstreamLink(ctx);
      const cases: Array<[string, Record<string, unknown>, 'MALFORMED', number]> = [
        ['a Hello with epoch 0 from "replicaset"', hello(ctx, 0, { upstream_stage_id: 'replicaset' }) as never, 'MALFORMED', 0],
        [`a Hello with epoch epochMax + 1 (${epochMax + 1})`, hello(ctx, epochMax + 1) as never, 'MALFORMED', 0],
        ['a scale_set as the first frame of a stream', { epoch: link.epoch + 3, scale_set: { scales: [{ function: 'fn', desired: 1 }] } }, 'MALFORMED', link.epoch + 3],
      ];
      for (const [what, frame, reason, epoch] of cases) {
        ctx.step(what);
        const raw = link.rawStream(what);
        raw.write(frame as never);
        await ctx.expectRejection(raw.stream, reason, ['REQ-WIRE-016'], what, 3_000, epoch);
      }
      ctx.step('in a session waiting for its Sync, a provision with another epoch than the stream\'s');
      link.pause();
      link.cut();
      const epoch = link.epochMax + 1;
      const raw = link.rawStream('provision of another epoch before the Sync');
      raw.write(hello(ctx, epoch));
      await ctx.waitFor(['REQ-SESS-009'], 'the snapshot', () => raw.stream.snapshotDone || raw.stream.ended);
      raw.write({ epoch: epoch + 7, provision: { pods: [podRecord(foreignPod(1), 'n1')] } });
      await ctx.expectRejection(raw.stream, 'STALE_EPOCH', ['REQ-WIRE-016', 'REQ-WIRE-001'], 'a provision of another epoch before the Sync', 3_000, epoch + 7);
      ctx.step('the rejected frames changed nothing: the next hello is accepted');
      const next = await rawSyncedSession(ctx, 'epoch after rejected frames');
      ctx.check(['REQ-FAIL-007'], next !== null && !next.stream.ended, 'a rejected frame changed the current epoch');
      await restoreUpstream(ctx, next);
      const snapshot = currentSnapshot(ctx);
      ctx.check(['REQ-FAIL-007'], snapshot !== null && !snapshot.pods.has(foreignPod(1)), `the rejected provision of ${foreignPod(1)} was applied`);
    },
  },
  {
    id: 'kubelet.half-close-ends-session',
    roles: kubelet,
    requirements: ['REQ-WIRE-017', 'REQ-SESS-018', 'REQ-FAIL-004'],
    title: 'Ends the session when its upstream half-closes the stream, and keeps its pods',
    description:
      'A raw session provisions a pod, which runs; then the suite half-closes the stream (ends its sending side). The testee must end the stream with status OK within 3 s and no Rejected frame; in the next session the pod is still running.',
    async run(ctx) {
      await sessionSynced(ctx);
      const raw = await rawSyncedSession(ctx, 'half-close');
      if (raw === null) return;
      const pod = foreignPod(2);
      raw.write({ epoch: raw.epoch, provision: { pods: [podRecord(pod, 'n1')] } });
      if (!(await ctx.waitFor(['REQ-POD-006'], `pod.running for ${pod}`, () => namesIn(raw.stream, 'running').includes(pod)))) return;
      ctx.step('the suite half-closes the stream');
      raw.halfClose();
      const outcome = await outcomeOf(raw.stream, 3_000);
      ctx.check(['REQ-WIRE-017'], outcome !== null, 'the testee did not end the stream within 3 s of the half-close');
      if (outcome !== null) ctx.check(['REQ-WIRE-017'], outcome.code === 0 && raw.stream.rejections.length === 0, `a half-close must end the stream with status OK and no Rejected frame; got status ${outcome.code} ${outcome.details} and rejections ${JSON.stringify(raw.stream.rejections)}`);
      ctx.step('the next session still has the pod');
      await restoreUpstream(ctx, null);
      const snapshot = currentSnapshot(ctx);
      ctx.check(['REQ-FAIL-004'], snapshot?.pods.get(pod) === 'RUNNING', `${pod} must still run after the half-close, got ${JSON.stringify(snapshot === null ? null : [...snapshot.pods])}`);
    },
  },
  {
    id: 'kubelet.names-and-priority-as-sent',
    roles: kubelet,
    requirements: ['REQ-POD-005', 'REQ-POD-016', 'REQ-TOMB-004', 'REQ-POD-004'],
    title: 'Checks pod names for form only and takes a record\'s priority as sent',
    description:
      'In a raw session: tombstones for `my-fn-78-3` (a function with a dash, not configured) and `fn-078-04` (leading zeros) must be answered tombstone.done, the session going on; a provision of a pod of fn with priority 7 (fn is configured with 0) must run, and the next snapshot must carry priority 7; a tombstone named `fn-78` (no ordinal) must be rejected MALFORMED.',
    async run(ctx) {
      await sessionSynced(ctx);
      const raw = await rawSyncedSession(ctx, 'names and priority');
      if (raw === null) return;
      ctx.step('tombstones whose names are of the right form but unusual');
      const odd = ['my-fn-78-3', 'fn-078-04'];
      raw.write({ epoch: raw.epoch, tombstone: { tombstones: odd.map((name) => ({ name, origin: 'replicaset' })) } });
      await ctx.waitFor(['REQ-POD-005', 'REQ-TOMB-004'], `tombstone.done for ${odd.join(' and ')}`, () => odd.every((n) => namesIn(raw.stream, 'tombstone_done').includes(n)) || raw.stream.ended);
      ctx.check(['REQ-POD-005'], !raw.stream.ended, `names of the right form were refused: ${raw.stream.rejections.map((r) => `${r.reason} ${r.message}`).join('; ')}`);
      ctx.step('a provision with a priority other than the configured one');
      const pod = foreignPod(5);
      raw.write({ epoch: raw.epoch, provision: { pods: [podRecord(pod, 'n1', 'fn', 7)] } });
      await ctx.waitFor(['REQ-POD-016'], `pod.running for ${pod} (priority 7)`, () => namesIn(raw.stream, 'running').includes(pod) || failuresIn(raw.stream).length > 0 || raw.stream.ended);
      ctx.check(['REQ-POD-016'], namesIn(raw.stream, 'running').includes(pod), `a record with priority 7 must be started as sent, got ${JSON.stringify(failuresIn(raw.stream))}`);
      ctx.step('a tombstone whose name has no ordinal');
      raw.write({ epoch: raw.epoch, tombstone: { tombstones: [{ name: 'fn-78', origin: 'replicaset' }] } });
      await ctx.expectRejection(raw.stream, 'MALFORMED', ['REQ-POD-005'], 'a tombstone named fn-78');
      ctx.step('the next snapshot carries the priority as sent');
      await restoreUpstream(ctx, null);
      const snapshot = currentSnapshot(ctx);
      ctx.check(['REQ-POD-016', 'REQ-POD-004'], snapshot?.records.get(pod)?.priority === 7, `the snapshot must carry ${pod} with priority 7, got ${JSON.stringify(snapshot?.records.get(pod) ?? null)}`);
    },
  },
  {
    id: 'kubelet.reprovision-after-end',
    roles: kubelet,
    requirements: ['REQ-POD-014', 'REQ-TOMB-006', 'REQ-POD-011'],
    title: 'Treats a name it no longer holds as unknown',
    description:
      'In a raw session a pod is provisioned, runs, is tombstoned and acknowledged (tombstone.done). The same name is then provisioned again: the Kubelet no longer holds it, so the row of an unknown pod applies and it must start and be reported pod.running (REQ-POD-014: ended names need not be remembered); a tombstone for it then ends it again.',
    sandbox: { startDelayMs: 5, killDelayMs: 5 },
    async run(ctx) {
      await sessionSynced(ctx);
      const raw = await rawSyncedSession(ctx, 'provision again after the end');
      if (raw === null) return;
      const pod = foreignPod(6);
      const running = (): number => namesIn(raw.stream, 'running').filter((n) => n === pod).length;
      const done = (): number => namesIn(raw.stream, 'tombstone_done').filter((n) => n === pod).length;
      ctx.step(`provision, tombstone and end ${pod}`);
      raw.write({ epoch: raw.epoch, provision: { pods: [podRecord(pod, 'n1')] } });
      if (!(await ctx.waitFor(['REQ-POD-006'], `pod.running for ${pod}`, () => running() === 1))) return;
      raw.write({ epoch: raw.epoch, tombstone: { tombstones: [{ name: pod, origin: 'replicaset' }] } });
      if (!(await ctx.waitFor(['REQ-TOMB-005'], `tombstone.done for ${pod}`, () => done() === 1))) return;
      ctx.step(`provision ${pod} again`);
      raw.write({ epoch: raw.epoch, provision: { pods: [podRecord(pod, 'n1')] } });
      await ctx.waitFor(['REQ-POD-014', 'REQ-POD-011'], `pod.running for ${pod} a second time (an ended name is unknown to the Kubelet)`, () => running() === 2 || failuresIn(raw.stream).length > 0 || raw.stream.ended);
      ctx.check(['REQ-POD-014'], failuresIn(raw.stream).length === 0 && !raw.stream.ended, `the provision of a name no longer held must start a sandbox, got failures ${JSON.stringify(failuresIn(raw.stream))}${raw.stream.ended ? ' and the stream ended' : ''}`);
      raw.write({ epoch: raw.epoch, tombstone: { tombstones: [{ name: pod, origin: 'replicaset' }] } });
      await ctx.waitFor(['REQ-TOMB-005'], `a second tombstone.done for ${pod}`, () => done() === 2);
      raw.end();
      await restoreUpstream(ctx, null);
    },
  },
  {
    id: 'kubelet.sigterm-keeps-sandboxes',
    roles: kubelet,
    requirements: ['REQ-FAIL-010', 'REQ-FAIL-002', 'REQ-POD-013'],
    title: 'Stops within 5 s of SIGTERM and leaves its sandboxes running',
    description:
      'Two pods run. The testee gets SIGTERM: it must exit within 5 s (else SIGKILL and a failure); it is started again with the same launch config. The Scheduler reconnects: the snapshot must list both pods running (SIGTERM stops the Kubelet, not its sandboxes), and they must end normally on scale-down.',
    restartsTestee: true,
    timeoutMs: 40_000,
    async run(ctx) {
      await sessionSynced(ctx);
      const before = await scaleToRunning(ctx, 2);
      if (before === null) return;
      ctx.step('SIGTERM, then start the testee again');
      await ctx.stopAndStartTestee(['REQ-FAIL-010']);
      const snapshot = await snapshotAfterRestart(ctx, ['REQ-POD-013']);
      if (snapshot === null) return;
      ctx.check(['REQ-FAIL-010', 'REQ-FAIL-002'], before.every((p) => snapshot.pods.get(p) === 'RUNNING'), `after SIGTERM and a start the snapshot must list ${before.join(', ')} running, got ${JSON.stringify([...snapshot.pods])}`);
      ctx.step('scale to 0: the pods found are killed');
      ctx.chain.scale('fn', 0);
      await ctx.waitFor(['REQ-POD-013', 'REQ-TOMB-005'], 'both pods terminated (tombstone.done)', () => ctx.chain.podsOf(scheduler).length === 0);
    },
  },
];
