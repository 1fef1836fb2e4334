/** `npm run docs:serve`: serves docs/site/ on http://127.0.0.1:8080/ (or --port N) until Ctrl-C. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultSiteDir } from './site.js';
import { serveSite } from './static-server.js';

const { values } = parseArgs({ options: { port: { type: 'string' } }, strict: true });
if (!existsSync(join(defaultSiteDir, 'index.html'))) {
  console.error('docs/site/ is not built: run "npm run docs" first.');
  process.exit(1);
}
const server = await serveSite(defaultSiteDir, Number(values.port ?? 8080));
console.log(`Serving docs/site/ at ${server.url} (Ctrl-C to stop)`);
