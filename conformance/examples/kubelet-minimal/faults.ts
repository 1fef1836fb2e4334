/**
 * Deliberate bugs, for the conformance suite's own tests only
 * (conformance/test/broken-kubelets.test.ts): each new case of the suite must fail a
 * Kubelet that has the bug it is written for. Switched on by the environment variable
 * `KUBELET_MINIMAL_FAULTS` (a comma-separated list of the names below); never set in
 * normal use, and with it unset this Kubelet is the one written from the spec.
 */
export const faultNames = [
  /** Reports `pod.running` at the provision, before its sandbox has started. */
  'running-before-started',
  /** Admission counts only sandboxes starting or running, not those being killed (REQ-POD-012). */
  'capacity-ignores-killing',
  /** `link.lost` resets `currentEpoch` to 0 (REQ-SESS-006). */
  'link-lost-resets-epoch',
  /** At boot, sandboxes that were being killed are not killed again (REQ-POD-013). */
  'no-rekill-at-boot',
  /** The incarnation counter never increments (REQ-SESS-001). */
  'incarnation-never-increments',
  /** Tombstones in the first frame after `session.sync` (round 2) are acknowledged without a kill (REQ-TOMB-002). */
  'round-2-tombstones-not-killed',
  /** Rejections end the stream without an `ErrorDetail` in the status (REQ-WIRE-005). */
  'no-error-detail',
] as const;

export type FaultName = (typeof faultNames)[number];

const enabled = new Set(
  (process.env['KUBELET_MINIMAL_FAULTS'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== ''),
);
for (const name of enabled)
  if (!(faultNames as readonly string[]).includes(name)) throw new Error(`KUBELET_MINIMAL_FAULTS: unknown fault "${name}"; known: ${faultNames.join(', ')}`);

export function faultOn(name: FaultName): boolean {
  return enabled.has(name);
}
