/**
 * The site's generators without a browser: state diagrams follow the machine definitions
 * (a changed machine gives a changed diagram), spec Markdown gets an anchor for every
 * requirement and property it defines, and the message reference lists the whole .proto.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import { correctMachines, lifecycleCatalog, machinesFor } from '../../machines/index.js';
import { properties, requirements } from '../../spec/index.js';
import { linkIds, renderMarkdown, type IdTarget } from '../build/markdown.js';
import { protoReference } from '../build/proto-reference.js';
import { repositoryRoot } from '../build/site.js';
import { describeMachine, stateDiagramMermaid } from '../build/state-diagram.js';

describe('state diagrams from the machine definitions', () => {
  it('draws a small machine exactly: initial, nested, final and machine-level transitions', () => {
    const machine = createMachine({
      id: 'tiny',
      initial: 'idle',
      states: {
        idle: { on: { go: { target: 'busy', actions: 'start' } } },
        busy: {
          initial: 'a',
          states: { a: { on: { next: 'b' } }, b: {} },
          on: { done: 'over', again: '.a' },
        },
        over: { type: 'final' },
      },
      on: { reset: '.idle' },
    });
    expect(stateDiagramMermaid(describeMachine(machine))).toBe(
      [
        'stateDiagram-v2',
        '  [*] --> s_idle',
        '  state "idle" as s_idle',
        '  state "busy" as s_busy {',
        '    [*] --> s_busy_a',
        '    state "any busy state" as any_busy',
        '    state "a" as s_busy_a',
        '    state "b" as s_busy_b',
        '    any_busy --> s_busy_a : again',
        '    s_busy_a --> s_busy_b : next',
        '  }',
        '  state "over" as s_over',
        '  state "any state" as any_state',
        '  any_state --> s_idle : reset',
        '  s_idle --> s_busy : go / start',
        '  s_busy --> s_over : done',
        '  s_over --> [*]',
        '  classDef anyState fill:#ffffff,stroke:#777777,stroke-dasharray:4 3,color:#555555',
        '  class any_state,any_busy anyState',
        '  classDef finalState fill:#eeeeee,stroke:#555555,color:#333333',
        '  class s_over finalState',
        '',
      ].join('\n'),
    );
  });

  it('every catalog machine: every state and every event with a transition is in its diagram, and only catalog events', () => {
    const set = correctMachines();
    for (const entry of lifecycleCatalog) {
      const description = describeMachine(set[entry.key]);
      const text = stateDiagramMermaid(description);
      for (const state of description.states) expect(text, `${entry.key} ${state.path}`).toContain(`"${state.name}"`);
      for (const t of description.transitions) {
        expect(entry.events, `${entry.key}: ${t.event}`).toContain(t.event);
        expect(text, `${entry.key}: ${t.event}`).toContain(t.event);
        for (const action of t.actions) expect(entry.actions, `${entry.key}: ${action}`).toContain(action);
      }
    }
  });

  it('a variant that changes a machine changes its diagram', () => {
    const correct = stateDiagramMermaid(describeMachine(correctMachines().replicaSetPod));
    const variant = stateDiagramMermaid(describeMachine(machinesFor('drop-tombstone-on-forward').replicaSetPod));
    expect(variant).not.toBe(correct);
    expect(variant).toContain('s_terminating_unsent --> s_gone : forward / sendTombstone');
    expect(correct).toContain('s_terminating_unsent --> s_terminating_sent : forward / sendTombstone');
  });
});

describe('spec Markdown with ID anchors', () => {
  const ids = new Map<string, IdTarget>([
    ['REQ-SESS-004', { kind: 'requirement', page: 'spec/02.html', title: 'fencing' }],
    ['INV-FENCING', { kind: 'property', page: 'spec/07.html', title: 'Fencing' }],
  ]);

  it('anchors a requirement where it is defined and links every other mention', () => {
    const html = renderMarkdown('# T\n\n- **REQ-SESS-004** (MUST; all) Reject. _Protects: INV-FENCING_\n\nSee REQ-SESS-004.\n', { page: 'spec/02.html', ids }).html;
    expect(html).toContain('<li id="REQ-SESS-004" class="requirement"><strong><a class="id-anchor" href="#REQ-SESS-004">REQ-SESS-004</a></strong>');
    expect(html).toContain('<a class="id-link" href="../spec/07.html#INV-FENCING"');
    expect(html).toContain('See <a class="id-link" href="#REQ-SESS-004"');
  });

  it('anchors a property on the first table row that defines it, and does not link inside code blocks', () => {
    const html = renderMarkdown('| ID | Definition |\n| --- | --- |\n| INV-FENCING | text |\n\n    INV-FENCING in code\n', { page: 'spec/07.html', ids }).html;
    expect(html).toContain('<tr id="INV-FENCING" class="property">');
    expect(html).toContain('<pre><code>INV-FENCING in code');
    expect(linkIds('<a href="x">INV-FENCING</a>', 'index.html', ids)).toBe('<a href="x">INV-FENCING</a>');
  });

  it('every requirement and property of the data files is defined in the spec text of its chapter', () => {
    for (const r of requirements) {
      expect(readFileSync(join(repositoryRoot, 'spec', `${r.section}.md`), 'utf8'), r.id).toContain(`- **${r.id}**`);
    }
    const chapter07 = readFileSync(join(repositoryRoot, 'spec', '07-properties.md'), 'utf8');
    for (const p of properties) expect(chapter07, p.id).toContain(`| ${p.id} |`);
  });
});

describe('message reference from kubedirect.proto', () => {
  it('lists every service, message and enum of the file, with every field and value', () => {
    const proto = readFileSync(join(repositoryRoot, 'spec', 'kubedirect.proto'), 'utf8');
    const reference = protoReference(proto, 'messages.html', new Map());
    const declared = [...proto.matchAll(/^\s*(?:service|message|enum) (\w+)/gm)].map((m) => m[1]);
    expect(declared.length).toBeGreaterThan(20);
    for (const name of declared) expect(reference.html, name).toContain(`id="${name}"`);
    expect(reference.html).toContain('id="ErrorReason.STALE_EPOCH"');
    expect(reference.html).toContain('id="UpstreamFrame.epoch"');
    expect(reference.summary.rpcs).toBe([...proto.matchAll(/^\s*rpc /gm)].length);
  });
});
