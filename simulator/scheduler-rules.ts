/**
 * INV-PLACEMENT-RULE and INV-PREEMPTION-RULE (spec/07-properties.md): the Scheduler's
 * decisions of one step judged against REQ-SCHED-002, REQ-SCHED-006 and REQ-SCHED-007,
 * from the step's trace and the Scheduler's state after it. Written from the spec, not
 * from machines/decisions: a mutated decision must not mutate its judge. Every tie the
 * spec breaks by name is allowed either way, so that the verdict holds for every
 * tie-break the checker explores (DEC-52).
 */
import type { PodEntry, SchedulerState, TracePoint } from '../machines/index.js';
import type { Violation } from './violation.js';

/** Scheduler pod states that hold capacity on their node (spec/04-lifecycles.md, Scheduler pod table). */
const holdsCapacity = new Set(['pending', 'bound', 'running', 'terminating.unsent', 'terminating.sent']);
const tombstones = new Set(['terminating.unsent', 'terminating.sent']);

export interface SchedulerStepView {
  readonly nodes: ReadonlyArray<{ readonly name: string; readonly capacity: number }>;
  readonly after: SchedulerState;
  readonly trace: readonly TracePoint[];
}

/** Violations of the placement and preemption rules by the decisions of one Scheduler step. */
export function schedulerRuleViolations(view: SchedulerStepView): Violation[] {
  const placed = view.trace.filter((p) => p.machine === 'scheduler-pod' && p.event === 'decide.place').map((p) => p.pod);
  const preempted = view.trace.filter((p) => p.machine === 'scheduler-pod' && p.event === 'decide.preempt').map((p) => p.pod);
  if (placed.length === 0 && preempted.length === 0) return [];
  const pods = view.after.pods;
  const warm = view.nodes.filter((n) => view.after.toKubelets[n.name]?.everSynced === true);
  const waiting = [...pods.inLifecycle('unscheduled').values()].map((e) => e.record.priority);
  const highestWaiting = Math.max(-Infinity, ...waiting);
  return [...placementViolations(view, warm, placed, highestWaiting), ...preemptionViolations(view, warm, new Set(placed), preempted, waiting)];
}

function entryOf(view: SchedulerStepView, name: string): PodEntry | undefined {
  return view.after.pods.get(name);
}

/** REQ-SCHED-002: in priority order (none left waiting outranks one placed), each on a warm node with the most free capacity, never on a full one. */
function placementViolations(view: SchedulerStepView, warm: SchedulerStepView['nodes'], placed: readonly string[], highestWaiting: number): Violation[] {
  const violations: Violation[] = [];
  // Free capacity when the step decided: after it, plus what it placed there (preemptions keep holding their slot).
  const free = new Map<string, number>();
  for (const node of warm) {
    let used = 0;
    for (const e of view.after.pods.entries()) if (e.record.node === node.name && holdsCapacity.has(e.lifecycle)) used++;
    free.set(node.name, node.capacity - used);
  }
  for (const name of placed) {
    const node = entryOf(view, name)?.record.node ?? null;
    if (node !== null && free.has(node)) free.set(node, (free.get(node) as number) + 1);
  }
  for (const name of placed) {
    const entry = entryOf(view, name);
    const node = entry?.record.node ?? null;
    if (entry === undefined || node === null) continue;
    if (entry.record.priority < highestWaiting)
      violations.push({ property: 'INV-PLACEMENT-RULE', message: `the Scheduler placed ${name} (priority ${entry.record.priority}) while a pod of priority ${highestWaiting} stays waiting: pods are placed highest priority first` });
    const here = free.get(node);
    const most = Math.max(0, ...free.values());
    if (here === undefined) violations.push({ property: 'INV-PLACEMENT-RULE', message: `the Scheduler placed ${name} on ${node}, which is not warm (its link never synced in this incarnation)` });
    else if (here <= 0 || here < most)
      violations.push({ property: 'INV-PLACEMENT-RULE', message: `the Scheduler placed ${name} on ${node} with ${here} free, while ${[...free].filter(([, f]) => f === most).map(([n]) => n).join(', ')} had ${most}: a pod goes to a warm node with the most free capacity` });
    if (here !== undefined) free.set(node, here - 1);
  }
  return violations;
}

/**
 * REQ-SCHED-006 and REQ-SCHED-007: a victim is bound or running on a warm node and of the
 * lowest priority among the candidates; the first `T` waiting pods in placement order
 * wait for the `T` terminations under way, and the victims can be given to distinct
 * further waiting pods, each victim strictly below its pod (one preemption per pod).
 */
function preemptionViolations(view: SchedulerStepView, warm: SchedulerStepView['nodes'], placedNow: ReadonlySet<string>, preempted: readonly string[], waiting: readonly number[]): Violation[] {
  if (preempted.length === 0) return [];
  const violations: Violation[] = [];
  const warmNames = new Set(warm.map((n) => n.name));
  let lowestCandidate = Infinity;
  let underWay = 0;
  for (const e of view.after.pods.entries()) {
    if (e.record.node === null || !warmNames.has(e.record.node)) continue;
    if ((e.lifecycle === 'bound' || e.lifecycle === 'running') && !placedNow.has(e.record.name)) lowestCandidate = Math.min(lowestCandidate, e.record.priority);
    if (tombstones.has(e.lifecycle) && !preempted.includes(e.record.name)) underWay++;
  }
  const victims: Array<{ name: string; priority: number }> = [];
  for (const name of preempted) {
    const entry = entryOf(view, name);
    if (entry === undefined) continue;
    victims.push({ name, priority: entry.record.priority });
    if (entry.record.priority > lowestCandidate)
      violations.push({ property: 'INV-PREEMPTION-RULE', message: `the Scheduler preempted ${name} (priority ${entry.record.priority}) while a pod of priority ${lowestCandidate} was bound or running on a warm node: the lowest priority goes first` });
  }
  // Waiting pods in placement order (highest priority first); the first `underWay` wait for the slots being freed.
  const uncovered = [...waiting].sort((a, b) => b - a).slice(underWay);
  victims.sort((a, b) => b.priority - a.priority);
  // Hall's condition for this threshold matching: the k-th highest victim needs k uncovered waiting pods above it.
  for (const [k, victim] of victims.entries()) {
    const above = uncovered.filter((w) => w > victim.priority).length;
    if (above > k) continue;
    violations.push({
      property: 'INV-PREEMPTION-RULE',
      message: `the Scheduler preempted ${victims.map((v) => `${v.name} (priority ${v.priority})`).join(', ')} for waiting pods of priorities ${[...waiting].sort((a, b) => b - a).join(', ')} with ${underWay} termination(s) under way: ${victim.name} makes room for no waiting pod of a strictly higher priority that those terminations do not already cover (a needless preemption)`,
    });
    break;
  }
  return violations;
}
