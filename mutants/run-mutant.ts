/**
 * Runs one scratch copy through the tools: `kd check` of the copy itself (every stage's
 * machines mutated alike), and `kd conformance` of the original repository (its peers are
 * the correct machines) against the copy's runtime as the testee, which is `kd
 * conformance --role R --reference` with the reference taken from the copy.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Results } from '../conformance/report/results.js';
import type { ConformanceRole } from './catalogue.js';
import { repositoryRoot } from './scratch.js';

export interface ProcessOutcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
  readonly timedOut: boolean;
}

/** Process groups of the children running now: killed when the tool itself is stopped. */
export const runningChildren = new Set<number>();

/** Runs `node args...` in `cwd`; killed (SIGKILL to its process group) after `timeoutMs`. */
export function runNode(args: readonly string[], cwd: string, timeoutMs: number): Promise<ProcessOutcome> {
  const started = performance.now();
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, args, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    if (child.pid !== undefined) runningChildren.add(child.pid);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-20_000)));
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (child.pid !== undefined) runningChildren.delete(child.pid);
      resolvePromise({ code, stdout, stderr, seconds: (performance.now() - started) / 1000, timedOut });
    });
  });
}

/** What one `kd check` run said about a copy. */
export interface CheckerOutcome {
  /** The preset (and bound) as given. */
  readonly check: string;
  readonly verdict: 'verified' | 'violated' | 'bound' | 'internal-error' | 'failed-to-run';
  readonly property?: string;
  readonly steps?: number;
  /** The violation's or the internal error's message. */
  readonly message?: string;
  readonly seconds: number;
}

export interface CheckRequest {
  readonly label: string;
  readonly args: readonly string[];
  /** Its own time bound, where it differs from the tool's --check-seconds (swarm mode). */
  readonly timeoutMs?: number;
}

/** The line of stderr that says what went wrong: the first naming an error, else the last. */
function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  const named = lines.find((l) => /internal error|InvariantViolation|Error:/.test(l));
  return (named ?? lines[lines.length - 1] ?? '').trim().slice(0, 300);
}

/** What `kd check --json` prints: one search's summary, or swarm mode's (DEC-51). */
interface CheckSummary {
  readonly verdict?: string;
  readonly violatedProperty?: string;
  readonly violation?: { readonly message?: string; readonly steps?: number };
  readonly mode?: 'swarm';
  readonly failure?: { readonly index: number; readonly property: string; readonly message: string; readonly steps: number } | null;
}

export async function runChecker(copy: string, request: CheckRequest, timeoutMs: number): Promise<CheckerOutcome> {
  const boundMs = request.timeoutMs ?? timeoutMs;
  const run = await runNode(['bin/kd.mjs', 'check', ...request.args, '--json', '--out', join(copy, 'out', 'counterexamples')], copy, boundMs);
  const base = { check: request.label, seconds: run.seconds };
  if (run.timedOut) return { ...base, verdict: 'bound', message: `stopped after ${Math.round(boundMs / 1000)} s` };
  if (run.code === 3) return { ...base, verdict: 'internal-error', message: lastLine(run.stderr) };
  let summary: CheckSummary;
  try {
    summary = JSON.parse(run.stdout) as typeof summary;
  } catch {
    return { ...base, verdict: 'failed-to-run', message: `exit ${run.code}: ${lastLine(run.stderr)}` };
  }
  if (run.code === 0) return { ...base, verdict: 'verified' };
  if (run.code === 4) return { ...base, verdict: 'bound' };
  if (run.code === 1 && summary.violatedProperty !== undefined)
    return { ...base, verdict: 'violated', property: summary.violatedProperty, steps: summary.violation?.steps ?? 0, message: summary.violation?.message ?? '' };
  const swarmFailure = summary.failure;
  if (run.code === 1 && summary.mode === 'swarm' && swarmFailure != null)
    return { ...base, verdict: 'violated', property: swarmFailure.property, steps: swarmFailure.steps, message: `${swarmFailure.message} (configuration ${swarmFailure.index + 1}, reduced)` };
  return { ...base, verdict: 'failed-to-run', message: `exit ${run.code}: ${lastLine(run.stderr)}` };
}

/** A conformance case that failed against the copy's runtime. */
export interface FailedCase {
  readonly id: string;
  readonly status: 'failed' | 'error';
  /** The requirements of its first violation (the case's own when it could not run). */
  readonly requirements: readonly string[];
  readonly message: string;
  /** The step the first violation is blamed on (-1 when none), and its name. */
  readonly step: number;
  readonly stepName: string;
}

export interface ConformanceOutcome {
  readonly role: ConformanceRole;
  readonly verdict: 'passed' | 'failed' | 'failed-to-run';
  readonly failedCases: readonly FailedCase[];
  readonly cases: number;
  readonly seconds: number;
  readonly message?: string;
}

/** The cases the correct reference runtime is known to fail (conformance/reference-expected-failures.txt): failing them kills nothing. */
export function referenceExpectedFailures(): ReadonlySet<string> {
  const text = readFileSync(join(repositoryRoot, 'conformance', 'reference-expected-failures.txt'), 'utf8');
  return new Set(text.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter((l) => l !== ''));
}

/**
 * The role's profile (or `cases` of it) against the copy's runtime. Failed cases in
 * `ignored` (those that fail the unmutated copy too) and in the reference's expected
 * failures kill nothing and are not listed.
 */
export async function runConformance(copy: string, role: ConformanceRole, seed: number, timeoutMs: number, cases: readonly string[] = [], ignored: ReadonlySet<string> = new Set()): Promise<ConformanceOutcome> {
  const out = join(copy, 'out', 'conformance', role);
  const testee = `node ${JSON.stringify(join(copy, 'bin', 'kd.mjs'))} node`;
  const caseArgs = cases.length === 0 ? [] : ['--case', cases.join(',')];
  const run = await runNode(['bin/kd.mjs', 'conformance', '--role', role, '--cmd', testee, '--seed', String(seed), '--out', out, ...caseArgs], repositoryRoot, timeoutMs);
  const file = join(out, 'results.json');
  if (run.timedOut || !existsSync(file))
    return { role, verdict: 'failed-to-run', failedCases: [], cases: 0, seconds: run.seconds, message: run.timedOut ? `stopped after ${Math.round(timeoutMs / 1000)} s` : `exit ${run.code}: ${lastLine(run.stderr)}` };
  const results = JSON.parse(readFileSync(file, 'utf8')) as Results;
  const known = referenceExpectedFailures();
  const failedCases: FailedCase[] = [];
  for (const c of results.cases) {
    if ((c.status !== 'failed' && c.status !== 'error') || known.has(c.id) || ignored.has(c.id)) continue;
    const first = c.violations[0];
    failedCases.push({
      id: c.id,
      status: c.status,
      requirements: first?.requirements ?? c.requirements,
      message: (first?.message ?? c.reason ?? '').split('\n')[0]?.slice(0, 300) ?? '',
      step: first?.step ?? -1,
      stepName: first?.stepName ?? '',
    });
  }
  return { role, verdict: failedCases.length > 0 ? 'failed' : 'passed', failedCases, cases: results.cases.length, seconds: run.seconds };
}
