/**
 * Hash-consing for the chain model. Equal components (stage states, channels, sandbox
 * sets, ghost) become one object with one small id, so (1) a state's key is a short
 * list of ids, computed from a per-object cache, and (2) stage steps are memoized by
 * (state object, event): the machines run once per distinct step, not once per state.
 */
import { fingerprintOf } from '../engine/fingerprint.js';
import { asStepAssertion } from './step-assertions.js';
import { stepStage, type ChainConfig, type StageEvent, type StageId, type StageState, type StepResult } from '../../machines/index.js';

/**
 * JSON with object keys sorted at every level: equal values, equal strings. The hot
 * path uses plain JSON.stringify instead, because every record in a world is kept with
 * sorted keys (machines/core/sorted.ts); this one serves tests and odd inputs.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value as object).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

export class Interner {
  private readonly ids = new WeakMap<object, number>();
  private readonly canonicalOf = new WeakMap<object, object>();
  private readonly byText = new Map<string, { id: number; value: object }>();
  /**
   * The 64-bit content hash of each id's JSON text (two 32-bit halves). Ids depend on the
   * order things were first seen; hashes do not, so fingerprints built from them mean the
   * same in every worker thread. Kept as signed int32 (the same bits), so that V8 stores
   * the arrays as small integers rather than as doubles; the hashes that read them
   * convert to int32 anyway.
   */
  readonly hashHigh: number[] = [];
  readonly hashLow: number[] = [];
  /** The canonical object of each id. */
  readonly values: object[] = [];

  /** The id of `value`'s content. */
  idOf(value: object): number {
    return this.ids.get(value) ?? this.intern(value).id;
  }

  /** The one object holding `value`'s content (the first seen). */
  canonical<T extends object>(value: T): T {
    return (this.canonicalOf.get(value) ?? this.intern(value).value) as T;
  }

  /** Looks up (or records) `value`'s content once; later calls hit the identity caches. */
  private intern(value: object): { id: number; value: object } {
    const text = JSON.stringify(value);
    let entry = this.byText.get(text);
    if (entry === undefined) {
      entry = { id: this.byText.size, value };
      this.byText.set(text, entry);
      const fp = fingerprintOf(text);
      this.values.push(value);
      this.hashHigh.push(fp.high | 0);
      this.hashLow.push(fp.low | 0);
    }
    this.ids.set(value, entry.id);
    this.canonicalOf.set(value, entry.value);
    return entry;
  }

  get size(): number {
    return this.byText.size;
  }
}

/** A memoizing stage stepper: same (canonical state, event) -> the same result object. */
export class MemoStepper {
  private readonly memo = new WeakMap<object, Map<string, StepResult<StageState>>>();
  readonly stages = new Interner();
  readonly messages = new Interner();
  hits = 0;
  misses = 0;

  constructor(private readonly config: ChainConfig) {}

  readonly step = (config: ChainConfig, stage: StageId, state: StageState, event: StageEvent, choices?: readonly number[]): StepResult<StageState> => {
    const canonicalState = this.stages.canonical(state);
    const key = choices === undefined || choices.length === 0 ? this.eventKey(stage, event) : `${this.eventKey(stage, event)}|c${choices.join('.')}`;
    let table = this.memo.get(canonicalState);
    if (table === undefined) {
      table = new Map();
      this.memo.set(canonicalState, table);
    }
    const cached = table.get(key);
    if (cached !== undefined) {
      this.hits++;
      return cached;
    }
    this.misses++;
    let result: StepResult<StageState>;
    try {
      result = stepStage(this.config, stage, canonicalState, event, choices === undefined || choices.length === 0 ? undefined : choices);
    } catch (error) {
      throw asStepAssertion(error, stage);
    }
    void config;
    const canonicalResult = { ...result, state: this.stages.canonical(result.state) };
    table.set(key, canonicalResult);
    return canonicalResult;
  };

  private eventKey(stage: StageId, event: StageEvent): string {
    switch (event.type) {
      case 'message.received':
        return `${stage}|m|${event.link}|${this.messages.idOf(event.message)}`;
      case 'link.connected':
      case 'link.lost':
        return `${stage}|${event.type}|${event.link}`;
      case 'scale.requested':
        return `${stage}|s|${event.function}|${event.desired}`;
      case 'scales.requested':
        return `${stage}|S|${JSON.stringify(event.scales)}`;
      default:
        return `${stage}|${event.type}|${event.pod}`;
    }
  }
}
