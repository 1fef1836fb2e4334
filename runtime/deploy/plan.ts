/**
 * `kd deploy plan`: from a hosts file (hosts-file.ts), everything each machine needs.
 *
 *   OUT/certs/                  the CA (ca.key: keep it on the operator's machine only) and every identity
 *   OUT/hosts/HOST/cluster.json the host's configuration: every stage's address, `host.stages` its own
 *   OUT/hosts/HOST/certs/       ca.crt and the certificates and keys of the host's stages only
 *   OUT/operator/               cluster.json (`host.stages` []) and the operator identity: kd status/scale --dir OUT/operator
 *   OUT/prometheus/             the scraper identity and a scrape configuration of every stage's /metrics
 *
 * Copy OUT/hosts/HOST to its host (for example to /var/lib/kubedirect) and start it there
 * with `kd deploy start --dir DIR` (the supervisor of kd up, for the host's stages), or
 * install the systemd units or Kubernetes manifests (deployment-files.ts: OUT/systemd/HOST/,
 * OUT/kubernetes/kubedirect.yaml). Run again, it
 * keeps valid certificates and issues what is missing; `force` makes a new CA.
 */
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { kubeletId, type Role, type StageId } from '../../machines/index.js';
import { caCertFileName, certFileOf, keyFileOf, makeCertificates } from '../security/certs.js';
import { defaultTrustDomain, operatorIdentity } from '../security/identity.js';
import { defaultMetricsPort, defaultStagePort, rolePortOffsets, type HostEntry, type HostsFile } from './hosts-file.js';
import {
  defaultDeploymentFileOptions,
  kubernetesObjectsOf,
  kubernetesProblemOf,
  kubernetesYamlOf,
  systemdUnitOf,
  unitNameOf,
  type DeploymentFileOptions,
  type PlannedStage,
} from './deployment-files.js';

/** The client identity `kd deploy plan` issues for a Prometheus scraping the stages. */
export const scraperIdentity = 'prometheus';

export type { PlannedStage } from './deployment-files.js';

export interface DeploymentPlan {
  readonly dir: string;
  /** The systemd units written, by host. */
  readonly systemdUnits: ReadonlyArray<{ readonly host: string; readonly file: string }>;
  /** The Kubernetes manifests file, or why none was written. */
  readonly kubernetes: { readonly file: string } | { readonly notWritten: string };
  readonly stages: readonly PlannedStage[];
  readonly hosts: ReadonlyArray<{ readonly name: string; readonly dir: string; readonly stages: readonly StageId[] }>;
  readonly certsIssued: readonly string[];
}

function stageIdOf(role: Role, host: HostEntry): StageId {
  return role === 'kubelet' ? kubeletId(host.node?.name ?? '') : role;
}

export function fileBaseOf(stage: StageId): string {
  return stage.replace(':', '-');
}

/** Every stage of the hosts file with its host and addresses. */
export function plannedStagesOf(hosts: HostsFile): PlannedStage[] {
  const stagePort = hosts.cluster.ports?.stage ?? defaultStagePort;
  const metricsPort = hosts.cluster.ports?.metrics ?? defaultMetricsPort;
  return hosts.hosts.flatMap((host) =>
    host.stages.map((role) => ({
      stage: stageIdOf(role, host),
      host: host.name,
      address: `${host.address}:${stagePort + rolePortOffsets[role]}`,
      metricsAddress: `${host.address}:${metricsPort + rolePortOffsets[role]}`,
    })),
  );
}

/** The cluster configuration of one machine: the same chain and addresses everywhere, its own `host` section. */
export function clusterConfigJsonOf(hosts: HostsFile, planned: readonly PlannedStage[], host: { name: string; stages: readonly StageId[] }): Record<string, unknown> {
  const stages: Record<string, unknown> = {};
  for (const p of planned) stages[p.stage] = { address: p.address, dataDir: join('data', fileBaseOf(p.stage)), metricsAddress: p.metricsAddress };
  const sandbox = hosts.cluster.sandbox ?? {};
  return {
    chain: {
      functions: hosts.cluster.functions.map((name, priority) => ({ name, priority })),
      nodes: hosts.hosts.flatMap((h) => (h.node === undefined ? [] : [{ name: h.node.name, capacity: h.node.capacity }])),
      variant: 'correct',
    },
    stages,
    sandbox: { ...(sandbox.driver === undefined ? {} : { driver: sandbox.driver }), startDelayMs: sandbox.startDelayMs ?? 20, killDelayMs: sandbox.killDelayMs ?? 10, ...(sandbox.cri === undefined ? {} : { cri: sandbox.cri }) },
    store: { kind: 'file' },
    tls: { trustDomain: hosts.cluster.trustDomain ?? defaultTrustDomain, certsDir: 'certs', metricsClientIdentities: [operatorIdentity, scraperIdentity] },
    host: { name: host.name, stages: host.stages },
  };
}

function copyIdentity(from: string, to: string, identity: string): void {
  copyFileSync(certFileOf(from, identity), certFileOf(to, identity));
  copyFileSync(keyFileOf(from, identity), keyFileOf(to, identity));
  chmodSync(keyFileOf(to, identity), 0o600);
}

/** A directory holding ca.crt and the listed identities (copied from the CA's directory). */
function writeMachineDir(dir: string, certs: string, identities: readonly string[], config: Record<string, unknown> | null): void {
  mkdirSync(join(dir, 'certs'), { recursive: true, mode: 0o700 });
  copyFileSync(join(certs, caCertFileName), join(dir, 'certs', caCertFileName));
  for (const identity of identities) copyIdentity(certs, join(dir, 'certs'), identity);
  if (config !== null) writeFileSync(join(dir, 'cluster.json'), `${JSON.stringify(config, null, 2)}\n`);
}

/** A Prometheus scrape configuration of every stage's /metrics over the cluster's mutual TLS. */
function scrapeConfigOf(planned: readonly PlannedStage[]): string {
  const targets = planned.map((p) => `          - '${p.metricsAddress}'   # ${p.stage} on ${p.host}`).join('\n');
  return `# Prometheus scrape configuration written by kd deploy plan: every stage's /metrics over mutual TLS.
scrape_configs:
  - job_name: kubedirect
    scheme: https
    tls_config:
      ca_file: certs/${caCertFileName}
      cert_file: certs/${scraperIdentity}.crt
      key_file: certs/${scraperIdentity}.key
      server_name: kubedirect
    static_configs:
      - targets:
${targets}
`;
}

/** Writes the deployment of `hosts` (already checked by hostsFileProblems) into `out`. */
export async function planDeployment(
  hosts: HostsFile,
  out: string,
  options: { readonly force?: boolean; readonly days?: number; readonly files?: Partial<DeploymentFileOptions> } = {},
): Promise<DeploymentPlan> {
  const dir = resolve(out);
  const planned = plannedStagesOf(hosts);
  const certs = join(dir, 'certs');
  const outcome = await makeCertificates({
    dir: certs,
    trustDomain: hosts.cluster.trustDomain ?? defaultTrustDomain,
    identities: [...planned.map((p) => p.stage), operatorIdentity, scraperIdentity],
    force: options.force === true,
    ...(options.days === undefined ? {} : { days: options.days }),
  });
  const machines: Array<{ name: string; dir: string; stages: readonly StageId[] }> = [];
  for (const host of hosts.hosts) {
    const stages = planned.filter((p) => p.host === host.name).map((p) => p.stage);
    const hostDir = join(dir, 'hosts', host.name);
    writeMachineDir(hostDir, certs, stages, clusterConfigJsonOf(hosts, planned, { name: host.name, stages }));
    machines.push({ name: host.name, dir: hostDir, stages });
  }
  writeMachineDir(join(dir, 'operator'), certs, [operatorIdentity], clusterConfigJsonOf(hosts, planned, { name: 'operator', stages: [] }));
  writeMachineDir(join(dir, 'prometheus'), certs, [scraperIdentity], null);
  writeFileSync(join(dir, 'prometheus', 'prometheus-scrape.yml'), scrapeConfigOf(planned));
  const fileOptions: DeploymentFileOptions = { ...defaultDeploymentFileOptions, ...options.files };
  const systemdUnits = planned.map((p) => {
    const unitDir = join(dir, 'systemd', p.host);
    mkdirSync(unitDir, { recursive: true });
    const file = join(unitDir, unitNameOf(p.stage));
    writeFileSync(file, systemdUnitOf(p, hosts, fileOptions));
    return { host: p.host, file };
  });
  const problem = kubernetesProblemOf(planned);
  let kubernetes: DeploymentPlan['kubernetes'] = { notWritten: problem ?? '' };
  if (problem === null) {
    const file = join(dir, 'kubernetes', 'kubedirect.yaml');
    mkdirSync(join(dir, 'kubernetes'), { recursive: true });
    writeFileSync(file, kubernetesYamlOf(kubernetesObjectsOf(planned, fileOptions)));
    kubernetes = { file };
  }
  return { dir, stages: planned, hosts: machines, certsIssued: outcome.issued, systemdUnits, kubernetes };
}
