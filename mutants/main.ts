/**
 * `npm run mutants`: applies each mutant of the catalogue to a scratch copy of the
 * repository, runs the checker and the affected roles' conformance profiles on it, and
 * prints the mutation table (mutants/README.md).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCommandLineOrExit } from '../cli/args.js';
import { checkCommandLine } from '../cli/check-command.js';
import { presetNames } from '../checker/chain/presets.js';
import { exitCodes } from '../cli/exit-codes.js';
import { mutantNamed, mutants, type ConformanceRole, type Mutant } from './catalogue.js';
import { readmeTableProblem, writeReadmeTable } from './readme-table.js';
import { missingForReadme, storeResults } from './results-store.js';
import { runChecker, runConformance, runningChildren, type CheckRequest, type CheckerOutcome, type ConformanceOutcome } from './run-mutant.js';
import { AnchorError, makeScratchCopy, mutatedFiles, repositoryRoot, type ScratchCopy } from './scratch.js';
import { checkerKill, mutationTable, verdictOf, type MutantResult } from './table.js';

const { options } = parseCommandLineOrExit({
  command: 'mutants',
  program: 'npm run',
  about:
    'Applies each protocol mutant of mutants/catalogue.ts to a scratch copy of the repository (machines/ is never edited in place), runs kd check on the copy (the presets in order, stopping at the first violation) and the conformance profiles of the roles the mutant changes (the copy\'s runtime as the testee, the original\'s correct machines as its peers), and prints: mutant, killed by the checker (property, steps), killed by conformance (case, requirement), verdict.',
  options: {
    only: { kind: 'text', value: 'NAME', repeatable: true, help: 'run only these mutants (repeat, or comma-separate)' },
    jobs: { kind: 'whole', value: 'N', min: 1, max: 16, default: 1, help: 'mutants run at the same time (each its own copy and processes)' },
    'skip-conformance': { kind: 'flag', help: 'run only the checker' },
    presets: { kind: 'text', value: 'LIST', repeatable: true, help: 'checker presets, in order (default: every preset but deep, in the order kd check --list-presets gives); a later one runs only while the mutant survives' },
    'deep-seconds': { kind: 'whole', value: 'N', min: 0, max: 3600, default: 0, help: 'also run the deep preset bounded at N seconds while the mutant survives (0: not)' },
    'swarm-configs': { kind: 'whole', value: 'N', min: 0, max: 1000, default: 20, help: 'after the presets, while the mutant survives: kd check --swarm over N small random configurations (0: not)' },
    'swarm-seed': { kind: 'whole', value: 'N', min: 0, max: 2 ** 31 - 1, default: 1, help: 'the seed of the swarm\'s configurations' },
    'check-seconds': { kind: 'whole', value: 'N', min: 10, max: 7200, default: 300, help: 'stop a kd check run after N seconds (then it counts as bound)' },
    seed: { kind: 'whole', value: 'N', min: 0, max: 2 ** 31 - 1, default: 42, help: 'the conformance seed' },
    readme: { kind: 'flag', help: 'write the table into mutants/README.md from OUT/results.json (every mutant needs a row measured with conformance, same seed and checks; earlier runs count)' },
    out: { kind: 'text', value: 'DIR', default: 'out/mutants', help: 'where results.json and table.md go' },
  },
  example: 'npm run mutants -- --only place-on-smallest-free --skip-conformance',
  exits: { ok: 'every mutant killed or proven equivalent', failed: 'a mutant survived unexplained, or could not be run', internal: 'a stale anchor, or the unmutated copy fails the checker' },
});

const chosen: readonly Mutant[] = (() => {
  try {
    return options.only.length === 0 ? mutants : options.only.map(mutantNamed);
  } catch (error) {
    process.stderr.write(`npm run mutants: ${(error as Error).message}\n`);
    process.exit(exitCodes.usage);
  }
})();
if (options.readme && options['skip-conformance']) {
  process.stderr.write('npm run mutants: --readme needs conformance results (drop --skip-conformance)\n');
  process.exit(exitCodes.usage);
}

const checks: CheckRequest[] = [
  ...(options.presets.length > 0 ? options.presets : defaultPresets()).map((p) => ({ label: p, args: ['--preset', p] })),
  ...(options['deep-seconds'] > 0 ? [{ label: `deep ${options['deep-seconds']} s`, args: ['--preset', 'deep', '--max-seconds', String(options['deep-seconds'])] }] : []),
  ...(options['swarm-configs'] > 0 ? [swarmCheck(options['swarm-configs'], options['swarm-seed'])] : []),
];
const checkTimeoutMs = options['check-seconds'] * 1000;

/**
 * Every preset but `deep` (which `--deep-seconds` adds, bounded): each of the others is
 * exhaustive here in well under a minute, so a surviving mutant costs about two minutes
 * of checking with swarm mode (mutants/README.md, Cost).
 */
function defaultPresets(): string[] {
  return presetNames().filter((p) => p !== 'deep');
}

/** Swarm mode on the copy (DEC-51), each configuration with kd check's own budget: its time bound follows from those budgets and the shrinking of a failing one. */
function swarmCheck(configs: number, seed: number): CheckRequest {
  const swarmBudgetSeconds = checkCommandLine.options['budget-seconds'].default;
  return {
    label: `swarm ${configs} seed ${seed}`,
    args: ['--swarm', '--configs', String(configs), '--seed', String(seed)],
    timeoutMs: (configs * swarmBudgetSeconds * 2 + 300) * 1000,
  };
}
const conformanceTimeoutMs = 20 * 60 * 1000;

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function runChecks(dir: string): Promise<CheckerOutcome[]> {
  const outcomes: CheckerOutcome[] = [];
  for (const check of checks) {
    const outcome = await runChecker(dir, check, checkTimeoutMs);
    outcomes.push(outcome);
    if (checkerKill({ checker: [outcome] }) !== undefined) break;
  }
  return outcomes;
}

/** Copies in use: removed on SIGINT/SIGTERM too, so that an interrupted run leaves none behind. */
const liveCopies = new Set<ScratchCopy>();
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    for (const pid of runningChildren) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const copy of liveCopies) copy.remove();
    process.exit(exitCodes.internal);
  });

/** Per role, the cases that fail the unmutated copy: they kill no mutant (filled before the mutants run). */
const baselineFailures = new Map<ConformanceRole, ReadonlySet<string>>();

async function runMutant(mutant: Mutant): Promise<MutantResult> {
  const started = performance.now();
  const copy = makeScratchCopy(repositoryRoot, mutant, mutant.name);
  liveCopies.add(copy);
  try {
    const checker = await runChecks(copy.dir);
    const conformance: ConformanceOutcome[] = [];
    if (!options['skip-conformance']) for (const role of mutant.roles) conformance.push(await runConformance(copy.dir, role, options.seed, conformanceTimeoutMs, [], baselineFailures.get(role)));
    const verdict = verdictOf(mutant, checker, conformance);
    const note = verdict === 'equivalent' ? mutant.equivalent : undefined;
    return { mutant: mutant.name, requirement: mutant.requirement, checker, conformance, conformanceSkipped: options['skip-conformance'], verdict, ...(note === undefined ? {} : { note }), seconds: (performance.now() - started) / 1000 };
  } finally {
    copy.remove();
    liveCopies.delete(copy);
  }
}

async function main(): Promise<number> {
  // Every anchor first: a stale one stops the run before anything is copied.
  for (const mutant of chosen) mutatedFiles(repositoryRoot, mutant);
  log(`npm run mutants: ${chosen.length} mutant(s), checks ${checks.map((c) => c.label).join(', ')}, conformance ${options['skip-conformance'] ? 'skipped' : `seed ${options.seed}`}, ${options.jobs} at a time`);
  const baseline = makeScratchCopy(repositoryRoot, null, 'baseline');
  liveCopies.add(baseline);
  try {
    const outcomes = await runChecks(baseline.dir);
    // deep and swarm may end bounded (exit 4): configurations beyond their budget prove nothing either way.
    const bad = outcomes.find((o) => o.verdict !== 'verified' && !(o.verdict === 'bound' && (o.check.startsWith('deep') || o.check.startsWith('swarm'))));
    if (bad !== undefined) {
      log(`npm run mutants: the unmutated copy is not verified by ${bad.check} (${bad.verdict}: ${bad.message ?? ''}); nothing to compare against`);
      return exitCodes.internal;
    }
    log(`baseline: ${outcomes.map((o) => `${o.check} ${o.verdict} (${o.seconds.toFixed(1)} s)`).join(', ')}`);
    if (!options['skip-conformance'])
      for (const role of new Set(chosen.flatMap((m) => m.roles))) {
        const outcome = await runConformance(baseline.dir, role, options.seed, conformanceTimeoutMs);
        if (outcome.verdict === 'failed-to-run') {
          log(`npm run mutants: the ${role} profile could not run on the unmutated copy: ${outcome.message ?? ''}`);
          return exitCodes.internal;
        }
        baselineFailures.set(role, new Set(outcome.failedCases.map((c) => c.id)));
        log(`baseline: ${role} profile, ${outcome.cases} cases, failing unmutated too (ignored): ${outcome.failedCases.map((c) => c.id).join(', ') || 'none'}`);
      }
  } finally {
    baseline.remove();
    liveCopies.delete(baseline);
  }
  const out = join(repositoryRoot, options.out);
  const run = { seed: options.seed, checks: checks.map((c) => c.label) };
  const results: MutantResult[] = new Array(chosen.length);
  let next = 0;
  const worker = async () => {
    while (next < chosen.length) {
      const at = next++;
      const mutant = chosen[at] as Mutant;
      const result = await runMutant(mutant);
      results[at] = result;
      // Stored at once: an interrupted run keeps the rows it measured.
      storeResults(out, run, [result], baselineFailures);
      log(`${result.verdict.padEnd(10)} ${mutant.name} (${result.seconds.toFixed(0)} s)`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.jobs, chosen.length) }, worker));
  const table = mutationTable(results);
  const stored = storeResults(out, run, results, baselineFailures);
  writeFileSync(join(out, 'table.md'), `${mutationTable(stored.results, stored.baselineFailures)}\n`);
  process.stdout.write(`${table}\n`);
  if (options.readme) {
    const missing = missingForReadme(stored);
    if (missing.length > 0) {
      log(`npm run mutants: mutants/README.md not written: no result with conformance (same seed and checks) in ${options.out}/results.json for ${missing.join(', ')}; run them with --only`);
      return exitCodes.failed;
    }
    writeReadmeTable(repositoryRoot, mutationTable(stored.results, stored.baselineFailures), `npm run mutants -- --seed ${options.seed}${options['deep-seconds'] > 0 ? ` --deep-seconds ${options['deep-seconds']}` : ''} --swarm-configs ${options['swarm-configs']}`);
    const problem = readmeTableProblem(repositoryRoot);
    if (problem !== null) log(problem);
  }
  return results.some((r) => r.verdict === 'survived' || r.verdict === 'not-run') ? exitCodes.failed : exitCodes.ok;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`npm run mutants: ${error instanceof AnchorError ? error.message : (error as Error).stack ?? String(error)}`);
    process.exit(exitCodes.internal);
  },
);
