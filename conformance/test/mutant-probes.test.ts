/**
 * The Scheduler's placement, victim, warm-node, equal-priority, preemption-report and foreign-pod cases, the ReplicaSet's scale-down
 * order case, the Deployment's early-confirmation case and the cold forged-hello case have teeth: each passes the reference runtime and fails the same runtime
 * with one protocol mutant of
 * mutants/catalogue.ts applied (a scratch copy of the repository; the suite's peers stay
 * the correct machines), naming the requirement, at the step whose decision broke it.
 * Real processes, real gRPC.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mutantNamed } from '../../mutants/catalogue.js';
import { runConformance } from '../../mutants/run-mutant.js';
import { makeScratchCopy, repositoryRoot, type ScratchCopy } from '../../mutants/scratch.js';

const probes = [
  { role: 'replicaset', case: 'replicaset.scale-down-spares-running', mutant: 'terminate-running-first', requirement: 'REQ-RS-003', message: /terminated fn-\d+-0, which runs, while fn-\d+-1 was only provisioned/, stepName: /must be terminated/ },
  { role: 'scheduler', case: 'scheduler.places-on-largest-free', mutant: 'place-on-smallest-free', requirement: 'REQ-SCHED-002', message: /was placed on n2, expected n1/, stepName: /scale fn to 1: the new pod must go to n1/ },
  { role: 'scheduler', case: 'scheduler.preempts-lowest-newest', mutant: 'preempt-oldest-victim', requirement: 'REQ-SCHED-006', message: /the Scheduler preempted lo-\d+-0; .* the newest: lo-\d+-1/, stepName: /must be the victim/ },
  { role: 'scheduler', case: 'scheduler.preempts-lowest-newest', mutant: 'preempt-highest-lower-priority', requirement: 'REQ-SCHED-006', message: /the Scheduler preempted mid-/, stepName: /must be the victim/ },
  { role: 'deployment', case: 'deployment.applied-only-once-in-force-below', mutant: 'deployment-acks-before-applied', requirement: 'REQ-SCALE-004', message: /must not be told fn=2 is applied while the ReplicaSet has not received it/, stepName: /hold the link to the ReplicaSet/ },
  { role: 'scheduler', case: 'scheduler.cold-forged-hello-does-not-fence', mutant: 'unsynced-hello-fences', requirement: 'REQ-SESS-021', message: /the real upstream session synced below the forged epoch/, stepName: /reconnects with its own next epoch/ },
  { role: 'scheduler', case: 'scheduler.unschedulable-waits', mutant: 'preempt-equal-priority', requirement: 'REQ-SCHED-006', message: /preempted fn-\d+-\d+, fn-\d+-\d+.* where 1 preemption was due: .* endless churn/, stepName: /scale hi \(priority 10\) to 1/ },
  { role: 'scheduler', case: 'scheduler.preemption-reported-up', mutant: 'scheduler-preempts-silently', requirement: 'REQ-SCHED-008', message: /pod\.preempted for fn-\d+-\d+ sent up to the ReplicaSet/, stepName: /must be preempted and reported up/ },
  { role: 'scheduler', case: 'scheduler.foreign-pod-ended', mutant: 'scheduler-adopts-foreign-pod', requirement: 'REQ-CACHE-013', message: /the tombstone of fn-99-0 sent to kubelet:n1/, stepName: /nobody above knows appears on n1/ },
  { role: 'scheduler', case: 'scheduler.places-only-on-synced-nodes', mutant: 'cold-scheduler-places-on-unsynced', requirement: 'REQ-REC-006', message: /was placed on n2 while the link to kubelet:n2 had never synced/, stepName: /release the link to kubelet:n2/ },
  { role: 'scheduler', case: 'scheduler.unknown-tombstone-acknowledged', mutant: 'scheduler-unknown-tombstone-unacked', requirement: 'REQ-TOMB-004', message: /tombstone\.done for fn-99-0, which the Scheduler never held/, stepName: /must be acknowledged/ },
] as const;

const copies: ScratchCopy[] = [];
afterAll(() => {
  for (const copy of copies) copy.remove();
});

describe('cases against mutated stages', () => {
  for (const role of ['scheduler', 'replicaset', 'deployment'] as const)
    it(`the reference ${role} passes every probed case`, { timeout: 180_000 }, async () => {
      const reference = makeScratchCopy(repositoryRoot, null, `reference-${role}`);
      copies.push(reference);
      const cases = [...new Set(probes.filter((p) => p.role === role).map((p) => p.case))];
      const outcome = await runConformance(reference.dir, role, 5, 170_000, cases);
      expect(outcome.verdict, JSON.stringify(outcome, null, 1)).toBe('passed');
      expect(outcome.cases).toBe(cases.length);
    });

  for (const probe of probes)
    it(`${probe.case} fails the mutant ${probe.mutant}, naming ${probe.requirement}`, { timeout: 150_000 }, async () => {
      const copy = makeScratchCopy(repositoryRoot, mutantNamed(probe.mutant), probe.mutant);
      copies.push(copy);
      const outcome = await runConformance(copy.dir, probe.role, 5, 140_000, [probe.case]);
      expect(outcome.verdict, JSON.stringify(outcome, null, 1)).toBe('failed');
      const failed = outcome.failedCases.find((c) => c.id === probe.case);
      expect(failed, JSON.stringify(outcome.failedCases, null, 1)).toBeDefined();
      expect(failed?.requirements).toContain(probe.requirement);
      expect(failed?.message).toMatch(probe.message);
      expect(failed?.stepName).toMatch(probe.stepName);
    });
});
