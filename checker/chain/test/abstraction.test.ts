/**
 * The exact state abstraction (DEC-56, checker/chain/world-packing.ts): fault budgets
 * capped at the total and ghosts without empty histories. It is a quotient by an
 * equivalence that no reader can tell apart, so the abstracted search must give the full
 * search's verdict, property and counterexample length, with fewer states where faults
 * of different kinds lead to the same world.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runReplay } from '../../../cli/replay-command.js';
import type { Ghost } from '../../../simulator/ghost.js';
import { variants } from '../../../spec/variants.js';
import { search, type SearchResult } from '../../engine/search.js';
import { loadCheckConfig } from '../config-file.js';
import { ChainModel } from '../model.js';
import type { CheckConfig, FaultBudgets } from '../presets.js';
import { buildTrace } from '../trace.js';
import { canonicalBudgets, canonicalGhost, WorldPacking } from '../world-packing.js';
import { GhostForgetting } from '../ghost-forgetting.js';
import { Interner } from '../interning.js';
import { StateLayout } from '../state-layout.js';
import { initialWorld } from '../../../simulator/world.js';
import { propertiesBrokenInSimulator } from './simulator-replay.js';

const exhaustiveRunMs = 900_000;

const faultKinds = ['controllerCrash', 'kubeletRestart', 'nodeCrash', 'linkCut', 'sandboxFailure', 'forgedHello', 'forgedPod'] as const;

/** Whether a fault of `kind` may be taken (as checker/chain/enabled-actions.ts decides), and the budgets after it (as the model spends them). */
const allows = (b: FaultBudgets, kind: (typeof faultKinds)[number]) => b.total > 0 && (b[kind] ?? 0) > 0;
const spend = (b: FaultBudgets, kind: (typeof faultKinds)[number]): FaultBudgets => ({ ...b, total: b.total - 1, [kind]: (b[kind] ?? 0) - 1 });

describe('canonical fault budgets', () => {
  it('allow the same faults as the budgets they stand for, after any sequence of faults (generated budgets and sequences)', () => {
    const budgets = fc.record({
      total: fc.nat(4),
      controllerCrash: fc.nat(4),
      kubeletRestart: fc.nat(4),
      nodeCrash: fc.nat(4),
      linkCut: fc.nat(4),
      sandboxFailure: fc.nat(4),
      forgedHello: fc.nat(4),
      forgedPod: fc.nat(4),
    });
    fc.assert(
      fc.property(budgets, fc.array(fc.constantFrom(...faultKinds), { maxLength: 6 }), (start, faults) => {
        let raw: FaultBudgets = start;
        let canonical = canonicalBudgets(start);
        for (const kind of faults) {
          for (const k of faultKinds) expect(allows(canonical, k)).toBe(allows(raw, k));
          if (!allows(raw, kind)) return;
          raw = spend(raw, kind);
          // The model canonicalizes after every fault: the canonical form of the spent canonical budgets is that of the spent raw ones.
          canonical = canonicalBudgets(spend(canonical, kind));
          expect(canonical).toEqual(canonicalBudgets(raw));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('leave budgets within the total as they are (the same object) and cap the others', () => {
    const within: FaultBudgets = { total: 2, controllerCrash: 2, kubeletRestart: 1, nodeCrash: 0, linkCut: 2, sandboxFailure: 0 };
    expect(canonicalBudgets(within)).toBe(within);
    expect(canonicalBudgets({ ...within, total: 0 })).toEqual({ total: 0, controllerCrash: 0, kubeletRestart: 0, nodeCrash: 0, linkCut: 0, sandboxFailure: 0 });
  });
});

describe('canonical ghost', () => {
  it('leaves out only empty tombstone histories', () => {
    const ghost: Ghost = { created: ['lo-1-0'], dead: [], placement: {}, tombstoned: { 'kubelet:n1': [], scheduler: ['lo-1-0'] }, maxDesired: { lo: 1 }, decreased: [] };
    expect(canonicalGhost(ghost)).toEqual({ ...ghost, tombstoned: { scheduler: ['lo-1-0'] } });
    const without = canonicalGhost(ghost);
    expect(canonicalGhost(without)).toBe(without);
  });
});

describe('the ghost forgetting pods named nowhere else (DEC-58)', () => {
  const config = loadCheckConfig('ci', 'correct');
  const layout = new StateLayout(config.chain);
  const packing = new WorldPacking(layout, new Interner());
  const forgetting = new GhostForgetting(config.chain, layout, packing);
  const world = initialWorld(config.chain);
  const ghostOf = (ids: readonly number[]) => packing.parts.values[ids[layout.ghostAt] as number] as Ghost;

  it('forgets the histories of a pod that no stage, queue or sandbox names, keeps its creation, and keeps a pod still named', () => {
    const ghost: Ghost = { created: ['lo-1-0', 'lo-1-1'], dead: ['lo-1-0'], placement: { 'lo-1-0': 'n1', 'lo-1-1': 'n2' }, tombstoned: { scheduler: ['lo-1-0', 'lo-1-1'] }, maxDesired: { lo: 2 }, decreased: [] };
    const gone = packing.stateOfWorld({ ...world, ghost }, 0, config.budgets).ids.slice();
    forgetting.forget(gone);
    expect(ghostOf(gone)).toEqual({ ...ghost, dead: [], placement: {}, tombstoned: {} });
    // lo-1-1 still has a sandbox on n2: its history stays, lo-1-0's goes.
    const sandbox = { pod: { name: 'lo-1-1', function: 'lo', priority: 0, node: 'n2' }, state: 'running' };
    const named = packing.stateOfWorld({ ...world, ghost, sandboxes: { ...world.sandboxes, n2: { 'lo-1-1': sandbox } } as unknown as typeof world.sandboxes }, 0, config.budgets).ids.slice();
    forgetting.forget(named);
    expect(ghostOf(named)).toEqual({ ...ghost, dead: [], placement: { 'lo-1-1': 'n2' }, tombstoned: { scheduler: ['lo-1-1'] } });
  });
});

function searchOf(config: CheckConfig, abstraction: boolean): SearchResult {
  return search(new ChainModel({ ...config, abstraction }), { maxSeconds: 800 });
}

describe('the abstracted search gives the full search\'s verdict', () => {
  for (const name of ['smoke', 'ci']) {
    it(`${name}: the same verdict and depth, no more states (fewer where faults of several kinds are possible)`, () => {
      const config = loadCheckConfig(name, 'correct');
      const full = searchOf(config, false);
      const abstracted = searchOf(config, true);
      expect(full.verdict).toBe('verified');
      expect(abstracted.verdict).toBe('verified');
      expect(abstracted.livenessChecked).toBe(true);
      expect(abstracted.depth).toBe(full.depth);
      if (config.budgets.total > 0) expect(abstracted.states).toBeLessThan(full.states);
      else expect(abstracted.states).toBe(full.states);
    }, exhaustiveRunMs);
  }

  for (const variant of variants) {
    it(`ci, ${variant.name}: the same verdict, property and counterexample length either way; kd replay reproduces the abstracted counterexample`, () => {
      const config = loadCheckConfig('ci', variant.name);
      const full = searchOf(config, false);
      const abstracted = searchOf(config, true);
      expect(full.verdict).toBe('violated');
      expect(abstracted.verdict).toBe('violated');
      expect(abstracted.violation?.property).toBe(full.violation?.property);
      expect(abstracted.violation?.kind).toBe(full.violation?.kind);
      const violation = abstracted.violation;
      if (violation === null) throw new Error('no violation');
      const trace = buildTrace({ ...config, abstraction: true }, violation);
      // kd replay, as a user runs it on the written trace.
      const file = join(mkdtempSync(join(tmpdir(), 'kd-abstraction-')), 'trace.json');
      writeFileSync(file, JSON.stringify(trace));
      const printed: string[] = [];
      expect(runReplay([file, '--quiet'], (line) => printed.push(line))).toBe(1);
      if (violation.kind === 'safety') {
        expect(printed.join('\n')).toContain(`reproduced ${violation.property}`);
        expect(violation.path.length).toBe(full.violation?.path.length);
        // The path is one of the model itself: the simulator, which has no abstraction, reproduces it.
        expect(propertiesBrokenInSimulator(config, trace.steps)).toContain(violation.property);
      }
    }, exhaustiveRunMs);
  }
});
