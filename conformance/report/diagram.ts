/**
 * The message trace of a case as a self-contained SVG sequence diagram: one lifeline
 * per stage (the testee highlighted), one arrow per frame, faults and violations as
 * notes. Drawn from the RunLog, so it shows exactly what crossed the wire.
 */
import type { LogEntry, RunLog } from '../harness/run-log.js';

function escape(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c);
}

const laneWidth = 230;
const rowHeight = 22;
const top = 60;
const entriesMax = 600;

export function traceToSvg(log: RunLog, lanes: readonly string[], testee: string, title: string): string {
  const order = [...lanes.filter((l) => l !== 'suite'), 'suite'];
  const x = (party: string): number => 40 + laneWidth / 2 + Math.max(0, order.indexOf(party)) * laneWidth;
  const entries = log.entries.filter((e) => e.kind !== 'note' || e.summary.startsWith('VIOLATION') || e.summary.startsWith('stream opened')).slice(0, entriesMax);
  const width = 80 + order.length * laneWidth;
  const height = top + (entries.length + 2) * rowHeight;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace" font-size="11">`,
    '<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#333"/></marker></defs>',
    `<text x="10" y="18" font-size="13" font-weight="bold">${escape(title)}</text>`,
  ];
  for (const lane of order) {
    const cx = x(lane);
    out.push(`<rect x="${cx - 90}" y="28" width="180" height="22" rx="4" fill="${lane === testee ? '#ffe8a8' : '#e8eef8'}" stroke="#667"/>`);
    out.push(`<text x="${cx}" y="43" text-anchor="middle">${escape(lane === testee ? `${lane} (testee)` : lane)}</text>`);
    out.push(`<line x1="${cx}" y1="50" x2="${cx}" y2="${height - 10}" stroke="#bbb" stroke-dasharray="4 3"/>`);
  }
  entries.forEach((e: LogEntry, i) => {
    const y = top + i * rowHeight + 10;
    const label = `${e.t}ms ${e.stream === undefined ? '' : `s${e.stream} `}${e.summary}`.slice(0, 110);
    if (e.kind === 'frame' || e.kind === 'status') {
      const x1 = x(e.from);
      const x2 = x(e.to);
      const colour = e.kind === 'status' ? '#a33' : e.from === testee ? '#14a' : '#333';
      out.push(`<line x1="${x1}" y1="${y}" x2="${x2}" y2="${y}" stroke="${colour}" marker-end="url(#arrow)"/>`);
      out.push(`<text x="${Math.min(x1, x2) + 6}" y="${y - 3}" fill="${colour}">${escape(label)}</text>`);
    } else {
      const violation = e.summary.startsWith('VIOLATION');
      const colour = violation ? '#c00' : e.kind === 'fault' ? '#b60' : e.kind === 'step' ? '#060' : '#555';
      out.push(`<text x="12" y="${y + 4}" fill="${colour}" font-weight="${violation || e.kind === 'step' ? 'bold' : 'normal'}">${escape(`${e.kind === 'step' ? '== ' : ''}${label}`)}</text>`);
    }
  });
  if (log.entries.length > entriesMax) out.push(`<text x="12" y="${height - 4}">… ${log.entries.length - entriesMax} more entries in the NDJSON trace</text>`);
  out.push('</svg>');
  return out.join('\n');
}
