/**
 * The protocol site in a real browser: builds the site once (the checker and typedoc
 * included) into a temporary folder, serves it on 127.0.0.1 and visits every HTML page
 * with headless Chromium (Debian's `chromium`, driven by playwright-core), with no host
 * name resolvable but 127.0.0.1, as offline. Checks: no console errors,
 * no failed requests, nothing fetched from outside; every diagram is an SVG; every
 * internal link resolves to an existing page and anchor; the index lists every
 * requirement and property ID.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { variantNames } from '../../spec/variants.js';
import { buildSite, type BuildResult } from '../build/site.js';
import { serveSite, type SiteServer } from '../build/static-server.js';

const chromiumPath = '/usr/bin/chromium';
const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const diagramWaitMs = 60_000;
const tabCount = 3;

interface PageFacts {
  readonly path: string;
  readonly status: number;
  readonly problems: string[];
  readonly ids: readonly string[];
  readonly links: ReadonlyArray<{ readonly href: string; readonly resolved: string }>;
  readonly diagrams: ReadonlyArray<{ readonly svg: boolean; readonly text: string; readonly kind: string }>;
  readonly diagramState: string;
}

let outDir = '';
let site: BuildResult;
let server: SiteServer | null = null;
let browser: Browser | null = null;
let context: BrowserContext | null = null;
const visits = new Map<string, PageFacts>();
const outsideRequests: string[] = [];
let visitSeconds = 0;

// Scripts run in the page, as text: the project's TypeScript has no DOM types.
/** True once the page's Mermaid diagrams are drawn (or failed), or if it has none. */
const diagramsSettled = "document.body.dataset.diagrams !== 'pending'";
/** Every anchor target, every link, every diagram of the page. */
const collectFacts = `({
  ids: [...document.querySelectorAll('[id]')].map((e) => e.id).concat([...document.querySelectorAll('a[name]')].map((a) => a.getAttribute('name') || '')),
  links: [...document.querySelectorAll('a[href]')].map((a) => ({ href: a.getAttribute('href') || '', resolved: a.href })),
  diagrams: [...document.querySelectorAll('.diagram')].map((d) => ({
    svg: d.querySelector(':scope > svg') !== null,
    text: d.querySelector('svg') ? d.querySelector('svg').textContent : '',
    kind: d.classList.contains('mermaid') ? 'mermaid' : 'svg',
  })),
  diagramState: document.body.dataset.diagrams || 'none',
})`;

/** A browser tab that visits pages one after another, collecting what goes wrong on each. */
async function openTab(): Promise<(path: string) => Promise<PageFacts>> {
  if (context === null || server === null) throw new Error('browser not started');
  const origin = server.url;
  const page = await context.newPage();
  let problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => {
    const reason = request.failure()?.errorText ?? '?';
    // Moving on to the next page aborts what the previous one still had in flight (the
    // browser fetches the favicon after 'load'): not a failure of either page. A missing
    // file still fails as an HTTP 404 below, and any other network error here.
    if (reason === 'net::ERR_ABORTED') return;
    problems.push(`request failed: ${request.url()} (${reason})`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  return async (path: string): Promise<PageFacts> => {
    problems = [];
    const response = await page.goto(new URL(path, origin).href, { waitUntil: 'load' });
    await page.waitForFunction(diagramsSettled, null, { timeout: diagramWaitMs });
    const facts = (await page.evaluate(collectFacts)) as Omit<PageFacts, 'path' | 'status' | 'problems'>;
    return { path, status: response?.status() ?? 0, problems, ...facts };
  };
}

/**
 * The deadline of building the whole site (typedoc, every diagram) and visiting every page:
 * about 2.5 minutes on a quiet 2-core machine, past 400 s at a load average of 20 (a
 * clean-clone run beside other jobs); generous, since the machines here see loads of 40.
 */
const siteBuildAndVisitMsMax = 20 * 60_000;

beforeAll(async () => {
  if (!existsSync(chromiumPath)) {
    throw new Error(`Chromium is missing at ${chromiumPath}: install it with "apt-get update && apt-get install -y chromium" (.ci/run does this). The browser test cannot run without it.`);
  }
  outDir = mkdtempSync(join(tmpdir(), 'kd-site-'));
  site = await buildSite({ outDir });
  server = await serveSite(outDir);
  browser = await chromium.launch({ executablePath: chromiumPath, args: [...chromiumArgs, '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'] });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // Offline: Chromium resolves no host name but 127.0.0.1 (no interception, which is slow),
  // and every request to anything but the local server is recorded as a failure.
  const origin = server.url;
  context.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !url.startsWith('data:')) outsideRequests.push(url);
  });
  const visitsStarted = performance.now();
  // A few tabs in parallel: most of a visit is waiting for the page's scripts.
  const queue = [...site.pages];
  const tabs = await Promise.all(Array.from({ length: tabCount }, openTab));
  await Promise.all(
    tabs.map(async (visit) => {
      for (let path = queue.shift(); path !== undefined; path = queue.shift()) visits.set(path, await visit(path));
    }),
  );
  visitSeconds = (performance.now() - visitsStarted) / 1000;
}, siteBuildAndVisitMsMax);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.close();
  if (outDir !== '') rmSync(outDir, { recursive: true, force: true });
});

describe('the protocol site (npm run docs) in headless Chromium', () => {
  it('has every section: spec chapters, a page per machine, messages, requirements, a gallery entry per variant, the API reference, three getting-started pages', () => {
    const pages = new Set(site.pages);
    for (const path of [
      'index.html',
      'start/reader.html',
      'start/implementer.html',
      'start/operator.html',
      'start/operator-guide.html',
      'spec/index.html',
      'spec/01-roles-and-topology.html',
      'spec/10-wire-protocol.html',
      'machines/index.html',
      'machines/replicaSetPod.html',
      'machines/downstreamSession.html',
      'messages.html',
      'requirements.html',
      'gallery/index.html',
      'gallery/no-fencing.html',
      'benchmarks.html',
      'api/index.html',
    ]) {
      expect(pages.has(path), path).toBe(true);
    }
    expect(site.pages.filter((p) => p.startsWith('gallery/')).length, 'the gallery index and a page per known-bad variant').toBe(1 + variantNames.length);
    expect(readFileSync(join(outDir, 'benchmarks.html'), 'utf8'), 'the benchmarks page draws the recorded latency plot').toMatch(/<figure class="diagram"><svg[^>]*>[\s\S]*Upscaling latency/);
    expect(site.pages.filter((p) => p.startsWith('api/')).length).toBeGreaterThan(10);
    console.log(`docs site: ${site.pages.length} pages, ${site.diagrams} diagrams, built in ${site.seconds.toFixed(1)} s, visited in ${visitSeconds.toFixed(1)} s`);
  });

  it('every page loads with no console error, no failed request and nothing fetched from outside', () => {
    const problems = [...visits.values()].flatMap((v) => [...(v.status === 200 ? [] : [`HTTP ${v.status}`]), ...v.problems].map((p) => `${v.path}: ${p}`));
    expect(problems).toEqual([]);
    expect(outsideRequests).toEqual([]);
    expect(visits.size).toBe(site.pages.length);
  });

  it('every diagram is rendered as SVG (Mermaid from the local bundle, and the checker\'s sequence diagrams)', () => {
    const all = [...visits.values()].flatMap((v) => v.diagrams.map((d) => ({ ...d, path: v.path, state: v.diagramState })));
    expect(all.length).toBe(site.diagrams);
    const bad = all.filter((d) => !d.svg || /syntax error/i.test(d.text) || d.text.trim() === '').map((d) => `${d.path}: ${d.kind} diagram ${d.svg ? 'has an error' : 'is not an SVG'}`);
    expect(bad).toEqual([]);
    const failedPages = [...visits.values()].filter((v) => v.diagramState === 'failed' || v.diagramState === 'pending').map((v) => v.path);
    expect(failedPages).toEqual([]);
    // Every machine page shows its machine's states in the drawn diagram.
    const replicaSetPod = all.find((d) => d.path === 'machines/replicaSetPod.html');
    for (const state of ['unknown', 'pending', 'provisioned', 'running', 'terminating', 'unsent', 'sent', 'gone']) expect(replicaSetPod?.text).toContain(state);
  });

  it('every internal link resolves to an existing page and anchor', () => {
    if (server === null) throw new Error('no server');
    const origin = server.url;
    const broken: string[] = [];
    let checked = 0;
    for (const v of visits.values()) {
      for (const link of v.links) {
        if (!link.resolved.startsWith(origin)) continue; // another scheme or host: not internal
        checked++;
        const url = new URL(link.resolved);
        let target = decodeURIComponent(url.pathname).replace(/^\//, '');
        if (target === '' || target.endsWith('/')) target += 'index.html';
        const fragment = decodeURIComponent(url.hash.replace(/^#/, ''));
        const file = join(outDir, target);
        if (!existsSync(file) || !statSync(file).isFile()) {
          broken.push(`${v.path}: ${link.href} (no file ${target})`);
          continue;
        }
        if (fragment === '' || !target.endsWith('.html')) continue;
        const targetPage = visits.get(target);
        if (targetPage === undefined) broken.push(`${v.path}: ${link.href} (page ${target} not visited)`);
        else if (!targetPage.ids.includes(fragment)) broken.push(`${v.path}: ${link.href} (no anchor #${fragment} in ${target})`);
      }
    }
    expect(broken).toEqual([]);
    expect(checked).toBeGreaterThan(1000);
  });

  it('the index lists every requirement ID and every property ID, each linked to its anchor in the spec', () => {
    const index = visits.get('index.html');
    expect(index).toBeDefined();
    const linked = new Set(index?.links.map((l) => l.href.split('#')[1]).filter((id): id is string => id !== undefined));
    const missing = [...site.requirementIds, ...site.propertyIds].filter((id) => !linked.has(id));
    expect(missing).toEqual([]);
    expect(site.requirementIds.length).toBeGreaterThan(100);
    // And each anchor exists where the index points (the link test checks it too).
    const properties = visits.get('spec/07-properties.html');
    for (const id of site.propertyIds) expect(properties?.ids, id).toContain(id);
  });

  it('the index search filters the list of IDs', async () => {
    if (context === null || server === null) throw new Error('browser not started');
    const page = await context.newPage();
    try {
      await page.goto(new URL('index.html', server.url).href);
      await page.fill('#id-filter', 'REQ-SESS-004');
      const visible = (await page.evaluate("[...document.querySelectorAll('table.id-index tbody tr')].filter((r) => !r.hidden).map((r) => r.textContent)")) as string[];
      expect(visible.length).toBeGreaterThanOrEqual(1);
      for (const text of visible) expect(text).toContain('REQ-SESS-004');
    } finally {
      await page.close();
    }
  });
});
