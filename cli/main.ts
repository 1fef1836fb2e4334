/** The `kd` command line: one subcommand per job. */
import { runSimulate, simulateHelp } from './simulate-command.js';
import { exitCodes, UsageError } from './usage-error.js';

const commands: Readonly<Record<string, { summary: string; run: (argv: readonly string[], print: (line: string) => void) => number | Promise<number> }>> = {
  simulate: { summary: 'run the whole chain in one process, seeded, and check it converges', run: runSimulate },
};

export const mainHelp = `Usage: kd COMMAND [options]

Kubedirect reference implementation: the direct message-passing control plane for
serverless on Kubernetes.

Commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(12)}${c.summary}`)
  .join('\n')}

Run "kd COMMAND --help" for the options of a command.`;

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
      return exitCodes.usage;
    }
    console.error(`kd ${name}: internal error: ${(error as Error).stack ?? String(error)}`);
    return exitCodes.internal;
  }
}

export { simulateHelp };
