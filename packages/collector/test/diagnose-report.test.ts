// The diagnose report's arithmetic on hand-made statements: percentiles,
// bursts, N+1 and error-rate issues, and an empty watch.
import type { Observed } from '../src/diagnose/recorder';
import { buildReport, DEFAULT_THRESHOLDS, type ReportInput } from '../src/diagnose/report';

const T0 = Date.parse('2026-12-01T10:00:00Z');

function obs(over: Partial<Observed>): Observed {
  const masked = over.maskedText ?? 'SELECT ?';
  return {
    // the report shows the fingerprint's text; here the masked text stands for it
    fingerprint: '0000000000000001', fingerprintText: masked, maskedText: masked, operation: 'SELECT', collection: '', namespace: 'db', route: '', application: '',
    atMs: T0, durationMs: 1, rows: 1, sqlstate: null, traceId: null, ...over,
  };
}

function input(statements: Observed[], over: Partial<ReportInput> = {}): ReportInput {
  return {
    startedAtMs: T0, endedAtMs: T0 + 10_000, statements, notKept: 0,
    kernel: { seen: statements.length, traced: statements.filter((s) => s.traceId).length, roots: statements.filter((s) => !s.traceId).length, unsampled: 0, dropped: 0 },
    rootSampleRate: 1, clusters: [], thresholds: DEFAULT_THRESHOLDS, ...over,
  };
}

describe('buildReport', () => {
  it('an empty watch: zeros, no NaN, ten empty seconds, no issues', () => {
    const r = buildReport(input([]));
    expect(r.summary).toMatchObject({ statementsSeen: 0, statementsTraced: 0, statementsPerSecond: 0, tracedShare: 0, errorRate: 0 });
    expect(r.summary.latency).toEqual({ p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0, meanMs: 0 });
    expect(r.timeline.buckets).toHaveLength(10);
    expect(r.timeline.bursts).toEqual([]);
    expect(r.issues).toEqual([]);
    expect(JSON.stringify(r)).not.toMatch(/NaN|Infinity/);
  });

  it('percentiles by rank: 1..100 ms give p50 50, p95 95, p99 99', () => {
    const r = buildReport(input(Array.from({ length: 100 }, (_, i) => obs({ durationMs: i + 1 }))));
    expect(r.summary.latency).toEqual({ p50Ms: 50, p95Ms: 95, p99Ms: 99, maxMs: 100, meanMs: 50.5 });
  });

  it('a burst is a run of seconds with 10+ statements and over twice the median second', () => {
    const quiet = Array.from({ length: 10 }, (_, sec) => Array.from({ length: 4 }, () => obs({ atMs: T0 + sec * 1000 + 10 }))).flat();
    const burst = Array.from({ length: 60 }, (_, i) => obs({ atMs: T0 + 6000 + (i % 2) * 1000 + 20 }));
    const r = buildReport(input([...quiet, ...burst]));
    expect(r.timeline.bursts).toEqual([{ fromSecond: 6, toSecond: 8, statements: 68, timesMedian: 8.5 }]);
  });

  it('N+1 only within one trace and from the threshold on; error rates overall and per fingerprint', () => {
    const trace = 'a'.repeat(32);
    const statements = [
      ...Array.from({ length: 10 }, () => obs({ traceId: trace, fingerprint: '00000000000000aa', maskedText: 'SELECT * FROM t WHERE id = $1' })),
      // nine in another trace: below the threshold
      ...Array.from({ length: 9 }, () => obs({ traceId: 'b'.repeat(32), fingerprint: '00000000000000bb' })),
      ...Array.from({ length: 5 }, () => obs({ fingerprint: '00000000000000cc', sqlstate: '40001', maskedText: 'UPDATE x SET y = ?' })),
    ];
    const r = buildReport(input(statements));
    const kinds = r.issues.map((i) => `${i.kind}:${i.fingerprint ?? '-'}`);
    expect(kinds).toEqual(['n_plus_one:00000000000000aa', 'high_error_rate:-', 'high_error_rate:00000000000000cc']);
    expect(r.issues[0]).toMatchObject({ traceId: trace, count: 10 });
    expect(r.issues[2]).toMatchObject({ severity: 'critical', count: 5 });
    expect(r.errorsBySqlstate).toEqual([{ sqlstate: '40001', class: '40', count: 5, fingerprint: '00000000000000cc', query: 'UPDATE x SET y = ?' }]);
  });

  it('reports dropped kernel records as an issue', () => {
    const r = buildReport(input([obs({})], { kernel: { seen: 1, traced: 0, roots: 1, unsampled: 0, dropped: 7 } }));
    expect(r.issues).toEqual([expect.objectContaining({ kind: 'records_dropped', count: 7 })]);
  });
});
