/** Writes conformance/INDEX.md (npm run conformance:index). */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { indexMarkdown } from './index-markdown.js';

const target = fileURLToPath(new URL('./INDEX.md', import.meta.url));
writeFileSync(target, indexMarkdown());
console.log(`wrote ${target}`);
