/**
 * A containerd of its own for a test (Debian's containerd 1.6 and runc): root, state,
 * socket and plugin dirs under one temp dir, the CRI plugin with the local pause image and
 * no CNI (pods use the host network), and the images of `npm run cri:image` imported.
 * `stop` removes every pod sandbox through CRI, stops containerd (by its pid), kills the
 * shims it left (only those serving this socket), unmounts what is mounted under the dir
 * and removes it.
 */
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CriClient } from '../node/cri/cri-client.js';
import { buildSandboxImages, importSandboxImages, pauseImageName } from '../node/cri/sandbox-image.js';
import { waitUntil } from '../../test/wait-until.js';

export const containerdPath = '/usr/bin/containerd';

export interface TestContainerd {
  readonly dir: string;
  /** The socket path (the CRI endpoint). */
  readonly socket: string;
  readonly pid: number;
  stop(): Promise<void>;
}

function configOf(dir: string, socket: string): string {
  return `version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "${socket}"
[ttrpc]
  address = "${socket}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${pauseImageName}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # The kernel may refuse a negative oom_score_adj to runc (-998 for the pause container): keep containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${dir}/cni-bin"
    conf_dir = "${dir}/cni-conf"
`;
}

/** Pids of the containerd shims serving `socket` (their command line names it). */
function shimsOf(socket: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if ((argv[0] ?? '').endsWith('containerd-shim-runc-v2') && argv.includes(socket)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Mount points under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

export async function startTestContainerd(): Promise<TestContainerd> {
  if (!existsSync(containerdPath)) throw new Error(`${containerdPath} is missing: apt-get install -y containerd runc (test/system-packages.json)`);
  const dir = mkdtempSync(join(tmpdir(), 'kd-containerd-'));
  const socket = join(dir, 'containerd.sock');
  for (const sub of ['cni-bin', 'cni-conf']) mkdirSync(join(dir, sub));
  writeFileSync(join(dir, 'config.toml'), configOf(dir, socket));
  const log = openSync(join(dir, 'containerd.log'), 'a');
  const child: ChildProcess = spawn(containerdPath, ['--config', join(dir, 'config.toml')], { stdio: ['ignore', log, log] });
  closeSync(log);
  if (child.pid === undefined) throw new Error('containerd did not start');
  const pid = child.pid;
  const stop = async (): Promise<void> => {
    if (existsSync(socket)) {
      const client = new CriClient(socket);
      try {
        for (const sandbox of await client.listPodSandbox({})) {
          await client.stopPodSandbox(sandbox.id).catch(() => {});
          await client.removePodSandbox(sandbox.id).catch(() => {});
        }
      } catch {
        // containerd is not answering: what it ran is killed below
      } finally {
        client.close();
      }
    }
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await waitUntil('containerd stopped', () => child.exitCode !== null || child.signalCode !== null, 20_000).catch(() => child.kill('SIGKILL'));
    }
    for (const shim of shimsOf(socket)) process.kill(shim, 'SIGKILL');
    for (const point of mountsUnder(dir)) {
      try {
        execFileSync('umount', ['-l', point]);
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const client = new CriClient(socket);
    await waitUntil('containerd answers CRI Version', async () => existsSync(socket) && (await client.version().then(() => true, () => false)));
    client.close();
    const { archive } = await buildSandboxImages(join(dir, 'images.tar'));
    await importSandboxImages(archive, socket);
  } catch (error) {
    await stop();
    throw error;
  }
  return { dir, socket, pid, stop };
}
