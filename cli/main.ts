/** The `kd` command line: one subcommand per job. */
import { checkCommandLine, runCheck } from './check-command.js';
import { downCommandLine, runDown, runScale, runStatus, runUp, scaleCommandLine, statusCommandLine, upCommandLine } from './cluster-commands.js';
import { nodeCommandLine, runNode } from './node-command.js';
import { conformanceCommandLine, runConformance } from './conformance-command.js';
import { removeNodeCommandLine, runRemoveNode } from './remove-node-command.js';
import { replayCommandLine, runReplay } from './replay-command.js';
import { runSimulate, simulateCommandLine } from './simulate-command.js';
import { runValidate, validateCommandLine } from './validate-command.js';
import { certsCommandLine, runCerts } from './certs-command.js';
import { exploreCommandLine, runExplore } from './explore-command.js';
import { runSupervise, superviseCommandLine } from './supervise-command.js';
import { deployCommandLine, runDeploy } from './deploy-command.js';
import { configCommandLine, runConfig } from './config-command.js';
import { UsageError, type CommandLineSpec } from './args.js';
import { exitCodes } from './exit-codes.js';
import { versionText } from './version.js';

interface Command {
  readonly summary: string;
  readonly run: (argv: readonly string[], print: (line: string) => void) => number | Promise<number>;
  /** Its arguments, options and exit codes (cli/args.ts). */
  readonly commandLine: CommandLineSpec;
}

export const commands: Readonly<Record<string, Command>> = {
  simulate: { summary: 'run the whole chain in one process, seeded, and check it converges', run: runSimulate, commandLine: simulateCommandLine },
  check: { summary: 'model-check the chain: every interleaving, crash and cut within bounds', run: runCheck, commandLine: checkCommandLine },
  explore: { summary: 'explore the chain model by hand in a local web page: states, actions, properties', run: runExplore, commandLine: exploreCommandLine },
  replay: { summary: 're-execute a counterexample trace step by step in the simulator', run: runReplay, commandLine: replayCommandLine },
  node: { summary: 'run one stage of the chain as this process, over gRPC', run: runNode, commandLine: nodeCommandLine },
  up: { summary: 'start a local cluster: every stage its own process on loopback', run: runUp, commandLine: upCommandLine },
  scale: { summary: 'set the desired count of a function in the local cluster', run: runScale, commandLine: scaleCommandLine },
  status: { summary: "show the local cluster's sessions, caches and convergence", run: runStatus, commandLine: statusCommandLine },
  down: { summary: 'stop the local cluster', run: runDown, commandLine: downCommandLine },
  supervise: { summary: 'start the stages of a local cluster and restart those that fail (kd up runs it)', run: runSupervise, commandLine: superviseCommandLine },
  'remove-node': { summary: 'take a node out of the local cluster (the Scheduler restarts without it)', run: runRemoveNode, commandLine: removeNodeCommandLine },
  conformance: { summary: 'test one stage of any implementation black-box over the wire (spec/11)', run: runConformance, commandLine: conformanceCommandLine },
  validate: { summary: "check the spec's safety invariants on the NDJSON traces of a run", run: runValidate, commandLine: validateCommandLine },
  deploy: { summary: 'run the chain on several hosts: plan each host from one hosts file, start or stop a host', run: runDeploy, commandLine: deployCommandLine },
  config: { summary: 'check a cluster configuration or hosts file against its JSON Schema and the runtime', run: runConfig, commandLine: configCommandLine },
  certs: { summary: 'make a development CA and per-stage certificates for mutual TLS', run: runCerts, commandLine: certsCommandLine },
};

export const mainHelp = `Usage: kd COMMAND [options]

Kubedirect reference implementation: the direct message-passing control plane for
serverless on Kubernetes.

Commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(12)}${c.summary}`)
  .join('\n')}

Run "kd COMMAND --help" for the options and exit codes of a command; "kd --version"
for the version.`;

/**
 * Whether the `kd` process should exit as soon as `main` returns: the one-shot operator
 * calls (status, scale), whose gRPC connection attempts to a host that does not answer
 * would otherwise keep the process alive for the kernel's TCP connect timeout (measured:
 * `kd status --wait 0` with one host's link down printed in 3 s and exited after 137 s).
 * Long-running commands (node, supervise) and everything else end by themselves.
 */
export function exitsWhenDone(argv: readonly string[]): boolean {
  return argv[0] === 'status' || argv[0] === 'scale';
}

export async function main(argv: readonly string[], print: (line: string) => void = (l) => console.log(l)): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    print(mainHelp);
    return name === undefined ? exitCodes.usage : exitCodes.ok;
  }
  if (name === '--version' || name === 'version') {
    print(versionText());
    return exitCodes.ok;
  }
  const command = commands[name];
  if (command === undefined) {
    console.error(`kd: unknown command "${name}". Commands: ${Object.keys(commands).join(', ')}. Run "kd --help".`);
    return exitCodes.usage;
  }
  try {
    return await command.run(rest, print);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`kd ${name}: ${error.message}`);
      return exitCodes.usage;
    }
    console.error(`kd ${name}: internal error: ${(error as Error).stack ?? String(error)}`);
    return exitCodes.internal;
  }
}

