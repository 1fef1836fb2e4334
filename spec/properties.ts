/**
 * Safety invariants and liveness properties, by stable ID. The simulator, the
 * model checker, the conformance suite and the docs all read this list.
 */

export const safetyInvariantIds = [
  'INV-FENCING',
  'INV-UNIQUE-PLACEMENT',
  'INV-NAME-UNIQUE',
  'INV-NO-RESTART-AFTER-DEATH',
  'INV-TOMBSTONE-DOMINANCE',
  'INV-CACHE-COVERAGE',
  'INV-CAPACITY',
  'INV-NO-OVERSHOOT',
  'INV-NO-NEEDLESS-KILL',
  'INV-NO-RESURRECTION',
  'INV-EPOCH-MONOTONIC',
  'INV-SANDBOX-HELD',
  'INV-KILL-ACK-AFTER-DEATH',
  'INV-APPLIED-IN-FORCE',
  'INV-ONLY-SYNC-FENCES',
  'INV-NO-INVENTED-POD',
  'INV-PLACEMENT-RULE',
  'INV-PREEMPTION-RULE',
  'INV-SCALE-DOWN-ORDER',
  'INV-STEP-ASSERTION',
] as const;

export const livenessPropertyIds = ['LIVE-CONVERGENCE', 'LIVE-NO-CHURN'] as const;

export type SafetyInvariantId = (typeof safetyInvariantIds)[number];
export type LivenessPropertyId = (typeof livenessPropertyIds)[number];
export type PropertyId = SafetyInvariantId | LivenessPropertyId;

export interface PropertyDescription {
  readonly id: PropertyId;
  readonly kind: 'safety' | 'liveness';
  readonly title: string;
  readonly text: string;
}

export const properties: readonly PropertyDescription[] = [
  {
    id: 'INV-FENCING',
    kind: 'safety',
    title: 'Fencing',
    text: 'No message whose epoch is not the receiver\'s current session epoch for that link is applied.',
  },
  {
    id: 'INV-UNIQUE-PLACEMENT',
    kind: 'safety',
    title: 'Unique placement',
    text: 'A pod is bound to at most one node over its whole life, and has a sandbox on at most one Kubelet.',
  },
  {
    id: 'INV-NAME-UNIQUE',
    kind: 'safety',
    title: 'Names are never reused',
    text: 'A pod name is created at most once, also across restarts of the ReplicaSet.',
  },
  {
    id: 'INV-NO-RESTART-AFTER-DEATH',
    kind: 'safety',
    title: 'No restart after death',
    text: 'Once a sandbox of pod p has ended (killed, failed to start, or died with its node), no sandbox of p is started again anywhere.',
  },
  {
    id: 'INV-TOMBSTONE-DOMINANCE',
    kind: 'safety',
    title: 'Tombstone dominance',
    text: 'On a synced link U>D, if D holds a tombstone for p that originated at U or above, then U holds a tombstone for p.',
  },
  {
    id: 'INV-CACHE-COVERAGE',
    kind: 'safety',
    title: 'Cache coverage',
    text: 'On a synced link U>D, every pod alive at D is held by U, alive or as a tombstone.',
  },
  {
    id: 'INV-CAPACITY',
    kind: 'safety',
    title: 'Capacity',
    text: 'A Kubelet never holds more sandboxes (starting, running or being killed) than its capacity, and never has to reject a binding for lack of capacity.',
  },
  {
    id: 'INV-NO-OVERSHOOT',
    kind: 'safety',
    title: 'No overshoot',
    text: 'For each function, the sandboxes alive at Kubelets (starting, running or being killed) never exceed the highest desired count the Autoscaler has set for it.',
  },
  {
    id: 'INV-NO-NEEDLESS-KILL',
    kind: 'safety',
    title: 'No needless kill',
    text: 'The ReplicaSet never tombstones a pod of a function whose desired count has never decreased. Preemptions, which the Scheduler decides, are not counted.',
  },
  {
    id: 'INV-NO-RESURRECTION',
    kind: 'safety',
    title: 'No resurrection',
    text: 'A stage incarnation that has held a tombstone for p never again holds p alive.',
  },
  {
    id: 'INV-EPOCH-MONOTONIC',
    kind: 'safety',
    title: 'Monotonic epochs',
    text: 'A downstream\'s synced epoch for a link never decreases within its incarnation, and its current epoch is never below it.',
  },
  {
    id: 'INV-SANDBOX-HELD',
    kind: 'safety',
    title: 'What a Kubelet holds is what runs',
    text: 'A Kubelet holds a pod as starting, running or being killed exactly when its node has a sandbox of that pod in the same state: a Kubelet that reports a pod running holds its running sandbox, it kills only a sandbox it has, and no sandbox runs that its Kubelet does not hold.',
  },
  {
    id: 'INV-KILL-ACK-AFTER-DEATH',
    kind: 'safety',
    title: 'A kill is acknowledged only after the sandbox is dead',
    text: 'A Kubelet sends tombstone.done for a pod only when it holds no sandbox of it (not starting, running or being killed).',
  },
  {
    id: 'INV-APPLIED-IN-FORCE',
    kind: 'safety',
    title: 'A desired count is acknowledged only once it is in force below',
    text: 'The Deployment sends scale.applied{f, d} to the Autoscaler only while its own entry for f is applied (clean) at d, that is after the ReplicaSet acknowledged d: an Autoscaler told that d is applied can rely on the ReplicaSet acting on d.',
  },
  {
    id: 'INV-ONLY-SYNC-FENCES',
    kind: 'safety',
    title: 'Only a completed handshake fences',
    text: 'Whenever a downstream has no session on a link, its current epoch for that link is the highest epoch it synced: a hello whose session ended before its sync (which anyone can send in plaintext mode) fences no later upstream.',
  },
  {
    id: 'INV-NO-INVENTED-POD',
    kind: 'safety',
    title: 'No stage invents a pod',
    text: 'A stage names in its state, its messages and its effects only pods that its state or the event it received named, or that it creates (the ReplicaSet\'s decision "create"): a pod name enters the protocol only where the ReplicaSet creates it.',
  },
  {
    id: 'INV-PLACEMENT-RULE',
    kind: 'safety',
    title: 'Pods are placed by priority on the most free node',
    text: 'Whenever the Scheduler places pods, it places them highest priority first (no pod left waiting outranks one placed) and each on a warm node with the most free capacity at that moment, never on a node without free capacity (REQ-SCHED-002). Ties between equally free nodes may go either way.',
  },
  {
    id: 'INV-PREEMPTION-RULE',
    kind: 'safety',
    title: 'Only needed preemptions, of the lowest priority',
    text: 'Whenever the Scheduler preempts, each victim has a priority strictly below a pod left waiting and no bound or running pod on a warm node has a lower one (REQ-SCHED-006), and it preempts no more pods than the waiting pods that terminations under way do not cover (REQ-SCHED-007). Ties between equal victims may go either way.',
  },
  {
    id: 'INV-SCALE-DOWN-ORDER',
    kind: 'safety',
    title: 'A scale-down spares running pods while others remain',
    text: 'Whenever the ReplicaSet terminates pods of a function, it keeps none that is less advanced than a victim: pods never forwarded go first, then pods not yet confirmed running, running pods last (REQ-RS-003). Among equals either may go.',
  },
  {
    id: 'INV-STEP-ASSERTION',
    kind: 'safety',
    title: 'Every step keeps the machines\' own assertions',
    text: 'No step of a stage, and no effect a driver applies for it, breaks an internal assertion of machines/ or of the world (an InvariantViolation): a model run that hits one is a violation of this property, or of the more specific property named above, with the counterexample that leads to it.',
  },
  {
    id: 'LIVE-CONVERGENCE',
    kind: 'liveness',
    title: 'Convergence',
    text: 'After the last fault, under fair delivery, eventually every link is synced, nothing is in flight, every function runs min(desired, what fits by priority) pods, every cache equals the truth below it, and no tombstone is left.',
  },
  {
    id: 'LIVE-NO-CHURN',
    kind: 'liveness',
    title: 'No churn',
    text: 'With too little capacity, unschedulable pods wait at the Scheduler; after the last fault no pod is created and rolled back infinitely often.',
  },
];
