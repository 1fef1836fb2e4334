/**
 * Kubelet cases for the holes an independent Kubelet with bugs written into it on purpose
 * got through (issue 22 item 5): `pod.running` before the sandbox started, admission that
 * ignores sandboxes being killed, `link.lost` resetting the epoch, no second kill at boot
 * of the sandboxes that were being killed, an incarnation that never increments, round-2
 * tombstones acknowledged without a kill. conformance/test/broken-kubelets.test.ts shows
 * each case failing a Kubelet with its bug (conformance/examples/kubelet-minimal/faults.ts).
 */
import type { ConformanceCase } from './case.js';
import type { CaseContext } from '../harness/context.js';
import { failuresIn, hello, namesIn, podsIn, rawSyncedSession, restoreUpstream, snapshotIn, upstreamLink, type RawSession } from './helpers.js';
import { getState, upstreamSessionEnded, upstreamSessionSyncedAtTestee } from './inspect.js';
import { currentSnapshot, foreignPodNames, kubeletRole as kubelet, provisionIn, scaleToRunning, schedulerPeer as scheduler, sessionSynced as synced, snapshotAfterRestart, tombstoneIn } from './kubelet-steps.js';

/** Timers fire late, never early; this much earlier than a configured delay is still counted as on time (clock granularity). */
const earlySlackMs = 50;
const foreignPod = foreignPodNames(79);

/** Milliseconds from now until `predicate` holds (checked every 5 ms), or null after `timeoutMs`. */
async function msUntil(predicate: () => boolean, timeoutMs: number): Promise<number | null> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (predicate()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 5));
  }
  return predicate() ? Date.now() - started : null;
}

/** The testee's incarnation as Inspect reports it, or null (with a violation) when it does not answer. */
async function incarnationOf(ctx: CaseContext): Promise<number | null> {
  const answer = await getState(ctx.launch.listen);
  if (answer.state === null) return (ctx.check(['REQ-WIRE-011'], false, `Inspect.GetState failed: ${answer.error}`), null);
  return Number(answer.state.incarnation);
}

/** A raw session provisions `pod` and waits for its pod.running. */
async function runningPod(ctx: CaseContext, raw: RawSession, pod: string): Promise<boolean> {
  provisionIn(raw, [pod]);
  return ctx.waitFor(['REQ-POD-006'], `pod.running for ${pod}`, () => namesIn(raw.stream, 'running').includes(pod));
}

export const kubeletHoleCases: readonly ConformanceCase[] = [
  {
    id: 'kubelet.running-only-after-start',
    roles: kubelet,
    requirements: ['REQ-POD-011', 'REQ-SESS-009'],
    title: 'Reports a pod running only once its sandbox has started',
    description:
      'Sandbox starts take 1.5 s. A raw session provisions a pod; 300 ms later a newer hello takes the link over: its snapshot must show the pod PENDING (its sandbox is still starting). pod.running must not come earlier than the start delay after the provision.',
    sandbox: { startDelayMs: 1_500, killDelayMs: 5 },
    async run(ctx) {
      if (!(await synced(ctx))) return;
      const raw = await rawSyncedSession(ctx, 'slow start');
      if (raw === null) return;
      const pod = foreignPod(1);
      ctx.step(`provision ${pod}; its sandbox takes 1500 ms to start`);
      provisionIn(raw, [pod]);
      const provisionedAt = Date.now();
      await ctx.sleep(300);
      ctx.check(['REQ-POD-011'], !namesIn(raw.stream, 'running').includes(pod), `pod.running for ${pod} ${Date.now() - provisionedAt} ms or less after its provision, but its sandbox takes 1500 ms to start: a Kubelet reports running only on sandbox.started`);
      ctx.step('a newer hello: the snapshot must show the pod still starting (PENDING)');
      const next = upstreamLink(ctx).rawStream('snapshot while the sandbox starts');
      const epoch = raw.epoch + 1;
      next.write(hello(ctx, epoch));
      if (!(await ctx.waitFor(['REQ-SESS-009'], `a snapshot for the hello of epoch ${epoch}`, () => next.stream.snapshotDone))) return;
      const phase = snapshotIn(next.stream)?.pods.get(pod);
      ctx.check(['REQ-SESS-009', 'REQ-POD-011'], phase === 'PENDING' || Date.now() - provisionedAt >= 1_500 - earlySlackMs, `${pod} is ${phase ?? 'absent'} in a snapshot taken about ${Date.now() - provisionedAt} ms after its provision; while its sandbox starts it must be PENDING`);
      next.write({ epoch, sync: {} });
      await ctx.waitFor(['REQ-POD-011'], `pod.running for ${pod} once its sandbox started`, () => namesIn(next.stream, 'running').includes(pod), 5_000);
      await restoreUpstream(ctx, { ...raw, stream: next.stream, epoch, write: next.write, end: next.end, halfClose: next.halfClose });
    },
  },
  {
    id: 'kubelet.capacity-counts-killing',
    roles: kubelet,
    requirements: ['REQ-POD-012', 'REQ-TOMB-007'],
    title: 'Refuses a provision into a slot still held by a sandbox being killed',
    description:
      'Kills take 1.5 s; capacity 4. A raw session fills the node with four pods, tombstones one and at once provisions a fifth: the slot of the pod being killed is still held, so the fifth must be answered pod.failed{CAPACITY_EXCEEDED} and must not run. Once tombstone.done has come, a sixth pod must run.',
    sandbox: { startDelayMs: 5, killDelayMs: 1_500 },
    async run(ctx) {
      if (!(await synced(ctx))) return;
      const raw = await rawSyncedSession(ctx, 'slow kill');
      if (raw === null) return;
      const names = [1, 2, 3, 4, 5, 6].map(foreignPod);
      const [first = '', , , , fifth = '', sixth = ''] = names;
      ctx.step('four pods fill the node');
      provisionIn(raw, names.slice(0, 4));
      if (!(await ctx.waitFor(['REQ-POD-006'], 'four pods running', () => names.slice(0, 4).every((n) => namesIn(raw.stream, 'running').includes(n))))) return;
      ctx.step(`tombstone ${first} (its kill takes 1.5 s) and provision ${fifth} at once`);
      tombstoneIn(raw, [first]);
      provisionIn(raw, [fifth]);
      await ctx.waitFor(['REQ-POD-012', 'REQ-TOMB-007'], `an answer for ${fifth}`, () => failuresIn(raw.stream).some((f) => f.name === fifth) || namesIn(raw.stream, 'running').includes(fifth));
      const failure = failuresIn(raw.stream).find((f) => f.name === fifth);
      const doneEarly = namesIn(raw.stream, 'tombstone_done').includes(first);
      ctx.check(['REQ-POD-012', 'REQ-TOMB-007'], failure?.reason === 'CAPACITY_EXCEEDED' || doneEarly, `${fifth} was ${namesIn(raw.stream, 'running').includes(fifth) ? 'started' : `answered ${JSON.stringify(failure ?? null)}`} while ${first} was still being killed: a sandbox being killed holds its slot until the kill ends`);
      ctx.step(`after tombstone.done for ${first}, ${sixth} fits`);
      if (!(await ctx.waitFor(['REQ-TOMB-005'], `tombstone.done for ${first}`, () => namesIn(raw.stream, 'tombstone_done').includes(first), 5_000))) return;
      provisionIn(raw, [sixth]);
      await ctx.waitFor(['REQ-POD-012'], `pod.running for ${sixth} once the slot is free`, () => namesIn(raw.stream, 'running').includes(sixth));
      await restoreUpstream(ctx, raw);
    },
  },
  {
    id: 'kubelet.epoch-survives-link-lost',
    roles: kubelet,
    requirements: ['REQ-SESS-006', 'REQ-SESS-018'],
    title: 'Keeps its current epoch when the session ends',
    description:
      'The Scheduler is synced at epoch E, and Inspect shows the session synced at the testee too; the suite cuts the link and keeps it down until Inspect shows the session ended (idle). A hello with epoch E on a new stream must then be rejected STALE_EPOCH: link.lost must not lower currentEpoch.',
    async run(ctx) {
      if (!(await synced(ctx))) return;
      const l = upstreamLink(ctx);
      const epoch = l.epoch;
      // Cut only a session the testee has synced: a session that ends before it syncs at the testee fences nothing (REQ-SESS-021), and its epoch may be used again.
      if (!(await upstreamSessionSyncedAtTestee(ctx, epoch, `the session.sync of epoch ${epoch} received`))) return;
      ctx.step(`cut the session of epoch ${epoch}`);
      l.pause();
      l.cut();
      // Once the testee has seen the end of the session, a testee that resets its epoch on link.lost has done so.
      if (!(await upstreamSessionEnded(ctx, `the session of epoch ${epoch} was cut`))) return;
      ctx.step(`a hello with the same epoch ${epoch} on a new stream`);
      const raw = l.rawStream('hello with the epoch of the ended session');
      raw.write(hello(ctx, epoch));
      await ctx.expectRejection(raw.stream, 'STALE_EPOCH', ['REQ-SESS-006', 'REQ-SESS-018'], `a hello with epoch ${epoch}, the epoch of the session that just ended`);
      await restoreUpstream(ctx, null);
    },
  },
  {
    id: 'kubelet.restart-during-kill',
    roles: kubelet,
    requirements: ['REQ-POD-013', 'REQ-TOMB-008', 'REQ-FAIL-002', 'REQ-TOMB-007'],
    title: 'A Kubelet restarted while killing a sandbox reports it as a tombstone and kills it again',
    description:
      'Kills take 2 s. A pod runs; the Scheduler tombstones it (scale-down); while the kill is under way the testee is killed (SIGKILL) and started again. Its snapshot must carry the pod as a tombstone with origin replicaset, and tombstone.done must follow: the restarted Kubelet must issue the kill again.',
    sandbox: { startDelayMs: 5, killDelayMs: 2_000 },
    restartsTestee: true,
    timeoutMs: 30_000,
    async run(ctx) {
      if (!(await synced(ctx))) return;
      const [pod = ''] = (await scaleToRunning(ctx, 1)) ?? [];
      if (pod === '') return;
      ctx.step('scale to 0; SIGKILL the testee while the kill is under way');
      ctx.chain.scale('fn', 0);
      if (!(await ctx.waitFor(['REQ-TOMB-002'], `the tombstone of ${pod} sent`, () => podsIn(ctx, scheduler, 'terminating.sent').includes(pod)))) return;
      await ctx.sleep(200);
      await ctx.restartTestee();
      const snapshot = await snapshotAfterRestart(ctx, ['REQ-POD-013']);
      if (snapshot === null) return;
      const inSnapshot = snapshot.tombstones.has(pod) ? 'a tombstone' : snapshot.pods.has(pod) ? `alive (${snapshot.pods.get(pod)})` : 'absent';
      ctx.check(['REQ-POD-013', 'REQ-FAIL-002', 'REQ-TOMB-007'], snapshot.tombstones.has(pod), `${pod} was being killed when the Kubelet restarted, so its snapshot must carry it as a tombstone; it is ${inSnapshot}`);
      ctx.step('the kill must be issued again and acknowledged');
      await ctx.waitFor(['REQ-POD-013'], `tombstone.done for ${pod}: a restarted Kubelet must kill again every sandbox that was being killed`, () => ctx.chain.podsOf(scheduler).length === 0, 8_000);
    },
  },
  {
    id: 'kubelet.incarnation-increments',
    roles: kubelet,
    requirements: ['REQ-SESS-001', 'REQ-FAIL-001'],
    title: 'Starts a new, greater incarnation at every start',
    description: 'Inspect.GetState gives the incarnation; after each of two restarts (SIGKILL) it must be greater than before, the first being at least 1.',
    restartsTestee: true,
    timeoutMs: 40_000,
    async run(ctx) {
      if (!(await synced(ctx))) return;
      let previous = await incarnationOf(ctx);
      if (previous === null) return;
      ctx.check(['REQ-SESS-001'], previous >= 1, `the first incarnation is ${previous}; incarnations start at 1`);
      for (const round of [1, 2]) {
        ctx.step(`restart ${round}`);
        await ctx.restartTestee();
        const now = await incarnationOf(ctx);
        if (now === null) return;
        ctx.check(['REQ-SESS-001', 'REQ-FAIL-001'], now > previous, `after a restart the incarnation is ${now}, before it was ${previous}: it must grow at every start`);
        previous = now;
      }
    },
  },
  {
    id: 'kubelet.round-2-tombstones-killed',
    roles: kubelet,
    requirements: ['REQ-TOMB-002', 'REQ-TOMB-005', 'REQ-SESS-020'],
    title: 'Kills a pod whose tombstone arrives in round 2 before acknowledging it',
    description:
      'Kills take 800 ms. A pod runs; a new session is opened and its round 2 (right after session.sync) carries the pod\'s tombstone. tombstone.done must not come before the kill can have ended (800 ms), and the next snapshot must not show the pod alive.',
    sandbox: { startDelayMs: 5, killDelayMs: 800 },
    async run(ctx) {
      if (!(await synced(ctx))) return;
      const first = await rawSyncedSession(ctx, 'a pod to tombstone in round 2');
      if (first === null) return;
      const pod = foreignPod(7);
      if (!(await runningPod(ctx, first, pod))) return;
      ctx.step('a new session whose round 2 carries the tombstone');
      const raw = await rawSyncedSession(ctx, 'round-2 tombstone');
      if (raw === null) return;
      tombstoneIn(raw, [pod]);
      const ms = await msUntil(() => namesIn(raw.stream, 'tombstone_done').includes(pod), 5_000);
      if (ms === null) return void ctx.check(['REQ-TOMB-005'], false, `no tombstone.done for ${pod} within 5 s`);
      ctx.check(['REQ-TOMB-002'], ms >= 800 - earlySlackMs, `tombstone.done for ${pod} came ${ms} ms after its tombstone, but a kill takes 800 ms: it was acknowledged before its sandbox was killed`);
      ctx.step('the next snapshot must not show the pod alive');
      await restoreUpstream(ctx, raw);
      const snapshot = currentSnapshot(ctx);
      ctx.check(['REQ-TOMB-002'], snapshot !== null && !snapshot.pods.has(pod), `${pod} is still alive (${snapshot?.pods.get(pod) ?? '?'}) after its tombstone.done`);
    },
  },
];
