/** Writes conformance/INDEX.md and the case counts of conformance/README.md (npm run conformance:index). */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { indexMarkdown, withCaseCounts } from './index-markdown.js';

const target = fileURLToPath(new URL('./INDEX.md', import.meta.url));
writeFileSync(target, indexMarkdown());
console.log(`wrote ${target}`);
const readme = fileURLToPath(new URL('./README.md', import.meta.url));
writeFileSync(readme, withCaseCounts(readFileSync(readme, 'utf8')));
console.log(`wrote the case counts of ${readme}`);
