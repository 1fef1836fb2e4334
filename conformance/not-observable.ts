/**
 * MUST requirements that no conformance case checks, each with the reason and what, if
 * anything, covers it instead. The traceability test (test/traceability.test.ts) fails
 * when a MUST has neither a case nor an entry here, and when an entry here names a
 * requirement that a case already checks (the list must only shrink).
 */
export interface NotObservable {
  readonly id: string;
  /** Why the suite does not judge it over the wire. */
  readonly why: string;
  /** What covers it instead, for the reference implementation; `none` when nothing does yet. */
  readonly coveredBy: string;
}

export const notObservable: readonly NotObservable[] = [
  { id: 'REQ-TOPO-005', why: 'a property of how a cluster is configured (every stage given the same functions and capacities); the suite configures the testee and its peers alike, and nothing one stage sends can show a mismatch', coveredBy: 'kd up writes one configuration for every stage (runtime/config.ts)' },
  { id: 'REQ-TOPO-006', why: 'names are rejected at configuration load, before the testee serves anything; launch contract 1 only defines the exit status for an unknown launchVersion', coveredBy: 'the reference checks names in chainConfigProblems (machines/stages/config.ts); not judged for other implementations' },
  { id: 'REQ-TOPO-009', why: 'whether a protocol step waits for a write of a Kubernetes-shaped object, or reads one back, happens inside the stage', coveredBy: 'runtime/store tests (objects written off the critical path)' },
  { id: 'REQ-POD-009', why: 'a requirement on the internal structure (exactly the ReplicaSet pod table); the suite checks its observable rows through the replicaset.* cases', coveredBy: 'machines/test/coverage.test.ts (every row of the table) and the model checker' },
  { id: 'REQ-POD-010', why: 'a requirement on the internal structure (exactly the Scheduler pod table); the suite checks its observable rows through the scheduler.* cases', coveredBy: 'machines/test/coverage.test.ts and the model checker' },
  { id: 'REQ-SESS-019', why: 'a requirement on the internal structure (exactly the upstream session table); the rows show on the wire as the session rules the link oracle checks in every case', coveredBy: 'machines/test/coverage.test.ts and the model checker' },
  { id: 'REQ-SESS-014', why: 'in-order, exactly-once delivery within a session is given by the gRPC stream; the suite cannot open a gap or reorder frames inside one HTTP/2 stream', coveredBy: 'the simulator and the model checker (FIFO channels per session)' },
  { id: 'REQ-CACHE-010', why: 'needs a Kubelet peer that lies in its snapshot (a pod of another node); not built yet', coveredBy: 'machines/test/stage-properties.test.ts (the Scheduler refuses such a snapshot: disposition rejected)' },
  { id: 'REQ-RS-001', why: 'purity of the decision function is internal', coveredBy: 'machines/test/purity.test.ts and the determinism of the simulator' },
  { id: 'REQ-SCHED-001', why: 'purity of the decision function is internal', coveredBy: 'machines/test/purity.test.ts and the determinism of the simulator' },
  { id: 'REQ-RS-006', why: 'the bound is stagePodsMax = 1,048,576 entries: too large for a black-box case', coveredBy: 'machines tests of the ReplicaSet (creation postponed at the bound)' },
  { id: 'REQ-SCHED-010', why: 'node removal is a reconfiguration and restart of the Scheduler; launch contract 1 has no way to change the configuration', coveredBy: 'runtime/test/node-removal.test.ts' },
  { id: 'REQ-FAIL-005', why: 'a property of the transport: a restarted process has new connections, so nothing sent to its previous incarnation can reach it', coveredBy: 'the model checker (messages in flight to a crashed stage are lost)' },
  { id: 'REQ-FAIL-008', why: 'fail-stop on a failed internal assertion cannot be provoked from outside', coveredBy: 'the reference runtime exits with status 70 on an InvariantViolation (runtime/node)' },
  { id: 'REQ-FAIL-009', why: 'only indirectly: every case has a time limit, so a step that never ends fails the case that triggered it', coveredBy: 'the model checker (every step is a bounded pure function)' },
  { id: 'REQ-SEC-001', why: 'launch contract 1 runs the testee in plaintext on loopback, the explicit insecure test setting REQ-SEC-001 allows', coveredBy: 'runtime/test/tls.test.ts' },
  { id: 'REQ-SEC-004', why: 'the upstream verifies the server identity with TLS, which launch contract 1 does not use', coveredBy: 'runtime/test/tls.test.ts' },
  { id: 'REQ-SEC-005', why: 'authorization of Inspect and Scaler callers needs client certificates (TLS), which launch contract 1 does not use', coveredBy: 'runtime/test/tls.test.ts' },
];
