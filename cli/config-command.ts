/** `kd config check FILE`: a cluster configuration or a hosts file against its JSON Schema and the runtime's own checks. */
import { existsSync, readFileSync } from 'node:fs';
import { loadClusterConfig, localStagesOf } from '../runtime/config.js';
import { clusterConfigSchema, hostsFileSchema, schemaProblemsOf } from '../runtime/deploy/config-schema.js';
import { hostsFileProblems } from '../runtime/deploy/hosts-file.js';
import { helpOf, parseCommandLine, UsageError, type CommandLineSpec } from './args.js';
import { exitCodes } from './exit-codes.js';

export const configCommandLine = {
  command: 'config',
  about: `kd config check FILE checks a cluster configuration (cluster.json, as kd up and kd deploy
plan write it) or a hosts file (kd deploy plan's input: it has "hosts") against its JSON
Schema (the operator guide's configuration reference), then with the checks a schema
cannot make (one autoscaler per cluster, links, certificate files present). Prints every
problem with where it is.`,
  arguments: [
    { name: 'ACTION', kind: 'text', help: 'check' },
    { name: 'FILE', kind: 'text', help: 'a cluster.json or a hosts file' },
  ],
  options: {},
  example: 'npx kd config check .kd/cluster.json',
  exits: { ok: 'valid', failed: 'problems found' },
} as const satisfies CommandLineSpec;

export async function runConfig(argv: readonly string[], print: (line: string) => void): Promise<number> {
  const parsed = parseCommandLine(configCommandLine, argv);
  if (parsed === 'help') {
    print(helpOf(configCommandLine));
    return exitCodes.ok;
  }
  const action = String(parsed.arguments['ACTION']);
  const file = String(parsed.arguments['FILE']);
  if (action !== 'check') throw new UsageError(`unknown action "${action}": the action is check (kd config check FILE)`);
  if (!existsSync(file)) throw new UsageError(`${file}: no such file`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    console.error(`${file}: not JSON: ${(error as Error).message}`);
    return exitCodes.failed;
  }
  const hosts = typeof raw === 'object' && raw !== null && 'hosts' in raw;
  const schemaProblems = schemaProblemsOf(hosts ? hostsFileSchema : clusterConfigSchema, raw);
  let problems = schemaProblems;
  let summary = '';
  if (problems.length === 0 && hosts) problems = hostsFileProblems(raw);
  else if (problems.length === 0) {
    try {
      const config = loadClusterConfig(file);
      summary = ` (${Object.keys(config.stages).length} stages, ${localStagesOf(config).length} run here${config.tls === undefined ? ', plaintext on loopback' : ', mutual TLS'})`;
    } catch (error) {
      problems = [(error as Error).message];
    }
  }
  if (problems.length > 0) {
    console.error(`${file}: not a valid ${hosts ? 'hosts file' : 'cluster configuration'}:\n  ${problems.join('\n  ')}`);
    return exitCodes.failed;
  }
  print(`${file}: a valid ${hosts ? 'hosts file' : 'cluster configuration'}${summary}`);
  return exitCodes.ok;
}
