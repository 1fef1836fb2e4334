/** The state panels: one card per stage, the messages in flight on each link, the store and budgets. */
import type { LinkView, MessageView, StageView, StateResponse } from '../view.js';
import { h, keyed } from './dom.js';

function sessionsTable(stage: StageView, changed: ReadonlySet<string>): HTMLElement | null {
  if (stage.sessions.length === 0) return null;
  return h(
    'table',
    { class: 'sessions' },
    h('tr', {}, h('th', {}, 'link'), h('th', {}, 'side'), h('th', {}, 'session'), h('th', { title: 'incarnation.counter' }, 'epoch')),
    ...stage.sessions.map((s) =>
      h(
        'tr',
        keyed(s.key, changed, 'session-row'),
        h('td', { title: s.link }, s.side === 'client' ? `to ${s.peer}` : `from ${s.peer}`),
        h('td', {}, s.side),
        h('td', { class: 'session' }, s.session),
        h('td', { class: 'epoch' }, s.epoch),
      ),
    ),
  );
}

function desiredList(stage: StageView, changed: ReadonlySet<string>): HTMLElement | null {
  if (stage.desired.length === 0) return null;
  return h(
    'p',
    { class: 'desired' },
    'desired: ',
    ...stage.desired.map((d) => h('span', { ...keyed(d.key, changed, `count ${d.clean ? 'clean' : 'dirty'}`), 'data-function': d.function }, `${d.function}=${d.desired} (${d.clean ? 'clean' : 'dirty'})`)),
  );
}

function podsTable(stage: StageView, changed: ReadonlySet<string>): HTMLElement | null {
  const counts = Object.entries(stage.podCounts)
    .map(([cacheClass, n]) => `${n} ${cacheClass}`)
    .join(', ');
  if (stage.pods.length === 0) return stage.role === 'replicaset' || stage.role === 'scheduler' || stage.role === 'kubelet' ? h('p', { class: 'pods-empty' }, 'pod cache: empty') : null;
  return h(
    'div',
    {},
    h('p', { class: 'pod-counts' }, `pod cache: ${counts}`),
    h(
      'table',
      { class: 'pods' },
      h('tr', {}, h('th', {}, 'pod'), h('th', {}, 'node'), h('th', {}, 'lifecycle'), h('th', {}, 'class')),
      ...stage.pods.map((p) =>
        h(
          'tr',
          { ...keyed(p.key, changed, `pod ${p.cacheClass}`), 'data-pod': p.name, 'data-lifecycle': p.lifecycle },
          h('td', {}, p.name),
          h('td', {}, p.node ?? '-'),
          h('td', { class: 'lifecycle' }, p.lifecycle),
          h('td', {}, p.cacheClass),
        ),
      ),
    ),
  );
}

function sandboxesList(stage: StageView, changed: ReadonlySet<string>): HTMLElement | null {
  if (stage.role !== 'kubelet') return null;
  if (stage.sandboxes.length === 0) return h('p', { class: 'sandboxes' }, 'sandboxes: none');
  return h('p', { class: 'sandboxes' }, 'sandboxes: ', ...stage.sandboxes.map((b) => h('span', { ...keyed(b.key, changed, `sandbox ${b.state}`), 'data-pod': b.pod }, `${b.pod} ${b.state}`)));
}

function stageCard(stage: StageView, changed: ReadonlySet<string>): HTMLElement {
  const incarnationKey = `${stage.id}/incarnation`;
  return h(
    'section',
    { class: 'stage', 'data-stage': stage.id },
    h('h3', {}, stage.id, ' ', h('span', { ...keyed(incarnationKey, changed, 'incarnation'), title: 'incarnation' }, `#${stage.incarnation}`)),
    sessionsTable(stage, changed),
    desiredList(stage, changed),
    podsTable(stage, changed),
    sandboxesList(stage, changed),
  );
}

function messageChip(message: MessageView): HTMLElement {
  return h('span', { class: `message${message.fresh ? ' fresh' : ''}`, 'data-type': message.type, title: message.fresh ? 'sent by the last step' : '' }, `${message.label} ${message.epoch}`);
}

function queueCell(link: LinkView, direction: 'down' | 'up', which: 'current' | 'stale'): HTMLElement {
  const messages = link[direction][which];
  return h('td', { 'data-queue': `${direction}-${which}`, class: which }, ...(messages.length === 0 ? ['-'] : messages.map(messageChip)));
}

function linksTable(links: readonly LinkView[]): HTMLElement {
  return h(
    'table',
    { class: 'links' },
    h('tr', {}, h('th', {}, 'link'), h('th', {}, 'down (current)'), h('th', {}, 'down (stale)'), h('th', {}, 'up (current)'), h('th', {}, 'up (stale)')),
    ...links.map((link) =>
      h('tr', { 'data-link': link.link }, h('td', {}, `${link.upstream} \u2192 ${link.downstream}`), queueCell(link, 'down', 'current'), queueCell(link, 'down', 'stale'), queueCell(link, 'up', 'current'), queueCell(link, 'up', 'stale')),
    ),
  );
}

function worldLine(response: StateResponse, scaleSteps: number, changed: ReadonlySet<string>): HTMLElement {
  const state = response.state;
  return h(
    'p',
    { class: 'world' },
    'store: ',
    ...(state.store.length === 0 ? ['empty'] : state.store.map((c) => h('span', keyed(c.key, changed, 'stored'), `${c.label}=${c.text} `))),
    ` \u00b7 scale script: ${state.scaled} of ${scaleSteps} requests made \u00b7 faults left: `,
    ...Object.entries(state.budgets).map(([kind, left]) => h('span', keyed(`budget/${kind}`, changed, 'budget'), `${kind} ${left} `)),
    ' \u00b7 ',
    h('span', { class: state.converged ? 'converged yes' : 'converged no', 'data-converged': String(state.converged) }, state.converged ? 'converged' : 'not converged'),
  );
}

export function renderState(response: StateResponse, scaleSteps: number): HTMLElement {
  const changed = new Set(response.changed);
  const removed =
    response.removed.length === 0
      ? null
      : h('p', { class: 'removed' }, 'gone since the step before: ', ...response.removed.map((r) => h('span', { class: 'gone', 'data-key': r.key }, r.text)));
  return h(
    'div',
    { class: 'state' },
    worldLine(response, scaleSteps, changed),
    removed,
    h('div', { class: 'stages' }, ...response.state.stages.map((s) => stageCard(s, changed))),
    h('h2', {}, 'Messages in flight'),
    linksTable(response.state.links),
  );
}
