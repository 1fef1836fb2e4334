/** The `kd` command line: one subcommand per job. */
import { checkExitCodes, runCheck } from './check-command.js';
import { runDown, runScale, runStatus, runUp } from './cluster-commands.js';
import { runNode } from './node-command.js';
import { runConformance } from './conformance-command.js';
import { runRemoveNode } from './remove-node-command.js';
import { runReplay } from './replay-command.js';
import { runSimulate, simulateHelp } from './simulate-command.js';
import { runValidate } from './validate-command.js';
import { runCerts } from './certs-command.js';
import { runSupervise } from './supervise-command.js';
import { runDeploy } from './deploy-command.js';
import { runConfig } from './config-command.js';
import { exitCodes, UsageError } from './usage-error.js';

interface Command {
  readonly summary: string;
  readonly run: (argv: readonly string[], print: (line: string) => void) => number | Promise<number>;
  /** Exit code for bad usage (kd check reserves 2 for "bound reached"). */
  readonly usageExitCode: number;
}

const commands: Readonly<Record<string, Command>> = {
  simulate: { summary: 'run the whole chain in one process, seeded, and check it converges', run: runSimulate, usageExitCode: exitCodes.usage },
  check: { summary: 'model-check the chain: every interleaving, crash and cut within bounds', run: runCheck, usageExitCode: checkExitCodes.error },
  replay: { summary: 're-execute a counterexample trace step by step in the simulator', run: runReplay, usageExitCode: checkExitCodes.error },
  node: { summary: 'run one stage of the chain as this process, over gRPC', run: runNode, usageExitCode: exitCodes.usage },
  up: { summary: 'start a local cluster: every stage its own process on loopback', run: runUp, usageExitCode: exitCodes.usage },
  scale: { summary: 'set the desired count of a function in the local cluster', run: runScale, usageExitCode: exitCodes.usage },
  status: { summary: "show the local cluster's sessions, caches and convergence", run: runStatus, usageExitCode: exitCodes.usage },
  down: { summary: 'stop the local cluster', run: runDown, usageExitCode: exitCodes.usage },
  supervise: { summary: 'start the stages of a local cluster and restart those that fail (kd up runs it)', run: runSupervise, usageExitCode: exitCodes.usage },
  'remove-node': { summary: 'take a node out of the local cluster (the Scheduler restarts without it)', run: runRemoveNode, usageExitCode: exitCodes.usage },
  conformance: { summary: 'test one stage of any implementation black-box over the wire (spec/11)', run: runConformance, usageExitCode: exitCodes.usage },
  validate: { summary: "check the spec's safety invariants on the NDJSON traces of a run", run: runValidate, usageExitCode: exitCodes.usage },
  deploy: { summary: 'run the chain on several hosts: plan each host from one hosts file, start or stop a host', run: runDeploy, usageExitCode: exitCodes.usage },
  config: { summary: 'check a cluster configuration or hosts file against its JSON Schema and the runtime', run: runConfig, usageExitCode: exitCodes.usage },
  certs: { summary: 'make a development CA and per-stage certificates for mutual TLS', run: runCerts, usageExitCode: exitCodes.usage },
};

export const mainHelp = `Usage: kd COMMAND [options]

Kubedirect reference implementation: the direct message-passing control plane for
serverless on Kubernetes.

Commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(12)}${c.summary}`)
  .join('\n')}

Run "kd COMMAND --help" for the options of a command.`;

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
      return command.usageExitCode;
    }
    console.error(`kd ${name}: internal error: ${(error as Error).stack ?? String(error)}`);
    return exitCodes.internal;
  }
}

export { simulateHelp };
