/**
 * Runs every stage script in machines/stages/testdata/ (stage-script.ts) and compares
 * what each command gives with what the script says, as text. After a deliberate
 * behaviour change, `KD_REWRITE_STAGE_SCRIPTS=1 npx vitest run machines/test/stage-scripts.test.ts`
 * writes the new outputs; `git diff machines/stages/testdata` then shows the change.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseScript, renderScript, runScript } from './stage-script.js';

const testdata = join(dirname(fileURLToPath(import.meta.url)), '..', 'stages', 'testdata');
const rewrite = process.env.KD_REWRITE_STAGE_SCRIPTS === '1';
const scripts = readdirSync(testdata).filter((f) => f.endsWith('.txt')).sort();

describe('stage scripts (machines/stages/testdata)', () => {
  it('there are scripts for every stage', () => {
    const stages = new Set(scripts.map((s) => s.split('-')[0]));
    expect([...stages].sort()).toEqual(['autoscaler', 'deployment', 'kubelet', 'replicaset', 'scheduler']);
  });

  for (const script of scripts) {
    it(script, () => {
      const path = join(testdata, script);
      const text = readFileSync(path, 'utf8');
      const blocks = parseScript(text);
      const outputs = runScript(blocks);
      if (rewrite) {
        writeFileSync(path, renderScript(text, outputs));
        return;
      }
      const got = blocks.map((b, i) => `${b.command}\n----\n${outputs[i]}`).join('\n\n');
      const want = blocks.map((b) => `${b.command}\n----\n${b.output}`).join('\n\n');
      expect(got).toBe(want);
    });
  }

  it('a script whose recorded output differs fails (the comparison can fail)', () => {
    const blocks = parseScript('init autoscaler incarnation=1\n----\nnot what init prints\n');
    expect(runScript(blocks)[0]).not.toBe(blocks[0]?.output);
  });
});
