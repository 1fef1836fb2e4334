/** `kd supervise`: the supervisor of a local cluster (runtime/cluster/supervisor.ts); `kd up` starts it. */
import { existsSync } from 'node:fs';
import { configFileOf, stageLauncherOf } from '../runtime/cluster/local-cluster.js';
import { StageSupervisor, stageRestartDelayMsInitial, stageRestartDelayMsMax, stageUptimeStableMsMin } from '../runtime/cluster/supervisor.js';
import { helpOf, parseCommandLine, UsageError, type CommandLineSpec } from './args.js';
import { exitCodes } from './exit-codes.js';

export const superviseCommandLine = {
  command: 'supervise',
  about: `Starts every stage of DIR/cluster.json and restarts a stage that goes down by itself
(a signal, a crash, an exit status other than 0 and 2), after a delay that starts at
${stageRestartDelayMsInitial} ms and doubles with each failure in a row up to ${stageRestartDelayMsMax} ms (a stage up for
${stageUptimeStableMsMin / 1000} s starts over). A stage that exits with status 0 (asked to stop) stays stopped;
one that exits with 2 (a configuration it cannot run) is marked failed. Restart counts
are in DIR/supervisor.json (kd status shows them). Runs until SIGTERM or SIGINT, then
stops supervising; the stages keep running (kd down stops both). kd up starts it.`,
  options: { dir: { kind: 'text', value: 'DIR', help: 'the directory kd up made (required)' } },
  example: 'npx kd supervise --dir .kd',
  exits: { ok: 'stopped by SIGTERM or SIGINT' },
} as const satisfies CommandLineSpec;

export async function runSupervise(argv: readonly string[], print: (line: string) => void): Promise<number> {
  const parsed = parseCommandLine(superviseCommandLine, argv);
  if (parsed === 'help') {
    print(helpOf(superviseCommandLine));
    return exitCodes.ok;
  }
  const values = parsed.options;
  if (values.dir === undefined) throw new UsageError('--dir DIR is required (the directory kd up made, e.g. --dir .kd)');
  if (!existsSync(configFileOf(values.dir))) throw new UsageError(`no cluster in ${values.dir} (${configFileOf(values.dir)} is missing): run "kd up" instead`);
  const log = (record: Record<string, unknown>): void => {
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`);
  };
  const supervisor = new StageSupervisor(values.dir, stageLauncherOf(values.dir), log);
  supervisor.start();
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log({ event: 'supervisor.stopping', signal });
      supervisor.stop();
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return exitCodes.ok;
}
