/**
 * The simulated sandboxes of a Kubelet as an append-only NDJSON journal in its data
 * dir, so that recording sandbox changes costs one small write, not a rewrite of every
 * sandbox of the node. Changes are buffered until `commit`, which writes all of them in
 * one write: the caller commits before it reports any of them. Each line is a sandbox
 * as it now is (`{"pod":…,"state":…}`) or its end (`{"gone":NAME}`); reading replays
 * the lines in order. When the journal holds far more lines than sandboxes it is
 * compacted: rewritten atomically (temp file and rename) with one line per sandbox. A
 * last line cut short by a crash is ignored (the change it recorded is lost, as when the
 * process dies just before writing it). Not fsynced: like the file it replaces, it
 * survives a process crash, not a power loss.
 */
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { SandboxInventoryItem } from '../../machines/index.js';
import { writeFileAtomic } from './durable.js';
import { inventoryItemOf } from './sandbox-runtime.js';

/** Journal lines always allowed before a compaction, whatever the number of sandboxes. */
export const sandboxJournalLinesMin = 1_024;

type JournalLine = SandboxInventoryItem | { readonly gone: string };

/** The sandboxes a journal file holds, by pod name (sorted by name); empty when the file does not exist. */
export function readSandboxJournal(file: string): Map<string, SandboxInventoryItem> {
  const sandboxes = new Map<string, SandboxInventoryItem>();
  if (!existsSync(file)) return sandboxes;
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((text, i) => {
    if (text === '') return;
    let line: JournalLine;
    try {
      line = JSON.parse(text) as JournalLine;
    } catch (error) {
      if (i === lines.length - 1) return; // cut short by a crash while it was written
      throw new Error(`${file}:${i + 1}: ${(error as Error).message}`);
    }
    if ('gone' in line) sandboxes.delete(line.gone);
    else sandboxes.set(line.pod.name, inventoryItemOf(line.pod, line.state, line.origin)); // a `killing` line of an older journal has no origin
  });
  return new Map([...sandboxes].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Appends sandbox changes to the journal file, a batch per commit; compacts it when it grows far beyond the sandboxes it holds. */
export class SandboxJournal {
  private fd: number | null = null;
  private lines = 0;
  /** Lines of the changes not yet committed, each with its newline. */
  private uncommitted = '';
  private uncommittedLines = 0;

  constructor(
    readonly file: string,
    /** The sandboxes as they are now (what a compaction writes). */
    private readonly sandboxes: ReadonlyMap<string, SandboxInventoryItem>,
  ) {}

  /** Rewrites the journal with one line per current sandbox and keeps it open for appending. */
  open(): void {
    this.compact();
  }

  /** Records that a sandbox now is `item` (written at the next commit). */
  put(item: SandboxInventoryItem): void {
    this.uncommitted += `${JSON.stringify(item)}\n`;
    this.uncommittedLines++;
  }

  /** Records that the sandbox of `pod` is gone (written at the next commit). */
  remove(pod: string): void {
    this.uncommitted += `${JSON.stringify({ gone: pod })}\n`;
    this.uncommittedLines++;
  }

  /** Writes every change recorded since the last commit, in one write. */
  commit(): void {
    if (this.uncommittedLines === 0) return;
    if (this.fd === null) {
      this.compact();
      return;
    }
    writeSync(this.fd, this.uncommitted);
    this.lines += this.uncommittedLines;
    this.uncommitted = '';
    this.uncommittedLines = 0;
    if (this.lines > sandboxJournalLinesMin + 2 * this.sandboxes.size) this.compact();
  }

  /** Commits, then closes the file. */
  close(): void {
    this.commit();
    this.closeFile();
  }

  private closeFile(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  /** Rewrites the file from the sandboxes as they are now, which holds every uncommitted change too. */
  private compact(): void {
    this.closeFile();
    const items = [...this.sandboxes.values()].sort((a, b) => (a.pod.name < b.pod.name ? -1 : 1));
    writeFileAtomic(this.file, items.map((item) => `${JSON.stringify(item)}\n`).join(''), false);
    this.fd = openSync(this.file, 'a');
    this.lines = items.length;
    this.uncommitted = '';
    this.uncommittedLines = 0;
  }
}
