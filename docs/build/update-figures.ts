/** `npm run docs:figures`: rewrites the figures the READMEs quote to the code's values (readme-figures.ts). */
import { readmeFigureProblems, updateReadmeFigures } from './readme-figures.js';
import { repositoryRoot } from './site.js';

const changed = updateReadmeFigures(repositoryRoot);
console.log(changed.length === 0 ? 'every quoted number already agrees with the code' : `rewrote ${changed.join(', ')}`);
const left = readmeFigureProblems(repositoryRoot);
for (const problem of left) console.log(`still to fix by hand: ${problem}`);
process.exitCode = left.length === 0 ? 0 : 1;
