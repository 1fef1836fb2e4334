/**
 * A throwaway etcd for tests: Debian's /usr/bin/etcd (3.4) on loopback, free client
 * and peer ports, its own temporary data dir. Never used by the runtime itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, sleep } from '../cluster/local-cluster.js';
import { EtcdStore } from './etcd-store.js';

export const etcdBinary = '/usr/bin/etcd';
/** Time for a fresh etcd to answer requests. */
export const etcdStartMsMax = 30_000;

export interface EtcdServer {
  readonly endpoint: string;
  readonly dataDir: string;
  /** The running etcd process (a new one after `restart`). */
  readonly process: ChildProcess;
  output(): string;
  /** SIGKILLs etcd (an outage: its data dir stays) and waits until it has exited. */
  kill(): Promise<void>;
  /** Starts etcd again on the same ports and data dir (after `kill`) and waits until it serves. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts etcd and waits until it serves; throws with how to install it when the binary is missing. */
export async function startEtcd(): Promise<EtcdServer> {
  if (!existsSync(etcdBinary))
    throw new Error(`${etcdBinary} is missing: install etcd with "apt-get update && apt-get install -y etcd-server" (.ci/run does this)`);
  const clientPort = await freePort();
  const peerPort = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'kd-etcd-'));
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  const launch = (): ChildProcess => {
    const child = spawn(
      etcdBinary,
      [
        '--name', 'default',
        '--data-dir', dataDir,
        '--listen-client-urls', client,
        '--advertise-client-urls', client,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `default=${peer}`,
        '--log-level', 'warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    return child;
  };
  let child = launch();
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const kill = async (): Promise<void> => {
    if (!running()) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await exited;
  };
  const server: EtcdServer = {
    endpoint: client,
    dataDir,
    get process() {
      return child;
    },
    output: () => output,
    kill,
    restart: async () => {
      await kill();
      child = launch();
      await waitServing(client, () => child, () => output);
    },
    stop: async () => {
      if (running()) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(5_000)]);
        if (running()) child.kill('SIGKILL');
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await waitServing(client, () => child, () => output);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

/** Waits until the etcd at `client` answers a read (etcdStartMsMax at most). */
async function waitServing(client: string, child: () => ChildProcess, output: () => string): Promise<void> {
  const probe = new EtcdStore(client, () => {});
  const deadline = Date.now() + etcdStartMsMax;
  try {
    for (;;) {
      if (child().exitCode !== null) throw new Error(`etcd exited with ${child().exitCode}: ${output()}`);
      try {
        await probe.ping();
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`etcd did not answer on ${client} within ${etcdStartMsMax} ms (${(error as Error).message}): ${output()}`);
        await sleep(100);
      }
    }
  } finally {
    await probe.close();
  }
}
