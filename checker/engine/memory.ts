/**
 * The memory a search holds, as the operating system counts it. The JavaScript heap alone
 * leaves out the typed arrays of the fingerprint table, the parent and edge lists and a
 * packed frontier (they live outside the heap), and with worker threads every thread's
 * heap and the shared buffers: the resident set size (RSS) of the process covers them all.
 */

export interface MemoryFigures {
  /** Resident set size of the whole process (all threads), bytes. */
  readonly residentBytes: number;
  /** JavaScript heap in use by this thread, bytes. */
  readonly heapBytes: number;
  /** ArrayBuffers and SharedArrayBuffers of this process outside the heap, bytes. */
  readonly arrayBuffersBytes: number;
}

export function memoryNow(): MemoryFigures {
  const m = process.memoryUsage();
  return { residentBytes: m.rss, heapBytes: m.heapUsed, arrayBuffersBytes: m.arrayBuffers };
}

/** The largest of each figure over the samples taken. */
export class MemoryPeaks {
  residentBytes = 0;
  heapBytes = 0;
  arrayBuffersBytes = 0;

  sample(): MemoryFigures {
    const now = memoryNow();
    this.add(now);
    return now;
  }

  add(figures: Partial<MemoryFigures>): void {
    this.residentBytes = Math.max(this.residentBytes, figures.residentBytes ?? 0);
    this.heapBytes = Math.max(this.heapBytes, figures.heapBytes ?? 0);
    this.arrayBuffersBytes = Math.max(this.arrayBuffersBytes, figures.arrayBuffersBytes ?? 0);
  }
}
