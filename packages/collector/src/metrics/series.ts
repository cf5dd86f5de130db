// Histogram and counter series for the per-statement hot path. prom-client's
// observe() validates and hashes the label set on every call (1–2 µs each,
// five calls per statement); these keep plain numbers per label set, looked
// up once by the caller, and give prom-client's registry their values only
// when it is scraped, through the same get() every prom-client metric has.
import type { Metric, Registry } from 'prom-client';

type Labels = Record<string, string>;

/** One sample line, as prom-client's registry formats it. */
interface Sample {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}

export class HistogramChild {
  /** per bucket, not cumulative; the last one is +Inf */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly labels: Labels, private readonly bounds: number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    let i = 0;
    while (i < this.bounds.length && v > this.bounds[i]) i++;
    this.counts[i]++;
    this.sum += v;
    this.count++;
  }
}

export class CounterChild {
  value = 0;

  constructor(readonly labels: Labels) {}

  inc(n: number): void {
    this.value += n;
  }
}

abstract class Series<C> {
  protected children = new Map<string, C>();
  abstract readonly type: 'histogram' | 'counter';
  readonly aggregator = 'sum';

  constructor(readonly name: string, readonly help: string, registry: Registry) {
    registry.registerMetric(this as unknown as Metric);
  }

  protected abstract make(labels: Labels): C;

  /** The series of one label set; callers keep it to skip the lookup. */
  child(key: string, labels: Labels): C {
    let c = this.children.get(key);
    if (!c) {
      c = this.make(labels);
      this.children.set(key, c);
    }
    return c;
  }
}

export class HistogramSeries extends Series<HistogramChild> {
  readonly type = 'histogram';

  constructor(name: string, help: string, registry: Registry, private readonly bounds: number[]) {
    super(name, help, registry);
  }

  protected make(labels: Labels): HistogramChild {
    return new HistogramChild(labels, this.bounds);
  }

  async get() {
    const values: Sample[] = [];
    for (const c of this.children.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += c.counts[i];
        const le = i < this.bounds.length ? this.bounds[i] : '+Inf';
        values.push({ metricName: `${this.name}_bucket`, labels: { ...c.labels, le }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_sum`, labels: c.labels, value: c.sum });
      values.push({ metricName: `${this.name}_count`, labels: c.labels, value: c.count });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

export class CounterSeries extends Series<CounterChild> {
  readonly type = 'counter';

  protected make(labels: Labels): CounterChild {
    return new CounterChild(labels);
  }

  async get() {
    const values = [...this.children.values()].map((c) => ({ labels: c.labels, value: c.value }));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
