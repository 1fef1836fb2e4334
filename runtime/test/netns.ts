/**
 * Hosts for a multi-host test on one machine (needs root and iproute2): one Linux network
 * namespace per host, each with an `eth0` (a veth pair) plugged into a bridge inside a
 * switch namespace of its own, on one /24 subnet. Nothing is created outside the
 * namespaces. `cut`/`restore` take a host's link down and up; `destroy` kills every
 * process still inside the namespaces (they were started by the test) and deletes them.
 */
import { execFileSync, spawn, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface TestHost {
  readonly name: string;
  readonly namespace: string;
  readonly address: string;
}

function ip(args: readonly string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export class TestNetwork {
  private destroyed = false;

  private constructor(
    readonly hosts: ReadonlyMap<string, TestHost>,
    private readonly switchNamespace: string,
    private readonly namespaces: readonly string[],
  ) {}

  /** Creates one namespace per name (addresses SUBNET.10, .11, ...) and the switch; cleans up what it made if a step fails. */
  static create(names: readonly string[], subnet = '10.213.0'): TestNetwork {
    const tag = `kd${randomBytes(3).toString('hex')}`;
    const switchNamespace = `${tag}-sw`;
    const made: string[] = [];
    try {
      ip(['netns', 'add', switchNamespace]);
      made.push(switchNamespace);
      ip(['-n', switchNamespace, 'link', 'add', 'br0', 'type', 'bridge']);
      ip(['-n', switchNamespace, 'link', 'set', 'br0', 'up']);
      const hosts = new Map<string, TestHost>();
      names.forEach((name, i) => {
        const namespace = `${tag}-${name}`;
        const address = `${subnet}.${10 + i}`;
        ip(['netns', 'add', namespace]);
        made.push(namespace);
        ip(['-n', namespace, 'link', 'set', 'lo', 'up']);
        ip(['link', 'add', 'eth0', 'netns', namespace, 'type', 'veth', 'peer', 'name', `p${i}`, 'netns', switchNamespace]);
        ip(['-n', namespace, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
        ip(['-n', namespace, 'link', 'set', 'eth0', 'up']);
        ip(['-n', switchNamespace, 'link', 'set', `p${i}`, 'master', 'br0', 'up']);
        hosts.set(name, { name, namespace, address });
      });
      return new TestNetwork(hosts, switchNamespace, made);
    } catch (error) {
      for (const namespace of made.reverse()) deleteNamespace(namespace);
      throw error;
    }
  }

  host(name: string): TestHost {
    const host = this.hosts.get(name);
    if (host === undefined) throw new Error(`no test host ${name}`);
    return host;
  }

  /** Runs `command` inside the host's namespace; resolves with its exit code and output. */
  run(name: string, command: readonly string[], options: SpawnOptions = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    const child = spawn('ip', ['netns', 'exec', this.host(name).namespace, ...command], { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    return new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  }

  /** Takes the host's link down (`ip link set eth0 down` inside its namespace). */
  cut(name: string): void {
    ip(['-n', this.host(name).namespace, 'link', 'set', 'eth0', 'down']);
  }

  restore(name: string): void {
    ip(['-n', this.host(name).namespace, 'link', 'set', 'eth0', 'up']);
  }

  /** Kills what still runs inside the namespaces and deletes them; safe to call twice. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const namespace of [...this.namespaces].reverse()) deleteNamespace(namespace);
  }

  get switchName(): string {
    return this.switchNamespace;
  }
}

function deleteNamespace(namespace: string): void {
  try {
    for (const pid of ip(['netns', 'pids', namespace]).split('\n').filter((p) => /^\d+$/.test(p))) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    // no such namespace
  }
  try {
    ip(['netns', 'del', namespace]);
  } catch {
    // already deleted
  }
}
