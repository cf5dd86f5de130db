// The demo's text waterfall, on hand-made traces: tree order, indentation,
// bar placement on the trace's time axis, hidden subtrees, orphans.
import { formatWaterfall } from '../packages/demo/src/waterfall';
import type { StoredSpan, TraceDetail } from '../packages/collector/src/embedded';

const T0 = 1_700_000_000_000_000_000n;

function span(id: string, parent: string | null, name: string, fromMs: number, toMs: number, extra: Partial<StoredSpan> = {}): StoredSpan {
  return {
    traceId: 'ab'.repeat(16), spanId: id, parentSpanId: parent, name, kind: 1, service: 'app', scope: '',
    startNs: String(T0 + BigInt(fromMs * 1e6)), endNs: String(T0 + BigInt(toMs * 1e6)), durationMs: toMs - fromMs,
    statusCode: 0, statusMessage: '', isPostgres: false, sql: null, attributes: {}, resource: {}, events: [], links: [], ...extra,
  };
}

function trace(spans: StoredSpan[]): TraceDetail {
  return {
    summary: {
      traceId: 'ab'.repeat(16), rootName: 'GET /report', rootService: 'app', rootKind: 2, hasRoot: true, startNs: String(T0),
      startMs: 0, durationMs: 100, spanCount: spans.length, pgSpanCount: spans.filter((s) => s.isPostgres).length, errorCount: 0, route: '/report',
    },
    spans,
  };
}

const bars = (line: string) => {
  const m = /█+/.exec(line)!;
  return { start: m.index, len: m[0].length };
};

test('nests spans under their parents and places bars on one time axis', () => {
  const text = formatWaterfall(
    trace([
      span('01', null, 'GET /report', 0, 100, { kind: 2 }),
      span('02', '01', 'middleware - jsonParser', 0, 1),
      span('03', '02', 'inside middleware', 0, 1),
      span('04', '01', 'pg.query:SELECT', 10, 90, { kind: 3 }),
      span('05', '04', 'SELECT  orders', 12, 88, { kind: 2, isPostgres: true, service: 'postgresql' }),
      span('06', '05', 'execute', 50, 88, { service: 'postgresql' }),
      span('07', 'ff', 'orphan', 95, 100, { statusCode: 2 }),
    ]),
    { barWidth: 50, nameWidth: 30, hide: (s) => s.name.startsWith('middleware - ') },
  );
  const lines = text.trimEnd().split('\n');
  expect(lines[0]).toContain('GET /report (app) · 100 ms · 7 spans, 1 from PostgreSQL');
  const rows = lines.slice(1);
  expect(rows.map((l) => l.slice(0, 30).trimEnd())).toEqual(['GET /report', '  pg.query:SELECT', '    SELECT orders [postgres]', '      execute', 'orphan']);
  const nameCol = 31;
  expect(bars(rows[0])).toEqual({ start: nameCol, len: 50 });
  expect(bars(rows[1])).toEqual({ start: nameCol + 5, len: 40 });
  expect(bars(rows[3])).toEqual({ start: nameCol + 25, len: 19 });
  expect(rows[3]).toMatch(/38\.0 ms$/);
  expect(rows[4]).toMatch(/5\.0 ms {2}ERROR$/);
});

test('long names are cut to the name column; an empty trace says so', () => {
  const text = formatWaterfall(trace([span('01', null, 'x'.repeat(80), 0, 0.5)]), { nameWidth: 20, barWidth: 10 });
  const row = text.split('\n')[1];
  expect(row.startsWith('x'.repeat(19) + '… █')).toBe(true);
  expect(row).toMatch(/0\.50 ms$/);
  expect(formatWaterfall(trace([]))).toBe('(no spans)\n');
});
