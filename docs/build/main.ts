/**
 * `npm run docs`: builds the protocol site into docs/site/ (or the folder given with
 * --out). Options: --no-gallery (skip the checker), --no-api (skip typedoc).
 */
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { buildSite, defaultSiteDir } from './site.js';

const { values } = parseArgs({
  options: { out: { type: 'string' }, 'no-gallery': { type: 'boolean' }, 'no-api': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  strict: true,
});
if (values.help === true) {
  console.log('Usage: npm run docs [-- --out DIR] [--no-gallery] [--no-api]\nBuilds the protocol site (default docs/site/); open docs/site/index.html.');
  process.exit(0);
}
console.log('Building the protocol site...');
const result = await buildSite({
  outDir: values.out ?? defaultSiteDir,
  gallery: values['no-gallery'] !== true,
  api: values['no-api'] !== true,
  log: (line) => console.log(line),
});
const own = result.pages.filter((p) => !p.startsWith('api/')).length;
console.log(
  `Built ${result.pages.length} pages (${own} site pages, ${result.pages.length - own} API pages), ${result.diagrams} diagrams, ` +
    `${result.requirementIds.length} requirements, ${result.propertyIds.length} properties in ${result.seconds.toFixed(1)} s.`,
);
console.log(`Open ${relative(process.cwd(), result.outDir) || '.'}/index.html in a browser (or: npm run docs:serve).`);
