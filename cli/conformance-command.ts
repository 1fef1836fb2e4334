/** `kd conformance`: the black-box conformance suite for one stage (conformance/README.md). */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { roles, type Role } from '../machines/index.js';
import { isVariantName, variantNames } from '../spec/variants.js';
import { casesForRole } from '../conformance/cases/registry.js';
import { levelOf } from '../conformance/cases/case.js';
import type { TesteeSpec } from '../conformance/harness/runner.js';
import { failedCaseIds, readExpectedFailures, runSuite, selectCases } from '../conformance/suite.js';
import { repositoryPath } from '../runtime/repository-paths.js';
import { exitCodes, parseWholeNumber, UsageError } from './usage-error.js';

export const conformanceExitCodes = { pass: 0, fail: 1, harness: 2 } as const;

export const conformanceHelp = `Usage: kd conformance --role ROLE (--cmd 'COMMAND' | --reference | --variant NAME | --attach HOST:PORT) [options]

Tests one stage, black-box over gRPC: the suite plays the stage's upstream and
downstream peers with the reference machines, owns every link, injects faults and
checks every frame the stage sends against the spec. Each case starts the stage
afresh: /bin/sh -c COMMAND with $KD_LAUNCH_CONFIG naming the launch config
(spec/11-conformance.md), ready once grpc.health.v1.Health/Check says SERVING.

Testee (one of):
  --cmd 'COMMAND'          your implementation of the role
  --reference              this repository's runtime (node bin/kd.mjs node)
  --variant NAME           this runtime with a known-bad variant: ${variantNames.join(', ')}
  --attach HOST:PORT       a stage already running (cases that restart it are skipped)

Options:
  --role ROLE              ${roles.join(' | ')}
  --case ID                run only this case (repeat, or comma-separate, for several)
  --seed N                 the seed of every choice the suite makes (printed by every run)
  --rerun-failed FILE      run the failed cases of an earlier results.json, with its seed
  --expected-failures FILE case IDs expected to fail, one per line (# comments); strict:
                           a listed case that passes fails the run
  --out DIR                where results go (default out/conformance/ROLE)
  --testee-version TEXT    the version of the testee, recorded in results.json
  --json                   print results.json on stdout (the summary goes to stderr)
  --list                   list the role's cases and exit
  -h, --help               show this help

Writes DIR/results.json, DIR/junit.xml and, per failing case, DIR/cases/ID/trace.ndjson
and DIR/cases/ID/sequence.svg. Exit codes: 0 every required case passed, 1 a required
case failed (or an expected failure passed), 2 harness error or bad usage.`;

const referenceBin = repositoryPath('bin', 'kd.mjs');

function packageVersion(): string {
  try {
    return String((JSON.parse(readFileSync(repositoryPath('package.json'), 'utf8')) as { version?: unknown }).version ?? 'unknown');
  } catch {
    return 'unknown';
  }
}

/** Runs the command; an unexpected failure of the suite itself is a harness error (exit 2), never a verdict. */
export async function runConformance(argv: readonly string[], print: (line: string) => void): Promise<number> {
  try {
    return await conformance(argv, print);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    console.error(`kd conformance: harness error: ${(error as Error).stack ?? String(error)}`);
    return conformanceExitCodes.harness;
  }
}

async function conformance(argv: readonly string[], print: (line: string) => void): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        role: { type: 'string' },
        cmd: { type: 'string' },
        reference: { type: 'boolean' },
        variant: { type: 'string' },
        attach: { type: 'string' },
        seed: { type: 'string' },
        case: { type: 'string', multiple: true },
        'rerun-failed': { type: 'string' },
        'expected-failures': { type: 'string' },
        out: { type: 'string' },
        'testee-version': { type: 'string' },
        json: { type: 'boolean' },
        list: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. Run "kd conformance --help" for the options.`);
  }
  const v = parsed.values;
  if (v.help === true) {
    print(conformanceHelp);
    return exitCodes.ok;
  }
  let seed = parseWholeNumber('seed', v.seed, Math.floor(Math.random() * 2 ** 31), 0, 2 ** 32 - 1);
  let caseIds = (v.case ?? []).flatMap((c) => c.split(',')).map((c) => c.trim()).filter((c) => c !== '');
  let roleName = v.role;
  if (v['rerun-failed'] !== undefined) {
    if (!existsSync(v['rerun-failed'])) throw new UsageError(`--rerun-failed ${v['rerun-failed']}: no such file`);
    let earlier;
    try {
      earlier = failedCaseIds(v['rerun-failed']);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    if (roleName !== undefined && roleName !== earlier.role) throw new UsageError(`--rerun-failed: that run tested ${earlier.role}, not ${roleName}`);
    roleName = earlier.role;
    if (v.seed === undefined) seed = earlier.seed;
    if (earlier.ids.length === 0) {
      print(`nothing to rerun: no case failed in ${v['rerun-failed']}`);
      return conformanceExitCodes.pass;
    }
    caseIds = [...new Set([...caseIds, ...earlier.ids])];
  }
  if (roleName === undefined || !(roles as readonly string[]).includes(roleName)) throw new UsageError(`--role must be one of ${roles.join(', ')} (for example --role kubelet)`);
  const role = roleName as Role;
  if (v.list === true) {
    for (const c of casesForRole(role)) print(`${c.id.padEnd(40)} ${levelOf(c).padEnd(12)} ${c.requirements.join(' ')}\n    ${c.title}`);
    return exitCodes.ok;
  }
  const chosen = [v.cmd !== undefined, v.reference === true, v.variant !== undefined, v.attach !== undefined].filter(Boolean).length;
  if (chosen !== 1) throw new UsageError("give exactly one testee: --cmd 'COMMAND', --reference, --variant NAME or --attach HOST:PORT");
  let testee: TesteeSpec;
  if (v.cmd !== undefined) {
    if (v.cmd.trim() === '') throw new UsageError('--cmd needs a command, for example --cmd "./my-kubelet"');
    testee = { kind: 'command', command: v.cmd, label: 'command' };
  } else if (v.reference === true) testee = { kind: 'command', command: `node ${JSON.stringify(referenceBin)} node`, label: 'reference' };
  else if (v.variant !== undefined) {
    if (!isVariantName(v.variant)) throw new UsageError(`unknown variant "${v.variant}"; known variants: ${variantNames.join(', ')}`);
    testee = { kind: 'command', command: `node ${JSON.stringify(referenceBin)} node --variant ${v.variant}`, label: `variant ${v.variant}` };
  } else {
    const address = v.attach ?? '';
    if (!/^[^:\s]+:\d{1,5}$/.test(address)) throw new UsageError(`--attach takes HOST:PORT, got "${address}"`);
    testee = { kind: 'attach', address };
  }
  try {
    selectCases(role, caseIds);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  let expectedFailures = new Set<string>();
  if (v['expected-failures'] !== undefined) {
    if (!existsSync(v['expected-failures'])) throw new UsageError(`--expected-failures ${v['expected-failures']}: no such file`);
    expectedFailures = readExpectedFailures(v['expected-failures']);
    const unknown = [...expectedFailures].filter((id) => !casesForRole(role).some((c) => c.id === id));
    if (unknown.length > 0) throw new UsageError(`--expected-failures lists cases that do not exist for ${role}: ${unknown.join(', ')}`);
  }
  const outDir = resolve(v.out ?? `out/conformance/${role}`);
  const human = v.json === true ? (line: string): void => void process.stderr.write(`${line}\n`) : print;
  const testeeVersion = v['testee-version'] ?? (v.reference === true || v.variant !== undefined ? `kubedirect-ts ${packageVersion()}${v.variant === undefined ? '' : ` (variant ${v.variant})`}` : 'unknown');
  const results = await runSuite({ role, testee, seed, caseIds, expectedFailures, outDir, testeeVersion, print: human });
  if (v.json === true) print(JSON.stringify(results, null, 2));
  return results.exitCode;
}
