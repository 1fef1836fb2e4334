/**
 * No import cycles in the repository (issue 18): files that import each other, even
 * for types only, cannot be read or changed one at a time.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { importCyclesUnder } from './import-cycles.js';

const repository = join(dirname(fileURLToPath(import.meta.url)), '..');
const scratch = mkdtempSync(join(tmpdir(), 'kd-import-cycles-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('import cycles', () => {
  it('the repository has none, type-only imports included', () => {
    expect(importCyclesUnder(repository)).toEqual([]);
  }, 120_000);

  it('a cycle through a type-only import is found (the check can fail)', () => {
    writeFileSync(join(scratch, 'a.ts'), "import type { B } from './b.js';\nexport interface A { b: B }\n");
    writeFileSync(join(scratch, 'b.ts'), "import { c } from './c.js';\nexport interface B { n: number }\nexport const d = c;\n");
    writeFileSync(join(scratch, 'c.ts'), "export { type A } from './a.js';\nexport const c = 1;\n");
    writeFileSync(join(scratch, 'lone.ts'), "import type { A } from './a.js';\nexport type L = A;\n");
    expect(importCyclesUnder(scratch)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });
});
