/**
 * A hand-written SVG: end-to-end upscaling latency (median, with the p90-p100 range as a
 * whisker) against burst size, both axes logarithmic, one line per mode and function count.
 */
export interface PlotSeries {
  readonly label: string;
  readonly color: string;
  readonly dashed: boolean;
  readonly points: ReadonlyArray<{ readonly size: number; readonly p50Ms: number; readonly p100Ms: number }>;
}

const width = 760;
const height = 480;
const margin = { left: 80, right: 220, top: 40, bottom: 60 };

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function decadesOf(min: number, max: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) out.push(10 ** e);
  return out;
}

export function latencyPlotSvg(title: string, series: readonly PlotSeries[]): string {
  const all = series.flatMap((s) => s.points);
  const sizes = all.map((p) => p.size);
  const latencies = all.flatMap((p) => [p.p50Ms, p.p100Ms]).filter((v) => v > 0);
  const xTicks = decadesOf(Math.min(...sizes, 100), Math.max(...sizes, 1000));
  const yTicks = decadesOf(Math.min(...latencies, 10), Math.max(...latencies, 1000));
  const [x0, x1] = [Math.log10(xTicks[0] ?? 10), Math.log10(xTicks[xTicks.length - 1] ?? 10_000)];
  const [y0, y1] = [Math.log10(yTicks[0] ?? 1), Math.log10(yTicks[yTicks.length - 1] ?? 100_000)];
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const x = (v: number): number => margin.left + ((Math.log10(v) - x0) / (x1 - x0 || 1)) * plotW;
  const y = (v: number): number => margin.top + plotH - ((Math.log10(Math.max(v, 1e-3)) - y0) / (y1 - y0 || 1)) * plotH;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${margin.left}" y="24" font-size="14" font-weight="bold">${escape(title)}</text>`);
  for (const t of xTicks) {
    parts.push(`<line x1="${x(t)}" y1="${margin.top}" x2="${x(t)}" y2="${margin.top + plotH}" stroke="#ddd"/>`);
    parts.push(`<text x="${x(t)}" y="${margin.top + plotH + 18}" text-anchor="middle">${t.toLocaleString('en-US')}</text>`);
  }
  for (const t of yTicks) {
    parts.push(`<line x1="${margin.left}" y1="${y(t)}" x2="${margin.left + plotW}" y2="${y(t)}" stroke="#ddd"/>`);
    const label = t >= 1000 ? `${t / 1000} s` : `${t} ms`;
    parts.push(`<text x="${margin.left - 8}" y="${y(t) + 4}" text-anchor="end">${label}</text>`);
  }
  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${margin.left + plotW / 2}" y="${height - 16}" text-anchor="middle">burst size (pods, log scale)</text>`);
  parts.push(`<text transform="translate(18 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">scale request to last pod running (log scale)</text>`);
  series.forEach((s, i) => {
    const points = [...s.points].sort((a, b) => a.size - b.size);
    if (points.length > 0) {
      const path = points.map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p.size).toFixed(1)},${y(p.p50Ms).toFixed(1)}`).join(' ');
      parts.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
      for (const p of points) {
        parts.push(`<line x1="${x(p.size)}" y1="${y(p.p50Ms)}" x2="${x(p.size)}" y2="${y(p.p100Ms)}" stroke="${s.color}"/>`);
        parts.push(`<circle cx="${x(p.size)}" cy="${y(p.p50Ms)}" r="3.5" fill="${s.color}"/>`);
      }
    }
    const ly = margin.top + 10 + i * 20;
    const lx = margin.left + plotW + 16;
    parts.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 28}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    parts.push(`<text x="${lx + 34}" y="${ly + 4}">${escape(s.label)}</text>`);
  });
  parts.push(`<text x="${margin.left + plotW + 16}" y="${margin.top + 10 + series.length * 20 + 10}" fill="#555">dot: median; whisker: to p100</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
