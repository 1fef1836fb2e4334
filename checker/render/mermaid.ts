/**
 * A counterexample trace as Mermaid `sequenceDiagram` text: one participant per stage in
 * chain order, one arrow per delivered message (dashed and marked `late` when stale), a
 * note for every other action, a red note over all participants where a property breaks,
 * and a `loop` block around a liveness cycle.
 */
import type { StageId } from '../../machines/index.js';
import type { CounterexampleTrace, TraceStep } from '../chain/trace.js';
import { cycleSteps, deliveryLabel, noteOf, propertyStep, traceStages } from './view.js';

/** Characters Mermaid reads as syntax inside text, as Mermaid entity codes (`#<code>;`). */
const mermaidSyntax = /[;#:<>&%"{}\\`|]/g;

/** Text safe anywhere Mermaid takes free text (labels, notes, aliases, block titles). */
export function mermaidText(text: string): string {
  return text.replace(/\s+/g, ' ').trim().replace(mermaidSyntax, (c) => `#${c.charCodeAt(0)};`);
}

/** A participant id per stage: letters, digits and `_` only, distinct. */
function participantIds(stages: readonly StageId[]): Map<StageId, string> {
  const ids = new Map<StageId, string>();
  const used = new Set<string>();
  for (const stage of stages) {
    const base = stage.replace(/[^A-Za-z0-9]/g, '_');
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}_${n}`;
    used.add(id);
    ids.set(stage, id);
  }
  return ids;
}

export function traceToMermaid(trace: CounterexampleTrace): string {
  const stages = traceStages(trace);
  const ids = participantIds(stages);
  const idOf = (stage: StageId): string => ids.get(stage) ?? 'unknown';
  const over = (covered: readonly StageId[]): string => [...new Set(covered.map(idOf))].join(',');
  const first = stages[0];
  const last = stages[stages.length - 1];
  const all = first === undefined || last === undefined ? '' : first === last ? idOf(first) : `${idOf(first)},${idOf(last)}`;
  const cycle = cycleSteps(trace);
  const lines: string[] = ['sequenceDiagram'];
  for (const stage of stages) lines.push(`  participant ${idOf(stage)} as ${mermaidText(stage)}`);
  let indent = '  ';
  const open = (header: string): void => {
    lines.push(`${indent}${header}`);
    indent += '  ';
  };
  const close = (): void => {
    indent = indent.slice(2);
    lines.push(`${indent}end`);
  };
  const propertyNote = (property: string, message: string): string => `${indent}Note over ${all}: ${mermaidText(`${property}: ${message}`)}`;

  const drawStep = (step: TraceStep): void => {
    const broken = step.violations.length > 0;
    if (broken) open('rect rgb(255, 226, 226)');
    const message = step.delivered;
    if (message !== null) {
      const arrow = message.stale ? '-->>' : '->>';
      lines.push(`${indent}${idOf(message.from)}${arrow}${idOf(message.to)}: ${mermaidText(`${step.step}. ${deliveryLabel(message)}`)}`);
    }
    const note = noteOf(step, stages);
    if (note !== null) lines.push(`${indent}Note over ${over(note.stages)}: ${mermaidText(`${step.step}. ${note.text}`)}`);
    for (const violation of step.violations) lines.push(propertyNote(violation.property, violation.message));
    if (broken) close();
  };

  for (const step of trace.steps) {
    if (cycle !== null && step.step === cycle.first) open(`loop ${mermaidText(`cycle: steps ${cycle.first} to ${cycle.last} repeat forever`)}`);
    drawStep(step);
    if (cycle !== null && step.step === cycle.last) close();
  }
  if (propertyStep(trace) === null) {
    // Liveness and deadlock: no single step breaks the property; the whole run does.
    open('rect rgb(255, 226, 226)');
    lines.push(propertyNote(trace.property, `${trace.kind}: ${trace.message}`));
    close();
  }
  return `${lines.join('\n')}\n`;
}
