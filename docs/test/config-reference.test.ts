/**
 * The generated parts of the operator guide (docs/build/config-reference.ts): every key of
 * both configuration schemas and every metric of the catalog has a row, the guide has a
 * marker for each generated block, and a marker without a generator fails the build.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandGenerated, generatedBlocks, schemaRows } from '../build/config-reference.js';
import { clusterConfigSchema, hostsFileSchema } from '../../runtime/deploy/config-schema.js';
import { metricCatalog } from '../../runtime/observe/metric-catalog.js';
import { repositoryRoot } from '../../runtime/repository-paths.js';

const guide = readFileSync(join(repositoryRoot, 'docs', 'pages', 'operator-guide.md'), 'utf8');

describe('the operator guide generated from the schemas and the metric catalog', () => {
  it('has a marker for every generated block, and every marker is expanded', () => {
    for (const name of Object.keys(generatedBlocks)) expect(guide).toContain(`<!-- generated: ${name} -->`);
    expect(expandGenerated(guide)).not.toContain('<!-- generated:');
  });

  it('lists every key of both schemas, nested ones with their path', () => {
    const expanded = expandGenerated(guide);
    const paths = [...schemaRows(clusterConfigSchema), ...schemaRows(hostsFileSchema)].map((r) => r.path);
    for (const path of ['chain.nodes[].capacity', 'stages.*.metricsAddress', 'sandbox.cri.endpoint', 'tls.metricsClientIdentities', 'host.stages', 'hosts[].node.capacity', 'cluster.ports.metrics'])
      expect(paths).toContain(path);
    for (const path of paths) expect(expanded).toContain(`| \`${path}\` |`);
  });

  it('lists every metric with its kind and meaning', () => {
    const expanded = expandGenerated(guide);
    for (const m of metricCatalog) expect(expanded).toContain(`| \`${m.name}\` | ${m.kind} |`);
  });

  it('refuses a marker nobody generates', () => {
    expect(() => expandGenerated('<!-- generated: nothing-here -->')).toThrow(/no generated block "nothing-here"/);
  });
});
