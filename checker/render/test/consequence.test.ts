/**
 * Counterexamples run on to the damage a user would see (consequence.ts), on every
 * known-bad variant of preset ci: the damage is re-judged here on an independent replay
 * of the run through the simulator's `applyAction` (not the checker's packed model), a
 * continued run starts with the counterexample's own steps and adds no fault, a claim of
 * "no damage" rests on searches that were not cut short, and the correct protocol shows
 * no damage at all. The HTML page carries the damage and the full state of every step.
 */
import { describe, expect, it } from 'vitest';
import { loadCheckConfig } from '../../chain/config-file.js';
import { ChainModel } from '../../chain/model.js';
import { buildTrace, type CounterexampleTrace } from '../../chain/trace.js';
import { search } from '../../engine/search.js';
import { convergenceProblems, functionStatus, isQuiescent } from '../../../simulator/convergence.js';
import { applyAction, bootSequence, initialWorld, type World } from '../../../simulator/world.js';
import { variantNames, type VariantName } from '../../../spec/variants.js';
import { consequenceOf, searchHarm, type Consequence, type HarmKind } from '../consequence.js';
import { consequenceHtml, damageMarks, traceToHtml } from '../html.js';
import { traceToSvg } from '../svg.js';

function counterexample(variant: VariantName): CounterexampleTrace {
  const config = loadCheckConfig('ci', variant);
  const result = search(new ChainModel(config), { strategy: 'bfs' });
  if (result.violation === null) throw new Error(`no counterexample for ${variant}`);
  return buildTrace(config, result.violation);
}

/** The worlds after each step of a trace, replayed with the simulator alone. */
function replayWorlds(trace: CounterexampleTrace): World[] {
  const config = trace.check.chain;
  let world = trace.check.startSynced === true ? bootSequence(config).world : initialWorld(config);
  return trace.steps.map((step) => (world = applyAction(config, world, step.action).world));
}

/** Whether the damage of `kind` is visible at `step` (1-based), judged on the replayed world and the step's own record. */
function damageVisible(trace: CounterexampleTrace, worlds: readonly World[], step: number, kind: HarmKind): boolean {
  const config = trace.check.chain;
  const world = worlds[step - 1];
  const record = trace.steps[step - 1];
  if (world === undefined || record === undefined) return false;
  // Settled: nothing left to happen, and the user has made every request of the scale script.
  const scaled = trace.steps.slice(0, step).filter((s) => s.action.kind === 'scale').length;
  const settled = isQuiescent(config, world) && scaled === trace.check.scaleScript.length;
  switch (kind) {
    case 'over-capacity':
      return config.nodes.some((n) => Object.keys(world.sandboxes[n.name] ?? {}).length > n.capacity) || record.sent.some((m) => m.label.includes('(capacity-exceeded)'));
    case 'two-nodes': {
      const nodes = config.nodes.flatMap((n) => Object.keys(world.sandboxes[n.name] ?? {}));
      return new Set(nodes).size < nodes.length;
    }
    case 'overshoot':
      return settled && functionStatus(config, world).some((s) => s.running + s.waiting > s.desired);
    case 'undershoot':
      return settled && functionStatus(config, world).some((s) => s.running + s.waiting < s.desired);
    case 'stuck':
      return settled && convergenceProblems(config, world).length > 0;
    case 'restart-after-death':
      return record.violations.some((v) => v.property === 'INV-NO-RESTART-AFTER-DEATH');
  }
}

const faultKinds = new Set(['crash', 'nodeCrash', 'cut']);

describe('counterexamples run on to the damage a user would see', () => {
  const results = new Map<VariantName, { trace: CounterexampleTrace; consequence: Consequence }>();
  const of = (variant: VariantName) => {
    let found = results.get(variant);
    if (found === undefined) {
      const trace = counterexample(variant);
      found = { trace, consequence: consequenceOf(trace) };
      results.set(variant, found);
    }
    return found;
  };

  it.each(variantNames)('%s: the damage shown is there on an independent replay, or no search was cut short', (variant) => {
    const { trace, consequence } = of(variant);
    if (consequence.found === 'none') {
      expect(consequence.harms).toEqual([]);
      expect(consequence.searches.map((s) => s.from)).toEqual(['violation', 'start']);
      for (const s of consequence.searches) expect(s.bounded, `a search from ${s.from} stopped at its bound`).toBe(false);
      return;
    }
    expect(consequence.harmStep).not.toBeNull();
    expect(consequence.harms.length).toBeGreaterThan(0);
    const shown = consequence.trace;
    const worlds = replayWorlds(shown);
    const harmStep = consequence.harmStep ?? 0;
    for (const harm of consequence.harms) expect(damageVisible(shown, worlds, harmStep, harm.kind), `${harm.kind} at step ${harmStep}: ${harm.text}`).toBe(true);
    // The shortest: no earlier step shows damage of any kind.
    const kinds: HarmKind[] = ['over-capacity', 'two-nodes', 'overshoot', 'undershoot', 'stuck', 'restart-after-death'];
    for (let step = 1; step < harmStep; step++) for (const kind of kinds) expect(damageVisible(shown, worlds, step, kind), `${kind} already at step ${step}`).toBe(false);
    if (consequence.found === 'continued') {
      expect(shown.path.slice(0, trace.path.length)).toEqual(trace.path);
      expect(shown.steps.slice(0, trace.steps.length).map((s) => s.description)).toEqual(trace.steps.map((s) => s.description));
      for (const step of shown.steps.slice(trace.steps.length)) {
        expect(faultKinds.has(step.action.kind), `a fault after the counterexample: ${step.description}`).toBe(false);
        expect(step.action.kind === 'sandboxDone' && step.action.outcome === 'failed').toBe(false);
      }
    } else {
      // A run from the start: it breaks a property of the variant on the way (the damage is the bug's).
      expect(shown.steps.some((s) => s.violations.length > 0)).toBe(true);
      // Every continuation of the counterexample was searched, or the page says they were not.
      const page = consequenceHtml(trace, consequence);
      if (consequence.searches[0]?.bounded === true) expect(page).toMatch(/the continuations were not all searched/);
      else expect(page).toMatch(/every way to run this counterexample on without a new fault ends without damage/);
    }
  });

  it('the harm of no-fencing is shown, and the page says what a user sees, with the full state of every step', () => {
    const { trace, consequence } = of('no-fencing');
    expect(consequence.found).not.toBe('none');
    const html = traceToHtml(trace, consequence);
    expect(html).toContain('What a user would see');
    for (const harm of consequence.harms) expect(html).toContain(harm.text.replace(/'/g, '&#39;').replace(/>/g, '&gt;'));
    const stateRows = html.match(/<tr id="state-\d+"/g) ?? [];
    expect(stateRows.length).toBe(consequence.trace.steps.length + 1);
    // Every stage has a column, whatever changed.
    for (const stage of ['autoscaler', 'deployment', 'replicaset', 'scheduler', 'kubelet:n1', 'kubelet:n2']) expect(html).toContain(`<th>${stage}</th>`);
    expect(html).toContain('<th>sandboxes (nodes)</th>');
    expect(html).toContain('<th>in flight</th>');
  });

  it('the diagram of a run continued past its counterexample marks where it ends and where the damage shows', () => {
    const { trace, consequence } = of('cold-handshake');
    expect(consequence.found).toBe('continued');
    expect(consequence.trace.steps.length).toBeGreaterThan(trace.steps.length);
    const marks = damageMarks(trace, consequence);
    expect(marks?.counterexampleLastStep).toBe(trace.steps.length);
    const svg = traceToSvg(consequence.trace, null, marks);
    expect(svg.match(/class="band harm"/g)).toHaveLength(1);
    expect(svg.match(/class="divider"/g)).toHaveLength(1);
    expect(svg).toContain('USER SEES');
    expect(svg).toContain(consequence.harms[0]?.text.slice(0, 20) ?? 'no harm');
    // Without the marks, neither is drawn: the plain counterexample diagram is unchanged.
    expect(traceToSvg(trace)).not.toContain('band harm');
  });

  it('the correct protocol shows no damage: no run of preset smoke reaches any', () => {
    const model = new ChainModel(loadCheckConfig('smoke', 'correct'));
    const found = searchHarm(model, model.initialState(), true);
    expect(found.bounded).toBe(false);
    expect(found.states).toBeGreaterThan(100);
    expect(found.path).toBeNull();
  });
});
