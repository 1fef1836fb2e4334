/** `kd node`: one stage of the chain as a process, serving and calling its links over gRPC. */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { kubeletId, roles, type StageId } from '../machines/index.js';
import { variantNames } from '../spec/variants.js';
import { loadClusterConfig, type ClusterConfig } from '../runtime/config.js';
import { clusterConfigOfLaunch, launchConfigEnv, loadLaunchConfig, variantOf } from '../runtime/launch-config.js';
import { StageNode } from '../runtime/node/stage-node.js';
import { TlsConfigurationError } from '../runtime/security/credentials.js';
import { exitCodes, UsageError } from './usage-error.js';

export const nodeHelp = `Usage: kd node --role ROLE --config FILE [--node NAME] [--variant NAME]
       kd node --launch-config FILE [--variant NAME]

Runs one stage of the Kubedirect chain as this process until SIGTERM or SIGINT.

Options:
  --role ROLE           ${roles.join(' | ')}
  --node NAME           the node of a kubelet (required with --role kubelet)
  --config FILE         the cluster configuration (kd up writes one to .kd/cluster.json)
  --launch-config FILE  a conformance launch config (spec/11-conformance.md): role, stage,
                        listen address, data dir and peers come from it. Without --config
                        and --launch-config, the file named by $${launchConfigEnv} is used.
  --variant NAME        run a known-bad protocol variant (for testing the test suites):
                        ${variantNames.join(', ')}
  -h, --help            show this help

Logs are JSON lines on stdout. Exit codes: 0 stopped cleanly, 2 bad usage (or a launch
config version this runtime does not know), 70 internal assertion failed.`;

export async function runNode(argv: readonly string[], print: (line: string) => void): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        role: { type: 'string' },
        node: { type: 'string' },
        config: { type: 'string' },
        'launch-config': { type: 'string' },
        variant: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. Run "kd node --help" for the options.`);
  }
  const v = parsed.values;
  if (v.help === true) {
    print(nodeHelp);
    return exitCodes.ok;
  }
  let variant;
  try {
    variant = variantOf(v.variant);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const fromEnv = process.env[launchConfigEnv];
  const launchFile = v['launch-config'] ?? (v.config === undefined && fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined);
  let config: ClusterConfig;
  let stage: StageId;
  if (launchFile !== undefined) {
    if (v.config !== undefined) throw new UsageError('--config and --launch-config are alternatives: give one');
    if (v.role !== undefined || v.node !== undefined) throw new UsageError('with a launch config, the role and node come from the file: drop --role and --node');
    if (!existsSync(launchFile)) throw new UsageError(`launch config ${launchFile}: no such file`);
    try {
      const launch = loadLaunchConfig(launchFile);
      config = clusterConfigOfLaunch(launch, variant);
      stage = launch.stage;
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  } else {
    if (v.role === undefined || !(roles as readonly string[]).includes(v.role)) throw new UsageError(`--role must be one of ${roles.join(', ')} (for example --role scheduler)`);
    if (v.config === undefined) throw new UsageError(`--config FILE is required (kd up writes .kd/cluster.json), or --launch-config FILE, or $${launchConfigEnv}`);
    if (!existsSync(v.config)) throw new UsageError(`--config ${v.config}: no such file (run "kd up" to write one)`);
    if (v.role === 'kubelet' && v.node === undefined) throw new UsageError('--role kubelet needs --node NAME (for example --node n1)');
    if (v.role !== 'kubelet' && v.node !== undefined) throw new UsageError('--node is only for --role kubelet');
    let loaded;
    try {
      loaded = loadClusterConfig(v.config);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    config = v.variant === undefined ? loaded : { ...loaded, chain: { ...loaded.chain, variant } };
    stage = v.role === 'kubelet' ? kubeletId(v.node ?? '') : v.role;
    if (config.stages[stage] === undefined) throw new UsageError(`${v.config} has no stage "${stage}"; its stages: ${Object.keys(config.stages).join(', ')}`);
  }
  const log = (record: Record<string, unknown>): void => {
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), stage, ...record })}\n`);
  };
  if (variant !== 'correct') log({ event: 'stage.variant', variant, warning: 'a known-bad protocol variant is active' });
  let node: StageNode;
  try {
    node = await StageNode.open(config, stage, log);
    await node.start();
  } catch (error) {
    // A certificate that cannot work is the operator's to fix, not an internal error.
    if (error instanceof TlsConfigurationError) throw new UsageError(`${error.message}; fix the tls section of the configuration or run "kd certs"`);
    throw error;
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log({ event: 'stage.stopping', signal });
      void node.stop().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  // What still keeps the event loop alive (none but the process's own stdio once every part
  // has stopped): names the culprit when a stage outlives kd down's grace.
  log({ event: 'stage.stopped', activeResources: process.getActiveResourcesInfo() });
  return exitCodes.ok;
}
