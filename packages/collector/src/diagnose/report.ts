// The diagnose report, computed from the statements seen during the watch
// and the kernel's counters. Its JSON form is described by
// schemas/diagnose-report.schema.json (the test validates against it).
import type { ClusterStatus } from '../control/collector-control';
import type { Observed } from './recorder';

export const REPORT_SCHEMA = 'pgferret-diagnose/1';

export interface Thresholds {
  /** a statement at least this long is reported as long */
  longStatementMs: number;
  /** the same fingerprint at least this many times in one trace is an N+1 pattern */
  nPlusOne: number;
  /** error share above which errors are an issue (overall, or per fingerprint with 5+ calls) */
  errorRate: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { longStatementMs: 1000, nPlusOne: 10, errorRate: 0.05 };

export interface KernelCounts {
  seen: number;
  /** with a valid, sampled traceparent (roots are counted apart) */
  traced: number;
  roots: number;
  unsampled: number;
  dropped: number;
}

export interface ReportInput {
  startedAtMs: number;
  endedAtMs: number;
  statements: Observed[];
  notKept: number;
  kernel: KernelCounts;
  rootSampleRate: number;
  clusters: ClusterStatus[];
  thresholds: Thresholds;
}

export interface Latency {
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

export interface FingerprintRow extends Latency {
  fingerprint: string;
  query: string;
  operation: string;
  collection: string;
  calls: number;
  totalMs: number;
  rows: number;
  errors: number;
}

export interface GroupRow {
  application: string;
  route: string;
  calls: number;
  totalMs: number;
  p95Ms: number;
  errors: number;
}

export interface Issue {
  kind: 'n_plus_one' | 'high_error_rate' | 'long_statement' | 'records_dropped';
  severity: 'warning' | 'critical';
  message: string;
  fingerprint: string | null;
  query: string | null;
  traceId: string | null;
  count: number;
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  startedAt: string;
  durationSeconds: number;
  clusters: { pid: number; port: number | null; dataDir: string; major: number | null; probeSet: string | null; error: string | null }[];
  summary: {
    statementsSeen: number;
    statementsTraced: number;
    statementsPerSecond: number;
    tracedShare: number;
    withTraceContext: number;
    sampledRoots: number;
    rootSampleRate: number;
    notKept: number;
    recordsDropped: number;
    errors: number;
    errorRate: number;
    latency: Latency;
  };
  slowestFingerprints: FingerprintRow[];
  errorsBySqlstate: { sqlstate: string; class: string; count: number; fingerprint: string; query: string }[];
  byApplicationRoute: GroupRow[];
  timeline: { bucketSeconds: number; buckets: { offsetSeconds: number; statements: number; errors: number; p95Ms: number }[]; bursts: { fromSecond: number; toSecond: number; statements: number; timesMedian: number }[] };
  issues: Issue[];
}

const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

function latency(durations: number[]): Latency {
  const s = [...durations].sort((a, b) => a - b);
  const total = s.reduce((a, b) => a + b, 0);
  return {
    p50Ms: round(quantile(s, 0.5)), p95Ms: round(quantile(s, 0.95)), p99Ms: round(quantile(s, 0.99)),
    maxMs: round(s[s.length - 1] ?? 0), meanMs: round(s.length ? total / s.length : 0),
  };
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const t of items) {
    const k = key(t);
    const list = m.get(k);
    if (list) list.push(t);
    else m.set(k, [t]);
  }
  return m;
}

function fingerprintRows(statements: Observed[]): FingerprintRow[] {
  return [...groupBy(statements, (s) => s.fingerprint).values()].map((list) => {
    const d = list.map((s) => s.durationMs);
    return {
      fingerprint: list[0].fingerprint, query: list[0].fingerprintText, operation: list[0].operation, collection: list[0].collection,
      calls: list.length, totalMs: round(d.reduce((a, b) => a + b, 0)),
      rows: list.reduce((a, s) => a + (s.rows ?? 0), 0), errors: list.filter((s) => s.sqlstate).length, ...latency(d),
    };
  }).sort((a, b) => b.totalMs - a.totalMs);
}

function timeline(i: ReportInput) {
  const bucketSeconds = 1;
  const n = Math.max(1, Math.ceil((i.endedAtMs - i.startedAtMs) / 1000 / bucketSeconds));
  const slots = Array.from({ length: n }, () => ({ statements: 0, errors: 0, durations: [] as number[] }));
  for (const s of i.statements) {
    const at = Math.min(n - 1, Math.max(0, Math.floor((s.atMs - i.startedAtMs) / 1000 / bucketSeconds)));
    slots[at].statements++;
    if (s.sqlstate) slots[at].errors++;
    slots[at].durations.push(s.durationMs);
  }
  const buckets = slots.map((b, k) => ({ offsetSeconds: k * bucketSeconds, statements: b.statements, errors: b.errors, p95Ms: latency(b.durations).p95Ms }));
  // a burst: consecutive seconds with at least 10 statements and more than twice the median second
  const median = quantile(buckets.map((b) => b.statements).sort((a, b) => a - b), 0.5);
  const hot = (b: { statements: number }) => b.statements >= 10 && b.statements > 2 * median;
  const bursts: Report['timeline']['bursts'] = [];
  for (let k = 0; k < buckets.length; k++) {
    if (!hot(buckets[k])) continue;
    let end = k;
    while (end + 1 < buckets.length && hot(buckets[end + 1])) end++;
    const statements = buckets.slice(k, end + 1).reduce((a, b) => a + b.statements, 0);
    const perSecond = statements / (end - k + 1);
    bursts.push({ fromSecond: k * bucketSeconds, toSecond: (end + 1) * bucketSeconds, statements, timesMedian: median > 0 ? round(perSecond / median, 1) : perSecond });
    k = end;
  }
  return { bucketSeconds, buckets, bursts };
}

function issues(i: ReportInput, rows: FingerprintRow[], errors: number): Issue[] {
  const out: Issue[] = [];
  const t = i.thresholds;
  // N+1: per fingerprint, the trace that ran it most often
  const perTrace = groupBy(i.statements.filter((s) => s.traceId), (s) => `${s.fingerprint} ${s.traceId}`);
  const worst = new Map<string, { traceId: string; count: number; traces: number; query: string }>();
  for (const list of perTrace.values()) {
    if (list.length < t.nPlusOne) continue;
    const fp = list[0].fingerprint;
    const w = worst.get(fp);
    if (!w) worst.set(fp, { traceId: list[0].traceId!, count: list.length, traces: 1, query: list[0].fingerprintText });
    else {
      w.traces++;
      if (list.length > w.count) Object.assign(w, { traceId: list[0].traceId!, count: list.length });
    }
  }
  for (const [fp, w] of worst) {
    out.push({
      kind: 'n_plus_one', severity: 'warning', fingerprint: fp, query: w.query, traceId: w.traceId, count: w.count,
      message: `N+1 pattern: the same statement ran ${w.count} times in one trace (${w.traces} trace(s) with ${t.nPlusOne}+): batch it (IN (...), a join) or load it once`,
    });
  }
  const seen = i.statements.length;
  if (seen > 0 && errors / seen > t.errorRate) {
    out.push({
      kind: 'high_error_rate', severity: errors / seen > 0.25 ? 'critical' : 'warning', fingerprint: null, query: null, traceId: null, count: errors,
      message: `${round((100 * errors) / seen, 1)}% of traced statements failed (${errors} of ${seen})`,
    });
  }
  for (const r of rows) {
    if (r.calls >= 5 && r.errors / r.calls > t.errorRate) {
      out.push({
        kind: 'high_error_rate', severity: r.errors === r.calls ? 'critical' : 'warning', fingerprint: r.fingerprint, query: r.query, traceId: null, count: r.errors,
        message: `${r.errors} of ${r.calls} runs of this statement failed`,
      });
    }
  }
  for (const [fp, list] of groupBy(i.statements.filter((s) => s.durationMs >= t.longStatementMs), (s) => s.fingerprint)) {
    const longest = list.reduce((a, b) => (b.durationMs > a.durationMs ? b : a));
    out.push({
      kind: 'long_statement', severity: longest.durationMs >= 10 * t.longStatementMs ? 'critical' : 'warning', fingerprint: fp, query: longest.fingerprintText,
      traceId: longest.traceId, count: list.length,
      message: `${list.length} run(s) took ${t.longStatementMs} ms or more (longest ${round(longest.durationMs, 1)} ms)`,
    });
  }
  if (i.kernel.dropped > 0) {
    out.push({
      kind: 'records_dropped', severity: 'warning', fingerprint: null, query: null, traceId: null, count: i.kernel.dropped,
      message: `${i.kernel.dropped} kernel records were dropped (ring buffer full): statements are missing from this report`,
    });
  }
  return out;
}

export function buildReport(i: ReportInput): Report {
  const durationSeconds = round((i.endedAtMs - i.startedAtMs) / 1000, 1);
  const errors = i.statements.filter((s) => s.sqlstate).length;
  const rows = fingerprintRows(i.statements);
  const traced = i.statements.length + i.notKept;
  const byGroup = [...groupBy(i.statements, (s) => `${s.application}\u0000${s.route}`).values()].map((list) => ({
    application: list[0].application, route: list[0].route, calls: list.length,
    totalMs: round(list.reduce((a, s) => a + s.durationMs, 0)), p95Ms: latency(list.map((s) => s.durationMs)).p95Ms,
    errors: list.filter((s) => s.sqlstate).length,
  })).sort((a, b) => b.totalMs - a.totalMs);
  const bySqlstate = [...groupBy(i.statements.filter((s) => s.sqlstate), (s) => s.sqlstate!).values()].map((list) => ({
    sqlstate: list[0].sqlstate!, class: list[0].sqlstate!.slice(0, 2), count: list.length, fingerprint: list[0].fingerprint, query: list[0].fingerprintText,
  })).sort((a, b) => b.count - a.count);
  return {
    schema: REPORT_SCHEMA,
    startedAt: new Date(i.startedAtMs).toISOString(),
    durationSeconds,
    clusters: i.clusters.map((c) => ({ pid: c.pid, port: c.port, dataDir: c.dataDir, major: c.major, probeSet: c.probeSet, error: c.error })),
    summary: {
      statementsSeen: i.kernel.seen,
      statementsTraced: traced,
      statementsPerSecond: durationSeconds > 0 ? round(i.kernel.seen / durationSeconds, 1) : 0,
      tracedShare: i.kernel.seen > 0 ? round(Math.min(1, traced / i.kernel.seen), 4) : 0,
      withTraceContext: i.kernel.traced,
      sampledRoots: i.kernel.roots,
      rootSampleRate: i.rootSampleRate,
      notKept: i.notKept,
      recordsDropped: i.kernel.dropped,
      errors,
      errorRate: i.statements.length ? round(errors / i.statements.length, 4) : 0,
      latency: latency(i.statements.map((s) => s.durationMs)),
    },
    slowestFingerprints: rows.slice(0, 10),
    errorsBySqlstate: bySqlstate,
    byApplicationRoute: byGroup.slice(0, 20),
    timeline: timeline(i),
    issues: issues(i, rows, errors),
  };
}
