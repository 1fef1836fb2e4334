/** What `kd check` writes and prints of a counterexample (shared by the exhaustive search and swarm mode). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CounterexampleTrace } from '../checker/chain/trace.js';
import { traceToHtml, traceToMermaid, type Consequence } from '../checker/render/index.js';
import { describeEpoch } from '../machines/index.js';

export function writeCounterexample(dir: string, trace: CounterexampleTrace, consequence: Consequence): { json: string; mermaid: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${trace.check.name.replace(/[^a-z0-9-]/gi, '_')}-${trace.check.chain.variant}-${trace.property}`);
  const files = { json: `${base}.json`, mermaid: `${base}.mmd`, html: `${base}.html` };
  writeFileSync(files.json, `${JSON.stringify(trace, null, 1)}\n`);
  writeFileSync(files.mermaid, traceToMermaid(trace));
  writeFileSync(files.html, traceToHtml(trace, consequence));
  return files;
}

export function printTrace(trace: CounterexampleTrace, print: (line: string) => void): void {
  print(`${trace.kind === 'safety' ? 'Shortest counterexample' : 'Counterexample'} (${trace.steps.length} steps):`);
  for (const step of trace.steps) {
    const cycle = trace.cycleStartStep === step.step ? '  <- cycle starts here' : '';
    print(`  ${String(step.step).padStart(3)}. ${step.description}${step.delivered !== null ? `: ${step.delivered.label}, epoch ${describeEpoch(step.delivered.epoch)}` : ''}${cycle}`);
    for (const change of step.changed) print(`         ${change.stage}: ${change.summary}`);
    for (const v of step.violations) print(`         !! ${v.property}: ${v.message}`);
  }
}
