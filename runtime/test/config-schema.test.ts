/**
 * The JSON Schemas of the configuration (runtime/deploy/config-schema.ts) agree with what
 * the runtime writes and reads: every cluster.json kd up and kd deploy plan write matches
 * its schema; a misspelt key or a wrong type is named with where it is; any JSON value gets
 * problems, never an exception; `kd config check` answers 0 for a valid file and 1 with
 * the problems otherwise.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { configFileOf, writeClusterConfig, type ClusterShape } from '../cluster/local-cluster.js';
import { clusterConfigSchema, hostsFileSchema, schemaProblemsOf } from '../deploy/config-schema.js';

const root = mkdtempSync(join(tmpdir(), 'kd-config-schema-'));
const base: ClusterShape = { nodes: 2, capacity: 10, functions: ['fn', 'hi'], startDelayMs: 20, killDelayMs: 10 };
const hosts = {
  cluster: { functions: ['fn'], trustDomain: 'example.test', ports: { stage: 7000, metrics: 8000 }, sandbox: { driver: 'cri', cri: { endpoint: 'unix:///run/containerd/containerd.sock' } } },
  hosts: [
    { name: 'ctl', address: '10.0.0.2', stages: ['autoscaler', 'deployment', 'replicaset', 'scheduler'] },
    { name: 'w1', address: '10.0.0.5', stages: ['kubelet'], node: { name: 'w1', capacity: 50 } },
  ],
};

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'));
}

async function kd(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const original = console.error;
  console.error = (line: string): void => void err.push(line);
  try {
    const code = await main(args, (l) => out.push(l));
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.error = original;
  }
}

describe('the configuration schemas', () => {
  it('match every cluster.json kd up writes', async () => {
    const shapes: Array<[string, ClusterShape]> = [
      ['plain', base],
      ['tls-metrics', { ...base, tls: { trustDomain: 'cluster.local' }, metricsHost: '0.0.0.0' }],
      ['process', { ...base, sandboxDriver: 'process' }],
      ['cri', { ...base, sandboxDriver: 'cri', cri: { endpoint: 'unix:///run/containerd/containerd.sock' } }],
      ['etcd', { ...base, store: { kind: 'etcd', endpoint: 'http://127.0.0.1:2379', podObjects: false }, transport: { kind: 'store-mediated', etcd: 'http://127.0.0.1:2379' } }],
      ['flow', { ...base, frameBytesMax: 65_536 }],
      ['first-slice', { ...base, receiveSliceMsFirst: 5 }],
    ];
    for (const [name, shape] of shapes) {
      await writeClusterConfig(join(root, name), shape);
      expect([name, schemaProblemsOf(clusterConfigSchema, readJson(configFileOf(join(root, name))))]).toEqual([name, []]);
    }
  }, 60_000);

  it('match the hosts file and every cluster.json kd deploy plan writes', async () => {
    expect(schemaProblemsOf(hostsFileSchema, hosts)).toEqual([]);
    writeFileSync(join(root, 'hosts.json'), JSON.stringify(hosts));
    expect((await kd(['deploy', 'plan', join(root, 'hosts.json'), '--out', join(root, 'deploy')])).code).toBe(0);
    for (const machine of ['hosts/ctl', 'hosts/w1', 'operator']) expect([machine, schemaProblemsOf(clusterConfigSchema, readJson(join(root, 'deploy', machine, 'cluster.json')))]).toEqual([machine, []]);
  }, 60_000);

  it('name a misspelt key and a wrong type with where they are', () => {
    const config = readJson(configFileOf(join(root, 'plain'))) as Record<string, Record<string, unknown>>;
    expect(schemaProblemsOf(clusterConfigSchema, { ...config, sandbox: { ...config['sandbox'], startDelay: 5 } })).toContain('sandbox: unknown key "startDelay"');
    expect(schemaProblemsOf(clusterConfigSchema, { ...config, chain: { ...config['chain'], nodes: [{ name: 'n1', capacity: '10' }] } })).toContain('chain.nodes.0.capacity must be integer');
    expect(schemaProblemsOf(hostsFileSchema, { ...hosts, hosts: [{ ...hosts.hosts[0], stages: ['sheduler'] }] }).join('\n')).toMatch(/hosts\.0\.stages\.0 must be one of "autoscaler"/);
  });

  it('answer any JSON value with a list of problems, never an exception', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(Array.isArray(schemaProblemsOf(clusterConfigSchema, value))).toBe(true);
        expect(schemaProblemsOf(hostsFileSchema, value).length).toBeGreaterThan(0);
      }),
    );
  });
});

describe('kd config check', () => {
  it('exits 0 for a valid file and 1 with the problems otherwise', async () => {
    const good = await kd(['config', 'check', configFileOf(join(root, 'tls-metrics'))]);
    expect(good.out).toContain('a valid cluster configuration (6 stages, 6 run here, mutual TLS)');
    expect(good.code).toBe(0);
    expect((await kd(['config', 'check', join(root, 'hosts.json')])).code).toBe(0);
    const file = join(root, 'bad.json');
    writeFileSync(file, JSON.stringify({ ...(readJson(configFileOf(join(root, 'plain'))) as object), tsl: {} }));
    const bad = await kd(['config', 'check', file]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('(top level): unknown key "tsl"');
    // Past the schema: a certificate file the tls section needs is missing.
    const noCerts = readJson(configFileOf(join(root, 'tls-metrics'))) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...noCerts, tls: { trustDomain: 'cluster.local', certsDir: join(root, 'nowhere') } }));
    const missing = await kd(['config', 'check', file]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/missing files .*nowhere\/ca\.crt/);
  }, 60_000);

  it('never crashes on a generated file', async () => {
    const file = join(root, 'generated.json');
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        writeFileSync(file, JSON.stringify(value));
        expect([0, 1]).toContain((await kd(['config', 'check', file])).code);
      }),
      { numRuns: 50 },
    );
  }, 60_000);
});
