/**
 * Prometheus metrics of one stage, in the text exposition format (version 0.0.4),
 * written by hand. Names follow the spec's terms: steps, messages, sessions, epochs,
 * the pod cache (dirty, clean, tombstone, waiting), invalidations, tombstones.
 */

import { metricFamilyOf } from './metric-catalog.js';

type Labels = Readonly<Record<string, string>>;

const stepSecondsFamily = metricFamilyOf('kubedirect_step_seconds');

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

/** One key per label set, whatever the order of its names: each name, then its value prefixed with its length. */
function keyOf(labels: Labels): string {
  const names = Object.keys(labels);
  if (names.length > 1) names.sort();
  let key = '';
  for (const name of names) {
    const value = labels[name] ?? '';
    key += `${name}\u0000${value.length}:${value}`;
  }
  return key;
}

interface Family {
  readonly name: string;
  readonly help: string;
  readonly kind: 'counter' | 'gauge';
  readonly values: Map<string, Sample>;
}

/** One sample of a family: a counter (or gauge) of one label set. */
class Sample {
  /** The sample's name and label text in the exposition, made at the first scrape that shows it. */
  series?: string;

  constructor(
    readonly labels: Labels,
    public value: number,
  ) {}

  inc(): void {
    this.value++;
  }
}

/** A counter of one label set, found once: counting is then one field update, with no label set to hash. */
export interface Counter {
  inc(): void;
}

/** Counters found so far, by their label values in label name order (one map level per label). */
type CounterIndex = Map<string, CounterIndex | Counter>;

/** The counters of one family by label values, each looked up in the registry once. */
export class LabeledCounters {
  private readonly index: CounterIndex = new Map();
  private unlabeled: Counter | undefined = undefined;

  constructor(
    private readonly registry: MetricRegistry,
    private readonly name: string,
    private readonly labelNames: readonly string[],
  ) {}

  /** The counter of these label values, given in the order of the label names (fixed arity: no array per call, counting is on every step). */
  of(a?: string, b?: string, c?: string): Counter {
    const given = c !== undefined ? 3 : b !== undefined ? 2 : a !== undefined ? 1 : 0;
    if (given !== this.labelNames.length) throw new Error(`${this.name} has labels ${this.labelNames.join(', ')}, got ${given} values`);
    if (given === 0) return (this.unlabeled ??= this.registry.counter(this.name, {}));
    let level = this.index;
    if (given > 1) level = this.levelOf(level, a as string);
    if (given > 2) level = this.levelOf(level, b as string);
    const last = (given === 1 ? a : given === 2 ? b : c) as string;
    let counter = level.get(last) as Counter | undefined;
    if (counter === undefined) {
      const values = [a, b, c];
      const labels: Record<string, string> = {};
      this.labelNames.forEach((label, i) => (labels[label] = values[i] as string));
      counter = this.registry.counter(this.name, labels);
      level.set(last, counter);
    }
    return counter;
  }

  private levelOf(level: CounterIndex, value: string): CounterIndex {
    let next = level.get(value) as CounterIndex | undefined;
    if (next === undefined) level.set(value, (next = new Map()));
    return next;
  }
}

/** Upper bounds (seconds) of the step latency histogram. */
export const stepSecondsBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] as const;

export class MetricRegistry {
  private readonly families = new Map<string, Family>();
  /** Steps per bucket: those above the previous bound and at or below this one. */
  private readonly histogramCounts = stepSecondsBuckets.map(() => 0);
  private histogramSum = 0;
  private histogramCount = 0;

  constructor(private readonly constantLabels: Labels) {}

  declare(name: string, kind: 'counter' | 'gauge', help: string): void {
    if (!this.families.has(name)) this.families.set(name, { name, help, kind, values: new Map() });
  }

  private family(name: string): Family {
    const family = this.families.get(name);
    if (family === undefined) throw new Error(`metric ${name} is not declared`);
    return family;
  }

  add(name: string, labels: Labels, by = 1): void {
    const family = this.family(name);
    const key = keyOf(labels);
    const entry = family.values.get(key);
    if (entry === undefined) family.values.set(key, new Sample(labels, by));
    else entry.value += by;
  }

  /** The counter of `labels` in family `name`, created at 0 if new (then counted at once: a scrape would show the 0). */
  counter(name: string, labels: Labels): Counter {
    const family = this.family(name);
    const key = keyOf(labels);
    let entry = family.values.get(key);
    if (entry === undefined) family.values.set(key, (entry = new Sample(labels, 0)));
    return entry;
  }

  set(name: string, labels: Labels, value: number): void {
    const family = this.family(name);
    const key = keyOf(labels);
    const entry = family.values.get(key);
    if (entry === undefined) family.values.set(key, new Sample(labels, value));
    else entry.value = value;
  }

  /** Replaces every value of a gauge family (gauges computed from the state at scrape time). */
  replace(name: string, values: ReadonlyArray<{ labels: Labels; value: number }>): void {
    const family = this.family(name);
    family.values.clear();
    for (const v of values) family.values.set(keyOf(v.labels), new Sample(v.labels, v.value));
  }

  get(name: string, labels: Labels): number {
    return this.family(name).values.get(keyOf(labels))?.value ?? 0;
  }

  observeStepSeconds(seconds: number): void {
    this.histogramSum += seconds;
    this.histogramCount++;
    // Counted in the first bucket that holds it; the exposition adds up the buckets below each bound.
    for (let i = 0; i < stepSecondsBuckets.length; i++) {
      if (seconds <= (stepSecondsBuckets[i] as number)) {
        this.histogramCounts[i] = (this.histogramCounts[i] ?? 0) + 1;
        return;
      }
    }
  }

  /** The text exposition of every metric. */
  exposition(): string {
    const lines: string[] = [];
    const withConstant = (labels: Labels): Labels => ({ ...this.constantLabels, ...labels });
    for (const family of this.families.values()) {
      lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.kind}`);
      for (const sample of family.values.values()) {
        sample.series ??= `${family.name}${labelText(withConstant(sample.labels))}`;
        lines.push(`${sample.series} ${sample.value}`);
      }
    }
    const h = stepSecondsFamily.name;
    lines.push(`# HELP ${h} ${stepSecondsFamily.help}`, `# TYPE ${h} histogram`);
    let atOrBelow = 0;
    stepSecondsBuckets.forEach((bound, i) => {
      atOrBelow += this.histogramCounts[i] ?? 0;
      lines.push(`${h}_bucket${labelText(withConstant({ le: String(bound) }))} ${atOrBelow}`);
    });
    lines.push(`${h}_bucket${labelText(withConstant({ le: '+Inf' }))} ${this.histogramCount}`);
    lines.push(`${h}_sum${labelText(withConstant({}))} ${this.histogramSum}`, `${h}_count${labelText(withConstant({}))} ${this.histogramCount}`);
    return `${lines.join('\n')}\n`;
  }
}
