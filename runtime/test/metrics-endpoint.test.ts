/**
 * /metrics and /healthz beyond loopback (runtime/observe/http-endpoint.ts): a configuration
 * refuses a non-loopback metricsAddress without tls (generated addresses); with tls, a stage
 * bound to 0.0.0.0 serves HTTPS, reachable on the host's non-loopback address, only to a
 * client certificate of the CA whose identity is in tls.metricsClientIdentities (403 for
 * another identity, the handshake fails without a certificate, plain HTTP gets nothing).
 */
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { request } from 'node:https';
import { request as plainRequest } from 'node:http';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runUp } from '../../cli/cluster-commands.js';
import { main } from '../../cli/main.js';
import { clusterConfigProblems, loadClusterConfig, type ClusterConfig } from '../config.js';
import { configFileOf, removeCluster, startStageProcess, waitHealthy, writeClusterConfig } from '../cluster/local-cluster.js';
import { certFileOf, keyFileOf } from '../security/certs.js';
import type { TlsConfig } from '../security/tls-config.js';
import { metricCatalog } from '../observe/metric-catalog.js';

function configWithMetricsAddress(metricsAddress: string, tls: boolean): ClusterConfig {
  const fakeTls: TlsConfig = { trustDomain: 'cluster.local', ca: '/ca.crt', identities: {}, operatorIdentities: ['operator'], scalerClientIdentities: ['operator'], metricsClientIdentities: ['operator'] };
  const stage = (i: number): { address: string; dataDir: string; metricsAddress?: string } => ({ address: `127.0.0.1:${7000 + i}`, dataDir: `/d${i}` });
  return {
    chain: { functions: [{ name: 'fn', priority: 0 }], nodes: [{ name: 'n1', capacity: 1 }], variant: 'correct' },
    stages: { autoscaler: { ...stage(0), metricsAddress }, deployment: stage(1), replicaset: stage(2), scheduler: stage(3), 'kubelet:n1': stage(4) },
    sandbox: { startDelayMs: 0, killDelayMs: 0 },
    ...(tls ? { tls: fakeTls } : {}),
  };
}

describe('the configuration of metricsAddress', () => {
  const octet = fc.integer({ min: 0, max: 255 });
  const nonLoopbackHost = fc.oneof(
    fc.tuple(fc.integer({ min: 1, max: 223 }).filter((a) => a !== 127), octet, octet, octet).map((parts) => parts.join('.')),
    fc.constantFrom('0.0.0.0', 'metrics.example.test', '[::]', '[2001:db8::5]'),
  );
  const port = fc.integer({ min: 1, max: 65_535 });

  it('refuses a non-loopback address without tls, with the fix, and accepts it with tls', () => {
    fc.assert(
      fc.property(nonLoopbackHost, port, (host, p) => {
        const without = clusterConfigProblems(configWithMetricsAddress(`${host}:${p}`, false));
        expect(without.join('\n')).toMatch(/is not loopback; beyond loopback \/metrics and \/healthz are served only over mutual TLS: add a "tls" section/);
        expect(clusterConfigProblems(configWithMetricsAddress(`${host}:${p}`, true))).toEqual([]);
      }),
    );
    for (const loopback of ['127.0.0.1:9100', 'localhost:9100', '[::1]:9100']) expect(clusterConfigProblems(configWithMetricsAddress(loopback, false))).toEqual([]);
  });

  it('says "host:port" for anything else, and never throws', () => {
    const garbage = fc.oneof(fc.string(), fc.constantFrom('9100', ':9100', '0.0.0.0:', '0.0.0.0:99999', 'a:b:c:9100', '0.0.0.0:9100/metrics'));
    fc.assert(
      fc.property(garbage, fc.boolean(), (address, tls) => {
        fc.pre(!/^(\[[0-9a-fA-F:]+\]|[^:[\]]+):\d{1,5}$/.test(address) || Number(address.slice(address.lastIndexOf(':') + 1)) > 65_535);
        expect(clusterConfigProblems(configWithMetricsAddress(address, tls)).join('\n')).toMatch(/metricsAddress .* must be host:port/);
      }),
    );
  });

  it('kd up --metrics-host beyond loopback needs --tls (exit 2 with the fix)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kd-metrics-usage-'));
    await expect(runUp(['--metrics-host', '0.0.0.0', '--dir', dir], () => {})).rejects.toThrow(/--metrics-host 0\.0\.0\.0 needs --tls/);
    await expect(runUp(['--metrics-host', 'a b', '--dir', dir], () => {})).rejects.toThrow(/must be a host name or address/);
  });
});

interface Answer {
  readonly status: number;
  readonly body: string;
}

function httpsGet(host: string, port: number, path: string, tls: { ca: Buffer; cert?: Buffer; key?: Buffer }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, servername: 'kubedirect', ...tls, minVersion: 'TLSv1.3' }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

function plainGet(host: string, port: number, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = plainRequest({ host, port, path }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: '' }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/** The host's first non-loopback IPv4 address, else 127.0.0.1 (the bind to 0.0.0.0 is then only seen on loopback). */
function hostAddress(): string {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return '127.0.0.1';
}

describe('a stage serving /metrics on 0.0.0.0 over mutual TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kd-metrics-tls-'));
  const certs = join(dir, 'certs');
  let port = 0;
  const pem = (name: string): { cert: Buffer; key: Buffer } => ({ cert: readFileSync(certFileOf(certs, name)), key: readFileSync(keyFileOf(certs, name)) });
  let ca: Buffer;

  beforeAll(async () => {
    await writeClusterConfig(dir, { nodes: 1, capacity: 4, functions: ['fn'], startDelayMs: 0, killDelayMs: 0, tls: { trustDomain: 'cluster.local' }, metricsHost: '0.0.0.0' });
    // Only the scraper identity may read the endpoint; kd certs --config issues it because tls names it.
    const file = configFileOf(dir);
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { tls: Record<string, unknown> };
    raw.tls['metricsClientIdentities'] = ['prometheus'];
    writeFileSync(file, JSON.stringify(raw, null, 2));
    expect(await main(['certs', '--config', file], () => {})).toBe(0);
    const config = loadClusterConfig(file);
    expect(config.stages['scheduler']?.metricsAddress).toMatch(/^0\.0\.0\.0:\d+$/);
    port = Number(config.stages['scheduler']?.metricsAddress?.split(':')[1]);
    ca = readFileSync(join(certs, 'ca.crt'));
    startStageProcess(dir, 'scheduler');
    await waitHealthy(config, ['scheduler'], 60_000);
  }, 120_000);

  afterAll(async () => {
    await removeCluster(dir);
  }, 30_000);

  it('answers the allowed identity on the host address, with the metrics and health', async () => {
    const metrics = await httpsGet(hostAddress(), port, '/metrics', { ca, ...pem('prometheus') });
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^kubedirect_incarnation\{stage="scheduler"\} 1$/m);
    // Exactly the families of the metric catalog, which the operator guide's table is generated from.
    const families = [...metrics.body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
    expect(families).toEqual(metricCatalog.map((f) => `${f.name} ${f.kind}`).sort());
    const health = await httpsGet(hostAddress(), port, '/healthz', { ca, ...pem('prometheus') });
    expect(JSON.parse(health.body)).toMatchObject({ status: 'serving', stage: 'scheduler', incarnation: 1 });
  }, 60_000);

  it('refuses another identity of the CA with 403 and the reason', async () => {
    for (const other of ['operator', 'kubelet:n1']) {
      const answer = await httpsGet(hostAddress(), port, '/metrics', { ca, ...pem(other) });
      expect(answer.status).toBe(403);
      expect(answer.body).toContain(`"${other}" may not read this endpoint; allowed: prometheus`);
    }
  }, 60_000);

  it('fails the handshake without a client certificate, and gives plain HTTP nothing', async () => {
    await expect(httpsGet(hostAddress(), port, '/metrics', { ca })).rejects.toThrow();
    await expect(plainGet(hostAddress(), port, '/metrics')).rejects.toThrow();
  }, 60_000);
});
