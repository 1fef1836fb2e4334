/**
 * spec/ as data and as prose say the same thing: every requirement in the Markdown is
 * in requirements.ts with the same level and text, and the other way round; every
 * property a requirement protects, and every variant's property, exists.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { properties } from '../properties.js';
import { requirements } from '../requirements.js';
import { variants } from '../variants.js';

const specDir = fileURLToPath(new URL('..', import.meta.url));
const markdown = readdirSync(specDir)
  .filter((f) => f.endsWith('.md'))
  .map((f) => ({ file: f.replace(/\.md$/, ''), text: readFileSync(`${specDir}/${f}`, 'utf8') }));

const written = markdown.flatMap(({ file, text }) =>
  [...text.matchAll(/\*\*(REQ-[A-Z]+-\d{3})\*\* \((MUST|SHOULD|MAY)[^)]*\) (.*)/g)].map((m) => ({
    id: m[1] as string,
    level: m[2] as string,
    text: (m[3] as string).replace(/ _Protects:.*$/, ''),
    file,
  })),
);

describe('spec requirements', () => {
  it('every requirement in the prose is in requirements.ts, with the same level, section and text', () => {
    expect(written.length).toBeGreaterThan(50);
    for (const w of written) {
      const r = requirements.find((x) => x.id === w.id);
      expect(r, w.id).toBeDefined();
      expect(r?.level, w.id).toBe(w.level);
      expect(r?.section, w.id).toBe(w.file);
      expect(r?.text, w.id).toBe(w.text);
    }
  });

  it('requirements.ts has nothing the prose lacks, and no ID twice', () => {
    const ids = requirements.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(written.map((w) => w.id).sort());
  });

  it('every protected property and every variant property exists', () => {
    const known = new Set(properties.map((p) => p.id));
    for (const r of requirements) for (const p of r.protects) expect(known.has(p), `${r.id} protects ${p}`).toBe(true);
    for (const v of variants) {
      for (const p of v.breaks) expect(known.has(p), `${v.name} breaks ${p}`).toBe(true);
      expect(requirements.some((r) => r.id === v.preventedBy), `${v.name} is prevented by ${v.preventedBy}`).toBe(true);
    }
  });

  it('every property is defined in 07-properties.md', () => {
    const prose = markdown.find((m) => m.file === '07-properties')?.text ?? '';
    for (const p of properties) expect(prose, p.id).toContain(p.id);
  });
});
