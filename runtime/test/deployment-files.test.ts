/**
 * The deployment files of kd deploy plan (runtime/deploy/deployment-files.ts): the
 * Kubernetes manifests are valid against the Kubernetes object schemas (kubernetes-models;
 * no cluster), with the controllers as one-replica Recreate Deployments pinned to their
 * hosts and the Kubelets as a DaemonSet on the Kubelet hosts; the checks refuse a broken
 * object, so they can fail. The systemd units pass `systemd-analyze verify`, restart on
 * failure only, and their ExecStart really starts the stage, which exits 0 on SIGTERM
 * (a clean stop, which Restart=on-failure leaves stopped).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Namespace } from 'kubernetes-models/v1';
import { DaemonSet, Deployment } from 'kubernetes-models/apps/v1';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { repositoryRoot } from '../repository-paths.js';
import { waitUntil } from '../../test/wait-until.js';

const root = mkdtempSync(join(tmpdir(), 'kd-deploy-files-'));
const out = join(root, 'deploy');
const hosts = {
  cluster: { functions: ['fn'] },
  hosts: [
    { name: 'ctl', address: '127.0.0.21', stages: ['autoscaler', 'deployment', 'replicaset', 'scheduler'] },
    { name: 'n1', address: '127.0.0.22', stages: ['kubelet'], node: { name: 'n1', capacity: 10 } },
    { name: 'n2', address: '127.0.0.23', stages: ['kubelet'], node: { name: 'n2', capacity: 10 } },
  ],
};

type Manifest = { kind: string; metadata: { name: string }; spec: Record<string, unknown> } & Record<string, unknown>;

/** Validates one object against its Kubernetes schema; throws with the schema's complaint. */
function validate(object: Manifest): void {
  const model = object.kind === 'Namespace' ? new Namespace(object as never) : object.kind === 'Deployment' ? new Deployment(object as never) : object.kind === 'DaemonSet' ? new DaemonSet(object as never) : null;
  if (model === null) throw new Error(`unexpected kind ${object.kind}`);
  model.validate();
}

let manifests: Manifest[] = [];

beforeAll(async () => {
  writeFileSync(join(root, 'hosts.json'), JSON.stringify(hosts));
  // The units point at this checkout and at host n1's directory, so that one of them can be run here.
  const lines: string[] = [];
  const code = await main(['deploy', 'plan', join(root, 'hosts.json'), '--out', out, '--install-dir', repositoryRoot, '--state-dir', join(out, 'hosts', 'n1')], (l) => lines.push(l));
  expect(code).toBe(0);
  expect(lines.join('\n')).toMatch(/kubernetes manifests: .*kubedirect\.yaml/);
  manifests = parseAllDocuments(readFileSync(join(out, 'kubernetes', 'kubedirect.yaml'), 'utf8')).map((d) => d.toJS() as Manifest);
}, 120_000);

describe('Kubernetes manifests', () => {
  it('are valid against the Kubernetes object schemas', () => {
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual([
      'Namespace/kubedirect',
      'Deployment/kubedirect-autoscaler',
      'Deployment/kubedirect-deployment',
      'Deployment/kubedirect-replicaset',
      'Deployment/kubedirect-scheduler',
      'DaemonSet/kubedirect-kubelet',
    ]);
    for (const m of manifests) expect(() => validate(m)).not.toThrow();
  });

  it('run each controller once on its host and the Kubelets on the Kubelet hosts, with their state on the host', () => {
    for (const d of manifests.filter((m) => m.kind === 'Deployment')) {
      expect(d.spec).toMatchObject({ replicas: 1, strategy: { type: 'Recreate' }, template: { spec: { hostNetwork: true, nodeSelector: { 'kubernetes.io/hostname': 'ctl' } } } });
    }
    const ds = manifests.find((m) => m.kind === 'DaemonSet') as Manifest;
    const pod = (ds.spec['template'] as { spec: Record<string, unknown> }).spec;
    expect(JSON.stringify(pod['affinity'])).toContain('"values":["n1","n2"]');
    const container = (pod['containers'] as Array<Record<string, unknown>>)[0] as Record<string, unknown>;
    expect(container['args']).toEqual(['node', '--role', 'kubelet', '--node', '$(NODE_NAME)', '--config', `${join(out, 'hosts', 'n1')}/cluster.json`]);
    expect(pod['volumes']).toContainEqual({ name: 'state', hostPath: { path: join(out, 'hosts', 'n1'), type: 'Directory' } });
  });

  it('the schema check refuses a broken object (so it can fail)', () => {
    const deployment = JSON.parse(JSON.stringify(manifests[1])) as Manifest;
    delete deployment.spec['selector'];
    expect(() => validate(deployment)).toThrow(/selector/);
    const daemonSet = JSON.parse(JSON.stringify(manifests[5])) as Manifest;
    ((daemonSet.spec['template'] as { spec: { containers: Array<{ ports: Array<{ containerPort: unknown }> }> } }).spec.containers[0]?.ports[0] as { containerPort: unknown }).containerPort = 'grpc-port';
    expect(() => validate(daemonSet)).toThrow(/containerPort/);
  });
});

describe('systemd units', () => {
  const unit = (host: string, stage: string): string => join(out, 'systemd', host, `kubedirect-${stage}.service`);

  it('pass systemd-analyze verify and restart on failure only', () => {
    for (const [host, stage] of [['ctl', 'scheduler'], ['n1', 'kubelet-n1']] as const) {
      const text = readFileSync(unit(host, stage), 'utf8');
      expect(text).toMatch(/^Restart=on-failure$/m);
      expect(text).toMatch(/^RestartPreventExitStatus=2$/m);
      expect(text).toMatch(/^KillMode=process$/m);
      const verified = spawnSync('systemd-analyze', ['verify', unit(host, stage)], { encoding: 'utf8' });
      expect(verified.stderr).toBe('');
      expect(verified.status).toBe(0);
    }
  });

  it("ExecStart starts the stage, which exits 0 on SIGTERM (a clean stop stays stopped under Restart=on-failure)", async () => {
    const text = readFileSync(unit('n1', 'kubelet-n1'), 'utf8');
    const exec = (/^ExecStart=(.*)$/m.exec(text)?.[1] ?? '').split(' ');
    const cwd = /^WorkingDirectory=(.*)$/m.exec(text)?.[1] ?? '';
    const child = spawn(exec[0] as string, exec.slice(1), { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitUntil('the Kubelet of the unit listens', () => stdout.includes('"event":"stage.listening"'));
      expect(stdout).toContain('"address":"127.0.0.22:7404"');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 120_000);
});
