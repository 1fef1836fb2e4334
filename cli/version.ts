/** The version of this implementation (package.json) and of the protocol it speaks. */
import { readFileSync } from 'node:fs';
import { repositoryPath } from '../runtime/repository-paths.js';
import { protocolVersion } from '../spec/limits.js';

export function packageVersion(): string {
  try {
    return String((JSON.parse(readFileSync(repositoryPath('package.json'), 'utf8')) as { version?: unknown }).version ?? 'unknown');
  } catch {
    // A copy without its package.json still runs; it says it does not know its version.
    return 'unknown';
  }
}

/** What `kd --version` prints. */
export function versionText(): string {
  return `kubedirect-ts ${packageVersion()} (protocol ${protocolVersion})`;
}
