// The trace store on its own (real SQLite files): bounds, eviction order, and
// a per-trace summary that does not depend on the order spans arrive in.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { TraceStore } from '../src/embedded/store';
import type { SpanRecord } from '../src/embedded/span-record';

const dirs: string[] = [];
function open(opts: { maxSpans?: number; maxBytes?: number } = {}): TraceStore {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-store-'));
  dirs.push(dataDir);
  return TraceStore.open({ dataDir, ...opts });
}
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

function span(trace: number, id: number, over: Partial<SpanRecord> = {}): SpanRecord {
  const startNs = 1_700_000_000_000_000_000n + BigInt(trace) * 1_000_000_000n + BigInt(id) * 1000n;
  return {
    traceId: hex(trace + 1, 32),
    spanId: hex(id + 1, 16),
    parentSpanId: id === 0 ? null : hex(1, 16),
    name: `span ${id}`,
    kind: 1,
    service: 'svc',
    scope: '',
    startNs,
    endNs: startNs + 500n,
    statusCode: 0,
    statusMessage: '',
    attributes: {},
    resource: { 'service.name': 'svc' },
    events: [],
    links: [],
    ...over,
  };
}

/** A trace of `n` spans: a root and n-1 children. */
const traceOf = (trace: number, n: number, over: Partial<SpanRecord> = {}) =>
  Array.from({ length: n }, (_, i) => span(trace, i, over));

const listedIds = (s: TraceStore) => s.listTraces({ limit: 500 }).traces.map((t) => t.traceId);

describe('bounds', () => {
  test('by span count: whole traces, oldest received first', () => {
    const s = open({ maxSpans: 10 });
    s.ingest(traceOf(0, 3));
    s.ingest(traceOf(1, 3));
    s.ingest(traceOf(2, 3));
    expect(s.stats()).toMatchObject({ traces: 3, spans: 9, evictedTraces: 0 });
    s.ingest(traceOf(3, 3));
    expect(s.stats()).toMatchObject({ traces: 3, spans: 9, evictedTraces: 1 });
    expect(listedIds(s)).toEqual([hex(4, 32), hex(3, 32), hex(2, 32)]);
    expect(s.getTrace(hex(1, 32))).toBeNull();
    // A late span of a kept trace stays with it, and pushes out the next oldest.
    s.ingest([span(1, 7)]);
    s.ingest([span(2, 9)]);
    expect(listedIds(s)).toEqual([hex(4, 32), hex(3, 32)]);
    expect(s.getTrace(hex(3, 32))!.spans).toHaveLength(4);
    s.close();
  });

  test('by bytes: the stored data stays under maxBytes, oldest traces go first', () => {
    const big = { attributes: { 'db.query.text': 'x'.repeat(2000) } };
    const s = open({ maxBytes: 20_000 });
    for (let t = 0; t < 12; t++) s.ingest(traceOf(t, 2, big));
    const st = s.stats();
    expect(st.bytes).toBeLessThanOrEqual(20_000);
    expect(st.bytes).toBeGreaterThan(20_000 - 2 * 4500);
    expect(st.evictedTraces).toBeGreaterThan(0);
    const kept = listedIds(s);
    expect(kept.length).toBe(st.traces);
    // What is left is the newest ones.
    const expected = Array.from({ length: 12 }, (_, t) => hex(t + 1, 32)).slice(12 - kept.length).reverse();
    expect(kept).toEqual(expected);
    s.close();
  });

  test('bounds must be positive', () => {
    expect(() => open({ maxSpans: 0 })).toThrow(/both must be positive/);
  });
});

describe('list filters', () => {
  test('route, minimum duration, Postgres spans, SQL text and paging', () => {
    const s = open();
    const pg = { kind: 2, attributes: { 'db.system.name': 'postgresql', 'db.query.text': 'SELECT * FROM users_100%' } };
    s.ingest([span(0, 0, { attributes: { 'http.route': '/a' } }), span(0, 1, pg)]);
    s.ingest([span(1, 0, { attributes: { 'http.route': '/b' }, endNs: span(1, 0).startNs + 50_000_000n })]);
    s.ingest([span(2, 0, { attributes: { 'http.route': '/a' } })]);
    const ids = (q: Parameters<TraceStore['listTraces']>[0]) => s.listTraces(q).traces.map((t) => t.traceId);
    expect(ids({ route: '/a' })).toEqual([hex(3, 32), hex(1, 32)]);
    expect(ids({ minDurationMs: 10 })).toEqual([hex(2, 32)]);
    expect(ids({ hasPostgres: true })).toEqual([hex(1, 32)]);
    expect(ids({ hasPostgres: false })).toEqual([hex(3, 32), hex(2, 32)]);
    expect(ids({ q: 'from USERS_100%' })).toEqual([hex(1, 32)]);
    expect(ids({ q: 'users_1000' })).toEqual([]);
    const page1 = s.listTraces({ limit: 2 });
    expect(page1.traces).toHaveLength(2);
    const page2 = s.listTraces({ limit: 2, before: page1.nextBefore! });
    expect(page2.traces.map((t) => t.traceId)).toEqual([hex(1, 32)]);
    expect(page2.nextBefore).toBeNull();
    expect(s.routes()).toEqual(['/a', '/b']);
    s.close();
  });
});

describe('summary', () => {
  // App spans and Postgres spans arrive separately and in any order.
  const trace: SpanRecord[] = [
    span(5, 0, { name: 'GET /users/:id', kind: 2, service: 'app', attributes: { 'http.route': '/users/:id' } }),
    span(5, 1, { name: 'SELECT users', kind: 3, service: 'app', attributes: { 'db.system.name': 'postgresql' } }),
    span(5, 2, {
      name: 'SELECT users',
      kind: 2,
      service: 'postgresql',
      parentSpanId: hex(2, 16),
      statusCode: 2,
      startNs: span(5, 0).startNs - 10n,
      endNs: span(5, 0).startNs + 9_000n,
      attributes: { 'db.system.name': 'postgresql', 'db.query.text': 'SELECT * FROM users' },
    }),
    span(5, 3, { name: 'parse', parentSpanId: hex(3, 16), service: 'postgresql' }),
    span(5, 4, { name: 'execute', parentSpanId: hex(3, 16), service: 'postgresql' }),
    span(5, 5, { name: 'db', kind: 2, service: 'postgresql', attributes: { 'db.system': 'postgresql' } }),
  ];

  test('is the same whatever order and batches the spans come in', () => {
    fc.assert(
      fc.property(
        fc.shuffledSubarray(trace.map((_, i) => i), { minLength: trace.length }),
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: trace.length, maxLength: trace.length }),
        (order, sizes) => {
          const s = open();
          let i = 0;
          for (const size of sizes) {
            if (i >= order.length) break;
            s.ingest(order.slice(i, i + size).map((k) => trace[k]));
            i += size;
          }
          const summary = s.getTrace(hex(6, 32))!.summary;
          s.close();
          expect(summary).toMatchObject({
            rootName: 'GET /users/:id',
            rootService: 'app',
            hasRoot: true,
            spanCount: 6,
            pgSpanCount: 2,
            errorCount: 1,
            route: '/users/:id',
            startNs: (span(5, 0).startNs - 10n).toString(),
          });
          expect(summary.durationMs).toBeCloseTo(9_010 / 1e6, 9);
        },
      ),
      { numRuns: 25 },
    );
  });

  test('before the root arrives, the earliest span stands in for it', () => {
    const s = open();
    s.ingest([trace[3], trace[2]]);
    expect(s.getTrace(hex(6, 32))!.summary).toMatchObject({ rootName: 'SELECT users', rootService: 'postgresql', hasRoot: false });
    s.close();
  });
});
