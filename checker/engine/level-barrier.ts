/**
 * The control block of the parallel search, in shared memory: a reusable barrier at which
 * the worker threads meet at the end of every breadth-first level, what each worker
 * publishes there (flags, the size of its part of the next level), running totals for the
 * progress line, the count of worker threads ready to join worker 0 (the main thread),
 * an abort word that a failing worker sets (a waiting or searching worker then
 * throws `SearchAborted` instead of waiting forever), and a heartbeat word per worker. A
 * worker thread that dies without running JavaScript (out of heap) cannot set the abort
 * word, and its error event waits for the main thread's event loop, which is blocked while
 * the main thread searches as worker 0: so worker 0, whenever it waits for the others,
 * watches their heartbeats and stops the search when one has been silent for
 * `workerSilenceMsMax` (every live worker beats while it expands and while it waits).
 */

/** Flags a worker publishes at a barrier. */
export const levelFlags = {
  /** A safety property was broken at the next depth. */
  violation: 1,
  time: 2,
  memory: 4,
  states: 8,
  /** States at the depth bound were not expanded (the search goes on with the others). */
  depth: 16,
  /** The shared table was full: grow it, then finish the level. */
  grow: 32,
  /** The shared table cannot grow further. */
  tableLimit: 64,
} as const;

/** Flags that end the search at the barrier where they are seen. */
export const stoppingFlags = levelFlags.violation | levelFlags.time | levelFlags.memory | levelFlags.states | levelFlags.tableLimit;

const arrivedAt = 0;
const generationAt = 1;
const abortAt = 2;
/** Depth of the level being expanded (progress). */
const levelAt = 3;
/** Transitions so far, added in batches (progress). */
const transitionsAt = 4;
/** Worker threads (other than worker 0, the main thread) that have built their model and wait to join. */
const readyAt = 5;
/** Published per round parity and worker: flags, next-level size. */
const slotsAt = 8;

/** How long a worker thread that has joined may show no sign of life before worker 0 stops the search, ms. */
export const workerSilenceMsMax = 60_000;

/** Spins before sleeping at a barrier: waking a sleeping thread costs more than a short spin when the other is nearly done. */
const barrierSpinsMax = 20_000;
/** How long a waiting worker sleeps between checks of the abort word, ms. */
const barrierSleepMs = 20;

export class SearchAborted extends Error {
  constructor() {
    super('the parallel search was aborted (another worker failed)');
  }
}

/** A worker thread stopped beating while worker 0 waited for it: it died without a word (out of heap) or was killed. */
export class SearchWorkerSilent extends Error {
  override readonly name = 'SearchWorkerSilent';
  constructor(worker: number, silentMs: number) {
    super(`search worker ${worker} has shown no sign of life for ${Math.round(silentMs / 1000)} s (out of memory, or killed): the search stops; run with --workers 1, or with more memory (--max-memory-mb, NODE_OPTIONS=--max-old-space-size)`);
  }
}

export class LevelControl {
  readonly words: Int32Array;
  private round = 0;
  /** Worker 0's view of its peers' heartbeats: the last value seen and when it changed. */
  private readonly peerBeats: Int32Array;
  private readonly peerBeatSeenAt: number[];

  /** `self` is the worker this thread is (-1: a thread that only reads progress or aborts); `silenceMs` is how long worker 0 lets a peer be silent. */
  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly workers: number,
    private readonly self = -1,
    private readonly silenceMs = workerSilenceMsMax,
  ) {
    this.words = new Int32Array(buffer);
    this.peerBeats = new Int32Array(workers);
    this.peerBeatSeenAt = new Array<number>(workers).fill(Date.now());
  }

  static allocate(workers: number): LevelControl {
    return new LevelControl(new SharedArrayBuffer((slotsAt + 5 * workers) * 4), workers);
  }

  /** This worker is alive: called as it expands and each time it wakes while waiting. */
  beat(): void {
    if (this.self >= 0) Atomics.add(this.words, slotsAt + 4 * this.workers + this.self, 1);
  }

  /**
   * One turn of a wait: beats, and on worker 0 throws `SearchWorkerSilent` (after aborting
   * the others) when a peer that has beaten before has not beaten for `silenceMs`. Peers
   * that never beat are still loading: worker 0 does not wait for them unless asked to
   * (`waitForWorkers`), and then an error of theirs arrives as a message.
   */
  waiting(): void {
    this.beat();
    if (this.self !== 0) return;
    const now = Date.now();
    for (let w = 1; w < this.workers; w++) {
      const beats = Atomics.load(this.words, slotsAt + 4 * this.workers + w);
      if (beats !== this.peerBeats[w]) {
        this.peerBeats[w] = beats;
        this.peerBeatSeenAt[w] = now;
      } else if (beats !== 0 && now - (this.peerBeatSeenAt[w] as number) > this.silenceMs) {
        this.abort();
        throw new SearchWorkerSilent(w, now - (this.peerBeatSeenAt[w] as number));
      }
    }
  }

  /** Publishes this worker's flags and next-level size for the current round, then waits for every worker; returns what all published. */
  meet(worker: number, flags: number, nextSize: number): { readonly flags: number; readonly nextSize: number; readonly sizes: readonly number[] } {
    const base = slotsAt + ((this.round & 1) * this.workers + worker) * 2;
    Atomics.store(this.words, base, flags);
    Atomics.store(this.words, base + 1, nextSize);
    this.arrive();
    let all = 0;
    let total = 0;
    const sizes: number[] = [];
    for (let w = 0; w < this.workers; w++) {
      const at = slotsAt + ((this.round & 1) * this.workers + w) * 2;
      all |= Atomics.load(this.words, at);
      const size = Atomics.load(this.words, at + 1);
      sizes.push(size);
      total += size;
    }
    // Round parity double-buffers the slots: a worker can be at most one round ahead of the slowest reader.
    this.round++;
    return { flags: all, nextSize: total, sizes };
  }

  /** Waits until every worker has arrived (a barrier that publishes nothing). */
  arrive(): void {
    const words = this.words;
    const generation = Atomics.load(words, generationAt);
    if (Atomics.add(words, arrivedAt, 1) === this.workers - 1) {
      Atomics.store(words, arrivedAt, 0);
      Atomics.add(words, generationAt, 1);
      Atomics.notify(words, generationAt);
      return;
    }
    for (let spin = 0; Atomics.load(words, generationAt) === generation; spin++) {
      if (Atomics.load(words, abortAt) !== 0) throw new SearchAborted();
      if (spin >= barrierSpinsMax) {
        this.waiting();
        Atomics.wait(words, generationAt, generation, barrierSleepMs);
      }
    }
  }

  /** A worker thread other than worker 0 has built its model and waits for worker 0's join message. */
  markReady(): void {
    this.beat();
    Atomics.add(this.words, readyAt, 1);
    Atomics.notify(this.words, readyAt);
  }

  /** Whether every worker other than worker 0 is ready to join. */
  get allReady(): boolean {
    return Atomics.load(this.words, readyAt) === this.workers - 1;
  }

  /** Worker 0 blocks until every other worker is ready (throws `SearchAborted` when one failed). */
  awaitAllReady(): void {
    for (let ready = Atomics.load(this.words, readyAt); ready < this.workers - 1; ready = Atomics.load(this.words, readyAt)) {
      if (this.aborted) throw new SearchAborted();
      this.waiting();
      Atomics.wait(this.words, readyAt, ready, barrierSleepMs);
    }
  }

  abort(): void {
    Atomics.store(this.words, abortAt, 1);
    Atomics.notify(this.words, generationAt);
  }

  get aborted(): boolean {
    return Atomics.load(this.words, abortAt) !== 0;
  }

  setLevel(depth: number): void {
    Atomics.store(this.words, levelAt, depth);
  }

  get level(): number {
    return Atomics.load(this.words, levelAt);
  }

  addTransitions(n: number): void {
    Atomics.add(this.words, transitionsAt, n);
  }

  /** Transitions so far (int32 wraps above 2^31: progress only; the result sums exact counts). */
  get transitions(): number {
    return Atomics.load(this.words, transitionsAt) >>> 0;
  }
}

/** A hand-over of `count` states from worker `from` to worker `to`. */
export interface Donation {
  readonly from: number;
  readonly to: number;
  readonly count: number;
}

/** Imbalance (largest part above the mean, as a fraction of the mean) below which a level is not rebalanced. */
const imbalanceTolerated = 0.1;
/** Levels smaller than this per worker are not rebalanced (a hand-over costs more than it saves). */
const rebalanceStatesMin = 64;

/**
 * Who hands how many states of the next level to whom so that every worker gets about
 * the mean: a function of the published sizes only, so every worker computes the same plan.
 * Levels below `statesMin` states per worker stay where they are (at the level where the
 * workers join, every level is split: 0).
 */
export function rebalancePlan(sizes: readonly number[], statesMin = rebalanceStatesMin): Donation[] {
  const workers = sizes.length;
  const total = sizes.reduce((a, b) => a + b, 0);
  const mean = total / workers;
  if (total === 0 || mean < statesMin || Math.max(...sizes) <= mean * (1 + imbalanceTolerated)) return [];
  const target = sizes.map((_, w) => Math.floor(total / workers) + (w < total % workers ? 1 : 0));
  const excess = sizes.map((size, w) => size - (target[w] as number));
  const plan: Donation[] = [];
  let to = 0;
  for (let from = 0; from < workers; from++) {
    while ((excess[from] as number) > 0) {
      while ((excess[to] as number) >= 0) to++;
      const count = Math.min(excess[from] as number, -(excess[to] as number));
      plan.push({ from, to, count });
      excess[from] = (excess[from] as number) - count;
      excess[to] = (excess[to] as number) + count;
    }
  }
  return plan;
}
