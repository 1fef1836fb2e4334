/**
 * A counterexample trace as a self-contained SVG sequence diagram, laid out here without
 * any library: one lifeline per stage in chain order, one row per step with the step
 * number in a left gutter, an arrow per delivered message (dashed and grey when stale),
 * note boxes on lifelines for other actions, a red band with the property where it breaks,
 * and a bracket on the right around a liveness cycle.
 */
import type { StageId } from '../../machines/index.js';
import type { CounterexampleTrace, TraceStep } from '../chain/trace.js';
import { cycleSteps, deliveryLabel, escapeMarkup, noteOf, propertyStep, traceStages, type NoteKind, type TraceNote } from './view.js';

const fontSizePx = 11;
/** Advance of one character of the monospace font at `fontSizePx`. */
const charWidthPx = 6.6;
const titleCharWidthPx = 7.9;
const marginPx = 12;
const gutterWidthPx = 40;
const laneGapMinPx = 130;
const laneGapMaxPx = 380;
const headerHeightPx = 26;
const rowHeightPx = 28;
/** Offset of an arrow below the top of its row; its label sits above it. */
const arrowOffsetPx = 19;
const bandLineHeightPx = 15;
const titleLineHeightPx = 17;
const bracketWidthPx = 34;
const noteHeightPx = 17;
/** Long traces repeat the header boxes every this many rows, unless few rows follow. */
const headerEveryRows = 40;
const headerTailRowsMin = 10;

const noteColours: Readonly<Record<NoteKind, { readonly fill: string; readonly stroke: string }>> = {
  fault: { fill: '#fde0c5', stroke: '#d2691e' },
  scale: { fill: '#dde8fb', stroke: '#3f6fc0' },
  connect: { fill: '#e4f3dc', stroke: '#4f8f33' },
  sandbox: { fill: '#ece2f8', stroke: '#8252bd' },
  drop: { fill: '#ececec', stroke: '#8a8a8a' },
  other: { fill: '#f4f4f4', stroke: '#8a8a8a' },
};

function textWidth(text: string, charWidth = charWidthPx): number {
  return [...text].length * charWidth;
}

/** Cuts text to fit a width, ending it with an ellipsis when cut. */
function fit(text: string, widthPx: number, charWidth = charWidthPx): string {
  const chars = [...text];
  const room = Math.max(1, Math.floor(widthPx / charWidth));
  return chars.length <= room ? text : `${chars.slice(0, room - 1).join('')}…`;
}

/** Splits text at spaces into lines of at most `room` characters (longer words are cut). */
function wrap(text: string, room: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const candidate = line === '' ? word : `${line} ${word}`;
    if ([...candidate].length <= room) line = candidate;
    else {
      if (line !== '') lines.push(line);
      line = [...word].length <= room ? word : fit(word, room, 1);
    }
  }
  if (line !== '') lines.push(line);
  return lines.length > 0 ? lines : [''];
}

const n = (value: number): string => String(Math.round(value * 10) / 10);

interface Row {
  readonly step: TraceStep;
  readonly top: number;
  readonly height: number;
  readonly bandLines: readonly BandLine[];
  /** Lines of the damage band (what a user sees), below the violation band. */
  readonly harmLines: readonly BandLine[];
  /** A divider above this row: the counterexample ended at the step before, the run goes on. */
  readonly continuesHere: boolean;
}

/** A line of a violation band: the property ID (bold) on the first line of each violation. */
interface BandLine {
  readonly property: string;
  readonly text: string;
}

function bandLines(violations: ReadonlyArray<{ readonly property: string; readonly message: string }>, room: number): BandLine[] {
  return violations.flatMap((v) =>
    wrap(`${v.property}: ${v.message}`, room).map((line, i) =>
      i === 0 && line.startsWith(`${v.property}:`) ? { property: `${v.property}:`, text: line.slice(v.property.length + 1) } : { property: '', text: line },
    ),
  );
}

/** Lane gaps: wide enough for the headers and for every arrow label between its two ends. */
function laneGaps(trace: CounterexampleTrace, stages: readonly StageId[]): number[] {
  const gaps = stages.slice(1).map((stage, i) => {
    const left = stages[i] ?? '';
    return Math.max(laneGapMinPx, (textWidth(left) + textWidth(stage)) / 2 + 32);
  });
  const spans = trace.steps
    .flatMap((s) => (s.delivered === null ? [] : [s.delivered]))
    .map((m) => {
      const a = stages.indexOf(m.from);
      const b = stages.indexOf(m.to);
      return { lo: Math.min(a, b), hi: Math.max(a, b), need: textWidth(deliveryLabel(m)) + 24 };
    })
    .filter((s) => s.lo >= 0 && s.hi > s.lo)
    .sort((x, y) => x.hi - x.lo - (y.hi - y.lo));
  for (const span of spans) {
    const indices = Array.from({ length: span.hi - span.lo }, (_, k) => span.lo + k);
    const have = indices.reduce((sum, i) => sum + (gaps[i] ?? 0), 0);
    if (have >= span.need) continue;
    const extra = (span.need - have) / indices.length;
    for (const i of indices) gaps[i] = Math.min(laneGapMaxPx, (gaps[i] ?? 0) + extra);
  }
  return gaps;
}

/** A run drawn as a figure rather than as a counterexample: its own title and subtitle, and no band for a property it did not break. */
export interface FigureOptions {
  readonly title: string;
  readonly subtitle: string;
}

/**
 * Where a counterexample run on to its consequence (consequence.ts) shows the damage: the
 * step, the damage in words, and the last step of the counterexample itself, after which
 * a divider marks that the run goes on (null when the run is not a continuation).
 */
export interface DamageMarks {
  readonly harmStep: number;
  readonly harms: readonly string[];
  readonly counterexampleLastStep: number | null;
}

const harmLabel = 'USER SEES';
const dividerHeightPx = 18;

/** Everything the figure's parts are drawn from: lanes, rows and where each part goes. */
interface SvgLayout {
  readonly stages: readonly StageId[];
  readonly cycle: ReturnType<typeof cycleSteps>;
  readonly notes: ReadonlyMap<number, TraceNote>;
  readonly xOf: (stage: StageId) => number;
  readonly width: number;
  readonly height: number;
  readonly bracketX: number;
  readonly bandLeft: number;
  readonly titleLines: readonly string[];
  readonly subtitle: string;
  readonly headerTop: number;
  readonly rowsTop: number;
  /** Where a row of header boxes goes: the top, every `headerEveryRows` rows of a long trace, the bottom. */
  readonly headerTops: readonly number[];
  readonly rows: readonly Row[];
  readonly loopBackTop: number;
  readonly finalBandLines: readonly BandLine[];
  readonly finalBandTop: number;
  readonly footerTop: number;
}

/** The lanes' x positions and the figure's width: each lane as far from the next as its labels need. */
function horizontalLayout(trace: CounterexampleTrace, stages: readonly StageId[], notes: ReadonlyMap<number, TraceNote>, cycle: ReturnType<typeof cycleSteps>) {
  const gaps = laneGaps(trace, stages);
  const halfHeader = (stage: StageId | undefined): number => (stage === undefined ? 0 : textWidth(stage) / 2 + 10);
  const halfNote = (lane: number): number =>
    Math.max(0, ...[...notes.values()].filter((note) => note.stages.length === 1 && stages.indexOf(note.stages[0] ?? '') === lane).map((note) => textWidth(note.short) / 2 + 6));
  const lastLane = stages.length - 1;
  const leftExtent = Math.max(halfHeader(stages[0]), halfNote(0));
  const rightExtent = Math.max(halfHeader(stages[lastLane]), halfNote(lastLane));
  const laneX: number[] = [marginPx + gutterWidthPx + leftExtent + 8];
  for (const gap of gaps) laneX.push((laneX[laneX.length - 1] ?? 0) + gap);
  const xOf = (stage: StageId): number => laneX[stages.indexOf(stage)] ?? 0;
  const lanesRight = (laneX[lastLane] ?? 0) + rightExtent;
  const bracketX = lanesRight + 16;
  const width = Math.max(560, (cycle !== null ? bracketX + bracketWidthPx : lanesRight + 8) + marginPx);
  return { xOf, bracketX, width };
}

/** The rows from `y` down, with header rows repeated on long traces and room for each row's bands. */
function rowsFrom(trace: CounterexampleTrace, damage: DamageMarks | null, bandRoom: number, top: number): { rows: Row[]; headerTops: number[]; bottom: number } {
  let y = top;
  const headerTops: number[] = [];
  const rows: Row[] = trace.steps.map((step, i) => {
    if (i > 0 && i % headerEveryRows === 0 && trace.steps.length - i >= headerTailRowsMin) {
      headerTops.push(y + 4);
      y += headerHeightPx + 8;
    }
    const continuesHere = damage !== null && damage.counterexampleLastStep !== null && step.step === damage.counterexampleLastStep + 1;
    if (continuesHere) y += dividerHeightPx;
    const lines = bandLines(step.violations, bandRoom);
    const harmLines = damage !== null && damage.harmStep === step.step ? bandLines(damage.harms.map((text) => ({ property: harmLabel, message: text })), bandRoom) : [];
    const bandsHeight = (lines.length > 0 ? lines.length * bandLineHeightPx + 6 : 0) + (harmLines.length > 0 ? harmLines.length * bandLineHeightPx + 6 : 0);
    const row = { step, top: y, height: rowHeightPx + bandsHeight, bandLines: lines, harmLines, continuesHere };
    y += row.height;
    return row;
  });
  return { rows, headerTops, bottom: y };
}

function layoutOf(trace: CounterexampleTrace, figure: FigureOptions | null, damage: DamageMarks | null): SvgLayout {
  const stages = traceStages(trace);
  const cycle = cycleSteps(trace);
  const notes = new Map<number, TraceNote>();
  for (const step of trace.steps) {
    const note = noteOf(step, stages);
    if (note !== null) notes.set(step.step, note);
  }
  const { xOf, bracketX, width } = horizontalLayout(trace, stages, notes, cycle);
  const bandLeft = marginPx + gutterWidthPx + 4;
  const bandRoom = Math.floor((width - bandLeft - marginPx - 8) / charWidthPx);
  const titleRoom = Math.floor((width - 2 * marginPx) / titleCharWidthPx);
  const titleLines = wrap(figure?.title ?? `${trace.property} (${trace.kind}): ${trace.message}`, titleRoom);
  const check = trace.check;
  const subtitle = fit(
    figure?.subtitle ??
      `preset ${check.name} · variant ${check.chain.variant} · nodes ${check.chain.nodes.map((node) => node.name).join(', ')} · ${trace.steps.length} steps`,
    width - 2 * marginPx,
  );
  const headerTop = marginPx + titleLineHeightPx * titleLines.length + titleLineHeightPx + 6;
  const rowsTop = headerTop + headerHeightPx + 8;
  const { rows, headerTops, bottom } = rowsFrom(trace, damage, bandRoom, rowsTop);
  let y = bottom;
  const loopBackTop = y;
  if (cycle !== null) y += rowHeightPx;
  const finalBandLines = propertyStep(trace) === null && figure === null ? bandLines([{ property: trace.property, message: trace.message }], bandRoom) : [];
  const finalBandTop = y;
  if (finalBandLines.length > 0) y += finalBandLines.length * bandLineHeightPx + 10;
  const footerTop = y + 8;
  const height = footerTop + headerHeightPx + marginPx;
  return {
    stages, cycle, notes, xOf, width, height, bracketX, bandLeft, titleLines, subtitle, headerTop, rowsTop,
    headerTops: [headerTop, ...headerTops, footerTop], rows, loopBackTop, finalBandLines, finalBandTop, footerTop,
  };
}

const svgStyle: readonly string[] = [
  '<style>',
  "text { font-family: 'DejaVu Sans Mono', Menlo, Consolas, ui-monospace, monospace; fill: #222; }",
  '.title { font-size: 13px; font-weight: bold; }',
  '.subtitle { fill: #666; }',
  '.lifeline { stroke: #b8bcc4; stroke-width: 1; stroke-dasharray: 4 3; }',
  '.header { fill: #f0f3f8; stroke: #5a6170; stroke-width: 1; }',
  '.header-text { font-weight: bold; }',
  '.msg { stroke: #222; stroke-width: 1.4; }',
  '.msg.stale { stroke: #8c8c8c; stroke-dasharray: 5 3; }',
  '.label-bg { fill: #ffffff; fill-opacity: 0.85; }',
  '.label.stale { fill: #777; font-style: italic; }',
  '.gutter { fill: #777; }',
  '.band { fill: #fde2e2; stroke: #cc2222; stroke-width: 1; }',
  '.band-text { fill: #a40000; }',
  '.band.harm { fill: #ffe9c7; stroke: #b35900; }',
  '.band-text.harm { fill: #7a3d00; }',
  '.divider { stroke: #5a6170; stroke-width: 1.2; stroke-dasharray: 8 4; }',
  '.divider-text { fill: #444; font-style: italic; }',
  '.cycle-tint { fill: #3b6fd6; fill-opacity: 0.07; }',
  '.cycle-bracket { fill: none; stroke: #3b6fd6; stroke-width: 2; }',
  '.cycle-text { fill: #2d57a8; font-weight: bold; }',
  '</style>',
  '<defs>',
  '<marker id="arrowhead" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#222"/></marker>',
  '<marker id="arrowhead-stale" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#8c8c8c"/></marker>',
  '</defs>',
];

function renderHead(layout: SvgLayout, trace: CounterexampleTrace, figure: FigureOptions | null, out: string[]): void {
  const { width, height } = layout;
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${n(width)}" height="${n(height)}" viewBox="0 0 ${n(width)} ${n(height)}" font-size="${fontSizePx}">`,
    `<title>${escapeMarkup(figure?.title ?? `${trace.property}: ${trace.message}`)}</title>`,
    ...svgStyle,
    `<rect x="0" y="0" width="${n(width)}" height="${n(height)}" fill="#ffffff"/>`,
  );
  layout.titleLines.forEach((line, i) => {
    out.push(`<text class="title" x="${marginPx}" y="${n(marginPx + titleLineHeightPx * (i + 1) - 4)}">${escapeMarkup(line)}</text>`);
  });
  out.push(`<text class="subtitle" x="${marginPx}" y="${n(marginPx + titleLineHeightPx * (layout.titleLines.length + 1) - 4)}">${escapeMarkup(layout.subtitle)}</text>`);
}

/** Row backgrounds with a tooltip each, then the cycle's tint and bracket. */
function renderRowBackgrounds(layout: SvgLayout, out: string[]): void {
  const { width, rows, cycle, bracketX, loopBackTop } = layout;
  for (const row of rows) {
    const fill = row.step.step % 2 === 0 ? '#f4f5f7' : '#ffffff';
    const changed = row.step.changed.map((c) => `${c.stage}: ${c.summary}`).join('\n');
    const tooltip = `${row.step.step}. ${row.step.description}${changed === '' ? '' : `\n${changed}`}`;
    out.push(`<rect x="${marginPx}" y="${n(row.top)}" width="${n(width - 2 * marginPx)}" height="${n(row.height)}" fill="${fill}"><title>${escapeMarkup(tooltip)}</title></rect>`);
  }
  if (cycle !== null) {
    const first = rows.find((r) => r.step.step === cycle.first);
    if (first !== undefined) {
      const cycleBottom = loopBackTop + rowHeightPx;
      out.push(`<rect class="cycle-tint" x="${marginPx}" y="${n(first.top)}" width="${n(bracketX - marginPx - 4)}" height="${n(cycleBottom - first.top)}"/>`);
      out.push(
        `<path class="cycle-bracket" d="M${n(bracketX - 8)},${n(first.top + 3)} H${n(bracketX)} V${n(cycleBottom - 3)} H${n(bracketX - 8)}"/>`,
        `<text class="cycle-text" transform="translate(${n(bracketX + 14)},${n((first.top + cycleBottom) / 2)}) rotate(90)" text-anchor="middle">${escapeMarkup(fit(`cycle ${cycle.first}–${cycle.last}`, cycleBottom - first.top))}</text>`,
      );
      out.push(
        `<text class="cycle-text" x="${n(bracketX - 14)}" y="${n(loopBackTop + arrowOffsetPx - 2)}" text-anchor="end">${escapeMarkup(`↑ back to step ${cycle.first}: the cycle repeats forever`)}</text>`,
      );
    }
  }
}

/** The violation bands, the damage bands and the divider where the counterexample ends. */
function renderBands(layout: SvgLayout, out: string[]): void {
  const { width, rows, bandLeft, finalBandLines, finalBandTop } = layout;
  const band = (top: number, bandHeight: number, lines: readonly BandLine[], textTop: number, kind = ''): void => {
    const harm = kind === '' ? '' : ` ${kind}`;
    out.push(`<rect class="band${harm}" x="${marginPx}" y="${n(top)}" width="${n(width - 2 * marginPx)}" height="${n(bandHeight)}"/>`);
    lines.forEach((line, i) => {
      const head = line.property === '' ? '' : `<tspan font-weight="bold">${escapeMarkup(line.property)}</tspan>`;
      out.push(`<text class="band-text${harm}" x="${n(bandLeft)}" y="${n(textTop + bandLineHeightPx * (i + 1) - 3)}">${head}${escapeMarkup(line.text)}</text>`);
    });
  };
  for (const row of rows) {
    const violationHeight = row.bandLines.length > 0 ? row.bandLines.length * bandLineHeightPx + 6 : 0;
    if (row.bandLines.length > 0) band(row.top, rowHeightPx + violationHeight, row.bandLines, row.top + rowHeightPx);
    if (row.harmLines.length > 0) {
      const harmTop = row.top + (violationHeight > 0 ? rowHeightPx + violationHeight : 0);
      band(harmTop, row.top + row.height - harmTop, row.harmLines, violationHeight > 0 ? harmTop : row.top + rowHeightPx, 'harm');
    }
    if (row.continuesHere) {
      const lineY = row.top - 2;
      out.push(
        `<line class="divider" x1="${marginPx}" y1="${n(lineY)}" x2="${n(width - marginPx)}" y2="${n(lineY)}"/>`,
        `<text class="divider-text" x="${n(bandLeft)}" y="${n(lineY - 4)}">${escapeMarkup(fit('the counterexample ends above; below, the same run goes on with the machines’ own steps', width - bandLeft - marginPx))}</text>`,
      );
    }
  }
  if (finalBandLines.length > 0) band(finalBandTop, finalBandLines.length * bandLineHeightPx + 10, finalBandLines, finalBandTop + 4);
}

/** Lifelines with a header box at the top, the bottom, and in between on long traces. */
function renderLifelines(layout: SvgLayout, out: string[]): void {
  const { stages, xOf, headerTop, headerTops, footerTop } = layout;
  for (const stage of stages) {
    const x = xOf(stage);
    out.push(`<line class="lifeline" x1="${n(x)}" y1="${n(headerTop + headerHeightPx)}" x2="${n(x)}" y2="${n(footerTop)}"/>`);
    for (const top of headerTops) {
      const boxWidth = textWidth(stage) + 16;
      out.push(
        `<rect class="header" x="${n(x - boxWidth / 2)}" y="${n(top)}" width="${n(boxWidth)}" height="${headerHeightPx}" rx="4"/>`,
        `<text class="header-text" x="${n(x)}" y="${n(top + headerHeightPx / 2 + 4)}" text-anchor="middle">${escapeMarkup(stage)}</text>`,
      );
    }
  }
}

/** Each step: its number in the gutter, then its arrow (a delivery) or its note. */
function renderSteps(layout: SvgLayout, out: string[]): void {
  const { rows, xOf, notes, bandLeft, rowsTop } = layout;
  for (const row of rows) {
    const step = row.step;
    const arrowY = row.top + arrowOffsetPx;
    out.push(`<text class="gutter" x="${n(marginPx + gutterWidthPx - 6)}" y="${n(row.top + rowHeightPx / 2 + 4)}" text-anchor="end">${step.step}</text>`);
    const message = step.delivered;
    if (message !== null) {
      const x1 = xOf(message.from);
      const x2 = xOf(message.to);
      const stale = message.stale ? ' stale' : '';
      const label = deliveryLabel(message);
      const shown = fit(label, Math.abs(x2 - x1) - 12);
      const labelWidth = textWidth(shown) + 6;
      const mid = (x1 + x2) / 2;
      out.push(
        `<line class="msg${stale}" x1="${n(x1)}" y1="${n(arrowY)}" x2="${n(x2)}" y2="${n(arrowY)}" marker-end="url(#${message.stale ? 'arrowhead-stale' : 'arrowhead'})"/>`,
        `<rect class="label-bg" x="${n(mid - labelWidth / 2)}" y="${n(arrowY - 15)}" width="${n(labelWidth)}" height="13"/>`,
        `<text class="label${stale}" x="${n(mid)}" y="${n(arrowY - 5)}" text-anchor="middle">${escapeMarkup(shown)}<title>${escapeMarkup(`${step.step}. ${message.from} → ${message.to}: ${label}`)}</title></text>`,
      );
    }
    const note = notes.get(step.step);
    if (note !== null && note !== undefined) {
      const xs = note.stages.map(xOf);
      const textPx = textWidth(note.short) + 10;
      const left = Math.min(...xs, (Math.min(...xs) + Math.max(...xs)) / 2 - textPx / 2);
      const right = Math.max(...xs, (Math.min(...xs) + Math.max(...xs)) / 2 + textPx / 2);
      const boxLeft = xs.length > 1 ? left - 8 : left;
      const boxWidth = (xs.length > 1 ? right + 8 : right) - boxLeft;
      const colour = noteColours[note.kind];
      const top = row.top + (rowHeightPx - noteHeightPx) / 2;
      out.push(
        `<rect class="note ${note.kind}" x="${n(boxLeft)}" y="${n(top)}" width="${n(boxWidth)}" height="${noteHeightPx}" rx="3" fill="${colour.fill}" stroke="${colour.stroke}"><title>${escapeMarkup(`${step.step}. ${note.text}`)}</title></rect>`,
        `<text x="${n(boxLeft + boxWidth / 2)}" y="${n(top + noteHeightPx / 2 + 4)}" text-anchor="middle">${escapeMarkup(note.short)}</text>`,
      );
    }
  }
  if (rows.length === 0) out.push(`<text class="subtitle" x="${n(bandLeft)}" y="${n(rowsTop + 16)}">(no steps)</text>`);
}

export function traceToSvg(trace: CounterexampleTrace, figure: FigureOptions | null = null, damage: DamageMarks | null = null): string {
  const layout = layoutOf(trace, figure, damage);
  const out: string[] = [];
  renderHead(layout, trace, figure, out);
  renderRowBackgrounds(layout, out);
  renderBands(layout, out);
  renderLifelines(layout, out);
  renderSteps(layout, out);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
