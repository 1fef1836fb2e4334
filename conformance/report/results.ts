/**
 * results.json (schema `kubedirect-conformance-results`, version 1) and JUnit XML. The
 * schema version changes when a field changes meaning or goes away; new fields may be added.
 */
import { requirements } from '../../spec/requirements.js';
import { protocolVersion } from '../../spec/limits.js';
import { launchVersion } from '../../runtime/launch-config.js';
import type { CaseResult } from '../harness/runner.js';
import { describeRepetitions } from '../harness/run-log.js';

export const resultsSchema = 'kubedirect-conformance-results';
/** 2: a harness error is exitCode 4 (it was 2, now kept for bad usage as in every kd command). */
export const resultsSchemaVersion = 2;
/** The suite's version: bumped when cases change what they check. */
export const suiteVersion = '1.0.0';

export interface CaseReport extends CaseResult {
  /** Listed in the expected-failures file. */
  readonly expectedToFail: boolean;
  /** Whether this case makes the run fail: a required case that failed unexpectedly, or an expected failure that passed. */
  readonly failsRun: boolean;
  readonly artifacts: { readonly trace?: string; readonly diagram?: string };
}

export interface Results {
  readonly schema: typeof resultsSchema;
  readonly schemaVersion: typeof resultsSchemaVersion;
  readonly suite: { readonly name: 'kubedirect-conformance'; readonly version: string };
  readonly spec: { readonly protocolVersion: number; readonly launchVersion: number; readonly requirements: number };
  readonly testee: { readonly role: string; readonly stage: string; readonly mode: string; readonly version: string; readonly command?: string; readonly address?: string };
  readonly seed: number;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly verdict: 'pass' | 'fail' | 'error';
  readonly exitCode: 0 | 1 | 4;
  readonly summary: {
    readonly passed: number;
    readonly failed: number;
    readonly skipped: number;
    readonly errors: number;
    readonly requiredFailed: number;
    readonly recommendedFailed: number;
    readonly expectedFailures: number;
    readonly unexpectedPasses: number;
  };
  readonly cases: readonly CaseReport[];
}

export function specInfo(): Results['spec'] {
  return { protocolVersion, launchVersion, requirements: requirements.length };
}

function xml(text: string): string {
  const escaped = text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
  // XML 1.0 allows no control characters other than tab, newline and carriage return.
  return [...escaped].filter((c) => c.charCodeAt(0) >= 0x20 || c === '\t' || c === '\n' || c === '\r').join('');
}

export function junitXml(results: Results): string {
  const cases = results.cases;
  const failures = cases.filter((c) => c.status === 'failed' && !c.expectedToFail).length + cases.filter((c) => c.expectedToFail && c.status === 'passed').length;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="kubedirect-conformance" tests="${cases.length}" failures="${failures}" errors="${results.summary.errors}" time="${(results.durationMs / 1000).toFixed(3)}">`,
    `  <testsuite name="${xml(`${results.testee.role} (${results.testee.mode})`)}" tests="${cases.length}" failures="${failures}" errors="${results.summary.errors}" skipped="${results.summary.skipped}" time="${(results.durationMs / 1000).toFixed(3)}">`,
    `    <properties><property name="seed" value="${results.seed}"/><property name="suiteVersion" value="${xml(results.suite.version)}"/><property name="protocolVersion" value="${results.spec.protocolVersion}"/></properties>`,
  ];
  for (const c of cases) {
    lines.push(`    <testcase classname="${xml(`conformance.${results.testee.role}`)}" name="${xml(`${c.id} [${c.level}] ${c.requirements.join(' ')}`)}" time="${(c.durationMs / 1000).toFixed(3)}">`);
    if (c.status === 'skipped') lines.push(`      <skipped message="${xml(c.reason ?? '')}"/>`);
    else if (c.status === 'error') lines.push(`      <error message="${xml((c.reason ?? '').split('\n')[0] ?? '')}">${xml(c.reason ?? '')}</error>`);
    else if (c.status === 'failed' && !c.expectedToFail)
      lines.push(
        `      <failure message="${xml(c.violations[0] === undefined ? 'failed' : `${c.violations[0].requirements.join(', ')}: ${c.violations[0].message}`)}">${xml(
          c.violations.map((v) => `${v.requirements.join(', ')} at step ${v.step} (${v.stepName}): ${v.message}${describeRepetitions(v)}${v.entry === undefined ? '' : `\n  message: ${v.entry.summary}`}`).join('\n'),
        )}</failure>`,
      );
    else if (c.expectedToFail && c.status === 'passed') lines.push('      <failure message="listed as an expected failure, but passed (strict expected failures)"/>');
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}
