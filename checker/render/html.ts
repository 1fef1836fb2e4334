/**
 * A counterexample trace as one self-contained HTML page: the broken property, the
 * configuration, the SVG sequence diagram inline, a table of the steps and the Mermaid
 * text. Inline CSS only; no scripts, fonts or images from elsewhere.
 */
import { properties, variants } from '../../spec/index.js';
import type { CounterexampleTrace, TraceMessage, TraceStep } from '../chain/trace.js';
import type { Consequence } from './consequence.js';
import { stateTable, type StateTable } from './full-state.js';
import { traceToMermaid } from './mermaid.js';
import { traceToSvg, type DamageMarks } from './svg.js';
import { configurationLines, cycleSteps, epochLabel, escapeMarkup as e } from './view.js';

const css = `
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif; margin: 24px; color: #222; background: #fff; }
h1 { font-size: 1.35em; margin: 0 0 4px; }
h1 .property { color: #a40000; font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; }
h2 { font-size: 1.1em; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.lead { color: #555; margin: 4px 0; }
dl.config { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; margin: 0; }
dl.config dt { color: #666; }
dl.config dd { margin: 0; font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 0.9em; }
.diagram { overflow: auto; border: 1px solid #ddd; max-height: 90vh; }
.diagram svg { display: block; }
table.steps { border-collapse: collapse; width: 100%; font-size: 0.85em; }
table.steps th, table.steps td { border: 1px solid #ddd; padding: 3px 6px; vertical-align: top; text-align: left; }
table.steps th { background: #f0f3f8; position: sticky; top: 0; }
table.steps td.num { text-align: right; color: #666; }
table.steps tr.cycle td.num { border-left: 4px solid #3b6fd6; }
table.steps tr.broken { background: #fde2e2; }
table.steps tr.harm { background: #ffe9c7; }
table.steps tr.continued td.num { border-top: 3px dashed #5a6170; }
.harm-text { color: #7a3d00; }
.consequence { border: 1px solid #b35900; background: #fff6e8; padding: 8px 12px; margin: 12px 0; }
.consequence p { margin: 4px 0; }
.state-scroll { overflow: auto; max-height: 90vh; border: 1px solid #ddd; }
table.state { border-collapse: collapse; font-size: 0.78em; }
table.state th, table.state td { border: 1px solid #ddd; padding: 2px 5px; vertical-align: top; text-align: left; white-space: nowrap; }
table.state th { background: #f0f3f8; position: sticky; top: 0; }
table.state td.changed { background: #fff3b0; }
table.state tr.broken td.num { background: #fde2e2; }
table.state tr.harm td.num { background: #ffe9c7; }
table.state td div { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; }
table.steps ul { margin: 0; padding-left: 1.1em; }
code, .mono { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; }
.muted { color: #777; }
.late { color: #8a5a00; font-weight: bold; }
.violation { color: #a40000; }
details { margin-top: 28px; }
pre { background: #f6f7f9; border: 1px solid #ddd; padding: 8px; overflow: auto; font-size: 0.85em; }
`;

function messageCell(message: TraceMessage): string {
  const late = message.stale ? '<span class="late">late</span> ' : '';
  return `${late}<code>${e(message.label)}</code> <span class="muted">${e(message.from)} → ${e(message.to)}, ${e(epochLabel(message.epoch))}</span>`;
}

function list(items: readonly string[]): string {
  return items.length === 0 ? '' : `<ul>${items.map((item) => `<li>${item}</li>`).join('')}</ul>`;
}

function stepRow(step: TraceStep, inCycle: boolean, damage: DamageMarks | null): string {
  const harmed = damage !== null && damage.harmStep === step.step;
  const continued = damage !== null && damage.counterexampleLastStep !== null && step.step === damage.counterexampleLastStep + 1;
  const classes = ['step', ...(inCycle ? ['cycle'] : []), ...(step.violations.length > 0 ? ['broken'] : []), ...(harmed ? ['harm'] : []), ...(continued ? ['continued'] : [])];
  const harms = harmed ? damage.harms.map((text) => `<span class="harm-text"><strong>user sees:</strong> ${e(text)}</span>`) : [];
  const cells = [
    `<td class="num">${step.step}</td>`,
    `<td class="mono">${e(step.description)}</td>`,
    `<td>${step.delivered === null ? '' : messageCell(step.delivered)}</td>`,
    `<td>${list(step.sent.map(messageCell))}</td>`,
    `<td>${list(step.changed.map((c) => `<code>${e(c.stage)}</code> <span class="mono">${e(c.summary)}</span>`))}</td>`,
    `<td>${list([...step.violations.map((v) => `<span class="violation"><strong>${e(v.property)}</strong> ${e(v.message)}</span>`), ...harms])}</td>`,
  ];
  return `<tr class="${classes.join(' ')}" id="step-${step.step}">${cells.join('')}</tr>`;
}

/** The state table: one row per state, a cell per stage and part of the world, changed cells highlighted. */
export function stateTableHtml(table: StateTable, trace: CounterexampleTrace, damage: DamageMarks | null): string {
  const head = `<tr><th>after step</th><th>action</th>${table.columns.map((c) => `<th>${e(c.title)}</th>`).join('')}</tr>`;
  const body = table.rows.map((row, i) => {
    const previous = i === 0 ? null : table.rows[i - 1];
    const step = trace.steps[row.step - 1];
    const classes = [...((step?.violations.length ?? 0) > 0 ? ['broken'] : []), ...(damage !== null && damage.harmStep === row.step ? ['harm'] : [])];
    const cells = table.columns.map((column) => {
      const lines = row.cells[column.key] ?? [];
      const changed = previous !== null && previous !== undefined && JSON.stringify(previous.cells[column.key]) !== JSON.stringify(lines);
      return `<td${changed ? ' class="changed"' : ''}>${lines.map((line) => `<div>${e(line)}</div>`).join('')}</td>`;
    });
    return `<tr id="state-${row.step}"${classes.length > 0 ? ` class="${classes.join(' ')}"` : ''}><td class="num">${row.step === 0 ? 'start' : row.step}</td><td class="mono">${e(step?.description ?? 'the state the run starts from')}</td>${cells.join('')}</tr>`;
  });
  return `<div class="state-scroll"><table class="state">
<thead>${head}</thead>
<tbody>
${body.join('\n')}
</tbody>
</table></div>`;
}

/** The state table, or why it cannot be drawn (a trace recorded with other machines may not replay). */
export function stateTableOrReason(trace: CounterexampleTrace, damage: DamageMarks | null): string {
  let table: StateTable;
  try {
    table = stateTable(trace);
  } catch (error) {
    return `<p class="muted">Not shown: this trace does not replay on the current machines (${e(error instanceof Error ? error.message : String(error))}).</p>`;
  }
  return stateTableHtml(table, trace, damage);
}

/** The marks the diagram and the tables put where the damage shows. */
export function damageMarks(trace: CounterexampleTrace, consequence: Consequence | null): DamageMarks | null {
  if (consequence === null || consequence.harmStep === null) return null;
  const continued = consequence.found === 'continued' && consequence.trace.steps.length > trace.steps.length;
  return { harmStep: consequence.harmStep, harms: consequence.harms.map((h) => h.text), counterexampleLastStep: continued ? trace.steps.length : null };
}

/** What a user would see, in words: where the damage shows and how the run was found. */
export function consequenceHtml(trace: CounterexampleTrace, consequence: Consequence): string {
  const harms = consequence.harms.map((h) => `<p class="harm-text"><strong>${e(h.text)}</strong></p>`).join('');
  const searched = consequence.searches.map((s) => `${s.states.toLocaleString('en')} states from ${s.from === 'violation' ? 'the violation' : 'the start'}${s.bounded ? ' (stopped at its bound)' : ''}`).join(', ');
  const variantSection = `spec/08-known-bad-variants.md, section <code>${e(trace.check.chain.variant)}</code>`;
  switch (consequence.found) {
    case 'continued':
      return consequence.trace.steps.length === trace.steps.length
        ? `<div class="consequence"><p>What a user would see, at step ${consequence.harmStep ?? ''} (the broken rule is itself visible):</p>${harms}</div>`
        : `<div class="consequence"><p>What a user would see: the counterexample ends at step ${trace.steps.length}, where the rule breaks; run on from there with the machines' own steps (deliveries, connects, sandboxes starting or being killed, the rest of the scale script; no new fault), the damage shows at step ${consequence.harmStep ?? ''}:</p>${harms}</div>`;
    case 'extended':
      return `<div class="consequence"><p>What a user would see: ${consequence.searches[0]?.bounded === true ? 'no way to run this counterexample on without a new fault showed damage within the search\'s bound (the continuations were not all searched' : 'every way to run this counterexample on without a new fault ends without damage (searched'}: ${e(searched)}). The shortest run of this variant from the start that does damage a user sees takes ${consequence.trace.steps.length} steps; it is drawn below instead${consequence.violationStep === null ? '' : `, and breaks ${e(consequence.trace.property)} at step ${consequence.violationStep}`}. The damage shows at step ${consequence.harmStep ?? ''}:</p>${harms}</div>`;
    case 'none':
      return `<div class="consequence"><p>What a user would see: nothing, in this configuration. No continuation of this counterexample and no run of this variant from the start reaches damage a user sees (more or fewer pods than desired once settled, a node over its room, a pod on two nodes or started again after it ended, a chain that stops without agreeing; searched: ${e(searched)}). The rule still broke: ${variantSection} tells what it leads to in other configurations.</p></div>`;
  }
}

export function traceToHtml(trace: CounterexampleTrace, consequence: Consequence | null = null): string {
  const shown = consequence?.trace ?? trace;
  const damage = damageMarks(trace, consequence);
  const cycle = cycleSteps(trace);
  const property = properties.find((p) => p.id === trace.property);
  const variant = variants.find((v) => v.name === trace.check.chain.variant);
  const found =
    cycle !== null
      ? `${trace.kind}: a cycle of steps ${cycle.first} to ${cycle.last} that repeats forever, after ${trace.steps.length} steps in all`
      : `${trace.kind} violation after ${trace.steps.length} steps`;
  const config = configurationLines(trace).map(([label, value]) => {
    const note = label === 'variant' && variant !== undefined ? ` <span class="muted">(${e(variant.change)})</span>` : '';
    return `<dt>${e(label)}</dt><dd>${e(value)}${note}</dd>`;
  });
  const rows = shown.steps.map((step) => stepRow(step, cycle !== null && step.step >= cycle.first && step.step <= cycle.last, damage));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(`${trace.property}: ${trace.message}`)}</title>
<style>${css}</style>
</head>
<body>
<h1><span class="property">${e(trace.property)}</span> ${e(trace.message)}</h1>
<p class="lead">${e(found)}. Schema <code>${e(trace.schema)}</code>.</p>
${property === undefined ? '' : `<p class="lead"><strong>${e(property.title)}:</strong> ${e(property.text)}</p>`}
${consequence === null ? '' : consequenceHtml(trace, consequence)}
<h2>Configuration</h2>
<dl class="config">
${config.join('\n')}
</dl>
<h2>Sequence diagram</h2>
<div class="diagram">
${traceToSvg(shown, null, damage)}</div>
<h2>Steps</h2>
<table class="steps">
<thead><tr><th>step</th><th>action</th><th>delivered</th><th>sent</th><th>changed</th><th>violations</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
<h2>State after each step</h2>
<p class="lead">Every stage, the sandboxes on each node, the store and the messages in flight (epochs as incarnation.counter), after each step; a highlighted cell changed at that step.</p>
${stateTableOrReason(shown, damage)}
<details>
<summary>Mermaid source</summary>
<pre>${e(traceToMermaid(trace))}</pre>
</details>
</body>
</html>
`;
}
