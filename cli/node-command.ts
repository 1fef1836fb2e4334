/** `kd node`: one stage of the chain as a process, serving and calling its links over gRPC. */
import { existsSync } from 'node:fs';
import { kubeletId, roles, type StageId } from '../machines/index.js';
import { variantNames } from '../spec/variants.js';
import { loadClusterConfig, type ClusterConfig } from '../runtime/config.js';
import { clusterConfigOfLaunch, launchConfigEnv, loadLaunchConfig, variantOf } from '../runtime/launch-config.js';
import { StageNode } from '../runtime/node/stage-node.js';
import { TlsConfigurationError } from '../runtime/security/credentials.js';
import { helpOf, parseCommandLine, UsageError, type CommandLineSpec } from './args.js';
import { exitCodes } from './exit-codes.js';

export const nodeCommandLine = {
  command: 'node',
  usage: ['node --launch-config FILE [--variant NAME]'],
  about: `Runs one stage of the Kubedirect chain as this process until SIGTERM or SIGINT.
Logs are JSON lines on stdout.`,
  options: {
    role: { kind: 'choice', value: 'ROLE', choices: roles, help: 'the role of this stage' },
    node: { kind: 'text', value: 'NAME', help: 'the node of a kubelet (required with --role kubelet)' },
    config: { kind: 'text', value: 'FILE', help: 'the cluster configuration (kd up writes one to .kd/cluster.json)' },
    'launch-config': {
      kind: 'text',
      value: 'FILE',
      help: `a conformance launch config (spec/11-conformance.md): role, stage, listen address, data dir and peers come from it. Without --config and --launch-config, the file named by $${launchConfigEnv} is used`,
    },
    variant: { kind: 'choice', value: 'NAME', choices: variantNames, help: 'run a known-bad protocol variant (for testing the test suites)' },
  },
  example: 'npx kd node --role scheduler --config .kd/cluster.json',
  exits: {
    ok: 'stopped cleanly',
    usage: 'bad usage, or a launch config version this runtime does not know',
    assertion: 'internal assertion failed',
  },
} as const satisfies CommandLineSpec;

export async function runNode(argv: readonly string[], print: (line: string) => void): Promise<number> {
  const parsed = parseCommandLine(nodeCommandLine, argv);
  if (parsed === 'help') {
    print(helpOf(nodeCommandLine));
    return exitCodes.ok;
  }
  const v = parsed.options;
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
    if (v.role === undefined) throw new UsageError(`--role ROLE is required: one of ${roles.join(', ')} (for example --role scheduler)`);
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
    if (config.host !== undefined && !config.host.stages.includes(stage))
      throw new UsageError(`${v.config} is the configuration of host "${config.host.name}", which runs ${config.host.stages.join(', ') || 'no stage'}; "${stage}" runs on another host`);
  }
  const log = (record: Record<string, unknown>): void => {
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), stage, ...record })}\n`);
  };
  if (variant !== 'correct') log({ event: 'stage.variant', variant, warning: 'a known-bad protocol variant is active' });
  // Signals are caught from here on: a SIGTERM right after the stage says it listens still stops it cleanly (exit 0).
  let signalled: ((signal: string) => void) | null = null;
  const stopSignal = new Promise<string>((resolve) => (signalled = resolve));
  process.once('SIGTERM', () => signalled?.('SIGTERM'));
  process.once('SIGINT', () => signalled?.('SIGINT'));
  let node: StageNode;
  try {
    node = await StageNode.open(config, stage, log);
    await node.start();
  } catch (error) {
    // A certificate that cannot work is the operator's to fix, not an internal error.
    if (error instanceof TlsConfigurationError) throw new UsageError(`${error.message}; fix the tls section of the configuration or run "kd certs"`);
    throw error;
  }
  const signal = await stopSignal;
  log({ event: 'stage.stopping', signal });
  await node.stop();
  // What still keeps the event loop alive (none but the process's own stdio once every part
  // has stopped): names the culprit when a stage outlives kd down's grace.
  log({ event: 'stage.stopped', activeResources: process.getActiveResourcesInfo() });
  return exitCodes.ok;
}
