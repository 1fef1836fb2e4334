/**
 * The explorer's API over real HTTP on loopback, against the checker's model walked
 * independently in the test: for random paths of enabled actions the state shown equals
 * the model's own (sessions and epochs, pod caches, sandboxes, queues, enabled actions,
 * convergence, properties broken on the way); random bad paths, query strings and routes
 * are answered 400/404/405 with a reason, never 500, and the server keeps answering.
 */
import { request } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainModel, type ChainState } from '../../checker/chain/model.js';
import { loadCheckConfig } from '../../checker/chain/config-file.js';
import { clientSides, describeEpoch, podCacheOf, serverSide } from '../../machines/index.js';
import { buildClientAssets } from '../client-assets.js';
import { Exploration } from '../exploration.js';
import { startExplorerServer, type ExplorerServer } from '../http-server.js';
import { pathLengthMax } from '../limits.js';
import type { StateResponse } from '../view.js';

const check = loadCheckConfig('ci', 'no-fencing');
/** The test's own model: the same configuration, walked without the explorer's code. */
const model = new ChainModel(check);
let server: ExplorerServer;
const internalErrors: Error[] = [];

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** A GET (or another method) with the request target sent as is. */
function get(target: string, method = 'GET'): Promise<Answer> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: target, method }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Turns random numbers into a path of enabled actions (stopping where nothing is enabled). */
function enabledPath(choices: readonly number[]): number[] {
  const path: number[] = [];
  let state = model.initialState();
  for (const choice of choices) {
    const actions = model.actions(state);
    if (actions.length === 0) break;
    const index = choice % actions.length;
    path.push(index);
    state = model.next(state, actions[index] as (typeof actions)[number]).state;
  }
  return path;
}

/** The model's state at the end of a path, and every property broken on the way. */
function walk(path: readonly number[]): { state: ChainState; broken: Set<string> } {
  let state = model.initialState();
  const broken = new Set<string>(model.invariants(state).map((v) => v.property));
  for (const index of path) {
    const next = model.next(state, model.actions(state)[index] as ReturnType<ChainModel['actions']>[number]);
    state = next.state;
    for (const v of [...next.violations, ...model.invariants(state)]) broken.add(v.property);
  }
  return { state, broken };
}

/** What the response must show of the model's state, read straight from the world. */
function expectShows(response: StateResponse, path: readonly number[]): void {
  const { state, broken } = walk(path);
  const world = state.world;
  const epoch = (e: number) => (e === 0 ? '-' : describeEpoch(e));
  expect(response.path).toEqual(path);
  expect(response.state.stages.map((s) => s.id)).toEqual(Object.keys(world.stages));
  for (const shown of response.state.stages) {
    const s = world.stages[shown.id];
    if (s === undefined) throw new Error(`no stage ${shown.id}`);
    expect(shown.incarnation).toBe(s.incarnation);
    const sides = [...(serverSide(s) === null ? [] : [serverSide(s)!]), ...clientSides(s)];
    expect(shown.sessions.map((x) => [x.link, x.session, x.epoch])).toEqual(sides.map((x) => [x.link, x.session, epoch(x.epoch)]));
    expect(shown.pods.map((p) => [p.name, p.lifecycle, p.node])).toEqual([...podCacheOf(s).entries()].map((e) => [e.record.name, e.lifecycle, e.record.node]));
    if (shown.role === 'kubelet') expect(shown.sandboxes.map((b) => [b.pod, b.state])).toEqual(Object.entries(world.sandboxes[shown.id.slice('kubelet:'.length)] ?? {}).map(([pod, b]) => [pod, b.state]));
  }
  for (const link of response.state.links) {
    const channels = world.links[link.link];
    expect(link.down.current.map((m) => m.type)).toEqual(channels?.down.current.map((m) => m.type));
    expect(link.down.stale.map((m) => m.type)).toEqual(channels?.down.stale.map((m) => m.type));
    expect(link.up.current.map((m) => m.type)).toEqual(channels?.up.current.map((m) => m.type));
    expect(link.up.stale.map((m) => m.type)).toEqual(channels?.up.stale.map((m) => m.type));
  }
  expect(response.state.converged).toBe(model.goal(state));
  expect(response.actions.map((a) => a.description)).toEqual(model.actions(state).map((a) => model.describe(a)));
  const shownBroken = response.properties.filter((p) => p.status === 'broken' || p.status === 'broken earlier').map((p) => p.id);
  expect(new Set(shownBroken)).toEqual(broken);
}

beforeAll(async () => {
  server = await startExplorerServer({ exploration: new Exploration(check), assets: await buildClientAssets(), trace: null, port: 0, onInternalError: (e) => internalErrors.push(e) });
});

afterAll(async () => {
  await server?.close();
});

describe('kd explore API', () => {
  it('shows the model state of random paths of enabled actions', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 30 }), async (choices) => {
        const path = enabledPath(choices);
        const answer = await get(`/api/state?path=${path.join('.')}`);
        expect(answer.status, answer.body).toBe(200);
        expectShows(JSON.parse(answer.body) as StateResponse, path);
      }),
      { numRuns: 120 },
    );
    expect(internalErrors).toEqual([]);
  });

  it('answers a path with an action that is not enabled 400, naming the step', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 12 }), fc.nat({ max: 40 }), async (choices, extra) => {
        const valid = enabledPath(choices);
        const enabledCount = model.actions(walk(valid).state).length;
        const bad = enabledCount + extra;
        const answer = await get(`/api/state?path=${[...valid, bad].join('.')}`);
        expect(answer.status).toBe(400);
        expect((JSON.parse(answer.body) as { error: string }).error).toBe(
          `step ${valid.length + 1}: action ${bad} is not enabled (${enabledCount} actions are enabled here: 0 to ${enabledCount - 1})`,
        );
      }),
      { numRuns: 60 },
    );
  });

  it('never answers 500 to any query, route or method, and keeps answering', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 40 }).map((s) => `/api/state?path=${encodeURIComponent(s)}`),
          fc.array(fc.integer({ min: -5, max: 2 ** 40 }), { maxLength: 6 }).map((xs) => `/api/state?path=${xs.join('.')}`),
          fc.string({ maxLength: 30 }).map((s) => `/${encodeURIComponent(s)}`),
          fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 })).map(([k, v]) => `/api/state?${encodeURIComponent(k)}=${encodeURIComponent(v)}`),
        ),
        fc.constantFrom('GET', 'GET', 'POST', 'DELETE', 'HEAD'),
        async (target, method) => {
          const answer = await get(target, method);
          expect([200, 400, 404, 405], `${method} ${target}: ${answer.body}`).toContain(answer.status);
          if (answer.status >= 400 && method !== 'HEAD') expect((JSON.parse(answer.body) as { error: string }).error.length).toBeGreaterThan(10);
        },
      ),
      { numRuns: 300 },
    );
    expect(internalErrors).toEqual([]);
    expect((await get('/api/state?path=')).status).toBe(200);
  });

  it('explains each refusal', async () => {
    const error = async (target: string, method = 'GET') => {
      const answer = await get(target, method);
      return [answer.status, (JSON.parse(answer.body) as { error: string }).error];
    };
    expect(await error('/api/state?path=1.x')).toEqual([400, 'path must be action indices separated by dots, like 0.3.1 (got "1.x")']);
    expect(await error(`/api/state?path=${Array.from({ length: pathLengthMax + 1 }, () => 0).join('.')}`)).toEqual([400, `path has ${pathLengthMax + 1} steps; at most ${pathLengthMax} (pathLengthMax)`]);
    expect(await error('/api/state?path=0&preset=smoke')).toEqual([400, 'unknown query parameter "preset": /api/state takes only path']);
    expect(await error('/api/state?path=0&path=1')).toEqual([400, 'give path once']);
    expect(await error('/api/state', 'POST')).toEqual([405, 'POST is not served here: the explorer answers GET only']);
    expect((await error('/nosuch'))[0]).toBe(404);
  });

  it('serves the page, its script and stylesheet from itself only', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script src="/app.js"></script>');
    expect(page.body).not.toMatch(/(src|href)="(https?:)?\/\//);
    const script = await get('/app.js');
    expect(script.status).toBe(200);
    expect(script.body).toContain('/api/state?path=');
    expect((await get('/app.css')).status).toBe(200);
    const info = JSON.parse((await get('/api/model')).body) as { preset: string; variant: string; properties: Array<{ id: string }> };
    expect([info.preset, info.variant]).toEqual(['ci', 'no-fencing']);
    expect(info.properties.map((p) => p.id)).toContain('INV-FENCING');
  });
});
