// Prometheus series computed from every statement the collector assembles
// (traced ones: with a sampled traceparent, or sampled as roots). The series
// of a label combination are looked up once per statement by one string key;
// the hot ones (duration, phases, rows) are plain numbers (series.ts).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Statement } from '../spans/assemble';
import type { BackendInfo } from '../spans/build';
import { LabelCap } from './label-cap';
import { CounterSeries, HistogramSeries, type CounterChild, type HistogramChild } from './series';
import { StatementKeyer } from './statement-keys';

/** OTel's recommended buckets for db.client.operation.duration, in seconds. */
export const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

export const STATEMENT_LABELS = ['fingerprint', 'db_namespace', 'db_operation_name', 'db_collection_name', 'route', 'application'] as const;

export interface LabelCaps {
  fingerprints: number;
  routes: number;
  applications: number;
}

export const DEFAULT_CAPS: LabelCaps = { fingerprints: 500, routes: 200, applications: 50 };

/** Characters of masked text kept in the info metric's label. */
const INFO_TEXT_MAX = 300;

interface Children {
  labels: Record<string, string>;
  duration: HistogramChild;
  rows: CounterChild;
  phases: Map<string, HistogramChild>;
}

export class StatementMetrics {
  private keyer = new StatementKeyer();
  private children = new Map<string, Children>();
  private described = new Set<string>();
  private readonly caps: { fingerprint: LabelCap; route: LabelCap; application: LabelCap };
  private readonly duration: HistogramSeries;
  private readonly phase: HistogramSeries;
  private readonly rows: CounterSeries;
  private readonly errors: Counter<string>;
  private readonly info: Gauge<string>;

  constructor(registry: Registry, caps: LabelCaps = DEFAULT_CAPS) {
    this.caps = { fingerprint: new LabelCap(caps.fingerprints), route: new LabelCap(caps.routes), application: new LabelCap(caps.applications) };
    const registers = [registry];
    this.duration = new HistogramSeries('pgferret_statement_duration_seconds',
      'Duration of traced statements inside PostgreSQL, start of work to idle (db.client.operation.duration buckets)', registry, DURATION_BUCKETS);
    this.phase = new HistogramSeries('pgferret_statement_phase_duration_seconds',
      'Duration of the parse, plan, execute and commit phases of traced statements', registry, DURATION_BUCKETS);
    this.rows = new CounterSeries('pgferret_statement_rows_total', 'Rows returned or affected by traced statements', registry);
    this.errors = new Counter({
      name: 'pgferret_statement_errors_total',
      help: 'Traced statements that failed, by SQLSTATE class (first two characters)',
      labelNames: [...STATEMENT_LABELS, 'sqlstate_class'], registers,
    });
    this.info = new Gauge({
      name: 'pgferret_statement_info',
      help: `Normalized text of each fingerprint, as top queries shows it (literals as $n, lists squashed; first ${INFO_TEXT_MAX} characters); always 1`,
      labelNames: ['fingerprint', 'db_query_text'], registers,
    });
    const capsRef = this.caps;
    new Counter({
      name: 'pgferret_metrics_label_overflow_total',
      help: 'Statements whose fingerprint, route or application was folded into "other" because the label already had its maximum of distinct values',
      labelNames: ['label'], registers,
      collect() {
        this.reset();
        for (const [label, cap] of Object.entries(capsRef)) this.labels(label).inc(cap.overflow);
      },
    });
    new Gauge({
      name: 'pgferret_metrics_label_values',
      help: 'Distinct values tracked per capped label (the cap is pgferret_metrics_label_values_max)',
      labelNames: ['label'], registers,
      collect() {
        for (const [label, cap] of Object.entries(capsRef)) this.labels(label).set(cap.size);
      },
    });
    new Gauge({
      name: 'pgferret_metrics_label_values_max',
      help: 'Cap on the distinct values of each capped label; beyond it values become "other"',
      labelNames: ['label'], registers,
      collect() {
        for (const [label, cap] of Object.entries(capsRef)) this.labels(label).set(cap.max);
      },
    });
  }

  /** The collector's statement listener. */
  readonly observe = (s: Statement, backend: BackendInfo): void => {
    const k = this.keyer.keys(s, backend);
    const fingerprint = this.caps.fingerprint.admit(k.fingerprint);
    const route = this.caps.route.admit(k.route);
    const application = this.caps.application.admit(k.application);
    const key = `${fingerprint}\u0000${k.namespace}\u0000${k.operation}\u0000${k.collection}\u0000${route}\u0000${application}`;
    let c = this.children.get(key);
    if (!c) {
      const labels = {
        fingerprint, db_namespace: k.namespace, db_operation_name: k.operation, db_collection_name: k.collection, route, application,
      };
      c = { labels, duration: this.duration.child(key, labels), rows: this.rows.child(key, labels), phases: new Map() };
      this.children.set(key, c);
      // one info series per fingerprint: the first text seen (list lengths may differ)
      if (fingerprint === k.fingerprint && !this.described.has(fingerprint)) {
        this.described.add(fingerprint);
        this.info.labels(fingerprint, k.fingerprintText.slice(0, INFO_TEXT_MAX)).set(1);
      }
    }
    c.duration.observe((s.endNs - s.startNs) / 1e9);
    if (s.rows !== null) c.rows.inc(s.rows);
    for (const p of s.phases) {
      let h = c.phases.get(p.name);
      if (!h) {
        h = this.phase.child(`${key}\u0000${p.name}`, { ...c.labels, phase: p.name });
        c.phases.set(p.name, h);
      }
      h.observe((p.endNs - p.startNs) / 1e9);
    }
    if (s.failed) this.errors.inc({ ...c.labels, sqlstate_class: (s.sqlstate ?? 'XX000').slice(0, 2) });
  };
}
