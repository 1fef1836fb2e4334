/**
 * What survives a stage process restart, kept in its data dir: the incarnation
 * counter (strictly increasing across restarts), the Autoscaler's desired counts (the
 * embedded file store), and a Kubelet's simulated sandboxes.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { incarnationMax } from '../../spec/limits.js';

/** Writes `text` to `file` atomically (temp file and rename); with `sync`, fsyncs the data first. */
export function writeFileAtomic(file: string, text: string, sync: boolean): void {
  const temp = `${file}.tmp`;
  const fd = openSync(temp, 'w');
  try {
    writeSync(fd, text);
    if (sync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
  if (sync) {
    const dir = openSync(join(file, '..'), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }
}

function readJson<T>(file: string, fallback: T): T {
  if (!existsSync(file)) return fallback;
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** Takes the next incarnation of the stage whose data lives in `dataDir`, durably, before anything else. */
export function nextIncarnation(dataDir: string): number {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'incarnation.json');
  const previous = readJson<{ incarnation: number }>(file, { incarnation: 0 }).incarnation;
  if (!Number.isInteger(previous) || previous < 0 || previous >= incarnationMax) throw new Error(`${file}: bad incarnation ${previous}`);
  const incarnation = previous + 1;
  writeFileAtomic(file, `${JSON.stringify({ incarnation })}\n`, true);
  return incarnation;
}

/** The file store's desired counts (runtime/store/file-store.ts): one JSON file, fsynced on every write. */
export class DesiredStore {
  private readonly file: string;
  private desired: Record<string, number>;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.file = join(dataDir, 'desired.json');
    this.desired = readJson<Record<string, number>>(this.file, {});
  }

  all(): Readonly<Record<string, number>> {
    return { ...this.desired };
  }

  /** Durable when it returns (store.persist must be durable before later sends of the same step): one write for all of `counts`. */
  persist(counts: ReadonlyMap<string, number>): void {
    this.desired = { ...this.desired, ...Object.fromEntries(counts) };
    const sorted = Object.fromEntries(Object.entries(this.desired).sort(([a], [b]) => (a < b ? -1 : 1)));
    writeFileAtomic(this.file, `${JSON.stringify(sorted, null, 1)}\n`, true);
  }
}

export function readJsonFile<T>(file: string, fallback: T): T {
  return readJson(file, fallback);
}
