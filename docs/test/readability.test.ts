/**
 * What a reader trips on, checked in headless Chromium on a built site (issue 21 item 4):
 * state-diagram labels that overlap or sit far from their edges, requirement rows that a
 * link cannot land on, variant names wrapped into fragments, API pages with no way back.
 * The site is built once without the checker (the gallery has its own test), opened from
 * disk as a reader would.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lifecycleCatalog } from '../../machines/index.js';
import { requirements, variantNames } from '../../spec/index.js';
import { apiEntryPoints, siteLinkText } from '../build/api-reference.js';
import { buildSite } from '../build/site.js';

const chromiumPath = '/usr/bin/chromium';
const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const diagramWaitMs = 60_000;
/** How far (px) a label's box may be from its edge: ELK puts each label on its edge, so 0 in practice. */
const labelDistancePxMax = 6;
/** Overlap (px, each way) tolerated between two label boxes: anti-aliasing, nothing visible. */
const labelOverlapPxMax = 1;

let outDir = '';
let browser: Browser | null = null;

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'kd-site-readability-'));
  await buildSite({ outDir, gallery: false, api: true });
  browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
}, 600_000);

afterAll(async () => {
  await browser?.close();
  if (outDir !== '') rmSync(outDir, { recursive: true, force: true });
});

async function open(path: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
  if (browser === null) throw new Error('browser not started');
  const page = await browser.newPage({ viewport });
  const [file = '', hash] = path.split('#');
  await page.goto(`${pathToFileURL(join(outDir, file)).href}${hash === undefined ? '' : `#${hash}`}`);
  await page.waitForFunction("document.body.dataset.diagrams !== 'pending'", null, { timeout: diagramWaitMs });
  return page;
}

interface LabelGeometry {
  readonly id: string;
  readonly text: string;
  readonly box: { readonly left: number; readonly top: number; readonly right: number; readonly bottom: number };
  /** Distance from the label's box to the nearest point of its own edge; -1 without an edge. */
  readonly distance: number;
  /** Other edges that run through the label's box (its text is then struck through by a line). */
  readonly crossedBy: readonly string[];
}

// Run in the page, as text: the project's TypeScript has no DOM types.
const labelGeometry = `(() => {
  const svg = document.querySelector('.diagram.mermaid svg');
  if (svg === null) return null;
  return [...svg.querySelectorAll('g.edgeLabel > g.label[data-id]')].filter((l) => l.textContent.trim() !== '').map((label) => {
    const id = label.getAttribute('data-id');
    const r = label.getBoundingClientRect();
    const box = { left: r.left, top: r.top, right: r.right, bottom: r.bottom };
    const path = svg.querySelector('path[data-id="' + id + '"]');
    let distance = -1;
    if (path !== null) {
      const matrix = path.getScreenCTM();
      const length = path.getTotalLength();
      distance = Infinity;
      for (let at = 0; at <= length; at += 2) {
        const p = path.getPointAtLength(at).matrixTransform(matrix);
        const dx = Math.max(box.left - p.x, 0, p.x - box.right);
        const dy = Math.max(box.top - p.y, 0, p.y - box.bottom);
        distance = Math.min(distance, Math.hypot(dx, dy));
      }
    }
    const inside = (p) => p.x > box.left + 2 && p.x < box.right - 2 && p.y > box.top + 2 && p.y < box.bottom - 2;
    const crossedBy = [];
    for (const other of svg.querySelectorAll('path[data-id]')) {
      const otherId = other.getAttribute('data-id');
      if (otherId === id) continue;
      const m = other.getScreenCTM();
      const total = other.getTotalLength();
      for (let at = 0; at <= total; at += 3) {
        if (inside(other.getPointAtLength(at).matrixTransform(m))) { crossedBy.push(otherId); break; }
      }
    }
    return { id, text: label.textContent.trim(), box, distance, crossedBy };
  });
})()`;

function overlap(a: LabelGeometry['box'], b: LabelGeometry['box']): number {
  return Math.min(Math.min(a.right, b.right) - Math.max(a.left, b.left), Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top));
}

describe('the site as a reader finds it', () => {
  it.each(lifecycleCatalog.map((entry) => entry.key))('state diagram %s: no two edge labels overlap, each sits on its own edge and no other edge runs through it', async (id) => {
    const page = await open(`machines/${id}.html`);
    const labels = (await page.evaluate(labelGeometry)) as LabelGeometry[] | null;
    await page.close();
    expect(labels, 'no Mermaid state diagram drawn').not.toBeNull();
    const drawn = labels ?? [];
    expect(drawn.length).toBeGreaterThan(2);
    const far = drawn.filter((l) => l.distance < 0 || l.distance > labelDistancePxMax).map((l) => `${l.text} (${l.distance.toFixed(0)} px)`);
    expect(far, 'labels away from their edges').toEqual([]);
    const crossed = drawn.filter((l) => l.crossedBy.length > 0).map((l) => `${l.text} (crossed by ${l.crossedBy.join(', ')})`);
    expect(crossed, 'labels another edge runs through').toEqual([]);
    const overlapping: string[] = [];
    for (const [i, a] of drawn.entries()) for (const b of drawn.slice(i + 1)) if (overlap(a.box, b.box) > labelOverlapPxMax) overlapping.push(`${a.text} / ${b.text}`);
    expect(overlapping, 'overlapping labels').toEqual([]);
  });

  it('requirements.html#REQ-SESS-004 lands on the requirement\'s row, below the sticky header, for every requirement', async () => {
    const page = await open('requirements.html#REQ-SESS-004');
    const landed = (await page.evaluate(`(() => {
      const row = document.getElementById('REQ-SESS-004');
      const header = document.querySelector('.site-header').getBoundingClientRect();
      const box = row === null ? null : row.getBoundingClientRect();
      return { tag: row === null ? null : row.tagName, text: row === null ? '' : row.textContent, top: box === null ? -1 : box.top, headerBottom: header.bottom, height: window.innerHeight, scrolled: window.scrollY };
    })()`)) as { tag: string | null; text: string; top: number; headerBottom: number; height: number; scrolled: number };
    const rowIds = (await page.evaluate("[...document.querySelectorAll('table.requirements tr[id]')].map((r) => r.id)")) as string[];
    await page.close();
    expect(landed.tag).toBe('TR');
    expect(landed.text).toContain('REQ-SESS-004');
    expect(landed.scrolled).toBeGreaterThan(0);
    expect(landed.top).toBeGreaterThanOrEqual(landed.headerBottom - 1);
    expect(landed.top).toBeLessThan(landed.height / 2);
    expect(rowIds).toEqual(requirements.map((r) => r.id));
  });

  it.each([1280, 900])('the variant column keeps every variant name on one line (window %i px wide)', async (width) => {
    const page = await open('requirements.html', { width, height: 900 });
    const names = (await page.evaluate("[...document.querySelectorAll('table a.variant-name')].map((a) => ({ text: a.textContent, lines: a.getClientRects().length }))")) as Array<{ text: string; lines: number }>;
    await page.close();
    expect(new Set(names.map((n) => n.text))).toEqual(new Set(variantNames));
    expect(names.filter((n) => n.lines !== 1)).toEqual([]);
  });

  it('every API page links back to the protocol site, and the API documents the public modules of machines/, checker/, runtime/ and conformance/', async () => {
    const api = join(outDir, 'api');
    const pages = readdirSync(api, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.html'));
    expect(pages.length).toBeGreaterThan(50);
    const sample = ['index.html', ...pages.filter((f) => f.startsWith('modules')).slice(0, 3), ...pages.filter((f) => f.startsWith('classes')).slice(0, 2)];
    for (const file of sample) {
      const page = await open(join('api', file));
      const link = (await page.evaluate(`(() => { const a = document.querySelector('a.kd-site-link'); return a === null ? null : { text: a.textContent, href: a.href }; })()`)) as { text: string; href: string } | null;
      expect(link, `${file} has no link back`).not.toBeNull();
      expect(link?.text).toContain(siteLinkText);
      expect(fileURLToPath(link?.href ?? 'file:///nowhere')).toBe(join(outDir, 'index.html'));
      await page.close();
    }
    const modules = readdirSync(join(api, 'modules'));
    for (const folder of ['machines', 'checker', 'runtime', 'conformance', 'spec', 'simulator'])
      expect(modules.some((m) => m.startsWith(folder)), `no module of ${folder}/`).toBe(true);
    expect(modules.length).toBe(apiEntryPoints.length);
    expect(existsSync(join(outDir, 'index.html'))).toBe(true);
  });
});
