/**
 * The trace renderers on two real counterexample traces (fixtures copied from `kd check`
 * output) and on hand-made ones: Mermaid structure, SVG well-formedness and geometry,
 * HTML self-containment, the liveness cycle, stale deliveries and escaping.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeEpoch, stagesOf } from '../../../machines/index.js';
import { traceSchema, type CounterexampleTrace } from '../../chain/trace.js';
import { traceToHtml, traceToMermaid, traceToSvg } from '../index.js';
import { livenessTrace, longTrace, nastyLabel } from './fixtures/synthetic-traces.js';

const fixtures = resolve(dirname(fileURLToPath(import.meta.url)), 'fixtures');

function loadTrace(name: string): CounterexampleTrace {
  const trace = JSON.parse(readFileSync(resolve(fixtures, name), 'utf8')) as CounterexampleTrace;
  expect(trace.schema).toBe(traceSchema);
  return trace;
}

const samples: ReadonlyArray<readonly [string, CounterexampleTrace]> = [
  ['no-tombstones', loadTrace('sample-trace-no-tombstones.json')],
  ['cold-handshake', loadTrace('sample-trace-cold-handshake.json')],
];

const deliveries = (trace: CounterexampleTrace) => trace.steps.flatMap((s) => (s.delivered === null ? [] : [s.delivered]));

/** Mermaid entity codes (`#59;`) back to characters. */
const decodeMermaid = (text: string): string => text.replace(/#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));

const arrowLine = /^\s*(\w+)(-->>|->>)(\w+): (.*)$/;

/**
 * Problems that keep text from being well-formed XML: unbalanced or crossed tags, a raw
 * `<` or a bare `&` in text or attribute values, unquoted attributes, not one root.
 */
function xmlProblems(xml: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  let roots = 0;
  const entity = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;
  const checkText = (text: string, where: string): void => {
    const bare = text.replace(entity, '');
    if (bare.includes('<')) problems.push(`raw '<' in ${where}: ${text.slice(0, 60)}`);
    if (bare.includes('&')) problems.push(`bare '&' in ${where}: ${text.slice(0, 60)}`);
  };
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"]*")*)\s*(\/?)>|<\?xml[^>]*\?>|<!--[\s\S]*?-->/g;
  let last = 0;
  for (const match of xml.matchAll(tag)) {
    checkText(xml.slice(last, match.index), 'text');
    last = match.index + match[0].length;
    const [, close, name, attributes, selfClosing] = match;
    if (name === undefined) continue;
    for (const [, value] of (attributes ?? '').matchAll(/="([^"]*)"/g)) checkText(value ?? '', `an attribute of <${name}>`);
    if (close === '/') {
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open ?? 'nothing'}>`);
    } else {
      if (stack.length === 0) roots++;
      if (selfClosing !== '/') stack.push(name);
    }
  }
  checkText(xml.slice(last), 'text');
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(' > ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}

/** The header boxes' text with its x: each stage's top box, then its bottom box. */
function headers(svg: string): Array<readonly [string, number]> {
  return [...svg.matchAll(/<text class="header-text" x="([\d.]+)"[^>]*>([^<]*)<\/text>/g)].map((m) => [m[2] ?? '', Number(m[1])] as const);
}

function messageLines(svg: string): Array<{ stale: boolean; x1: number; x2: number }> {
  return [...svg.matchAll(/<line class="msg( stale)?" x1="([\d.]+)" y1="[\d.]+" x2="([\d.]+)"/g)].map((m) => ({ stale: m[1] !== undefined, x1: Number(m[2]), x2: Number(m[3]) }));
}

describe.each(samples)('rendering the %s sample trace', (_, trace) => {
  const stages = stagesOf(trace.check.chain);

  it('writes Mermaid: one participant per stage in chain order, one arrow per delivery, the property', () => {
    const mermaid = traceToMermaid(trace);
    const lines = mermaid.split('\n');
    expect(lines[0]).toBe('sequenceDiagram');
    const participants = lines.filter((l) => /^\s*participant /.test(l)).map((l) => decodeMermaid(l.replace(/^\s*participant \w+ as /, '')));
    expect(participants).toEqual(stages);
    const arrows = lines.filter((l) => arrowLine.test(l));
    expect(arrows).toHaveLength(deliveries(trace).length);
    deliveries(trace).forEach((m, i) => expect(decodeMermaid(arrows[i] ?? '')).toContain(`${m.label} epoch ${describeEpoch(m.epoch)}`));
    expect(mermaid).toContain(trace.property);
    const blocks = lines.filter((l) => /^\s*(loop|rect|alt|opt) /.test(l)).length;
    expect(lines.filter((l) => l.trim() === 'end')).toHaveLength(blocks);
  });

  it('writes a well-formed SVG with one arrow per delivery, between the right lifelines', () => {
    const svg = traceToSvg(trace);
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    const boxes = headers(svg);
    expect(boxes.map(([stage]) => stage)).toEqual(stages.flatMap((stage) => [stage, stage]));
    const xs = new Map(boxes);
    for (const [stage, x] of boxes) expect(x).toBe(xs.get(stage));
    const lefts = stages.map((stage) => xs.get(stage) ?? 0);
    expect([...lefts].sort((a, b) => a - b)).toEqual(lefts);
    const lines = messageLines(svg);
    expect(lines).toHaveLength(deliveries(trace).length);
    deliveries(trace).forEach((m, i) => {
      expect(lines[i]?.x1).toBe(xs.get(m.from));
      expect(lines[i]?.x2).toBe(xs.get(m.to));
    });
    expect(svg).toContain(trace.property);
    expect(svg).toContain('class="band"');
    // Every coordinate lies inside the canvas.
    const [, width, height] = /width="([\d.]+)" height="([\d.]+)"/.exec(svg) ?? [];
    for (const [, axis, value] of svg.matchAll(/\s([xy])[12]?="([\d.-]+)"/g)) expect(Number(value)).toBeLessThanOrEqual(Number(axis === 'x' ? width : height));
  });

  it('writes a self-contained HTML page with the SVG, a row per step and the Mermaid text', () => {
    const html = traceToHtml(trace);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
    expect(html.match(/<tr class="step/g)).toHaveLength(trace.steps.length);
    expect(html.replaceAll('http://www.w3.org/2000/svg', '')).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script|<link |@import|src=/);
    expect(html).toContain(`<title>${trace.property}: `);
    expect(html).toContain(trace.check.chain.variant);
    expect(html).toMatch(/<details>\s*<summary>Mermaid source<\/summary>\s*<pre>sequenceDiagram/);
    const broken = trace.steps.filter((s) => s.violations.length > 0).length;
    expect(html.match(/<tr class="step[^"]* broken"/g)).toHaveLength(broken);
  });
});

describe('a liveness lasso with a stale delivery and hostile labels', () => {
  const trace = livenessTrace();

  it('wraps the cycle in a Mermaid loop and draws the stale delivery dashed and marked late', () => {
    const lines = traceToMermaid(trace).split('\n');
    const loopAt = lines.findIndex((l) => /^\s*loop /.test(l));
    expect(decodeMermaid(lines[loopAt] ?? '')).toContain('steps 9 to 11');
    expect(lines[loopAt + 1]).toMatch(/Note over autoscaler: 9\. scale f to 3/);
    const endAt = lines.findIndex((l, i) => i > loopAt && l.trim() === 'end');
    expect(lines[endAt - 1]).toMatch(/^\s*deployment->>autoscaler: 11\./);
    const dashed = lines.filter((l) => l.includes('-->>'));
    expect(dashed).toHaveLength(1);
    expect(decodeMermaid(dashed[0] ?? '')).toContain(`late ${nastyLabel} epoch 1.1`);
    expect(lines.filter((l) => arrowLine.test(l))).toHaveLength(deliveries(trace).length);
    // No step breaks LIVE-CONVERGENCE, so the property note comes after the cycle.
    expect(lines.findIndex((l) => l.includes('LIVE-CONVERGENCE'))).toBeGreaterThan(endAt);
  });

  it('escapes the characters Mermaid reads as syntax', () => {
    const mermaid = traceToMermaid(trace);
    const text = mermaid
      .split('\n')
      .filter((l) => l.includes(':') || / as /.test(l) || /^\s*loop /.test(l))
      .map((l) => l.replace(/^[^:]*: /, '').replace(/^\s*participant \w+ as /, ''));
    for (const t of text) expect(t.replace(/#\d+;/g, '')).not.toMatch(/[;#:<>&"]/);
    expect(mermaid).toContain('running f#60;1#62;#38;x#59;#35;y#58; #34;q#34;');
    expect(mermaid).toContain('participant kubelet_n1 as kubelet#58;n1');
    expect(decodeMermaid(mermaid)).toContain('INV-CAPACITY: node n1 holds 2 > 1 sandboxes; see #3 & <n1>');
  });

  it('draws the SVG with a dashed grey arrow, a cycle bracket, a note per action and escaped text', () => {
    const svg = traceToSvg(trace);
    expect(xmlProblems(svg)).toEqual([]);
    const lines = messageLines(svg);
    expect(lines.map((l) => l.stale)).toEqual([false, true, false, false]);
    expect(svg).toMatch(/\.msg\.stale \{[^}]*stroke-dasharray/);
    expect(svg).toContain('marker-end="url(#arrowhead-stale)"');
    expect(svg).toContain('class="cycle-bracket"');
    expect(svg).toContain('back to step 9');
    expect(svg).toContain('late running f&lt;1&gt;&amp;x;#y: &quot;q&quot;');
    expect(svg).not.toContain(nastyLabel);
    for (const kind of ['connect', 'fault', 'drop', 'sandbox', 'scale']) expect(svg).toContain(`class="note ${kind}"`);
    expect(svg.match(/class="note /g)).toHaveLength(trace.steps.length - deliveries(trace).length);
    // A note spanning a lane in between names the far end; one between neighbours does not.
    expect(svg).toContain('>connect to kubelet:n2</text>');
    expect(svg).toContain('>cut link</text>');
    // One band for the step that breaks INV-CAPACITY, one for the liveness property.
    expect(svg.match(/class="band"/g)).toHaveLength(2);
    expect(svg).toContain('LIVE-CONVERGENCE');
  });

  it('marks the cycle rows in the HTML table and escapes every label', () => {
    const html = traceToHtml(trace);
    expect(html.match(/<tr class="step cycle/g)).toHaveLength(3);
    expect(html).toContain('steps 9 to 11');
    expect(html).not.toContain(nastyLabel);
    expect(html).toContain('two Kubelets &lt;test&gt; &amp; friends; one fault #1');
    expect(html.replaceAll('http://www.w3.org/2000/svg', '')).not.toMatch(/https?:\/\//);
  });
});

describe('a long trace', () => {
  it('keeps one row per step and grows the SVG with the steps, not the width', () => {
    const base = samples[0]?.[1];
    if (base === undefined) throw new Error('no sample trace');
    const long = longTrace(base, 100);
    const svg = traceToSvg(long);
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg.match(/<text class="gutter"/g)).toHaveLength(100);
    // Header boxes at the top, after rows 40 and 80, and at the bottom.
    expect(headers(svg).map(([stage]) => stage)).toEqual(stagesOf(long.check.chain).flatMap((stage) => [stage, stage, stage, stage]));
    expect(messageLines(svg)).toHaveLength(deliveries(long).length);
    const size = (s: string) => (/width="([\d.]+)" height="([\d.]+)"/.exec(s) ?? []).slice(1).map(Number);
    const [shortWidth, shortHeight] = size(traceToSvg(base));
    const [longWidth, longHeight] = size(svg);
    expect(longWidth).toBe(shortWidth);
    expect(longHeight).toBeGreaterThan((shortHeight ?? 0) * 3);
  });
});
