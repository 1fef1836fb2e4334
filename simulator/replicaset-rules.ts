/**
 * INV-SCALE-DOWN-ORDER (spec/07-properties.md): the ReplicaSet's victims of one step
 * judged against REQ-RS-003, from the step's trace and its state after it. Written from
 * the spec, not from machines/decisions, so that a wrong decision is not its own judge.
 */
import type { ReplicaSetState, TracePoint } from '../machines/index.js';
import type { Violation } from './violation.js';

/** REQ-RS-003: never-forwarded pods go first, then pods not yet confirmed running, then running ones. */
const rankOf: Readonly<Record<string, number>> = { pending: 0, provisioned: 1, running: 2 };

/** Violations of the scale-down order by the ReplicaSet's victims of one step. */
export function scaleDownOrderViolations(after: ReplicaSetState, trace: readonly TracePoint[]): Violation[] {
  const victims = trace.filter((p) => p.machine === 'replicaset-pod' && p.event === 'decide.terminate');
  if (victims.length === 0) return [];
  // A pod forwarded in this step was pending when the step decided (forwarding comes after deciding).
  const forwardedNow = new Set(trace.filter((p) => p.machine === 'replicaset-pod' && p.event === 'forward' && p.from === 'pending').map((p) => p.pod));
  const violations: Violation[] = [];
  for (const victim of victims) {
    const victimRank = rankOf[victim.from];
    const fn = after.pods.get(victim.pod)?.record.function ?? functionOfName(victim.pod);
    if (victimRank === undefined) continue;
    for (const e of after.pods.entries()) {
      if (e.record.function !== fn || e.record.name === victim.pod) continue;
      const rank = forwardedNow.has(e.record.name) ? 0 : rankOf[e.lifecycle];
      if (rank === undefined || rank >= victimRank) continue;
      violations.push({
        property: 'INV-SCALE-DOWN-ORDER',
        message: `the ReplicaSet terminated ${victim.pod} (${victim.from}) while keeping ${e.record.name} (${forwardedNow.has(e.record.name) ? 'pending' : e.lifecycle}) of the same function: at a scale-down pods never forwarded go first, then those not yet running, running ones last`,
      });
      return violations;
    }
  }
  return violations;
}

/** The function of a pod name `<function>-<incarnation>-<ordinal>` (a victim that left the cache in the step). */
function functionOfName(name: string): string {
  return name.split('-').slice(0, -2).join('-');
}
