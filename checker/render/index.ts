/** Renderers of counterexample traces: Mermaid text, a self-contained SVG and an HTML report. */
export { traceToMermaid } from './mermaid.js';
export { traceToSvg, type FigureOptions } from './svg.js';
export { traceToHtml } from './html.js';
