/**
 * Deployment files for a platform's own supervisor, written by `kd deploy plan` next to the
 * hosts' directories (plan.ts):
 *
 *   OUT/systemd/HOST/kubedirect-STAGE.service   one unit per stage of the host, Restart=on-failure
 *   OUT/kubernetes/kubedirect.yaml              a Namespace, the controllers as Deployments and
 *                                               the Kubelet stage as a DaemonSet
 *
 * Both expect each host's directory (OUT/hosts/HOST) installed at `stateDir` on that host and
 * this repository at `installDir`. In Kubernetes a "host" is a node: every stage runs with
 * the host network on its host (a controller's Deployment is pinned there by
 * kubernetes.io/hostname; the DaemonSet runs on the Kubelet hosts only, whose node names
 * must then be the Kubernetes node names), and mounts `stateDir` from the host, so that its
 * incarnation counter and its sandboxes outlive the pod (spec 06). A Deployment has one
 * replica and the Recreate strategy: never two incarnations of one stage at once.
 * The manifests are checked against the Kubernetes object schemas in the tests
 * (kubernetes-models), not against a live cluster.
 */
import { stringify } from 'yaml';
import { nodeOfKubelet, roleOf, type StageId } from '../../machines/index.js';
import type { HostsFile } from './hosts-file.js';
import { stageProcessNodeFlags } from '../cluster/local-cluster.js';

/** A stage placed on a host by `kd deploy plan` (plan.ts). */
export interface PlannedStage {
  readonly stage: StageId;
  readonly host: string;
  readonly address: string;
  readonly metricsAddress: string;
}

export interface DeploymentFileOptions {
  /** Where this repository is installed on every host (default /opt/kubedirect). */
  readonly installDir: string;
  /** Where the host's directory from OUT/hosts/HOST is installed (default /var/lib/kubedirect). */
  readonly stateDir: string;
  /** The Node executable on the hosts (systemd; default /usr/bin/node). */
  readonly nodeExecutable: string;
  /** The container image of the Kubernetes pods: any image with Node 20 (default node:20-bookworm-slim). */
  readonly image: string;
}

export const defaultDeploymentFileOptions: DeploymentFileOptions = {
  installDir: '/opt/kubedirect',
  stateDir: '/var/lib/kubedirect',
  nodeExecutable: '/usr/bin/node',
  image: 'node:20-bookworm-slim',
};

/** The Kubernetes namespace of the manifests. */
export const kubernetesNamespace = 'kubedirect';

export function unitNameOf(stage: StageId): string {
  return `kubedirect-${stage.replace(':', '-')}.service`;
}

/** `kd node` arguments of a stage (a Kubelet's node given as `node`). */
function nodeCommandOf(stage: StageId, configFile: string, node: string | null): string[] {
  const role = roleOf(stage);
  return ['node', '--role', role, ...(role === 'kubelet' ? ['--node', node ?? nodeOfKubelet(stage)] : []), '--config', configFile];
}

/** The systemd unit of one stage: restarted on failure; a clean stop (exit 0 on SIGTERM) stays stopped; a bad configuration (exit 2) is not retried. */
export function systemdUnitOf(stage: PlannedStage, hosts: HostsFile, options: DeploymentFileOptions): string {
  const cri = roleOf(stage.stage) === 'kubelet' && hosts.cluster.sandbox?.driver === 'cri';
  const exec = [options.nodeExecutable, ...stageProcessNodeFlags, `${options.installDir}/bin/kd.mjs`, ...nodeCommandOf(stage.stage, `${options.stateDir}/cluster.json`, null)].join(' ');
  return `# Written by kd deploy plan for host ${stage.host}. Install: copy to /etc/systemd/system/, then
#   systemctl daemon-reload && systemctl enable --now ${unitNameOf(stage.stage)}
[Unit]
Description=Kubedirect stage ${stage.stage} on ${stage.address}
After=network-online.target${cri ? ' containerd.service' : ''}
Wants=network-online.target${cri ? '\nRequires=containerd.service' : ''}
# Keep restarting however often it fails (the supervisor's job; RestartSec is the delay).
StartLimitIntervalSec=0

[Service]
Type=simple
WorkingDirectory=${options.stateDir}
ExecStart=${exec}
Restart=on-failure
RestartSec=1
# Exit status 2 is a configuration the stage cannot run: restarting cannot fix it.
RestartPreventExitStatus=2
KillSignal=SIGTERM
TimeoutStopSec=10
# Sandbox processes and containers outlive a stage restart (spec 06): stop only the stage.
KillMode=process

[Install]
WantedBy=multi-user.target
`;
}

type Manifest = Record<string, unknown>;

function podSpecOf(command: readonly string[], options: DeploymentFileOptions, extra: Manifest): Manifest {
  return {
    hostNetwork: true,
    dnsPolicy: 'ClusterFirstWithHostNet',
    terminationGracePeriodSeconds: 15,
    containers: [
      {
        name: 'stage',
        image: options.image,
        command: ['node', ...stageProcessNodeFlags, `${options.installDir}/bin/kd.mjs`],
        args: [...command],
        workingDir: options.stateDir,
        volumeMounts: [
          { name: 'install', mountPath: options.installDir, readOnly: true },
          { name: 'state', mountPath: options.stateDir },
        ],
        ...extra,
      },
    ],
    volumes: [
      { name: 'install', hostPath: { path: options.installDir, type: 'Directory' } },
      { name: 'state', hostPath: { path: options.stateDir, type: 'Directory' } },
    ],
  };
}

/** The probes of a stage's pod: its gRPC port accepts connections (TCP; the port itself requires mutual TLS). */
function probesOf(port: number): Manifest {
  return {
    ports: [{ name: 'grpc', containerPort: port, protocol: 'TCP' }],
    readinessProbe: { tcpSocket: { port }, periodSeconds: 5 },
    livenessProbe: { tcpSocket: { port }, periodSeconds: 10, failureThreshold: 6 },
  };
}

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

/**
 * Why the hosts cannot be Kubernetes nodes as planned, or null: the DaemonSet gives each
 * Kubelet its Kubernetes node name (spec.nodeName) as its node, so a Kubelet host's node
 * must be named like the host, and all Kubelets share one port.
 */
export function kubernetesProblemOf(planned: readonly PlannedStage[]): string | null {
  const kubelets = planned.filter((p) => roleOf(p.stage) === 'kubelet');
  const misnamed = kubelets.filter((k) => nodeOfKubelet(k.stage) !== k.host);
  if (misnamed.length > 0) return `a Kubelet host's node must be named like the host (the DaemonSet passes spec.nodeName): ${misnamed.map((k) => `host ${k.host} has node ${nodeOfKubelet(k.stage)}`).join(', ')}`;
  return null;
}

/** The Kubernetes objects of the deployment: Namespace, a Deployment per controller, one DaemonSet of Kubelets. */
export function kubernetesObjectsOf(planned: readonly PlannedStage[], options: DeploymentFileOptions): Manifest[] {
  const labels = (component: string): Record<string, string> => ({ 'app.kubernetes.io/name': 'kubedirect', 'app.kubernetes.io/component': component });
  const objects: Manifest[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: kubernetesNamespace } }];
  const configFile = `${options.stateDir}/cluster.json`;
  for (const stage of planned.filter((p) => roleOf(p.stage) !== 'kubelet')) {
    objects.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `kubedirect-${stage.stage}`, namespace: kubernetesNamespace, labels: labels(stage.stage) },
      spec: {
        replicas: 1,
        strategy: { type: 'Recreate' },
        selector: { matchLabels: labels(stage.stage) },
        template: {
          metadata: { labels: labels(stage.stage) },
          spec: { ...podSpecOf(nodeCommandOf(stage.stage, configFile, null), options, probesOf(portOf(stage.address))), nodeSelector: { 'kubernetes.io/hostname': stage.host } },
        },
      },
    });
  }
  const kubelets = planned.filter((p) => roleOf(p.stage) === 'kubelet');
  const kubeletPort = portOf(kubelets[0]?.address ?? ':0');
  if (kubelets.some((k) => portOf(k.address) !== kubeletPort)) throw new Error('every Kubelet must listen on the same port for one DaemonSet');
  objects.push({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'kubedirect-kubelet', namespace: kubernetesNamespace, labels: labels('kubelet') },
    spec: {
      selector: { matchLabels: labels('kubelet') },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: { labels: labels('kubelet') },
        spec: {
          ...podSpecOf(nodeCommandOf(kubelets[0]?.stage ?? 'kubelet:n', configFile, '$(NODE_NAME)'), options, {
            ...probesOf(kubeletPort),
            env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
          }),
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: kubelets.map((k) => k.host) }] }],
              },
            },
          },
        },
      },
    },
  });
  return objects;
}

/** The manifests as one YAML stream. */
export function kubernetesYamlOf(objects: readonly Manifest[]): string {
  const header = '# Written by kd deploy plan. Validated against the Kubernetes object schemas (kubernetes-models), not tested on a live cluster.\n';
  return header + objects.map((o) => `---\n${stringify(o)}`).join('');
}
