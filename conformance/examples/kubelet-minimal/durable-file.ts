/**
 * Durable writes (REQ-FAIL-002): a write is complete, data and directory entry
 * fsynced, before the caller goes on to send anything that depends on it.
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

function fsyncPath(path: string): void {
  const descriptor = openSync(path, 'r');
  try {
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
}

/** Replaces `path` with `content` atomically (write, fsync, rename, fsync the directory). */
export function writeDurably(path: string, content: string): void {
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, content);
  fsyncPath(temporary);
  renameSync(temporary, path);
  fsyncPath(dirname(path));
}

/** Removes `path` durably; a missing file is already removed. */
export function removeDurably(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  fsyncPath(dirname(path));
}
