/**
 * The site's benchmarks page: `docs/pages/benchmarks.md` (method, full tables, history,
 * changes measured and not kept), with the upscaling latency plot drawn by the
 * benchmark's own plot code from the recorded figures (`docs/pages/benchmarks-burst-figures.json`).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { latencyPlotSvg, type PlotSeries } from '../../bench/burst/plot.js';
import type { Page } from './layout.js';
import { renderMarkdown, type IdRegistry } from './markdown.js';

const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const benchmarksPagePath = 'benchmarks.html';
const plotMarker = '<!-- plot:burst-latency -->';
const modeColors: Record<string, string> = { direct: '#1f77b4', 'store-mediated': '#d62728' };

interface RecordedFigures {
  readonly title: string;
  readonly series: ReadonlyArray<{ readonly label: string; readonly mode: string; readonly functions: number; readonly points: PlotSeries['points'] }>;
}

function burstPlot(): string {
  const figures = JSON.parse(readFileSync(join(repositoryRoot, 'docs', 'pages', 'benchmarks-burst-figures.json'), 'utf8')) as RecordedFigures;
  const firstFunctionCount = figures.series[0]?.functions;
  const series: PlotSeries[] = figures.series.map((s) => ({
    label: s.label,
    color: modeColors[s.mode] ?? '#555',
    dashed: s.functions !== firstFunctionCount,
    points: s.points,
  }));
  return `<figure class="diagram">${latencyPlotSvg(figures.title, series)}<figcaption>Upscaling latency against burst size, both modes (the recorded run of the table below).</figcaption></figure>`;
}

/** The benchmarks page; it holds one diagram (the plot). */
export const benchmarksPageDiagrams = 1;

export function benchmarksPage(ids: IdRegistry): Page {
  const rendered = renderMarkdown(readFileSync(join(repositoryRoot, 'docs', 'pages', 'benchmarks.md'), 'utf8'), { page: benchmarksPagePath, ids });
  if (!rendered.html.includes(plotMarker)) throw new Error(`docs/pages/benchmarks.md lost its ${plotMarker} marker`);
  return { path: benchmarksPagePath, title: rendered.title ?? 'Benchmarks', body: rendered.html.replace(plotMarker, burstPlot()) };
}
