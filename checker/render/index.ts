/** Renderers of counterexample traces: Mermaid text, a self-contained SVG and an HTML report, with the damage a run leads to. */
export { traceToMermaid } from './mermaid.js';
export { traceToSvg, type FigureOptions, type DamageMarks } from './svg.js';
export { traceToHtml } from './html.js';
export { consequenceOf, type Consequence, type Harm, type HarmKind } from './consequence.js';
export { stateTable, type StateTable } from './full-state.js';
