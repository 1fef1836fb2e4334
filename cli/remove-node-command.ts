/** `kd remove-node`: take a node out of the local cluster (REQ-SCHED-010, DEC-29). */
import { existsSync } from 'node:fs';
import { configFileOf } from '../runtime/cluster/local-cluster.js';
import { NodeRemovalRefused, removeNode } from '../runtime/cluster/node-removal.js';
import { helpOf, parseCommandLine, UsageError, type CommandLineSpec } from './args.js';
import { exitCodes } from './exit-codes.js';

export const removeNodeCommandLine = {
  command: 'remove-node',
  about: `Removes node NAME from the local cluster: the node leaves the configuration and the
Scheduler restarts without it (a new incarnation, which never connects to the node);
the ReplicaSet then rolls back the node's pods and places their replacements elsewhere.
No sandbox of a removed node may stay alive, so the command refuses while the node's
Kubelet runs, unless --fence is given. It works on a running cluster only: on a stopped
one (after kd down) it refuses and changes nothing.`,
  arguments: [{ name: 'NAME', kind: 'text', help: 'the node to remove (n1, n2, ...)' }],
  options: {
    fence: { kind: 'flag', help: "stop the node's Kubelet and kill its sandbox processes first" },
    dir: { kind: 'text', value: 'DIR', default: '.kd', help: 'where the cluster lives' },
  },
  example: 'npx kd remove-node n4 --fence',
  exits: { ok: 'removed', usage: 'refused (nothing changed) or bad usage' },
} as const satisfies CommandLineSpec;

export async function runRemoveNode(argv: readonly string[], print: (line: string) => void): Promise<number> {
  const parsed = parseCommandLine(removeNodeCommandLine, argv);
  if (parsed === 'help') {
    print(helpOf(removeNodeCommandLine));
    return exitCodes.ok;
  }
  const node = String(parsed.arguments['NAME']);
  const dir = parsed.options.dir;
  if (!existsSync(configFileOf(dir))) throw new UsageError(`no cluster in ${dir} (${configFileOf(dir)} is missing): run "npx kd up" first, or pass --dir`);
  try {
    const removal = await removeNode(dir, node, { fence: parsed.options.fence });
    for (const step of removal.steps) print(step);
    print(`node ${node} removed; nodes now: ${removal.config.chain.nodes.map((n) => n.name).join(', ')}`);
    return exitCodes.ok;
  } catch (error) {
    if (error instanceof NodeRemovalRefused) throw new UsageError(error.message);
    throw error;
  }
}
