/**
 * The explorer's page. The path (action indices from the initial state) is the page's
 * address (`?path=0.3.1`): every step pushes a history entry, so the browser's back and
 * forward, a reload and a shared address all show the same state. Back and Forward on the
 * page move one step along the path; Forward follows the last path walked (or the
 * counterexample) as far as the current path agrees with it. Keys: left and right arrows.
 */
import type { ErrorResponse, ModelInfo, StateResponse } from '../view.js';
import { h } from './dom.js';
import { renderActions, renderPath, renderProperties, renderTrace, stepsOnTrace } from './render-panels.js';
import { renderState } from './render-state.js';

const app = document.getElementById('app') as HTMLElement;
let info: ModelInfo;
let current: StateResponse | null = null;
/** The longest path walked that the current one is a prefix of: where Forward goes. */
let future: number[] = [];

function pathFromAddress(): string {
  return new URLSearchParams(window.location.search).get('path') ?? '';
}

function pathText(path: readonly number[]): string {
  return path.join('.');
}

function isPrefix(prefix: readonly number[], of: readonly number[]): boolean {
  return prefix.length <= of.length && prefix.every((index, i) => of[i] === index);
}

async function fetchJson<T>(url: string): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
  let response: Response;
  let body: T | ErrorResponse;
  try {
    response = await fetch(url);
    body = (await response.json()) as T | ErrorResponse;
  } catch (error) {
    return { ok: false, error: `the explorer's server does not answer (${(error as Error).message}): is kd explore still running?` };
  }
  if (!response.ok) return { ok: false, error: (body as ErrorResponse).error ?? `HTTP ${response.status}` };
  return { ok: true, value: body as T };
}

function header(response: StateResponse | null): HTMLElement {
  const path = response?.path ?? [];
  const back = h('button', { id: 'back', title: 'one step back (left arrow)' }, '\u2190 Back');
  const forward = h('button', { id: 'forward', title: 'one step forward along the last path walked (right arrow)' }, 'Forward \u2192');
  const restart = h('button', { id: 'restart', title: 'the initial state' }, 'Initial state');
  if (response === null || path.length === 0) back.setAttribute('disabled', '');
  if (response === null || !(future.length > path.length && isPrefix(path, future))) forward.setAttribute('disabled', '');
  back.addEventListener('click', goBack);
  forward.addEventListener('click', goForward);
  restart.addEventListener('click', () => void show([], true));
  return h(
    'header',
    {},
    h('h1', {}, 'kd explore'),
    h('p', { class: 'model' }, `preset ${info.preset} \u00b7 variant ${info.variant} \u00b7 ${info.description}`),
    h('nav', {}, back, forward, restart, h('span', { class: 'depth', id: 'depth' }, `step ${path.length}`)),
  );
}

function render(response: StateResponse | null, error: string | null): void {
  const path = response?.path ?? [];
  const trace = info.trace;
  const onTrace = trace === null ? null : stepsOnTrace(trace, path);
  const nextOnTrace = trace !== null && onTrace !== null ? (trace.path[onTrace] ?? null) : null;
  const goTo = (length: number) => void show(path.slice(0, length), true);
  const goToTrace = (length: number) => void show(trace === null ? [] : trace.path.slice(0, length), true);
  app.replaceChildren(
    header(response),
    error === null ? '' : h('p', { class: 'error', role: 'alert' }, error, ' ', h('a', { href: '?path=' }, 'go to the initial state')),
    response === null
      ? ''
      : h(
          'div',
          { class: 'columns' },
          h('aside', { class: 'left' }, renderActions(response, (index) => void take(index), nextOnTrace), renderPath(response, goTo)),
          h('div', { class: 'middle' }, renderState(response, info.scaleSteps)),
          h('aside', { class: 'right' }, trace === null ? '' : renderTrace(trace, path, goToTrace), renderProperties(info, response.properties, response.actions)),
        ),
  );
  document.body.dataset.path = pathText(path);
  document.body.dataset.ready = 'yes';
}

/** Shows the state at the end of `path`; `push` adds a history entry (not when following the browser's own back/forward). */
async function show(path: readonly number[], push: boolean): Promise<void> {
  document.body.dataset.ready = 'no';
  const result = await fetchJson<StateResponse>(`/api/state?path=${pathText(path)}`);
  if (!result.ok) {
    render(current, `Cannot show path "${pathText(path)}": ${result.error}`);
    return;
  }
  current = result.value;
  if (!isPrefix(current.path, future)) future = [...current.path];
  if (push && pathFromAddress() !== pathText(path)) window.history.pushState(null, '', `?path=${pathText(path)}`);
  render(current, null);
}

async function take(index: number): Promise<void> {
  if (current === null) return;
  await show([...current.path, index], true);
}

function goBack(): void {
  if (current !== null && current.path.length > 0) void show(current.path.slice(0, -1), true);
}

function goForward(): void {
  if (current !== null && future.length > current.path.length && isPrefix(current.path, future)) void show(future.slice(0, current.path.length + 1), true);
}

async function start(): Promise<void> {
  const model = await fetchJson<ModelInfo>('/api/model');
  if (!model.ok) {
    app.replaceChildren(h('p', { class: 'error' }, `Cannot load the model: ${model.error}`));
    document.body.dataset.ready = 'yes';
    return;
  }
  info = model.value;
  if (info.trace !== null) future = [...info.trace.path];
  const text = pathFromAddress();
  const path = /^\d+(\.\d+)*$/.test(text) ? text.split('.').map(Number) : [];
  if (text !== '' && path.length === 0) {
    render(null, `Cannot show path "${text}": a path is action indices separated by dots, like 0.3.1`);
    return;
  }
  await show(path, false);
}

window.addEventListener('popstate', () => {
  const text = pathFromAddress();
  void show(text === '' ? [] : text.split('.').map(Number), false);
});
window.addEventListener('keydown', (event) => {
  if (event.target instanceof HTMLInputElement) return;
  if (event.key === 'ArrowLeft') goBack();
  if (event.key === 'ArrowRight') goForward();
});
void start();
