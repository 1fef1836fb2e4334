/** `kd deploy`: the chain on several hosts, from one hosts file (runtime/deploy/). */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { StageId } from '../machines/index.js';
import { loadClusterConfig, localStagesOf, type ClusterConfig } from '../runtime/config.js';
import { configFileOf, logFileOf, runningPidOf, runningStages, runningSupervisorOf, startSupervisor, stopCluster } from '../runtime/cluster/local-cluster.js';
import { hostsFileProblems, type HostsFile } from '../runtime/deploy/hosts-file.js';
import { planDeployment } from '../runtime/deploy/plan.js';
import { clusterConfigSchema, hostsFileSchema, schemaProblemsOf } from '../runtime/deploy/config-schema.js';
import { CertsError, certificateDaysMax } from '../runtime/security/certs.js';
import { helpOf, parseCommandLine, UsageError, type CommandLineSpec, type OptionValues } from './args.js';
import { exitCodes } from './exit-codes.js';

export const deployCommandLine = {
  command: 'deploy',
  usage: ['deploy plan HOSTS.json --out DIR [options]', 'deploy start --dir HOSTDIR', 'deploy stop --dir HOSTDIR'],
  about: `Runs the chain on several hosts. An operator describes the hosts once (HOSTS.json: each
host's address, its stages, its node and capacity; see the operator guide), then:

  plan    writes DIR/hosts/HOST/ (cluster.json and the certificates of that host's stages
          only) for every host, DIR/operator/ (kd status/scale --dir DIR/operator, over
          mutual TLS), DIR/prometheus/ (a scraper identity and scrape configuration) and
          DIR/certs/ (the CA: keep ca.key on the operator's machine). Run again, it keeps
          valid certificates; --force makes a new CA and issues everything again.
          Also writes DIR/systemd/HOST/kubedirect-STAGE.service (Restart=on-failure) and
          DIR/kubernetes/kubedirect.yaml (controllers as Deployments, the Kubelets as a
          DaemonSet; checked against the Kubernetes schemas, not tested on a live cluster).
  start   on a host, in the directory copied there: starts the host's stages under a
          supervisor (restart on failure, as kd up) and waits until each listens.
  stop    stops the supervisor and the host's stages.`,
  arguments: [
    { name: 'ACTION', kind: 'text', help: 'plan, start or stop' },
    { name: 'HOSTS.json', kind: 'text', optional: true, help: 'the hosts file (plan only)' },
  ],
  options: {
    out: { kind: 'text', value: 'DIR', help: "plan: where the hosts' directories go" },
    dir: { kind: 'text', value: 'HOSTDIR', help: 'start, stop: a directory kd deploy plan wrote under DIR/hosts/' },
    force: { kind: 'flag', help: 'plan: make a new CA and issue every certificate again' },
    days: { kind: 'whole', value: 'N', min: 1, max: certificateDaysMax, default: 365, help: 'plan: validity of the certificates in days' },
    'install-dir': { kind: 'text', value: 'D', help: 'plan: where this repository is on the hosts (default /opt/kubedirect)' },
    'state-dir': { kind: 'text', value: 'D', help: "plan: each host's directory (default /var/lib/kubedirect)" },
    image: { kind: 'text', value: 'I', help: "plan: the pods' image, any with Node 20 (default node:20-bookworm-slim)" },
  },
  example: 'npx kd deploy plan hosts.json --out deploy',
  exits: { ok: 'done', failed: 'a stage did not start', usage: 'bad usage, or a hosts file with problems (each printed with its fix)' },
} as const satisfies CommandLineSpec;

type DeployOptions = OptionValues<typeof deployCommandLine.options>;

/** Reads and checks a hosts file: every problem with its fix, or the file. */
export function readHostsFile(file: string): HostsFile {
  if (!existsSync(file)) throw new UsageError(`hosts file ${file}: no such file`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`hosts file ${file}: not JSON: ${(error as Error).message}`);
  }
  // The schema first (every misspelt key, wrong type), then what a schema cannot say (one autoscaler, unique addresses).
  const schemaProblems = schemaProblemsOf(hostsFileSchema, raw);
  const problems = schemaProblems.length > 0 ? schemaProblems : hostsFileProblems(raw);
  if (problems.length > 0) throw new UsageError(`hosts file ${file}:\n  ${problems.join('\n  ')}`);
  return raw as HostsFile;
}

export async function runDeploy(argv: readonly string[], print: (line: string) => void): Promise<number> {
  const parsed = parseCommandLine(deployCommandLine, argv);
  if (parsed === 'help') {
    print(helpOf(deployCommandLine));
    return exitCodes.ok;
  }
  const values = parsed.options;
  const action = String(parsed.arguments['ACTION']);
  const file = parsed.arguments['HOSTS.json'];
  if (action === 'plan') return plan(typeof file === 'string' ? file : undefined, values, print);
  if (file !== undefined) throw new UsageError(`kd deploy ${action} takes no file argument: pass --dir HOSTDIR`);
  const dir = values.dir;
  if (dir === undefined) throw new UsageError(`kd deploy ${action} needs --dir HOSTDIR (a directory kd deploy plan wrote under DIR/hosts/)`);
  if (action === 'start') return start(dir, print);
  if (action === 'stop') {
    const results = await stopCluster(dir);
    for (const r of results) print(`  ${r.stage.padEnd(14)} pid ${r.pid} ${r.outcome}`);
    if (results.length === 0) print(`no stage was running in ${dir}`);
    return exitCodes.ok;
  }
  throw new UsageError(`unknown action "${action}": plan, start or stop`);
}

async function plan(file: string | undefined, values: DeployOptions, print: (line: string) => void): Promise<number> {
  if (file === undefined) throw new UsageError('kd deploy plan takes one hosts file, for example: kd deploy plan hosts.json --out deploy');
  const out = values.out;
  if (out === undefined) throw new UsageError('kd deploy plan needs --out DIR (where the hosts\' directories go)');
  if (existsSync(out) && !statSync(out).isDirectory()) throw new UsageError(`--out ${out} exists and is not a directory`);
  const days = values.days;
  const hosts = readHostsFile(file);
  const fileOptions: Record<string, string> = {};
  for (const [option, key] of [['install-dir', 'installDir'], ['state-dir', 'stateDir']] as const) {
    const value = values[option];
    if (typeof value !== 'string') continue;
    if (!/^\/[A-Za-z0-9._/-]*$/.test(value)) throw new UsageError(`--${option} must be an absolute path of letters, digits, '.', '_', '-' and '/', got "${value}"`);
    fileOptions[key] = value.replace(/\/+$/, '') || '/';
  }
  if (values.image !== undefined) {
    if (!/^[a-z0-9][a-z0-9._\-/:@]*$/.test(values.image)) throw new UsageError(`--image must be an image reference such as node:20-bookworm-slim, got "${values.image}"`);
    fileOptions['image'] = values.image;
  }
  try {
    const planned = await planDeployment(hosts, out, { force: values.force, days, files: fileOptions });
    print(`planned ${planned.stages.length} stages on ${planned.hosts.length} hosts in ${planned.dir} (certificates issued: ${planned.certsIssued.length})`);
    for (const h of planned.hosts) print(`  ${h.name.padEnd(12)} ${h.dir}  ${h.stages.join(', ')}`);
    for (const s of planned.stages) print(`    ${s.stage.padEnd(14)} ${s.address.padEnd(22)} metrics https://${s.metricsAddress}/metrics`);
    print(`  systemd units: ${planned.dir}/systemd/HOST/ (${planned.systemdUnits.length})`);
    print('file' in planned.kubernetes ? `  kubernetes manifests: ${planned.kubernetes.file}` : `  kubernetes manifests not written: ${planned.kubernetes.notWritten}`);
    print(`next: copy each ${planned.dir}/hosts/HOST to its host and run "kd deploy start --dir THAT_DIR" there (or install ${planned.dir}/systemd/HOST/*.service);`);
    print(`      then, from this machine: kd status --dir ${planned.dir}/operator`);
    return exitCodes.ok;
  } catch (error) {
    if (error instanceof CertsError) throw new UsageError(`${error.message}`);
    throw error;
  }
}

/** The byte length of each local stage's log now, to find what it writes after a start. */
function logOffsets(dir: string, stages: readonly StageId[]): Map<StageId, number> {
  return new Map(stages.map((s) => [s, existsSync(logFileOf(dir, s)) ? statSync(logFileOf(dir, s)).size : 0]));
}

function listensSince(dir: string, stage: StageId, offset: number): boolean {
  const file = logFileOf(dir, stage);
  if (!existsSync(file)) return false;
  return readFileSync(file).subarray(offset).toString('utf8').includes('"event":"stage.listening"');
}

async function start(dir: string, print: (line: string) => void): Promise<number> {
  let config: ClusterConfig;
  try {
    const problems = schemaProblemsOf(clusterConfigSchema, JSON.parse(readFileSync(configFileOf(dir), 'utf8')));
    if (problems.length > 0) throw new Error(`${configFileOf(dir)}: ${problems.join('; ')}`);
    config = loadClusterConfig(configFileOf(dir));
  } catch (error) {
    throw new UsageError(`${dir}: ${(error as Error).message}`);
  }
  if (config.host === undefined) throw new UsageError(`${configFileOf(dir)} has no host section: it is not a host's directory from kd deploy plan (for one machine, use kd up)`);
  const running = runningStages(dir).map((r) => r.stage);
  if (runningSupervisorOf(dir) !== null || running.length > 0) throw new UsageError(`host ${config.host.name} already runs in ${dir} (${running.join(', ') || 'supervisor'}): kd deploy stop --dir ${dir} first`);
  const stages = localStagesOf(config);
  const offsets = logOffsets(dir, stages);
  startSupervisor(dir);
  const deadline = Date.now() + 60_000;
  let pending = [...stages];
  while (pending.length > 0 && Date.now() < deadline) {
    pending = pending.filter((s) => !(runningPidOf(dir, s) !== null && listensSince(dir, s, offsets.get(s) ?? 0)));
    if (pending.length > 0) await new Promise((r) => setTimeout(r, 200));
  }
  if (pending.length > 0) {
    console.error(`kd deploy start: ${pending.join(', ')} did not listen within 60 s; see ${join(dir, 'logs')}. Stopping what started.`);
    await stopCluster(dir);
    return exitCodes.failed;
  }
  print(`host ${config.host.name} up in ${dir}: ${stages.map((s) => `${s} ${config.stages[s]?.address ?? ''}`).join(', ')}`);
  return exitCodes.ok;
}
