/** The side panels: the enabled actions, the properties, the path taken, the counterexample. */
import type { ActionView, ModelInfo, PropertyStatus, StateResponse, TraceInfo } from '../view.js';
import type { WorldAction } from '../../simulator/world.js';
import { h } from './dom.js';

/** The group of every kind of action the model has: a kind added to the model and not here fails to compile (it would be hidden). */
const groupOfKind: Readonly<Record<WorldAction['kind'], string>> = {
  deliver: 'Deliver',
  deliverStale: 'Deliver',
  dropStale: 'Deliver',
  connect: 'Connect',
  sandboxDone: 'Sandbox outcomes',
  scale: 'Scale',
  crash: 'Faults',
  nodeCrash: 'Faults',
  cut: 'Faults',
  forgeHello: 'Faults',
  forgePod: 'Faults',
};
const groupTitles = ['Deliver', 'Connect', 'Sandbox outcomes', 'Scale', 'Faults', 'Other'] as const;

function groupOf(kind: string): string {
  return (groupOfKind as Readonly<Record<string, string>>)[kind] ?? 'Other';
}

function actionButton(action: ActionView, onTake: (index: number) => void, nextOnTrace: number | null): HTMLElement {
  const classes = ['action', action.breaks.length > 0 ? 'breaks' : '', action.failure !== null ? 'refused' : '', nextOnTrace === action.index ? 'on-trace' : ''].filter((c) => c !== '');
  const button = h(
    'button',
    {
      class: classes.join(' '),
      'data-index': String(action.index),
      'data-kind': action.kind,
      'data-breaks': action.breaks.join(' '),
      title: action.failure ?? (action.breaks.length > 0 ? `breaks ${action.breaks.join(', ')}` : ''),
    },
    action.description,
    action.message === null ? null : h('span', { class: 'message-label' }, `: ${action.message}`),
    action.breaks.length === 0 ? null : h('span', { class: 'break-list' }, ` breaks ${action.breaks.join(', ')}`),
    nextOnTrace === action.index ? h('span', { class: 'trace-mark' }, ' (next on the trace)') : null,
  );
  if (action.failure === null) button.addEventListener('click', () => onTake(action.index));
  else button.setAttribute('disabled', '');
  return button;
}

export function renderActions(response: StateResponse, onTake: (index: number) => void, nextOnTrace: number | null): HTMLElement {
  const groups = groupTitles
    .map((title) => ({ title, actions: response.actions.filter((a) => groupOf(a.kind) === title) }))
    .filter((g) => g.actions.length > 0)
    .map((g) => h('div', { class: 'action-group' }, h('h3', {}, g.title), ...g.actions.map((a) => actionButton(a, onTake, nextOnTrace))));
  return h('div', { class: 'actions' }, h('h2', {}, `Enabled actions (${response.actions.length})`), ...(groups.length === 0 ? [h('p', {}, 'none: nothing can happen here')] : groups));
}

export function renderProperties(info: ModelInfo, statuses: readonly PropertyStatus[], actions: readonly ActionView[]): HTMLElement {
  const titles = new Map(info.properties.map((p) => [p.id, p]));
  return h(
    'div',
    { class: 'properties' },
    h('h2', {}, 'Properties'),
    h(
      'ul',
      {},
      ...statuses.map((s) => {
        const breakers = actions.filter((a) => a.breaks.includes(s.id));
        const property = titles.get(s.id);
        const status = s.step === null || s.status === 'holds' ? s.status : `${s.status} (step ${s.step})`;
        return h(
          'li',
          { class: `property ${s.status.replace(/ /g, '-')}`, 'data-property': s.id, 'data-status': s.status, title: property?.text ?? '' },
          h('span', { class: 'property-id' }, s.id),
          ' ',
          h('span', { class: 'status' }, status),
          s.message === null || s.status === 'whole runs only' ? null : h('div', { class: 'property-message' }, s.message),
          breakers.length === 0 ? null : h('div', { class: 'breakers' }, `broken next by: ${breakers.map((a) => a.description).join('; ')}`),
        );
      }),
    ),
  );
}

export function renderPath(response: StateResponse, onGo: (length: number) => void): HTMLElement {
  const items = response.steps.map((step, i) => {
    const link = h('a', { href: `?path=${response.path.slice(0, i + 1).join('.')}`, 'data-step': String(i + 1) }, `${i + 1}. ${step}`);
    link.addEventListener('click', (event) => {
      event.preventDefault();
      onGo(i + 1);
    });
    return h('li', {}, link);
  });
  return h('div', { class: 'path' }, h('h2', {}, `Path (${response.steps.length} steps)`), items.length === 0 ? h('p', {}, 'the initial state') : h('ol', {}, ...items));
}

/** Where the current path stands on the trace: the number of trace steps it follows, or null if it left the trace. */
export function stepsOnTrace(trace: TraceInfo, path: readonly number[]): number | null {
  if (path.length > trace.path.length) return null;
  return path.every((index, i) => trace.path[i] === index) ? path.length : null;
}

export function renderTrace(trace: TraceInfo, path: readonly number[], onGo: (length: number) => void): HTMLElement {
  const at = stepsOnTrace(trace, path);
  const items = trace.steps.map((step, i) => {
    const link = h('a', { href: `?path=${trace.path.slice(0, i + 1).join('.')}` }, `${step.step}. ${step.description}`);
    link.addEventListener('click', (event) => {
      event.preventDefault();
      onGo(i + 1);
    });
    const classes = [at === i + 1 ? 'current' : '', step.violations.length > 0 ? 'violating' : ''].filter((c) => c !== '').join(' ');
    return h(
      'li',
      { 'data-step': String(step.step), ...(classes === '' ? {} : { class: classes }) },
      link,
      step.violations.length === 0 ? null : h('span', { class: 'break-list' }, ` !! ${step.violations.join(', ')}`),
      trace.cycleStartStep === step.step ? h('span', { class: 'cycle-mark' }, ' \u21ba the cycle that repeats forever starts here') : null,
    );
  });
  return h(
    'div',
    { class: 'trace', 'data-on-trace': at === null ? 'no' : String(at) },
    h('h2', {}, `Counterexample: ${trace.property}`),
    h('p', {}, `${trace.file}: ${trace.message}`),
    h('p', { class: 'trace-position' }, at === null ? 'this path has left the trace' : `at step ${at} of ${trace.steps.length}`),
    h('ol', {}, ...items),
  );
}
