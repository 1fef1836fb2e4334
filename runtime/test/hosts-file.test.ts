/**
 * The hosts file of kd deploy (runtime/deploy/hosts-file.ts): any JSON value gets a list of
 * problems, never an exception; a good file has none; each kind of mistake is named with its
 * fix; `kd deploy plan` refuses a bad file with exit 2 and writes nothing.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { hostsFileProblems } from '../deploy/hosts-file.js';

const good = {
  cluster: { functions: ['fn'], ports: { stage: 7400, metrics: 9400 } },
  hosts: [
    { name: 'ctl', address: '10.0.0.2', stages: ['autoscaler', 'deployment', 'replicaset', 'scheduler'] },
    { name: 'w1', address: '10.0.0.5', stages: ['kubelet'], node: { name: 'n1', capacity: 50 } },
    { name: 'w2', address: 'w2.example.test', stages: ['kubelet'], node: { name: 'n2', capacity: 0 } },
  ],
};

describe('hostsFileProblems', () => {
  it('accepts a good file', () => {
    expect(hostsFileProblems(good)).toEqual([]);
  });

  it('answers any JSON value with a list of problems, never an exception', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const problems = hostsFileProblems(value);
        expect(Array.isArray(problems)).toBe(true);
        expect(problems.length).toBeGreaterThan(0);
      }),
    );
  });

  it('answers a good file with one field replaced by anything with problems or acceptance, never an exception', () => {
    const paths = ['cluster.functions', 'cluster.ports', 'cluster.sandbox', 'cluster.trustDomain', 'hosts.0.address', 'hosts.0.stages', 'hosts.1.node', 'hosts.1.node.capacity', 'hosts.2.name'];
    fc.assert(
      fc.property(fc.constantFrom(...paths), fc.jsonValue(), (path, value) => {
        const copy = JSON.parse(JSON.stringify(good)) as Record<string, unknown>;
        const keys = path.split('.');
        let at: Record<string, unknown> = copy;
        for (const key of keys.slice(0, -1)) at = at[key] as Record<string, unknown>;
        at[keys[keys.length - 1] as string] = value;
        const problems = hostsFileProblems(copy);
        for (const p of problems) expect(typeof p).toBe('string');
      }),
    );
  });

  it('names each mistake with its fix', () => {
    const withHosts = (hosts: unknown[]): unknown => ({ ...good, hosts });
    const [ctl, w1, w2] = good.hosts;
    expect(hostsFileProblems(withHosts([w1, w2]))).toContain('the autoscaler must run on exactly one host; no host lists it');
    expect(hostsFileProblems(withHosts([ctl, { ...ctl, name: 'ctl2', address: '10.0.0.3' }, w1]))).toContain('the scheduler must run on exactly one host; listed by ctl, ctl2');
    expect(hostsFileProblems(withHosts([ctl, w1, { ...w2, address: '10.0.0.5' }]))).toContain('hosts: address "10.0.0.5" is used by two hosts');
    expect(hostsFileProblems(withHosts([ctl, w1, { ...w2, node: { name: 'n1', capacity: 1 } }]))).toContain('hosts: node "n1" is on two hosts');
    expect(hostsFileProblems(withHosts([ctl, { ...w1, node: undefined }, w2])).join('\n')).toMatch(/a host with "kubelet" needs "node"/);
    expect(hostsFileProblems(withHosts([ctl, { ...w1, address: '10.0.0.5:7400' }, w2])).join('\n')).toMatch(/address must be an IPv4 address or a DNS name without a port/);
    expect(hostsFileProblems({ ...good, cluster: { functions: ['fn'], ports: { stage: 7400, metrics: 7402 } } }).join('\n')).toMatch(/at least 5 apart/);
    expect(hostsFileProblems({ ...good, extra: 1 }).join('\n')).toMatch(/unknown key "extra"/);
  });
});

describe('kd deploy plan with a bad hosts file', () => {
  it('exits 2 with every problem and writes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kd-hosts-bad-'));
    writeFileSync(join(dir, 'hosts.json'), JSON.stringify({ ...good, hosts: [good.hosts[1]] }));
    const errors: string[] = [];
    const original = console.error;
    console.error = (line: string): void => void errors.push(line);
    try {
      expect(await main(['deploy', 'plan', join(dir, 'hosts.json'), '--out', join(dir, 'out')], () => {})).toBe(2);
    } finally {
      console.error = original;
    }
    expect(errors.join('\n')).toMatch(/the autoscaler must run on exactly one host[\s\S]*the scheduler must run on exactly one host/);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });
});
