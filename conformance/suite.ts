/**
 * One run of the conformance suite against one testee: selects the cases, runs each
 * (harness/runner.ts), applies the strict expected-failure list, writes results.json,
 * JUnit XML and, for each failing case, its message trace (NDJSON) and sequence diagram
 * (SVG), and computes the exit code: 0 every required case passes, 1 a required case
 * fails (or an expected failure passes), 4 harness error (no verdict; 2 is kept for bad usage
 * and 3 for an internal error, as in every kd command: cli/exit-codes.ts).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Role } from '../machines/index.js';
import { casesForRole } from './cases/registry.js';
import type { ConformanceCase } from './cases/case.js';
import { attachLaunchConfig, runCase, testeeStageOf, type CaseRun, type TesteeSpec } from './harness/runner.js';
import { checkHealth } from './harness/health.js';
import { describeRepetitions } from './harness/run-log.js';
import { traceToSvg } from './report/diagram.js';
import { junitXml, resultsSchema, resultsSchemaVersion, specInfo, suiteVersion, type CaseReport, type Results } from './report/results.js';

export interface SuiteOptions {
  readonly role: Role;
  readonly testee: TesteeSpec;
  readonly seed: number;
  /** Case IDs to run (all of the role's when empty). */
  readonly caseIds: readonly string[];
  readonly expectedFailures: ReadonlySet<string>;
  readonly outDir: string;
  /** What the testee says it is (--testee-version); recorded in results.json. */
  readonly testeeVersion: string;
  readonly print: (line: string) => void;
}

/** Reads an expected-failures file: one case ID per line, `#` starts a comment. */
export function readExpectedFailures(file: string): Set<string> {
  const ids = new Set<string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const id = line.replace(/#.*/, '').trim();
    if (id !== '') ids.add(id);
  }
  return ids;
}

/** The IDs of the cases that failed (or errored) in an earlier results.json. */
export function failedCaseIds(resultsFile: string): { ids: string[]; seed: number; role: string } {
  const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as Results;
  if (results.schema !== resultsSchema) throw new Error(`${resultsFile} is not a conformance results file (schema ${String(results.schema)})`);
  return { ids: results.cases.filter((c) => c.status === 'failed' || c.status === 'error' || c.failsRun).map((c) => c.id), seed: results.seed, role: results.testee.role };
}

export function selectCases(role: Role, ids: readonly string[]): ConformanceCase[] {
  const cases = casesForRole(role);
  if (ids.length === 0) return cases;
  const unknown = ids.filter((id) => !cases.some((c) => c.id === id));
  if (unknown.length > 0) throw new Error(`no case ${unknown.join(', ')} for role ${role}; its cases: ${cases.map((c) => c.id).join(', ')}`);
  return cases.filter((c) => ids.includes(c.id));
}

function statusMark(report: CaseReport): string {
  if (report.status === 'error') return 'ERROR';
  if (report.status === 'skipped') return 'SKIP ';
  if (report.expectedToFail) return report.status === 'failed' ? 'XFAIL' : 'XPASS';
  return report.status === 'passed' ? 'PASS ' : 'FAIL ';
}

export async function runSuite(options: SuiteOptions): Promise<Results> {
  const { role, print } = options;
  const cases = selectCases(role, options.caseIds);
  const startedAt = new Date();
  mkdirSync(options.outDir, { recursive: true });
  const stage = testeeStageOf(role);
  const testeeInfo: Results['testee'] =
    options.testee.kind === 'command'
      ? { role, stage, mode: options.testee.label, version: options.testeeVersion, command: options.testee.command }
      : { role, stage, mode: 'attach', version: options.testeeVersion, address: options.testee.address };
  print(`kd conformance: role ${role} (${stage}), testee ${options.testee.kind === 'command' ? options.testee.label : `attached at ${options.testee.address}`}, ${cases.length} case(s), seed ${options.seed}`);
  let attachProblem: string | null = null;
  if (options.testee.kind === 'attach') {
    const file = join(options.outDir, 'attach-launch.json');
    writeFileSync(file, `${JSON.stringify(attachLaunchConfig(role, options.testee.address, join(options.outDir, 'attached-data')), null, 2)}\n`);
    print(`--attach: the stage must run with the launch config ${file} (any dataDir); the suite's peers listen on the ports after ${options.testee.address}.`);
    print('--attach: all cases share one process: cases that restart the testee or need their own configuration are skipped, and state left by one case is seen by the next.');
    const answer = await checkHealth(options.testee.address, 3_000);
    if (!('status' in answer) || answer.status !== 'SERVING')
      attachProblem = `nothing at ${options.testee.address} answers Health/Check with SERVING: start the stage with KD_LAUNCH_CONFIG=${file}, then run this command again`;
  }
  if (attachProblem !== null) print(`harness error: ${attachProblem}`);
  const reports: CaseReport[] = [];
  for (const [index, c] of (attachProblem === null ? cases : []).entries()) {
    const run: CaseRun = await runCase(c, { role, testee: options.testee, runSeed: options.seed, caseIndex: index });
    const r = run.result;
    const expectedToFail = options.expectedFailures.has(c.id);
    const failsRun = r.status === 'error' ? false : expectedToFail ? r.status === 'passed' : r.status === 'failed' && r.level === 'required';
    let artifacts: CaseReport['artifacts'] = {};
    // Every case that ran keeps its trace and diagram, a passing one too: what it saw can be inspected either way.
    if (r.status !== 'skipped') {
      const dir = join(options.outDir, 'cases', c.id);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'trace.ndjson'), run.log.ndjson());
      writeFileSync(join(dir, 'sequence.svg'), traceToSvg(run.log, run.participants, stage, `${c.id} (${r.status}) seed ${r.seed}`));
      if (r.stderrTail !== undefined) writeFileSync(join(dir, 'testee.stderr.tail.log'), r.stderrTail);
      artifacts = { trace: join('cases', c.id, 'trace.ndjson'), diagram: join('cases', c.id, 'sequence.svg') };
    }
    const report: CaseReport = { ...r, expectedToFail, failsRun, artifacts };
    reports.push(report);
    print(`${statusMark(report)} ${c.id} [${r.level}] ${(r.durationMs / 1000).toFixed(1)} s  ${c.title}`);
    if (r.status === 'error') print(`      harness error: ${(r.reason ?? '').split('\n').slice(0, 6).join('\n      ')}`);
    if (r.status === 'skipped') print(`      skipped: ${r.reason ?? ''}`);
    if (expectedToFail && r.status === 'passed') print('      listed in the expected failures but passed: remove it from the list');
    for (const v of r.violations.slice(0, 5)) {
      print(`      ${v.requirements.join(', ')} at step ${v.step} (${v.stepName}): ${v.message}${describeRepetitions(v)}`);
      if (v.entry !== undefined) print(`        message #${v.entry.seq} ${v.entry.from} -> ${v.entry.to}: ${v.entry.summary}`);
    }
    if (r.violations.length > 5) print(`      … ${r.violations.length - 5} more in results.json`);
    if (artifacts.trace !== undefined && r.status !== 'passed') print(`      trace: ${join(options.outDir, artifacts.trace)}  diagram: ${join(options.outDir, artifacts.diagram ?? '')}`);
  }
  const count = (p: (c: CaseReport) => boolean): number => reports.filter(p).length;
  const summary: Results['summary'] = {
    passed: count((c) => c.status === 'passed'),
    failed: count((c) => c.status === 'failed'),
    skipped: count((c) => c.status === 'skipped'),
    errors: count((c) => c.status === 'error'),
    requiredFailed: count((c) => c.status === 'failed' && c.level === 'required' && !c.expectedToFail),
    recommendedFailed: count((c) => c.status === 'failed' && c.level === 'recommended' && !c.expectedToFail),
    expectedFailures: count((c) => c.expectedToFail && c.status === 'failed'),
    unexpectedPasses: count((c) => c.expectedToFail && c.status === 'passed'),
  };
  const exitCode: 0 | 1 | 4 = summary.errors > 0 || attachProblem !== null ? 4 : reports.some((c) => c.failsRun) ? 1 : 0;
  const results: Results = {
    schema: resultsSchema,
    schemaVersion: resultsSchemaVersion,
    suite: { name: 'kubedirect-conformance', version: suiteVersion },
    spec: specInfo(),
    testee: testeeInfo,
    seed: options.seed,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    verdict: exitCode === 0 ? 'pass' : exitCode === 1 ? 'fail' : 'error',
    exitCode,
    summary,
    cases: reports,
  };
  writeFileSync(join(options.outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(options.outDir, 'junit.xml'), junitXml(results));
  print(
    `${summary.passed} passed, ${summary.failed} failed (${summary.requiredFailed} required, ${summary.recommendedFailed} recommended${summary.expectedFailures > 0 ? `, ${summary.expectedFailures} expected` : ''}), ${summary.skipped} skipped, ${summary.errors} harness error(s)${summary.unexpectedPasses > 0 ? `, ${summary.unexpectedPasses} expected failure(s) passed` : ''} in ${(results.durationMs / 1000).toFixed(1)} s`,
  );
  print(`verdict: ${results.verdict.toUpperCase()} (exit ${exitCode}); seed ${options.seed}; results: ${join(options.outDir, 'results.json')}, ${join(options.outDir, 'junit.xml')}`);
  if (exitCode !== 0) print(`rerun the failing cases: kd conformance --role ${role} ... --rerun-failed ${join(options.outDir, 'results.json')}`);
  return results;
}
