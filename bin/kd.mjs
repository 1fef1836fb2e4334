#!/usr/bin/env node
// The `kd` command. The project runs its TypeScript sources directly through tsx's
// loader, so there is no build step and no build output to keep in sync.
import { register } from 'tsx/esm/api';

// `kd ... | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
