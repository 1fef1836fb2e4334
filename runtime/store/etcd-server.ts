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
  readonly process: ChildProcess;
  output(): string;
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
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const server: EtcdServer = {
    endpoint: client,
    dataDir,
    process: child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(5_000)]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  const probe = new EtcdStore(client, () => {});
  const deadline = Date.now() + etcdStartMsMax;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`etcd exited with ${child.exitCode}: ${output}`);
    try {
      await probe.ping();
      return server;
    } catch (error) {
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error(`etcd did not answer on ${client} within ${etcdStartMsMax} ms (${(error as Error).message}): ${output}`);
      }
      await sleep(100);
    }
  }
}
