/**
 * `kd explore` as a user runs it: real `kd` processes (kd check writes a counterexample,
 * two kd explore servers on loopback ports), driven in headless Chromium (Debian's
 * `chromium`, playwright-core) with no host name resolvable but 127.0.0.1. Clicks actions,
 * goes back and forward (the page's buttons and the browser's), reloads the address, follows
 * a counterexample to its violation, and checks the state shown against the checker's model
 * walked in this test for the same path.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckConfig } from '../../checker/chain/config-file.js';
import { ChainModel, type ChainState } from '../../checker/chain/model.js';
import type { CounterexampleTrace } from '../../checker/chain/trace.js';
import { clientSides, describeEpoch, podCacheOf, serverSide } from '../../machines/index.js';
import { repositoryPath } from '../../runtime/repository-paths.js';
import { waitUntil } from '../../test/wait-until.js';
import { readFileSync } from 'node:fs';

const chromiumPath = '/usr/bin/chromium';
const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const kd = repositoryPath('bin', 'kd.mjs');

let dir = '';
const servers: Array<{ process: ChildProcess; url: string; output: string[] }> = [];
let browser: Browser | null = null;
let context: BrowserContext | null = null;
const problems: string[] = [];
/** Every HTTP answer of 400 and above: only the bad path the first test asks for on purpose. */
const httpErrors: string[] = [];
const outsideRequests: string[] = [];
let traceFile = '';

function runKd(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [kd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

async function startExplore(args: readonly string[]): Promise<string> {
  const child = spawn(process.execPath, [kd, 'explore', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout?.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr?.on('data', (c: Buffer) => output.push(c.toString()));
  const server = { process: child, url: '', output };
  servers.push(server);
  server.url = await waitUntil(`kd explore ${args.join(' ')} to print its address`, () => {
    if (child.exitCode !== null) throw new Error(`kd explore exited ${child.exitCode}: ${output.join('')}`);
    return /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output.join(''))?.[1];
  });
  return server.url;
}

/** What the page shows of the state, read from the DOM (as a script: the project's TypeScript has no DOM types). */
const readShownState = `(() => {
  const stages = {};
  for (const card of document.querySelectorAll('section.stage')) {
    stages[card.dataset.stage] = {
      incarnation: card.querySelector('.incarnation').textContent,
      sessions: [...card.querySelectorAll('tr.session-row')].map((r) => [r.querySelector('.session').textContent, r.querySelector('.epoch').textContent]),
      pods: [...card.querySelectorAll('tr.pod')].map((r) => [r.dataset.pod, r.dataset.lifecycle]),
      sandboxes: [...card.querySelectorAll('.sandbox')].map((s) => s.textContent),
    };
  }
  const links = {};
  for (const row of document.querySelectorAll('tr[data-link]')) {
    links[row.dataset.link] = ['down-current', 'down-stale', 'up-current', 'up-stale'].map((q) => [...row.querySelectorAll('[data-queue="' + q + '"] .message')].map((m) => m.dataset.type));
  }
  return { path: document.body.dataset.path, stages, links, converged: document.querySelector('[data-converged]').dataset.converged };
})()`;

/** The same, from the model's own state. */
function modelShows(model: ChainModel, path: readonly number[]): unknown {
  let state: ChainState = model.initialState();
  for (const index of path) state = model.next(state, model.actions(state)[index] as ReturnType<ChainModel['actions']>[number]).state;
  const world = state.world;
  const epoch = (e: number) => (e === 0 ? '-' : describeEpoch(e));
  const stages: Record<string, unknown> = {};
  for (const [id, s] of Object.entries(world.stages)) {
    const sides = [...(serverSide(s) === null ? [] : [serverSide(s)!]), ...clientSides(s)];
    const node = id.startsWith('kubelet:') ? id.slice('kubelet:'.length) : null;
    stages[id] = {
      incarnation: `#${s.incarnation}`,
      sessions: sides.map((x) => [x.session, epoch(x.epoch)]),
      pods: [...podCacheOf(s).entries()].map((e) => [e.record.name, e.lifecycle]),
      sandboxes: node === null ? [] : Object.entries(world.sandboxes[node] ?? {}).map(([pod, b]) => `${pod} ${b.state}`),
    };
  }
  const links: Record<string, unknown> = {};
  for (const [link, c] of Object.entries(world.links)) links[link] = [c.down.current, c.down.stale, c.up.current, c.up.stale].map((q) => q.map((m) => m.type));
  return { path: path.join('.'), stages, links, converged: String(model.goal(state)) };
}

async function shownPath(page: Page): Promise<string> {
  await page.waitForSelector('body[data-ready="yes"]');
  return (await page.evaluate('document.body.dataset.path')) as string;
}

/** Clicks `selector` and waits until the page shows a path other than `before`. */
async function clickAndWait(page: Page, selector: string, before: string): Promise<string> {
  await page.click(selector);
  return waitUntil(`the page to leave path "${before}" after clicking ${selector}`, async () => {
    const path = (await page.evaluate('document.body.dataset.ready === "yes" ? document.body.dataset.path : null')) as string | null;
    return path !== null && path !== before ? path : null;
  });
}

async function newPage(): Promise<Page> {
  if (context === null) throw new Error('browser not started');
  const page = await context.newPage();
  page.on('console', (m) => {
    // Chromium logs every HTTP error answer to the console; those are collected below, by address.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource: the server responded with a status of')) problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) httpErrors.push(`${r.status()} ${new URL(r.url()).pathname}${new URL(r.url()).search}`);
  });
  return page;
}

beforeAll(async () => {
  if (!existsSync(chromiumPath)) throw new Error(`Chromium is missing at ${chromiumPath}: install it with "apt-get update && apt-get install -y chromium" (npm test provisions it).`);
  dir = mkdtempSync(join(tmpdir(), 'kd-explore-'));
  const checked = await runKd(['check', '--preset', 'ci', '--variant', 'no-fencing', '--out', dir]);
  expect(checked.code, checked.output).toBe(1);
  traceFile = join(dir, readdirSync(dir).find((f) => f.endsWith('.json')) ?? 'none.json');
  browser = await chromium.launch({ executablePath: chromiumPath, args: [...chromiumArgs, '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'] });
  context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  context.on('request', (request) => {
    if (!request.url().startsWith('http://127.0.0.1:') && !request.url().startsWith('data:')) outsideRequests.push(request.url());
  });
}, 120_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  for (const server of servers) server.process.kill('SIGTERM');
  await Promise.all(servers.map((s) => (s.process.exitCode !== null ? null : new Promise((resolve) => s.process.once('close', resolve)))));
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('kd explore in Chromium', () => {
  it('clicks actions, goes back and forward, and a reload of the address shows the same state as the model', async () => {
    const url = await startExplore(['--preset', 'ci']);
    const model = new ChainModel(loadCheckConfig('ci', 'correct'));
    const page = await newPage();
    await page.goto(url);
    expect(await shownPath(page)).toBe('');
    expect(await page.evaluate(readShownState)).toEqual(modelShows(model, []));
    // Scale first (the last button of the scale group), then the first enabled action, five times.
    let path = await clickAndWait(page, 'button.action[data-kind="scale"]', '');
    expect(await page.locator('[data-key="autoscaler/desired/lo"]').getAttribute('class')).toContain('changed');
    for (let i = 0; i < 5; i++) path = await clickAndWait(page, 'button.action >> nth=0', path);
    const steps = path.split('.').map(Number);
    expect(steps).toHaveLength(6);
    expect(new URL(page.url()).searchParams.get('path')).toBe(path);
    expect(await page.evaluate(readShownState)).toEqual(modelShows(model, steps));
    // The page's Back and Forward, then the browser's.
    const back = await clickAndWait(page, '#back', path);
    expect(back).toBe(steps.slice(0, -1).join('.'));
    expect(await page.evaluate(readShownState)).toEqual(modelShows(model, steps.slice(0, -1)));
    expect(await clickAndWait(page, '#forward', back)).toBe(path);
    await page.goBack();
    expect(await waitUntil('the browser back to show the step before', async () => ((await shownPath(page)) === back ? back : null))).toBe(back);
    await page.goForward();
    expect(await waitUntil('the browser forward to show the path again', async () => ((await shownPath(page)) === path ? path : null))).toBe(path);
    // A reload (or the address shared) shows the same state.
    const before = await page.evaluate(readShownState);
    await page.reload();
    expect(await shownPath(page)).toBe(path);
    expect(await page.evaluate(readShownState)).toEqual(before);
    const shared = await newPage();
    await shared.goto(`${url}?path=${path}`);
    expect(await shownPath(shared)).toBe(path);
    expect(await shared.evaluate(readShownState)).toEqual(before);
    await shared.close();
    // A path that cannot be walked says why.
    await page.goto(`${url}?path=0.999`);
    await page.waitForSelector('.error');
    expect(await page.locator('.error').textContent()).toContain('step 2: action 999 is not enabled');
    await page.close();
  });

  it('opens a counterexample of kd check --variant no-fencing and follows it to the violation, each step highlighted', async () => {
    const trace = JSON.parse(readFileSync(traceFile, 'utf8')) as CounterexampleTrace;
    const url = await startExplore(['--trace', traceFile]);
    const model = new ChainModel(trace.check);
    const page = await newPage();
    await page.goto(url);
    expect(await shownPath(page)).toBe('');
    expect(await page.locator('.trace li').count()).toBe(trace.steps.length);
    let path = '';
    for (let step = 1; step <= trace.steps.length; step++) {
      const next = page.locator('button.action.on-trace');
      expect(await next.count(), `step ${step}: one action is marked as the trace's next`).toBe(1);
      const breaks = (await next.getAttribute('data-breaks')) ?? '';
      expect(breaks.includes(trace.property), `step ${step}: the action that breaks ${trace.property} is marked`).toBe(step === trace.steps.length);
      path = await clickAndWait(page, '#forward', path);
      expect(await page.locator('.trace').getAttribute('data-on-trace')).toBe(String(step));
      const highlighted = await page.locator('.changed, .message.fresh, .gone').count();
      expect(highlighted, `step ${step} (${trace.steps[step - 1]?.description}): its differences are highlighted`).toBeGreaterThan(0);
      expect(await page.evaluate(readShownState)).toEqual(modelShows(model, path.split('.').map(Number)));
    }
    expect(path).toBe(trace.path.join('.'));
    expect(await page.locator(`li.property[data-property="${trace.property}"]`).getAttribute('data-status')).toBe('broken');
    expect(await page.locator('.trace li.current').getAttribute('class')).toContain('violating');
    expect(await page.locator('#forward').isDisabled()).toBe(true);
    await page.close();
  });

  it('loaded nothing from outside and logged no error', () => {
    expect(problems).toEqual([]);
    expect(httpErrors).toEqual(['400 /api/state?path=0.999']);
    expect(outsideRequests).toEqual([]);
  });
});
