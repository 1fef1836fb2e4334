#!/usr/bin/env node
// The `kd` command. The project runs its TypeScript sources directly through tsx's
// loader, so there is no build step and no build output to keep in sync.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
