/**
 * The generated parts of the operator guide (docs/pages/operator-guide.md): the reference
 * tables of the configuration files, from their JSON Schemas (runtime/deploy/config-schema.ts),
 * and the table of metrics, from the metric catalog (runtime/observe/metric-catalog.ts).
 * The guide marks where each goes with an HTML comment `<!-- generated: NAME -->`.
 */
import { clusterConfigSchema, hostsFileSchema } from '../../runtime/deploy/config-schema.js';
import { metricCatalog } from '../../runtime/observe/metric-catalog.js';

type Schema = Record<string, unknown>;

interface Row {
  readonly path: string;
  readonly type: string;
  readonly required: boolean;
  readonly defaultValue: string;
  readonly description: string;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function typeOf(schema: Schema): string {
  if (Array.isArray(schema['enum'])) return (schema['enum'] as unknown[]).map((v) => JSON.stringify(v)).join(' \\| ');
  const type = typeof schema['type'] === 'string' ? (schema['type'] as string) : 'object';
  const bounds = [
    schema['minimum'] === undefined ? '' : `≥ ${String(schema['minimum'])}`,
    schema['maximum'] === undefined ? '' : `≤ ${String(schema['maximum'])}`,
    schema['pattern'] === undefined ? '' : 'pattern',
  ].filter((b) => b !== '');
  return bounds.length === 0 ? type : `${type} (${bounds.join(', ')})`;
}

/** Every property of `schema`, depth first, with its dotted path (`[]` for list items, `*` for any key). */
export function schemaRows(schema: Schema, path = '', required = false): Row[] {
  const rows: Row[] = [];
  if (path !== '')
    rows.push({
      path,
      type: typeOf(schema),
      required,
      defaultValue: schema['default'] === undefined ? '' : JSON.stringify(schema['default']),
      description: typeof schema['description'] === 'string' ? schema['description'] : '',
    });
  const properties = (schema['properties'] ?? {}) as Record<string, Schema>;
  const requiredNames = new Set((schema['required'] ?? []) as string[]);
  for (const [name, child] of Object.entries(properties)) rows.push(...schemaRows(child, path === '' ? name : `${path}.${name}`, requiredNames.has(name)));
  const items = schema['items'] as Schema | undefined;
  if (items !== undefined && typeof items === 'object' && items['properties'] !== undefined) rows.push(...schemaRows({ ...items, description: undefined }, `${path}[]`, false).slice(1));
  const any = schema['additionalProperties'];
  if (typeof any === 'object' && any !== null && (any as Schema)['properties'] !== undefined) rows.push(...schemaRows({ ...(any as Schema), description: undefined }, `${path}.*`, false).slice(1));
  return rows;
}

function schemaTable(schema: Schema): string {
  const lines = ['| key | type | required | default | meaning |', '| --- | --- | --- | --- | --- |'];
  for (const r of schemaRows(schema)) lines.push(`| \`${r.path}\` | ${cell(r.type)} | ${r.required ? 'yes' : ''} | ${r.defaultValue === '' ? '' : `\`${cell(r.defaultValue)}\``} | ${cell(r.description)} |`);
  return `${String(schema['description'] ?? '')} Every object is closed: an unknown key is an error.\n\n${lines.join('\n')}`;
}

function metricsTable(): string {
  const lines = ['| metric | kind | labels (besides `stage`) | meaning |', '| --- | --- | --- | --- |'];
  for (const m of metricCatalog) lines.push(`| \`${m.name}\` | ${m.kind} | ${m.labels.map((l) => `\`${l}\``).join(', ')} | ${cell(m.help)} |`);
  return lines.join('\n');
}

/** The generated blocks, by the name the guide's marker uses. */
export const generatedBlocks: Readonly<Record<string, () => string>> = {
  'cluster-config-reference': () => schemaTable(clusterConfigSchema),
  'hosts-file-reference': () => schemaTable(hostsFileSchema),
  metrics: metricsTable,
};

/** The guide with every `<!-- generated: NAME -->` marker replaced; throws on a marker without a generator. */
export function expandGenerated(markdown: string): string {
  return markdown.replace(/<!-- generated: ([a-z-]+) -->/g, (_match, name: string) => {
    const block = generatedBlocks[name];
    if (block === undefined) throw new Error(`operator guide: no generated block "${name}" (known: ${Object.keys(generatedBlocks).join(', ')})`);
    return block();
  });
}
