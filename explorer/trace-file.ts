/**
 * `kd explore --trace FILE`: a counterexample written by `kd check` (schema
 * `kubedirect.counterexample/v1`), checked and resolved against the model it names: each
 * step's action is found among the actions enabled at that point, so the trace opens as a
 * path of action indices even if the order of enabled actions changed since it was written.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { checkConfigProblems } from '../checker/chain/config-file.js';
import { traceSchema, type CounterexampleTrace } from '../checker/chain/trace.js';
import type { ChainModel } from '../checker/chain/model.js';
import { traceFileBytesMax } from './limits.js';
import type { TraceInfo } from './view.js';

/** A file that is not a usable counterexample: the message says what is wrong. */
export class TraceFileError extends Error {
  override readonly name = 'TraceFileError';
}

function isTraceStep(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const step = value as { action?: unknown; description?: unknown; violations?: unknown };
  const violationsOk = Array.isArray(step.violations) && step.violations.every((v: unknown) => typeof v === 'object' && v !== null && typeof (v as { property?: unknown }).property === 'string');
  return typeof step.action === 'object' && step.action !== null && typeof step.description === 'string' && violationsOk;
}

/** Reads and checks a counterexample file (not yet resolved against a model). */
export function readTraceFile(file: string): CounterexampleTrace {
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > traceFileBytesMax) throw new TraceFileError(`${file} has ${size} bytes; a counterexample file has at most ${traceFileBytesMax} (traceFileBytesMax)`);
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof TraceFileError) throw error;
    throw new TraceFileError(`cannot read ${file}: ${(error as Error).message}`);
  }
  let trace: Partial<CounterexampleTrace>;
  try {
    trace = JSON.parse(text) as Partial<CounterexampleTrace>;
  } catch (error) {
    throw new TraceFileError(`${file} is not JSON: ${(error as Error).message}`);
  }
  if (typeof trace !== 'object' || trace === null || trace.schema !== traceSchema || !Array.isArray(trace.steps) || typeof trace.check !== 'object' || trace.check === null) {
    throw new TraceFileError(`${file} is not a counterexample of kd check (schema ${traceSchema}); write one with kd check --variant NAME --out DIR`);
  }
  const badStep = trace.steps.findIndex((s: unknown) => !isTraceStep(s));
  if (badStep >= 0) throw new TraceFileError(`${file}: step ${badStep + 1} is not a step of a counterexample (it needs an action, a description and a list of violations, each with a property)`);
  if (!Array.isArray(trace.path)) throw new TraceFileError(`${file}: "path" must be a list of action indices`);
  let problems: string[];
  try {
    problems = checkConfigProblems(trace.check);
  } catch (error) {
    problems = [`it does not have the shape of a check configuration (${(error as Error).message})`];
  }
  if (problems.length > 0) throw new TraceFileError(`${file}: the configuration in the trace is invalid: ${problems.join('; ')}`);
  return trace as CounterexampleTrace;
}

/** The trace as a path of the model's action indices, with its steps described. */
export function resolveTrace(file: string, trace: CounterexampleTrace, model: ChainModel): TraceInfo {
  const path: number[] = [];
  let state = model.initialState();
  trace.steps.forEach((step, i) => {
    const actions = model.actions(state);
    const wanted = JSON.stringify(step.action);
    const recorded = trace.path[i];
    const index = recorded !== undefined && JSON.stringify(actions[recorded]) === wanted ? recorded : actions.findIndex((a) => JSON.stringify(a) === wanted);
    if (index < 0) {
      throw new TraceFileError(
        `${file}: step ${i + 1} (${step.description}) is not enabled in the model at that point; the machines may have changed since the trace was written: run kd check again`,
      );
    }
    path.push(index);
    state = model.next(state, actions[index] as (typeof actions)[number]).state;
  });
  return {
    file: basename(file),
    property: trace.property,
    kind: trace.kind,
    message: trace.message,
    path,
    steps: trace.steps.map((s) => ({ step: s.step, description: s.description, violations: s.violations.map((v) => v.property) })),
    cycleStartStep: trace.cycleStartStep ?? null,
  };
}
