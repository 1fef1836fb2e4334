/**
 * Prometheus metrics of one stage, in the text exposition format (version 0.0.4),
 * written by hand. Names follow the spec's terms: steps, messages, sessions, epochs,
 * the pod cache (dirty, clean, tombstone, waiting), invalidations, tombstones.
 */

type Labels = Readonly<Record<string, string>>;

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

function keyOf(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
}

interface Family {
  readonly name: string;
  readonly help: string;
  readonly kind: 'counter' | 'gauge';
  readonly values: Map<string, { labels: Labels; value: number }>;
}

/** Upper bounds (seconds) of the step latency histogram. */
export const stepSecondsBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] as const;

export class MetricRegistry {
  private readonly families = new Map<string, Family>();
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
    if (entry === undefined) family.values.set(key, { labels, value: by });
    else entry.value += by;
  }

  set(name: string, labels: Labels, value: number): void {
    this.family(name).values.set(keyOf(labels), { labels, value });
  }

  /** Replaces every value of a gauge family (gauges computed from the state at scrape time). */
  replace(name: string, values: ReadonlyArray<{ labels: Labels; value: number }>): void {
    const family = this.family(name);
    family.values.clear();
    for (const v of values) family.values.set(keyOf(v.labels), { labels: v.labels, value: v.value });
  }

  get(name: string, labels: Labels): number {
    return this.family(name).values.get(keyOf(labels))?.value ?? 0;
  }

  observeStepSeconds(seconds: number): void {
    this.histogramSum += seconds;
    this.histogramCount++;
    stepSecondsBuckets.forEach((bound, i) => {
      if (seconds <= bound) this.histogramCounts[i] = (this.histogramCounts[i] ?? 0) + 1;
    });
  }

  /** The text exposition of every metric. */
  exposition(): string {
    const lines: string[] = [];
    const withConstant = (labels: Labels): Labels => ({ ...this.constantLabels, ...labels });
    for (const family of this.families.values()) {
      lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.kind}`);
      for (const { labels, value } of family.values.values()) lines.push(`${family.name}${labelText(withConstant(labels))} ${value}`);
    }
    const h = 'kubedirect_step_seconds';
    lines.push(`# HELP ${h} Stage latency: time to apply one event to the stage's machines and carry out its effects.`, `# TYPE ${h} histogram`);
    stepSecondsBuckets.forEach((bound, i) => lines.push(`${h}_bucket${labelText(withConstant({ le: String(bound) }))} ${this.histogramCounts[i] ?? 0}`));
    lines.push(`${h}_bucket${labelText(withConstant({ le: '+Inf' }))} ${this.histogramCount}`);
    lines.push(`${h}_sum${labelText(withConstant({}))} ${this.histogramSum}`, `${h}_count${labelText(withConstant({}))} ${this.histogramCount}`);
    return `${lines.join('\n')}\n`;
  }
}
