/**
 * The short chaos soak of the default test run (runtime/faults/soak.ts; `npm run soak` runs
 * a long one): one run per fault kind (a stage SIGKILLed, a node crash, a link cut,
 * refused, blackholed, an etcd outage) on a real 3-node cluster over a real etcd, each
 * during a scale; every run converges, `kd validate` finds nothing, no acknowledged
 * desired count is lost, no pod is leaked or lost, and the Pod objects in etcd come to
 * match the running pods.
 */
import { expect, it } from 'vitest';
import { formatSoak, runSoak, soakFaultKinds } from '../faults/soak.js';
import { testWaitMsMax } from '../../test/wait-until.js';

it('one run of each fault kind: all converge, nothing violated, lost or leaked', async () => {
  const result = await runSoak({ runs: soakFaultKinds.length, seed: 17, nodes: 3, capacity: 20, faultMs: 1_000, convergeMsMax: testWaitMsMax, faults: soakFaultKinds, log: (line) => console.log(`[soak] ${line}`) });
  console.log(formatSoak(result).join('\n'));
  expect(result.faultsByKind).toEqual(Object.fromEntries(soakFaultKinds.map((kind) => [kind, 1])));
  expect(result.runs.map((r) => r.acknowledged)).toEqual(soakFaultKinds.map(() => true));
  expect(result.converged).toBe(soakFaultKinds.length);
  expect(result.violations).toEqual([]);
  expect(result.acknowledgedLost).toBe(0);
  expect(result.podsLeaked).toBe(0);
  expect(result.podsLost).toBe(0);
  expect(result.podObjectsDiverged).toBe(0);
}, soakFaultKinds.length * 2 * testWaitMsMax);
