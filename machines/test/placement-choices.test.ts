import { describe, expect, it } from 'vitest';
import { ChoiceCursor } from '../core/choices.js';
import { decidePlacement } from '../decisions/scheduler-decisions.js';
import type { SchedulerPodState } from '../pods/scheduler-pod.machine.js';
import { PodCache, podGroupingOf, type PodEntry } from '../stages/pod-cache.js';

const nodes = [
  { name: 'n1', capacity: 1 },
  { name: 'n2', capacity: 1 },
  { name: 'n3', capacity: 1 },
];

function cache(entries: Array<[name: string, priority: number, node: string | null, lifecycle: SchedulerPodState]>): PodCache<SchedulerPodState> {
  const plain: Record<string, PodEntry<SchedulerPodState>> = {};
  for (const [name, priority, node, lifecycle] of entries) plain[name] = { record: { name, function: name.split('-')[0] as string, priority, node }, lifecycle, origin: null };
  return PodCache.fromJSON(plain, podGroupingOf.scheduler);
}

describe('the Scheduler\'s ties are a choice of the driver (DEC-52)', () => {
  it('with no choices: the first of the most free nodes by name, and no tie reported beyond the cursor', () => {
    const choices = new ChoiceCursor();
    const decision = decidePlacement({ variant: 'correct', nodes, pods: cache([['lo-1-0', 0, null, 'unscheduled']]), choices });
    expect(decision.placements).toEqual([{ pod: 'lo-1-0', node: 'n1' }]);
    expect(choices.radices).toEqual([3]);
  });

  it('each digit places on another of the equally free nodes; later ties depend on earlier picks', () => {
    const pods = cache([
      ['lo-1-0', 0, null, 'unscheduled'],
      ['lo-1-1', 0, null, 'unscheduled'],
    ]);
    const seen = new Set<string>();
    for (const first of [0, 1, 2])
      for (const second of [0, 1]) {
        const choices = new ChoiceCursor([first, second]);
        const decision = decidePlacement({ variant: 'correct', nodes, pods, choices });
        expect(choices.radices).toEqual([3, 2]);
        seen.add(decision.placements.map((p) => `${p.pod}@${p.node}`).join(' '));
      }
    // Every way of putting two pods on two of three nodes, each once.
    expect(seen.size).toBe(6);
  });

  it('a node that is freer than the others is no tie: no digit is read', () => {
    const choices = new ChoiceCursor([1]);
    const decision = decidePlacement({ variant: 'correct', nodes: [{ name: 'n1', capacity: 1 }, { name: 'n2', capacity: 2 }], pods: cache([['lo-1-0', 0, null, 'unscheduled']]), choices });
    expect(decision.placements).toEqual([{ pod: 'lo-1-0', node: 'n2' }]);
    expect(choices.radices).toEqual([]);
  });

  it('the victim: the newest of the lowest priority with no choices, any of them with one', () => {
    const pods = cache([
      ['lo-1-0', 0, 'n1', 'running'],
      ['lo-1-1', 0, 'n2', 'running'],
      ['mid-1-0', 5, 'n3', 'running'],
      ['hi-1-0', 10, null, 'unscheduled'],
    ]);
    const ruled = new ChoiceCursor();
    expect(decidePlacement({ variant: 'correct', nodes, pods, choices: ruled }).preemptions).toEqual(['lo-1-1']);
    expect(ruled.radices).toEqual([2]);
    expect(decidePlacement({ variant: 'correct', nodes, pods, choices: new ChoiceCursor([1]) }).preemptions).toEqual(['lo-1-0']);
    expect(decidePlacement({ variant: 'correct', nodes, pods }).preemptions).toEqual(['lo-1-1']);
  });

  it('a digit beyond a tie\'s alternatives is refused', () => {
    expect(() => decidePlacement({ variant: 'correct', nodes, pods: cache([['lo-1-0', 0, null, 'unscheduled']]), choices: new ChoiceCursor([3]) })).toThrow(/not below its 3 alternatives/);
  });
});
