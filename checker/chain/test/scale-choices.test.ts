/**
 * Desired counts chosen by the model (CheckConfig.scaleChoices): the requests offered, the
 * `chosen` preset verified, and bad choices in a config file refused with the reason
 * (generated inputs), never an exception of another kind.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { search } from '../../engine/search.js';
import { ConfigError, loadCheckConfig } from '../config-file.js';
import { ChainModel } from '../model.js';

const dir = mkdtempSync(join(tmpdir(), 'kd-scale-choices-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configWith(scaleChoices: unknown, scaleScript: unknown[] = []): string {
  const file = join(dir, 'config.json');
  const config = { chain: { functions: [{ name: 'lo', priority: 0 }, { name: 'hi', priority: 10 }], nodes: [{ name: 'n1', capacity: 1 }] }, scaleScript, scaleChoices, budgets: {}, startSynced: true };
  writeFileSync(file, JSON.stringify(config));
  return file;
}

describe('scaleChoices', () => {
  it('offers every function at every count of the range, once the scale script is done, as many times as steps', () => {
    const model = new ChainModel(loadCheckConfig(configWith({ functions: ['hi'], range: [1, 3], steps: 2 }, [{ function: 'lo', desired: 1 }]), 'correct'));
    const scales = (s: ReturnType<ChainModel['initialState']>) => model.actions(s).filter((a) => a.kind === 'scale').map((a) => model.describe(a));
    const initial = model.initialState();
    expect(scales(initial)).toEqual(['scale lo to 1']);
    const afterScript = model.next(initial, model.actions(initial).find((a) => a.kind === 'scale')!).state;
    expect(scales(afterScript)).toEqual(['scale hi to 1', 'scale hi to 2', 'scale hi to 3']);
    const afterOne = model.next(afterScript, model.actions(afterScript).find((a) => model.describe(a) === 'scale hi to 3')!).state;
    expect(scales(afterOne)).toEqual(['scale hi to 1', 'scale hi to 2', 'scale hi to 3']);
    const afterTwo = model.next(afterOne, model.actions(afterOne).find((a) => model.describe(a) === 'scale hi to 1')!).state;
    expect(scales(afterTwo)).toEqual([]);
  });

  it('the chosen preset verifies exhaustively, liveness checked', () => {
    const result = search(new ChainModel(loadCheckConfig('chosen', 'correct')), { maxSeconds: 500 });
    expect(result.verdict).toBe('verified');
    expect(result.livenessChecked).toBe(true);
  }, 600_000);

  it('refuses bad choices with a reason naming scaleChoices, and accepts good ones (generated inputs)', () => {
    const value = fc.oneof(fc.integer({ min: -3, max: 40 }), fc.double(), fc.string(), fc.constant(null), fc.boolean());
    const choices = fc.oneof(
      fc.record({ range: fc.oneof(fc.tuple(value, value), fc.array(value, { maxLength: 3 }), value), steps: value, functions: fc.option(fc.array(fc.constantFrom('lo', 'hi', 'other', 7), { maxLength: 3 }), { nil: undefined }) }, { requiredKeys: [] }),
      value,
    );
    fc.assert(
      fc.property(choices, (c) => {
        const file = configWith(c);
        let config;
        try {
          config = loadCheckConfig(file, 'correct');
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          expect((error as Error).message).toMatch(/scaleChoices/);
          return;
        }
        const accepted = config.scaleChoices!;
        expect(Number.isInteger(accepted.steps) && accepted.steps >= 0).toBe(true);
        expect(accepted.range[0]).toBeLessThanOrEqual(accepted.range[1]);
        expect(() => new ChainModel(config).actions(new ChainModel(config).initialState())).not.toThrow();
      }),
      { numRuns: 300 },
    );
  });
});
