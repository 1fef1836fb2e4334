/**
 * Test-only faults of the runtime, for the conformance suite's own tests: a stage run with
 * `KD_TEST_FAULTS=name[,name]` misbehaves on purpose so that a test can show a conformance
 * case failing it. Never set in normal use; an unknown name stops the process at start.
 * The protocol logic stays in machines/: a fault here only changes what the transport
 * carries.
 */
export const testFaultNames = [
  /**
   * The Scheduler's link to a Kubelet silently drops the `pod.tombstone` of a pod the
   * Kubelet has not yet reported running (a bound pod whose start is under way): the
   * hidden bug "a tombstone of a bound pod dropped" of issue 22.
   */
  'drop-tombstone-before-running',
  /**
   * An upstream hands its machines every snapshot without its tombstones: reconciliation
   * that ignores a snapshot's tombstones (issue 22's hidden bug of the ReplicaSet).
   */
  'ignore-snapshot-tombstones',
] as const;

export type TestFaultName = (typeof testFaultNames)[number];

function enabledFaults(): ReadonlySet<string> {
  const names = (process.env['KD_TEST_FAULTS'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const name of names) if (!(testFaultNames as readonly string[]).includes(name)) throw new Error(`KD_TEST_FAULTS: unknown fault "${name}"; known: ${testFaultNames.join(', ')}`);
  return new Set(names);
}

const enabled = enabledFaults();

export function testFaultOn(name: TestFaultName): boolean {
  return enabled.has(name);
}
