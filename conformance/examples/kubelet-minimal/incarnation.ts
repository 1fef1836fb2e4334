/**
 * The durable incarnation counter (02 §Incarnations, REQ-SESS-001): read, increment and
 * store it before serving anything. The first incarnation is 1.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { incarnationMax } from '../../../spec/limits.js';
import { writeDurably } from './durable-file.js';
import { faultOn } from './faults.js';

export function startNextIncarnation(dataDir: string): number {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'incarnation');
  const text = existsSync(path) ? readFileSync(path, 'utf8').trim() : '0';
  if (!/^(0|[1-9][0-9]*)$/.test(text)) {
    throw new Error(`${path} holds "${text}", not an incarnation number: refusing to start`);
  }
  const next = faultOn('incarnation-never-increments') ? Math.max(1, Number(text)) : Number(text) + 1;
  if (!Number.isSafeInteger(next) || next > incarnationMax) {
    throw new Error(`incarnation ${next} would exceed incarnationMax (${incarnationMax}): refusing to start`);
  }
  writeDurably(path, `${next}\n`);
  return next;
}
