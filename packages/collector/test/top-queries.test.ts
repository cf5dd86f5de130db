// Top queries and the trace list's new filters on a real SQLite store:
// fingerprints stored at ingest, exact aggregates, nearest-rank p95, time
// ranges, eviction, and an upgrade from a schema-1 store.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { fingerprint, normalizeSql } from '../src/embedded/fingerprint';
import type { SpanRecord } from '../src/embedded/span-record';
import { TraceStore } from '../src/embedded/store';
import { A } from '../src/spans/attributes';
import { PROFILE_EVENT } from '../src/spans/profile-span';

const dirs: string[] = [];
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-topq-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const T0_MS = 1_700_000_000_000;

interface Stmt {
  sql: string;
  ms: number;
  rows?: number;
  error?: boolean;
  /** its CPU profile's folded stacks (the store keeps the whole text on the span's profile event) */
  folded?: string;
}

/** One app request (HTTP server span) with a PostgreSQL statement span per entry. */
function request(n: number, stmts: Stmt[], opts: { atMs?: number; status?: number; service?: string } = {}): SpanRecord[] {
  const traceId = hex(n + 1, 32);
  const start = BigInt(opts.atMs ?? T0_MS + n * 1000) * 1_000_000n;
  const base = { traceId, scope: '', statusMessage: '', events: [], links: [] };
  const spans: SpanRecord[] = [
    {
      ...base,
      spanId: hex(1, 16),
      parentSpanId: null,
      name: 'GET /x',
      kind: 2,
      service: opts.service ?? 'api',
      startNs: start,
      endNs: start + 100_000_000n,
      statusCode: (opts.status ?? 200) >= 500 ? 2 : 0,
      attributes: { 'http.route': '/x', 'http.response.status_code': opts.status ?? 200 },
      resource: { 'service.name': opts.service ?? 'api' },
    },
  ];
  stmts.forEach((st, i) => {
    spans.push({
      ...base,
      spanId: hex(i + 2, 16),
      parentSpanId: hex(1, 16),
      name: 'SELECT',
      kind: 2,
      service: 'postgresql',
      startNs: start + BigInt(i) * 1000n,
      endNs: start + BigInt(i) * 1000n + BigInt(Math.round(st.ms * 1e6)),
      statusCode: st.error ? 2 : 0,
      attributes: {
        'db.system.name': 'postgresql',
        'db.query.text': st.sql,
        'db.operation.name': 'SELECT',
        ...(st.rows !== undefined ? { 'db.response.returned_rows': st.rows } : {}),
      },
      resource: { 'service.name': 'postgresql' },
      events: st.folded === undefined ? [] : [{ timeNs: String(start), name: PROFILE_EVENT, attributes: { [A.profileFolded]: st.folded, [A.profileTruncated]: false } }],
    });
  });
  return spans;
}

describe('fingerprint', () => {
  test('masks literals, drops comments, folds value lists', () => {
    expect(normalizeSql("SELECT * FROM users WHERE id IN (1, 2, 3) /*traceparent='00-aa-bb-01'*/")).toBe(
      'SELECT * FROM users WHERE id IN ($1 /*, ... */)',
    );
    expect(normalizeSql("insert into t (a,b) values (1,'x'),(2,'y'), (3, 'z')")).toBe('insert into t (a,b) values ($1,$2) /*, ... */');
    expect(normalizeSql("SELECT  id\nFROM u WHERE id = $1 AND x = 'abc'")).toBe('SELECT id FROM u WHERE id = $1 AND x = $2');
    expect(fingerprint('SELECT 1 FROM t WHERE a = 5').id).toBe(fingerprint('SELECT 1  FROM t WHERE a = 77 -- hi').id);
    expect(fingerprint('SELECT 1 FROM t').id).not.toBe(fingerprint('SELECT 1 FROM u').id);
    expect(fingerprint('SELECT 1').id).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('a query\'s CPU profile merged over its slowest executions', () => {
  const store = TraceStore.open({ dataDir: tempDir() });
  const join = 'SELECT count(*) FROM a JOIN b USING (id)';
  store.ingest(request(0, [{ sql: join, ms: 300, folded: 'PostgresMain;ExecHashJoin;ExecScanHashBucket 20\nPostgresMain;MultiExecHash;ExecHashTableInsert 10' }]));
  // a stack that stopped short (a frame without its frame pointer): it still counts, not as whole
  store.ingest(request(1, [{ sql: join, ms: 200, folded: 'PostgresMain;ExecHashJoin;ExecScanHashBucket 5\n[unknown];heap_getnextslot 5' }]));
  // too short for a tick, or on a backend not yet armed: no profile
  store.ingest(request(2, [{ sql: join, ms: 250 }]));
  store.ingest(request(3, [{ sql: join, ms: 10, folded: 'PostgresMain;ExecSort;tuplesort_performsort 50' }]));

  test('stacks summed over the slowest executions that have one; the summary as a statement span has it', () => {
    const fp = store.topQueries().queries[0].fingerprint;
    const m = store.queryProfile(fp, {}, 3);
    expect(m).toMatchObject({ statements: 3, profiled: 2, samples: 40, whole: 35, truncated: false, summary: '63 % in Hash Join (ExecScanHashBucket)' });
    expect(m.folded.split('\n')).toEqual(['PostgresMain;ExecHashJoin;ExecScanHashBucket 25', 'PostgresMain;MultiExecHash;ExecHashTableInsert 10', '[unknown];heap_getnextslot 5']);
    expect(m.merged.map((x) => [x.durationMs, x.samples])).toEqual([[300, 30], [200, 10]]);
    expect(m.nodes.map((n) => [n.node, n.samples])).toEqual([['Hash Join', 25], ['Hash', 10], ['Seq Scan', 5]]);
    // the fourth, fastest execution comes in with a larger limit
    expect(store.queryProfile(fp, {}, 10)).toMatchObject({ statements: 4, profiled: 3, samples: 90 });
    expect(store.queryProfile('0123456789abcdef')).toMatchObject({ statements: 0, profiled: 0, samples: 0, summary: null, folded: '' });
  });
});

describe('top queries', () => {
  const store = TraceStore.open({ dataDir: tempDir() });
  // 20 calls of the user lookup (1..20 ms), 3 slow reports (100, 200, 300 ms, one failing).
  for (let i = 0; i < 20; i++) store.ingest(request(i, [{ sql: `SELECT * FROM users WHERE id = ${i}`, ms: i + 1, rows: 1 }]));
  store.ingest(request(20, [{ sql: 'SELECT sum(total) FROM orders', ms: 100, rows: 1 }, { sql: 'SELECT sum(total) FROM orders', ms: 200, rows: 1 }]));
  store.ingest(request(21, [{ sql: 'SELECT sum(total)   FROM orders', ms: 300, error: true }]));

  test('aggregates per fingerprint, sorted by total time', () => {
    const top = store.topQueries();
    expect(top.fingerprints).toBe(2);
    expect(top.calls).toBe(23);
    expect(top.totalMs).toBeCloseTo(210 + 600, 6);
    const [orders, users] = top.queries;
    expect(orders).toMatchObject({ text: 'SELECT sum(total) FROM orders', operation: 'SELECT', calls: 3, errors: 1, rows: 2 });
    expect(orders.totalMs).toBeCloseTo(600, 6);
    expect(orders.meanMs).toBeCloseTo(200, 6);
    expect(orders.p95Ms).toBeCloseTo(300, 6);
    expect(orders.share).toBeCloseTo(600 / 810, 6);
    expect(users).toMatchObject({ text: 'SELECT * FROM users WHERE id = $1', calls: 20, errors: 0, rows: 20 });
    // Nearest rank: the 19th of 20 in ascending order.
    expect(users.p95Ms).toBeCloseTo(19, 6);
    expect(users.minMs).toBeCloseTo(1, 6);
    expect(users.maxMs).toBeCloseTo(20, 6);
  });

  test('sorts by any column', () => {
    expect(store.topQueries({ sort: 'calls' }).queries[0].calls).toBe(20);
    expect(store.topQueries({ sort: 'errors' }).queries[0].errors).toBe(1);
    expect(store.topQueries({ sort: 'rows' }).queries[0].rows).toBe(20);
  });

  test('over a time range', () => {
    // Requests 0..9 only.
    const top = store.topQueries({ fromMs: T0_MS, toMs: T0_MS + 10_000 });
    expect(top.queries).toHaveLength(1);
    expect(top.queries[0].calls).toBe(10);
    expect(top.queries[0].p95Ms).toBeCloseTo(10, 6);
    expect(store.topQueries({ fromMs: T0_MS + 1_000_000 }).queries).toEqual([]);
  });

  test('the slowest statements of a fingerprint lead to their traces', () => {
    const orders = store.topQueries().queries[0];
    const slow = store.slowestStatements(orders.fingerprint, {}, 2);
    expect(slow.map((s) => [s.traceId, s.rootName, s.durationMs, s.isError])).toEqual([
      [hex(22, 32), 'GET /x', 300, true],
      [hex(21, 32), 'GET /x', 200, false],
    ]);
    expect(store.getTrace(slow[0].traceId)!.spans.some((s) => s.spanId === slow[0].spanId)).toBe(true);
  });
});

test('evicted traces leave top queries', () => {
  const store = TraceStore.open({ dataDir: tempDir(), maxSpans: 4 });
  store.ingest(request(0, [{ sql: 'SELECT a FROM gone', ms: 1 }]));
  store.ingest(request(1, [{ sql: 'SELECT b FROM kept', ms: 1 }]));
  store.ingest(request(2, [{ sql: 'SELECT b FROM kept', ms: 2 }]));
  expect(store.topQueries().queries.map((q) => [q.text, q.calls])).toEqual([['SELECT b FROM kept', 2]]);
  store.close();
});

test('the trace list: service, errors, sort, time range, HTTP status', () => {
  const store = TraceStore.open({ dataDir: tempDir() });
  store.ingest(request(0, [{ sql: 'SELECT 1', ms: 5 }], { service: 'api', status: 200 }));
  store.ingest(request(1, [{ sql: 'SELECT 1', ms: 5 }], { service: 'worker', status: 503 }));
  store.ingest(request(2, [], { service: 'api', status: 404 }));
  const ids = (q: Parameters<TraceStore['listTraces']>[0]) => store.listTraces(q).traces.map((t) => t.traceId);
  expect(ids({ service: 'worker' })).toEqual([hex(2, 32)]);
  expect(ids({ hasErrors: true })).toEqual([hex(2, 32)]);
  expect(ids({ sort: 'oldest' })).toEqual([hex(1, 32), hex(2, 32), hex(3, 32)]);
  expect(ids({ sort: 'most-spans', limit: 2 })).toEqual([hex(2, 32), hex(1, 32)]);
  expect(store.listTraces({ sort: 'oldest', limit: 2 }).nextOffset).toBe(2);
  expect(ids({ sort: 'oldest', limit: 2, offset: 2 })).toEqual([hex(3, 32)]);
  expect(ids({ fromMs: T0_MS + 1000, toMs: T0_MS + 2000 })).toEqual([hex(2, 32)]);
  expect(store.listTraces().traces.map((t) => t.httpStatus)).toEqual([404, 503, 200]);
  expect(store.services()).toEqual(['api', 'worker']);
  store.close();
});

test('a schema-1 store is upgraded: HTTP status column added, statements backfilled', () => {
  const dataDir = tempDir();
  const store = TraceStore.open({ dataDir });
  store.ingest(request(0, [{ sql: 'SELECT x FROM old', ms: 7 }]));
  store.close();
  // Back to what schema 1 had: no http_status column, no statements tables.
  const db = new Database(path.join(dataDir, 'traces.sqlite'));
  db.exec('DROP TABLE statements; DROP TABLE fingerprints; ALTER TABLE traces DROP COLUMN http_status');
  db.pragma('user_version = 1');
  db.close();
  const upgraded = TraceStore.open({ dataDir });
  expect(upgraded.topQueries().queries.map((q) => [q.text, q.calls, q.totalMs])).toEqual([['SELECT x FROM old', 1, 7]]);
  expect(upgraded.listTraces().traces[0].httpStatus).toBeNull();
  upgraded.close();
});
