/** Every MUST of the spec has a conformance case or a reasoned entry in not-observable.ts; the index is current. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { requirements } from '../../spec/requirements.js';
import { roles } from '../../machines/index.js';
import { allCases } from '../cases/registry.js';
import { levelOf } from '../cases/case.js';
import { caseCountsMarkdown, indexMarkdown } from '../index-markdown.js';
import { notObservable } from '../not-observable.js';

const byId = new Map(requirements.map((r) => [r.id, r]));
const checkedByCases = new Set(allCases.flatMap((c) => c.requirements));

describe('conformance traceability', () => {
  it('gives every MUST requirement a case or a reasoned entry in not-observable.ts', () => {
    const listed = new Set(notObservable.map((n) => n.id));
    const missing = requirements.filter((r) => r.level === 'MUST' && !checkedByCases.has(r.id) && !listed.has(r.id)).map((r) => r.id);
    expect(missing).toEqual([]);
  });

  it('lists in not-observable.ts only MUST requirements that no case checks, once each, with a reason', () => {
    const ids = notObservable.map((n) => n.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const n of notObservable) {
      expect(byId.get(n.id)?.level, n.id).toBe('MUST');
      expect(checkedByCases.has(n.id), `${n.id} is checked by a case: remove it from not-observable.ts`).toBe(false);
      expect(n.why.length).toBeGreaterThan(20);
      expect(n.coveredBy.length).toBeGreaterThan(3);
    }
  });

  it('names only requirements that exist, binding a role the case tests', () => {
    for (const c of allCases)
      for (const id of c.requirements) {
        const r = byId.get(id);
        expect(r, `${c.id} names ${id}`).toBeDefined();
        expect(
          c.roles.some((role) => r?.roles.includes(role)),
          `${c.id} (${c.roles.join(', ')}) names ${id}, which binds ${r?.roles.join(', ')}`,
        ).toBe(true);
      }
  });

  it('has unique case IDs of the form role.what, and cases for every role', () => {
    const ids = allCases.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const c of allCases) expect(c.id).toMatch(new RegExp(`^(${c.roles.join('|')})\\.[a-z0-9-]+$`));
    for (const role of roles) expect(allCases.filter((c) => c.roles.includes(role)).length, role).toBeGreaterThanOrEqual(5);
  });

  it('derives the level from the requirements: required only when all are MUST', () => {
    for (const c of allCases) expect(levelOf(c)).toBe(c.requirements.every((id) => byId.get(id)?.level === 'MUST') ? 'required' : 'recommended');
  });

  it('keeps the case counts of conformance/README.md generated from the cases (npm run conformance:index)', () => {
    const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
    expect(readme).toContain(`<!-- case-counts -->${caseCountsMarkdown()}<!-- /case-counts -->`);
  });

  it('keeps conformance/INDEX.md generated from the cases (npm run conformance:index)', () => {
    const file = readFileSync(fileURLToPath(new URL('../INDEX.md', import.meta.url)), 'utf8');
    expect(file).toBe(indexMarkdown());
  });

  it('lists each case once under a requirement and each requirement once in a case row of INDEX.md', () => {
    const repeated: string[] = [];
    for (const line of indexMarkdown().split('\n').filter((l) => l.startsWith('| '))) {
      // Case rows: | case | level | requirements | text |; requirement rows: | requirement | level | cases |.
      const cells = line.split(' | ');
      const words = (cells[2] ?? '').split(' ').filter((w) => /^(REQ|INV|LIVE)-|^`[a-z]+\.[a-z-]+`$/.test(w));
      const twice = words.filter((w, i) => words.indexOf(w) !== i);
      if (twice.length > 0) repeated.push(`${cells[0] ?? ''}: ${twice.join(' ')}`);
    }
    expect(repeated).toEqual([]);
  });
});

