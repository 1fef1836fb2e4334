/**
 * A counterexample trace as one self-contained HTML page: the broken property, the
 * configuration, the SVG sequence diagram inline, a table of the steps and the Mermaid
 * text. Inline CSS only; no scripts, fonts or images from elsewhere.
 */
import { properties, variants } from '../../spec/index.js';
import type { CounterexampleTrace, TraceMessage, TraceStep } from '../chain/trace.js';
import { traceToMermaid } from './mermaid.js';
import { traceToSvg } from './svg.js';
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

function stepRow(step: TraceStep, inCycle: boolean): string {
  const classes = ['step', ...(inCycle ? ['cycle'] : []), ...(step.violations.length > 0 ? ['broken'] : [])];
  const cells = [
    `<td class="num">${step.step}</td>`,
    `<td class="mono">${e(step.description)}</td>`,
    `<td>${step.delivered === null ? '' : messageCell(step.delivered)}</td>`,
    `<td>${list(step.sent.map(messageCell))}</td>`,
    `<td>${list(step.changed.map((c) => `<code>${e(c.stage)}</code> <span class="mono">${e(c.summary)}</span>`))}</td>`,
    `<td>${list(step.violations.map((v) => `<span class="violation"><strong>${e(v.property)}</strong> ${e(v.message)}</span>`))}</td>`,
  ];
  return `<tr class="${classes.join(' ')}" id="step-${step.step}">${cells.join('')}</tr>`;
}

export function traceToHtml(trace: CounterexampleTrace): string {
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
  const rows = trace.steps.map((step) => stepRow(step, cycle !== null && step.step >= cycle.first && step.step <= cycle.last));
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
<h2>Configuration</h2>
<dl class="config">
${config.join('\n')}
</dl>
<h2>Sequence diagram</h2>
<div class="diagram">
${traceToSvg(trace)}</div>
<h2>Steps</h2>
<table class="steps">
<thead><tr><th>step</th><th>action</th><th>delivered</th><th>sent</th><th>changed</th><th>violations</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
<details>
<summary>Mermaid source</summary>
<pre>${e(traceToMermaid(trace))}</pre>
</details>
</body>
</html>
`;
}
