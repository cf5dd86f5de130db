// The demo's text waterfall, on hand-made traces: tree order, indentation,
// bar placement on the trace's time axis, hidden subtrees, orphans; and on
// the inside-execute fixtures read back from a real store: waits, the lock's
// blocker, buffers/WAL, short waits, nested statements.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatWaterfall } from '../packages/demo/src/waterfall';
import { type StoredSpan, type TraceDetail, TraceStore } from '../packages/collector/src/embedded';
import { A } from '../packages/collector/src/spans/attributes';
import { BLOCKER_QUERY, BLOCKER_TRACE, SAME_TRACE, WAITER_TRACE, insideTraces } from '../packages/collector/test/inside-fixtures';

const T0 = 1_700_000_000_000_000_000n;

function span(id: string, parent: string | null, name: string, fromMs: number, toMs: number, extra: Partial<StoredSpan> = {}): StoredSpan {
  return {
    traceId: 'ab'.repeat(16), spanId: id, parentSpanId: parent, name, kind: 1, service: 'app', scope: '',
    startNs: String(T0 + BigInt(fromMs * 1e6)), endNs: String(T0 + BigInt(toMs * 1e6)), durationMs: toMs - fromMs,
    statusCode: 0, statusMessage: '', isPostgres: false, sql: null, usage: [], attributes: {}, resource: {}, events: [], links: [], fingerprint: null, ...extra,
  };
}

function trace(spans: StoredSpan[]): TraceDetail {
  return {
    summary: {
      traceId: 'ab'.repeat(16), rootName: 'GET /report', rootService: 'app', rootKind: 2, hasRoot: true, startNs: String(T0),
      startMs: 0, durationMs: 100, spanCount: spans.length, pgSpanCount: spans.filter((s) => s.isPostgres).length, errorCount: 0, route: '/report', httpStatus: null,
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

test('a statement with a CPU profile: where its CPU time went, unnamed frames left out of the hottest functions', () => {
  const profiled = {
    [A.cpuOnMs]: 48, [A.profileSamples]: 48, [A.profileHz]: 997, [A.profileWholeStacks]: 47, [A.profileSummary]: '62 % in Hash Join (ExecScanHashBucket)',
    [A.profileTopSelf]: ['ExecScanHashBucket', '[postgres]', 'hash_bytes', 'ExecInterpExpr'], [A.profileTopSelfSamples]: [19, 12, 6, 3],
  };
  const text = formatWaterfall(trace([
    span('01', null, 'GET /report', 0, 100, { kind: 2 }),
    span('02', '01', 'SELECT orders', 10, 90, { isPostgres: true, attributes: profiled }),
    span('03', '01', 'SELECT users', 90, 95, { isPostgres: true, attributes: { [A.cpuOnMs]: 1 } }),
    // a build without frame pointers: stacks stop at the leaf
    span('04', '01', 'SELECT items', 95, 99, { isPostgres: true, attributes: { [A.profileSamples]: 10, [A.profileHz]: 997, [A.profileWholeStacks]: 1, [A.profileTopSelf]: ['ExecInterpExpr'], [A.profileTopSelfSamples]: [4] } }),
  ]));
  const notes = text.split('\n').filter((l) => l.includes('│')).map((l) => l.trim());
  expect(notes).toEqual([
    '│ on CPU 48.0 ms',
    '│ CPU profile, 48 samples at 997 Hz: 62 % in Hash Join (ExecScanHashBucket); hottest functions: ExecScanHashBucket 40 %, hash_bytes 13 %, ExecInterpExpr 6 %',
    '│ on CPU 1.0 ms',
    '│ CPU profile, 10 samples at 997 Hz: hottest functions: ExecInterpExpr 40 %; stacks stop short (1 of 10 reach PostgresMain: a build without frame pointers), so plan nodes are partial',
  ]);
});

describe('what happened inside PostgreSQL', () => {
  let dir: string;
  let store: TraceStore;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-demo-waterfall-'));
    store = TraceStore.open({ dataDir: dir });
    store.ingest(insideTraces(Date.now()));
  });
  afterAll(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('waits drawn apart, the blocker named, buffers/WAL as EXPLAIN prints them, nested statements tagged', () => {
    const text = formatWaterfall(store.getTrace(WAITER_TRACE)!, { barWidth: 40, nameWidth: 60 });
    const lines = text.trimEnd().split('\n').slice(1);
    // span rows by their name column; notes whole, at the children's indentation
    expect(lines.map((l) => (l.includes('│') ? l : l.slice(0, 60).trimEnd()))).toEqual([
      'GET /restock',
      '  pg.query:UPDATE shop',
      '    UPDATE inventory [postgres]',
      '      │ on CPU 27.0 ms, off CPU 303 ms, 252 nested statements (250 in aggregates)',
      '      │ Buffers: shared hit=12 read=340 dirtied=2 written=1, temp read=4 written=4',
      '      │ I/O Timings: shared read=1.234 write=0.000',
      '      │ WAL: records=3 fpi=1 bytes=1234',
      '      parse',
      '      plan',
      '      execute',
      '        │ short waits: LWLock:BufferMapping ×3 0.12 ms, IO:DataFileRead ×12 4.6 ms',
      '        wait Lock:transactionid',
      `          │ waited 296 ms for a transactionid lock (ShareLock) held by pid 4711 (${BLOCKER_QUERY}, idle in transaction, trace ${BLOCKER_TRACE})`,
      '        wait IO:DataFileRead',
      '      INSERT inventory_audit [nested 1]',
      '        SELECT audit_config [nested 2]',
      '      UPDATE stats [nested 1]',
      '        │ ×250, total 12.5 ms, 250 rows: nested statements beyond the cap, one span per text',
      '      commit',
      '        │ short waits: LWLock:WALWrite ×1 0.31 ms',
    ]);
    // a wait's bar is ▒ (off CPU), the statement's █
    const row = (name: string) => lines.find((l) => l.trimStart().startsWith(name))!;
    expect(row('wait Lock:transactionid')).toMatch(/ ▒{30,} +296 ms$/);
    expect(row('wait Lock:transactionid')).not.toContain('█');
    expect(row('UPDATE inventory [postgres]')).toMatch(/ █{35,} +330 ms$/);
  });

  test('a blocker in the same request is named by its span; spans that measured nothing get no notes', () => {
    const text = formatWaterfall(store.getTrace(SAME_TRACE)!);
    expect(text).toContain(
      '│ waited 300 ms for a transactionid lock (ShareLock) held by pid 4800 (SELECT stock FROM inventory WHERE sku = $1 FOR UPDATE, idle in transaction, SELECT inventory in this trace)',
    );
    expect(formatWaterfall(store.getTrace(BLOCKER_TRACE)!)).not.toContain('│');
  });
});
