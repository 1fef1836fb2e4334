/** `kd remove-node`: take a node out of the local cluster (REQ-SCHED-010, DEC-29). */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { configFileOf } from '../runtime/cluster/local-cluster.js';
import { NodeRemovalRefused, removeNode } from '../runtime/cluster/node-removal.js';
import { exitCodes, UsageError } from './usage-error.js';

export const removeNodeHelp = `Usage: kd remove-node NAME [--fence] [--dir DIR]

Removes node NAME from the local cluster: the node leaves the configuration and the
Scheduler restarts without it (a new incarnation, which never connects to the node);
the ReplicaSet then rolls back the node's pods and places their replacements elsewhere.
No sandbox of a removed node may stay alive, so the command refuses while the node's
Kubelet runs, unless --fence is given. It works on a running cluster only: on a stopped
one (after kd down) it refuses and changes nothing.

Options:
  --fence      stop the node's Kubelet and kill its sandbox processes first
  --dir DIR    where the cluster lives (default .kd)
  -h, --help   show this help

Exit codes: 0 removed, 2 refused (nothing changed) or bad usage.`;

export async function runRemoveNode(argv: readonly string[], print: (line: string) => void): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], strict: true, allowPositionals: true, options: { fence: { type: 'boolean' }, dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. Run "kd remove-node --help" for the options.`);
  }
  if (parsed.values.help === true) {
    print(removeNodeHelp);
    return exitCodes.ok;
  }
  const [node, ...extra] = parsed.positionals;
  if (node === undefined || extra.length > 0) throw new UsageError('give exactly one node name, for example: kd remove-node n4 --fence');
  const dir = parsed.values.dir ?? '.kd';
  if (!existsSync(configFileOf(dir))) throw new UsageError(`no cluster in ${dir} (${configFileOf(dir)} is missing): run "kd up" first, or pass --dir`);
  try {
    const removal = await removeNode(dir, node, { fence: parsed.values.fence === true });
    for (const step of removal.steps) print(step);
    print(`node ${node} removed; nodes now: ${removal.config.chain.nodes.map((n) => n.name).join(', ')}`);
    return exitCodes.ok;
  } catch (error) {
    if (error instanceof NodeRemovalRefused) throw new UsageError(error.message);
    throw error;
  }
}
