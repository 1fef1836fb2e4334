/** `kd node`: one stage of the chain as a process, serving and calling its links over gRPC. */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { kubeletId, roles, type StageId } from '../machines/index.js';
import { loadClusterConfig } from '../runtime/config.js';
import { StageNode } from '../runtime/node/stage-node.js';
import { exitCodes, UsageError } from './usage-error.js';

export const nodeHelp = `Usage: kd node --role ROLE --config FILE [--node NAME]

Runs one stage of the Kubedirect chain as this process until SIGTERM or SIGINT.

Options:
  --role ROLE      ${roles.join(' | ')}
  --node NAME      the node of a kubelet (required with --role kubelet)
  --config FILE    the cluster configuration (kd up writes one to .kd/cluster.json)
  -h, --help       show this help

Logs are JSON lines on stdout. Exit codes: 0 stopped cleanly, 2 bad usage, 70 internal assertion failed.`;

export async function runNode(argv: readonly string[], print: (line: string) => void): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: { role: { type: 'string' }, node: { type: 'string' }, config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. Run "kd node --help" for the options.`);
  }
  const v = parsed.values;
  if (v.help === true) {
    print(nodeHelp);
    return exitCodes.ok;
  }
  if (v.role === undefined || !(roles as readonly string[]).includes(v.role)) throw new UsageError(`--role must be one of ${roles.join(', ')} (for example --role scheduler)`);
  if (v.config === undefined) throw new UsageError('--config FILE is required (kd up writes .kd/cluster.json)');
  if (!existsSync(v.config)) throw new UsageError(`--config ${v.config}: no such file (run "kd up" to write one)`);
  if (v.role === 'kubelet' && v.node === undefined) throw new UsageError('--role kubelet needs --node NAME (for example --node n1)');
  if (v.role !== 'kubelet' && v.node !== undefined) throw new UsageError('--node is only for --role kubelet');
  let config;
  try {
    config = loadClusterConfig(v.config);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const stage: StageId = v.role === 'kubelet' ? kubeletId(v.node ?? '') : v.role;
  if (config.stages[stage] === undefined) throw new UsageError(`${v.config} has no stage "${stage}"; its stages: ${Object.keys(config.stages).join(', ')}`);
  const log = (record: Record<string, unknown>): void => {
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), stage, ...record })}\n`);
  };
  const node = await StageNode.open(config, stage, log);
  await node.start();
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log({ event: 'stage.stopping', signal });
      void node.stop().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  log({ event: 'stage.stopped' });
  return exitCodes.ok;
}
