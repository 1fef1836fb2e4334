/**
 * Which stage writes which Pod object, in a whole run of the chain: every stage is
 * stepped by the simulator's world (the same machines and step results the runtime's
 * stage driver gets), and each step's writes are what the stage driver would enqueue
 * (`podWritesOf`). The Scheduler must write each binding (issue 18, defect 2: its pods
 * go `unscheduled -> pending -> bound`, and a look for `unscheduled -> bound` made it
 * write nothing).
 */
import { describe, expect, it } from 'vitest';
import { roleOf, stepStage, type ChainConfig, type StageId } from '../../machines/index.js';
import { applyAction, initialWorld, protocolActions, type World } from '../../simulator/world.js';
import { podWritesOf } from '../store/pod-objects.js';
import type { PodWrite } from '../store/store.js';

const config: ChainConfig = {
  functions: [{ name: 'fn', priority: 0 }],
  nodes: [
    { name: 'n1', capacity: 4 },
    { name: 'n2', capacity: 4 },
  ],
  variant: 'correct',
};

/** Runs the chain to quiescence after a scale to `desired` (no faults, every sandbox starts); returns the writes by role. */
function runAndCollectWrites(desired: number): Map<string, PodWrite[]> {
  const writes = new Map<string, PodWrite[]>();
  const recording: typeof stepStage = (c, stage: StageId, state, event) => {
    const result = stepStage(c, stage, state, event);
    const role = roleOf(stage);
    writes.set(role, [...(writes.get(role) ?? []), ...podWritesOf(result.trace, state, result.state)]);
    return result;
  };
  let world: World = initialWorld(config);
  world = applyAction(config, world, { kind: 'scale', function: 'fn', desired }, recording).world;
  for (let steps = 0; steps < 10_000; steps++) {
    const action = protocolActions(config, world).find((a) => a.kind !== 'sandboxDone' || a.outcome !== 'failed');
    if (action === undefined) break;
    world = applyAction(config, world, action, recording).world;
  }
  expect(protocolActions(config, world), 'the run reached quiescence').toEqual([]);
  return writes;
}

describe('Pod objects written by each stage in a run of 8 pods', () => {
  it('the Scheduler writes one binding per pod: Pending with the node it placed the pod on', () => {
    const writes = runAndCollectWrites(8);
    const scheduler = writes.get('scheduler') ?? [];
    expect(scheduler).toHaveLength(8);
    const pods = new Set<string>();
    for (const write of scheduler) {
      if (write.kind !== 'put') throw new Error(`the Scheduler only puts: ${JSON.stringify(write)}`);
      expect(write.create).toBe(false);
      expect(write.object.status.phase).toBe('Pending');
      expect(write.object.spec.nodeName).toMatch(/^n[12]$/);
      pods.add(write.pod);
    }
    expect(pods.size).toBe(8);
    // The other stages: the ReplicaSet creates each object, a Kubelet writes it Running.
    expect((writes.get('replicaset') ?? []).filter((w) => w.kind === 'put' && w.create)).toHaveLength(8);
    expect((writes.get('kubelet') ?? []).filter((w) => w.kind === 'put' && w.object.status.phase === 'Running')).toHaveLength(8);
  });
});
