/** `kd conformance`: the black-box conformance suite for one stage (conformance/README.md). */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { roles, type Role } from '../machines/index.js';
import { variantNames } from '../spec/variants.js';
import { casesForRole } from '../conformance/cases/registry.js';
import { levelOf } from '../conformance/cases/case.js';
import type { TesteeSpec } from '../conformance/harness/runner.js';
import { failedCaseIds, readExpectedFailures, runSuite, selectCases } from '../conformance/suite.js';
import { repositoryPath } from '../runtime/repository-paths.js';
import { helpOf, parseCommandLine, UsageError, type CommandLineSpec } from './args.js';
import { exitCodes } from './exit-codes.js';
import { packageVersion } from './version.js';

export const conformanceCommandLine = {
  command: 'conformance',
  usage: ["conformance --role ROLE --cmd 'COMMAND' [options]", 'conformance --role ROLE (--reference | --variant NAME | --attach HOST:PORT) [options]'],
  about: `Tests one stage, black-box over gRPC: the suite plays the stage's upstream and
downstream peers with the reference machines, owns every link, injects faults and
checks every frame the stage sends against the spec. Each case starts the stage
afresh: /bin/sh -c COMMAND with $KD_LAUNCH_CONFIG naming the launch config
(spec/11-conformance.md), ready once grpc.health.v1.Health/Check says SERVING.
The testee is one of --cmd (your implementation of the role), --reference (this
repository's runtime), --variant (this runtime with a known-bad variant) or --attach
(a stage already running; cases that restart it are skipped).`,
  options: {
    role: { kind: 'choice', value: 'ROLE', choices: roles, help: 'the role under test' },
    cmd: { kind: 'text', value: "'COMMAND'", help: 'your implementation of the role' },
    reference: { kind: 'flag', help: "this repository's runtime (node bin/kd.mjs node)" },
    variant: { kind: 'choice', value: 'NAME', choices: variantNames, help: 'this runtime with a known-bad variant' },
    attach: { kind: 'text', value: 'HOST:PORT', help: 'a stage already running' },
    case: { kind: 'text', value: 'ID', repeatable: true, help: 'run only this case (repeat, or comma-separate, for several)' },
    seed: { kind: 'whole', value: 'N', min: 0, max: 2 ** 32 - 1, help: 'the seed of every choice the suite makes (printed by every run)' },
    'rerun-failed': { kind: 'text', value: 'FILE', help: 'run the failed cases of an earlier results.json, with its seed' },
    'expected-failures': { kind: 'text', value: 'FILE', help: 'case IDs expected to fail, one per line (# comments); strict: a listed case that passes fails the run' },
    out: { kind: 'text', value: 'DIR', help: 'where results go (default out/conformance/ROLE)' },
    'testee-version': { kind: 'text', value: 'TEXT', help: 'the version of the testee, recorded in results.json' },
    json: { kind: 'flag', help: 'print results.json on stdout (the summary goes to stderr)' },
    list: { kind: 'flag', help: "list the role's cases and exit" },
  },
  example: 'npx kd conformance --role kubelet --reference',
  exits: {
    ok: 'every required case passed',
    failed: 'a required case failed (or an expected failure passed)',
    incomplete: 'harness error: no verdict (the testee could not be started, or the suite itself failed)',
  },
  epilogue: `Writes DIR/results.json, DIR/junit.xml and, per case that ran (passed or not),
DIR/cases/ID/trace.ndjson and DIR/cases/ID/sequence.svg.`,
} as const satisfies CommandLineSpec;

const referenceBin = repositoryPath('bin', 'kd.mjs');

/** Runs the command; an unexpected failure of the suite itself is a harness error (exit 4), never a verdict. */
export async function runConformance(argv: readonly string[], print: (line: string) => void): Promise<number> {
  try {
    return await conformance(argv, print);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    console.error(`kd conformance: harness error: ${(error as Error).stack ?? String(error)}`);
    return exitCodes.incomplete;
  }
}

async function conformance(argv: readonly string[], print: (line: string) => void): Promise<number> {
  const parsed = parseCommandLine(conformanceCommandLine, argv);
  if (parsed === 'help') {
    print(helpOf(conformanceCommandLine));
    return exitCodes.ok;
  }
  const v = parsed.options;
  let seed = v.seed ?? Math.floor(Math.random() * 2 ** 31);
  let caseIds = [...v.case];
  let roleName: Role | undefined = v.role;
  if (v['rerun-failed'] !== undefined) {
    if (!existsSync(v['rerun-failed'])) throw new UsageError(`--rerun-failed ${v['rerun-failed']}: no such file`);
    let earlier;
    try {
      earlier = failedCaseIds(v['rerun-failed']);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    if (roleName !== undefined && roleName !== earlier.role) throw new UsageError(`--rerun-failed: that run tested ${earlier.role}, not ${roleName}`);
    const earlierRole = roles.find((r) => r === earlier.role);
    if (earlierRole === undefined) throw new UsageError(`--rerun-failed: that run names an unknown role "${earlier.role}"`);
    roleName = earlierRole;
    if (v.seed === undefined) seed = earlier.seed;
    if (earlier.ids.length === 0) {
      print(`nothing to rerun: no case failed in ${v['rerun-failed']}`);
      return exitCodes.ok;
    }
    caseIds = [...new Set([...caseIds, ...earlier.ids])];
  }
  if (roleName === undefined) throw new UsageError(`--role ROLE is required: one of ${roles.join(', ')} (for example --role kubelet)`);
  const role = roleName;
  if (v.list) {
    for (const c of casesForRole(role)) print(`${c.id.padEnd(40)} ${levelOf(c).padEnd(12)} ${c.requirements.join(' ')}\n    ${c.title}`);
    return exitCodes.ok;
  }
  const chosen = [v.cmd !== undefined, v.reference, v.variant !== undefined, v.attach !== undefined].filter(Boolean).length;
  if (chosen !== 1) throw new UsageError("give exactly one testee: --cmd 'COMMAND', --reference, --variant NAME or --attach HOST:PORT");
  let testee: TesteeSpec;
  if (v.cmd !== undefined) {
    if (v.cmd.trim() === '') throw new UsageError('--cmd needs a command, for example --cmd "./my-kubelet"');
    testee = { kind: 'command', command: v.cmd, label: 'command' };
  } else if (v.reference) testee = { kind: 'command', command: `node ${JSON.stringify(referenceBin)} node`, label: 'reference' };
  else if (v.variant !== undefined) {
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
  const human = v.json ? (line: string): void => void process.stderr.write(`${line}\n`) : print;
  const testeeVersion = v['testee-version'] ?? (v.reference || v.variant !== undefined ? `kubedirect-ts ${packageVersion()}${v.variant === undefined ? '' : ` (variant ${v.variant})`}` : 'unknown');
  const results = await runSuite({ role, testee, seed, caseIds, expectedFailures, outDir, testeeVersion, print: human });
  if (v.json) print(JSON.stringify(results, null, 2));
  return results.exitCode;
}
