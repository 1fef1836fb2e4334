/**
 * The spec's figures are runs of the machines: each named scenario runs without breaking
 * a property and shows what its caption claims (checked here on the run's own steps), every
 * spec chapter from 01 to 06 places at least one figure, and a figure that does not exist
 * fails the build.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CounterexampleTrace } from '../../checker/chain/trace.js';
import { architectureHtml, figureByName, figureScenarios, placeFigures, runFigureScenario } from '../build/protocol-figures.js';
import { repositoryRoot } from '../build/site.js';

function run(name: string): CounterexampleTrace {
  const scenario = figureScenarios.find((s) => s.name === name);
  if (scenario === undefined) throw new Error(`no figure scenario ${name}`);
  return runFigureScenario(scenario);
}

/** `from>to: label` of every delivery, in order, `late` marking a message of an ended session. */
function deliveries(trace: CounterexampleTrace): string[] {
  return trace.steps.flatMap((s) => (s.delivered === null ? [] : [`${s.delivered.from}>${s.delivered.to}: ${s.delivered.stale ? 'late ' : ''}${s.delivered.label}`]));
}

describe('the spec figures, drawn from runs of the machines', () => {
  it('handshake: hello down every link, snapshots from the Kubelet up (bottom-up), then sync', () => {
    const d = deliveries(run('handshake'));
    const hellos = d.filter((x) => x.includes('session.hello'));
    const snapshots = d.filter((x) => x.includes('snapshot'));
    const syncs = d.filter((x) => x.includes('session.sync'));
    expect([hellos.length, snapshots.length, syncs.length]).toEqual([4, 4, 4]);
    expect(snapshots.map((x) => x.split(': ')[0])).toEqual(['kubelet:n1>scheduler', 'scheduler>replicaset', 'replicaset>deployment', 'deployment>autoscaler']);
    expect(d.indexOf(hellos.at(-1) ?? '')).toBeLessThan(d.indexOf(snapshots[0] ?? ''));
  });

  it('provisioning: scale.set down, applied up, the pod provisioned with its node and reported running', () => {
    const d = deliveries(run('provisioning'));
    expect(d).toContain('autoscaler>deployment: scale.set f=1');
    expect(d).toContain('deployment>autoscaler: scale.applied f=1');
    expect(d.some((x) => /^scheduler>kubelet:n1: provision f-\d+-\d+ @n1$/.test(x))).toBe(true);
    expect(d.some((x) => /^scheduler>replicaset: running /.test(x))).toBe(true);
  });

  it('rollback: the failure goes up and a replacement with a new name starts', () => {
    const trace = run('rollback');
    const d = deliveries(trace);
    expect(trace.steps.some((s) => s.action.kind === 'sandboxDone' && s.action.outcome === 'failed')).toBe(true);
    expect(d.filter((x) => x.includes('failed') && x.includes('sandbox-failed')).map((x) => x.split(': ')[0])).toEqual(['kubelet:n1>scheduler', 'scheduler>replicaset']);
    const provisioned = new Set(d.filter((x) => x.startsWith('replicaset>scheduler: provision')).map((x) => x.split(' ').at(-1)));
    expect(provisioned.size).toBe(2);
    expect(trace.steps.at(-1)?.delivered?.type).toBe('pod.running');
  });

  it('termination: the tombstone goes down, the sandbox is killed, tombstone.done comes back up', () => {
    const trace = run('termination');
    const d = deliveries(trace);
    expect(d.filter((x) => x.includes('tombstone f-')).map((x) => x.split(': ')[0])).toEqual(['replicaset>scheduler', 'scheduler>kubelet:n1']);
    expect(trace.steps.some((s) => s.action.kind === 'sandboxDone' && s.action.outcome === 'killed')).toBe(true);
    expect(d.filter((x) => x.includes('tombstone.done')).map((x) => x.split(': ')[0])).toEqual(['kubelet:n1>scheduler', 'scheduler>replicaset']);
  });

  it('preemption: the low-priority pod is preempted and killed before the high-priority one is bound', () => {
    const d = deliveries(run('preemption'));
    const preempted = d.findIndex((x) => x.startsWith('scheduler>replicaset: preempted lo-'));
    const done = d.findIndex((x) => x.startsWith('kubelet:n1>scheduler: tombstone.done lo-'));
    const bound = d.findIndex((x) => /^scheduler>kubelet:n1: provision hi-/.test(x));
    expect(preempted).toBeGreaterThanOrEqual(0);
    expect(done).toBeGreaterThan(preempted);
    expect(bound).toBeGreaterThan(done);
  });

  it('crash recovery: the restarted ReplicaSet syncs below before it answers above', () => {
    const trace = run('crash-recovery');
    expect(trace.steps[0]?.action).toEqual({ kind: 'crash', stage: 'replicaset' });
    const d = deliveries(trace);
    const helloFromAbove = d.indexOf('deployment>replicaset: session.hello');
    const snapshotFromBelow = d.findIndex((x) => x.startsWith('scheduler>replicaset: snapshot (1 alive'));
    const snapshotUp = d.findIndex((x) => x.startsWith('replicaset>deployment: snapshot'));
    expect(helloFromAbove).toBeGreaterThanOrEqual(0);
    expect(snapshotFromBelow).toBeGreaterThan(helloFromAbove);
    expect(snapshotUp).toBeGreaterThan(snapshotFromBelow);
  });

  it('cut recovery: a new session re-sends the dirty count, and the old session\'s copy arrives late', () => {
    const trace = run('cut-recovery');
    expect(trace.steps.some((s) => s.action.kind === 'cut')).toBe(true);
    const d = deliveries(trace);
    expect(d).toContain('deployment>replicaset: session.hello');
    expect(d).toContain('deployment>replicaset: late scale.set f=1');
    const late = trace.steps.find((s) => s.delivered?.stale === true);
    const fresh = trace.steps.find((s) => s.delivered?.type === 'scale.set' && s.delivered.to === 'replicaset' && !s.delivered.stale);
    expect(late?.delivered?.epoch).toBeLessThan(fresh?.delivered?.epoch ?? 0);
  });

  it('every spec chapter from 01 to 06 places a figure, each figure is placed, and an unknown one fails the build', () => {
    const chapters = readdirSync(join(repositoryRoot, 'spec')).filter((f) => /^0[1-6]-.*\.md$/.test(f)).sort();
    expect(chapters).toHaveLength(6);
    const placed: string[] = [];
    for (const chapter of chapters) {
      const text = readFileSync(join(repositoryRoot, 'spec', chapter), 'utf8');
      const names = [...text.matchAll(/<!-- figure: ([a-z0-9-]+) -->/g)].map((m) => m[1] as string);
      expect(names.length, chapter).toBeGreaterThan(0);
      for (const name of names) expect(figureByName(name), `${chapter}: ${name}`).toBeDefined();
      placed.push(...names);
    }
    expect(new Set(placed)).toEqual(new Set(['architecture', ...figureScenarios.map((s) => s.name)]));
    expect(() => placeFigures('<p>x</p><!-- figure: nosuch -->', 'spec/x.md')).toThrow(/spec\/x.md: unknown figure "nosuch"/);
    const { html, placed: one } = placeFigures('<p>x</p>\n<!-- figure: termination -->', 'spec/x.md');
    expect(one).toEqual(['termination']);
    expect(html).toMatch(/<figure class="diagram protocol-figure" id="figure-termination"><svg[^>]*>[\s\S]*Termination with tombstones/);
    expect(architectureHtml()).toMatch(/<figure class="diagram architecture-figure"[^>]*><svg[\s\S]*kubelet:n3/);
  });
});
