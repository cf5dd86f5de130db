// Traces with what `--detail full` puts inside a statement, attribute by
// attribute as docs/inside-execute.md has it: GET /restock, whose UPDATE waits
// 296 ms for the row lock held by POST /checkout (a link to the blocker's
// statement span in the other trace), reads buffers, writes WAL, waits briefly
// on LWLocks and runs nested statements from a trigger, 250 of them folded into
// an aggregate span; and GET /lock, where holder and waiter are one request.
// For the UI and demo waterfall tests.
import type { AttributeValue, Attributes, SpanLinkRecord, SpanRecord } from '../src/embedded/span-record';

export const BLOCKER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
export const WAITER_TRACE = '5e1f0a2b3c4d5e6f708192a3b4c5d6e7';
/** GET /lock of the Express example: holder and waiter in one request. */
export const SAME_TRACE = '7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a';
export const BLOCKER_QUERY = 'UPDATE inventory SET stock = stock - $1 WHERE sku = $2';
export const BLOCKER_PID = 4711;

export const IDS = {
  blockerHttp: 'b000000000000001',
  blockerClient: 'b000000000000002',
  blockerStatement: 'b000000000000003',
  blockerCommitClient: 'b000000000000004',
  blockerCommit: 'b000000000000005',
  waiterHttp: 'a000000000000001',
  waiterClient: 'a000000000000002',
  waiterStatement: 'a000000000000003',
  execute: 'a000000000000006',
  commit: 'a000000000000007',
  lockWait: 'a000000000000008',
  ioWait: 'a000000000000009',
  nestedInsert: 'a00000000000000a',
  nestedSelect: 'a00000000000000b',
  aggregate: 'a00000000000000c',
  holderStatement: 'c000000000000003',
  sameTraceLockWait: 'c000000000000007',
};

const APP = { 'service.name': 'shop-api' };
const POSTGRES = { 'service.name': 'postgresql', 'postgresql.cluster.port': 5432 };
const PG = { 'db.system.name': 'postgresql' };

interface Draft {
  id: string;
  parent: string | null;
  name: string;
  kind: number;
  /** ms from the trace's start */
  from: number;
  to: number;
  attributes?: Attributes;
  links?: SpanLinkRecord[];
}

function records(traceId: string, t0Ms: number, drafts: Draft[]): SpanRecord[] {
  const ns = (ms: number) => BigInt(Math.round((t0Ms + ms) * 1e6));
  return drafts.map((d) => {
    // the app makes the HTTP root and the pg client spans, the collector all the others
    const app = d.parent === null || d.kind === 3;
    return {
      traceId,
      spanId: d.id,
      parentSpanId: d.parent,
      name: d.name,
      kind: d.kind,
      service: app ? 'shop-api' : 'postgresql',
      scope: !app ? 'pgferret-collector' : d.kind === 3 ? '@opentelemetry/instrumentation-pg' : '@opentelemetry/instrumentation-http',
      startNs: ns(d.from),
      endNs: ns(d.to),
      statusCode: 0,
      statusMessage: '',
      attributes: d.attributes ?? {},
      resource: app ? APP : POSTGRES,
      events: [],
      links: d.links ?? [],
    };
  });
}

const http = (method: string, route: string): Attributes => ({
  'http.request.method': method, 'http.route': route, 'url.path': route, 'http.response.status_code': 200,
});
const client = (sql: string): Attributes => ({ ...PG, 'db.namespace': 'shop', 'db.query.text': sql, 'server.address': '127.0.0.1', 'server.port': 5432 });
const statement = (sql: string, pid: number, extra: Attributes = {}): Attributes => ({
  ...PG, 'db.namespace': 'shop', 'db.query.text': sql, 'postgresql.backend.pid': pid, ...extra,
});
const phase = (name: string, extra: Attributes = {}): Attributes => ({ ...PG, 'postgresql.phase': name, ...extra });
const nested = (sql: string, depth: number, extra: Attributes = {}): Attributes => ({
  ...PG, 'db.query.text': sql, 'postgresql.nesting.depth': depth, 'db.response.returned_rows': 1, ...extra,
});

/** POST /checkout holds the inventory row (pid 4711) from 5 ms until its COMMIT at 420 ms. */
function blocker(t0Ms: number): SpanRecord[] {
  return records(BLOCKER_TRACE, t0Ms, [
    { id: IDS.blockerHttp, parent: null, name: 'POST /checkout', kind: 2, from: 0, to: 430, attributes: http('POST', '/checkout') },
    { id: IDS.blockerClient, parent: IDS.blockerHttp, name: 'pg.query:UPDATE shop', kind: 3, from: 5, to: 8.5, attributes: client(BLOCKER_QUERY) },
    {
      id: IDS.blockerStatement, parent: IDS.blockerClient, name: 'UPDATE inventory', kind: 2, from: 5.2, to: 8.2,
      attributes: statement(BLOCKER_QUERY, BLOCKER_PID, { 'db.operation.name': 'UPDATE', 'db.collection.name': 'inventory', 'db.response.returned_rows': 1 }),
    },
    { id: 'b000000000000006', parent: IDS.blockerStatement, name: 'parse', kind: 1, from: 5.3, to: 5.5, attributes: phase('parse') },
    { id: 'b000000000000007', parent: IDS.blockerStatement, name: 'plan', kind: 1, from: 5.6, to: 6, attributes: phase('plan') },
    { id: 'b000000000000008', parent: IDS.blockerStatement, name: 'execute', kind: 1, from: 6.1, to: 8.1, attributes: phase('execute') },
    { id: IDS.blockerCommitClient, parent: IDS.blockerHttp, name: 'pg.query:COMMIT shop', kind: 3, from: 420, to: 421.5, attributes: client('COMMIT') },
    { id: IDS.blockerCommit, parent: IDS.blockerCommitClient, name: 'COMMIT', kind: 2, from: 420.1, to: 421.3, attributes: statement('COMMIT', BLOCKER_PID, { 'db.operation.name': 'COMMIT' }) },
  ]);
}

const WAITER_SQL = 'UPDATE inventory SET stock = stock + $1 WHERE sku = $2';

/** GET /restock, started 100 ms after POST /checkout: its UPDATE (pid 4242) waits for the row until the COMMIT. */
function waiter(t0Ms: number): SpanRecord[] {
  return records(WAITER_TRACE, t0Ms, [
    { id: IDS.waiterHttp, parent: null, name: 'GET /restock', kind: 2, from: 0, to: 345, attributes: http('GET', '/restock') },
    { id: IDS.waiterClient, parent: IDS.waiterHttp, name: 'pg.query:UPDATE shop', kind: 3, from: 10, to: 341, attributes: client(WAITER_SQL) },
    {
      id: IDS.waiterStatement, parent: IDS.waiterClient, name: 'UPDATE inventory', kind: 2, from: 10.2, to: 340.6,
      attributes: statement(WAITER_SQL, 4242, {
        'db.postgresql.query_id': '-5527664382445606513',
        'db.operation.name': 'UPDATE',
        'db.collection.name': 'inventory',
        'db.response.returned_rows': 1,
        'pgferret.cpu.on_ms': 27.01,
        'pgferret.cpu.off_ms': 303.39,
        'postgresql.buffers.shared.hit': 12,
        'postgresql.buffers.shared.read': 340,
        'postgresql.buffers.shared.dirtied': 2,
        'postgresql.buffers.shared.written': 1,
        'postgresql.buffers.local.hit': 0,
        'postgresql.buffers.local.read': 0,
        'postgresql.buffers.local.dirtied': 0,
        'postgresql.buffers.local.written': 0,
        'postgresql.buffers.temp.read': 4,
        'postgresql.buffers.temp.written': 4,
        'postgresql.io.shared.read_ms': 1.234,
        'postgresql.io.shared.write_ms': 0,
        'postgresql.wal.records': 3,
        'postgresql.wal.fpi': 1,
        'postgresql.wal.bytes': 1234,
        'pgferret.nested.count': 252,
        'pgferret.nested.aggregated': 250,
      }),
    },
    { id: 'a000000000000004', parent: IDS.waiterStatement, name: 'parse', kind: 1, from: 10.3, to: 10.5, attributes: phase('parse') },
    { id: 'a000000000000005', parent: IDS.waiterStatement, name: 'plan', kind: 1, from: 10.6, to: 11, attributes: phase('plan') },
    {
      id: IDS.execute, parent: IDS.waiterStatement, name: 'execute', kind: 1, from: 11.1, to: 340,
      attributes: phase('execute', {
        'pgferret.waits.events': ['LWLock:BufferMapping', 'IO:DataFileRead'],
        'pgferret.waits.counts': [3, 12],
        'pgferret.waits.total_ms': [0.12, 4.56],
      }),
    },
    {
      id: IDS.lockWait, parent: IDS.execute, name: 'wait Lock:transactionid', kind: 1, from: 11.5, to: 307.5,
      attributes: {
        'postgresql.wait_event.type': 'Lock',
        'postgresql.wait_event.name': 'transactionid',
        'postgresql.lock.type': 'transactionid',
        'postgresql.lock.mode': 'ShareLock',
        'postgresql.lock.database.oid': 16384,
        'postgresql.lock.transaction_id': 7719,
        'postgresql.lock.blocker.pids': [BLOCKER_PID],
        'postgresql.lock.blocker.application_name': 'shop-api',
        'postgresql.lock.blocker.query': BLOCKER_QUERY,
        'postgresql.lock.blocker.state': 'idle in transaction',
      },
      links: [
        { traceId: BLOCKER_TRACE, spanId: IDS.blockerStatement, attributes: { 'pgferret.link.type': 'lock_blocker', 'postgresql.backend.pid': BLOCKER_PID } },
      ],
    },
    {
      id: IDS.ioWait, parent: IDS.execute, name: 'wait IO:DataFileRead', kind: 1, from: 307.6, to: 310,
      attributes: { 'postgresql.wait_event.type': 'IO', 'postgresql.wait_event.name': 'DataFileRead' },
    },
    {
      id: IDS.nestedInsert, parent: IDS.waiterStatement, name: 'INSERT inventory_audit', kind: 1, from: 310.2, to: 312,
      attributes: nested('INSERT INTO inventory_audit (sku, delta) VALUES ($1, $2)', 1),
    },
    {
      id: IDS.nestedSelect, parent: IDS.nestedInsert, name: 'SELECT audit_config', kind: 1, from: 310.5, to: 311,
      attributes: nested('SELECT enabled FROM audit_config WHERE tbl = $1', 2),
    },
    {
      id: IDS.aggregate, parent: IDS.waiterStatement, name: 'UPDATE stats', kind: 1, from: 312.2, to: 339.8,
      attributes: nested('UPDATE stats SET n = n + $1 WHERE k = $2', 1, {
        'pgferret.nested.aggregate': true, 'pgferret.nested.calls': 250, 'pgferret.nested.total_ms': 12.5, 'db.response.returned_rows': 250,
      }),
    },
    {
      id: IDS.commit, parent: IDS.waiterStatement, name: 'commit', kind: 1, from: 340.05, to: 340.5,
      attributes: phase('commit', { 'pgferret.waits.events': ['LWLock:WALWrite'], 'pgferret.waits.counts': [1], 'pgferret.waits.total_ms': [0.31] }),
    },
  ]);
}

const HOLDER_SQL = 'SELECT stock FROM inventory WHERE sku = $1 FOR UPDATE';

/** The Express example's GET /lock: one connection holds the row, the UPDATE on another waits for it. */
function sameTrace(t0Ms: number): SpanRecord[] {
  return records(SAME_TRACE, t0Ms, [
    { id: 'c000000000000001', parent: null, name: 'GET /lock', kind: 2, from: 0, to: 310, attributes: http('GET', '/lock') },
    { id: 'c000000000000002', parent: 'c000000000000001', name: 'pg.query:SELECT shop', kind: 3, from: 2, to: 3.5, attributes: client(HOLDER_SQL) },
    { id: IDS.holderStatement, parent: 'c000000000000002', name: 'SELECT inventory', kind: 2, from: 2.1, to: 3.3, attributes: statement(HOLDER_SQL, 4800) },
    { id: 'c000000000000004', parent: 'c000000000000001', name: 'pg.query:UPDATE shop', kind: 3, from: 4, to: 306, attributes: client(WAITER_SQL) },
    { id: 'c000000000000005', parent: 'c000000000000004', name: 'UPDATE inventory', kind: 2, from: 4.1, to: 305.8, attributes: statement(WAITER_SQL, 4801) },
    { id: 'c000000000000006', parent: 'c000000000000005', name: 'execute', kind: 1, from: 4.3, to: 305.6, attributes: phase('execute') },
    {
      id: IDS.sameTraceLockWait, parent: 'c000000000000006', name: 'wait Lock:transactionid', kind: 1, from: 4.5, to: 304.5,
      attributes: {
        'postgresql.wait_event.type': 'Lock',
        'postgresql.wait_event.name': 'transactionid',
        'postgresql.lock.type': 'transactionid',
        'postgresql.lock.mode': 'ShareLock',
        'postgresql.lock.blocker.pids': [4800],
        'postgresql.lock.blocker.query': HOLDER_SQL,
        'postgresql.lock.blocker.state': 'idle in transaction',
      },
      links: [{ traceId: SAME_TRACE, spanId: IDS.holderStatement, attributes: { 'pgferret.link.type': 'lock_blocker', 'postgresql.backend.pid': 4800 } }],
    },
  ]);
}

/** The three traces; the blocker starts at `t0Ms`, the waiter 100 ms later, GET /lock after both. */
export function insideTraces(t0Ms: number): SpanRecord[] {
  return [...blocker(t0Ms), ...waiter(t0Ms + 100), ...sameTrace(t0Ms + 500)];
}

// ---- as an OTLP/JSON request, for the receiver -------------------------------

/** The contract's doubles are the *_ms attributes; every other number is an int. */
function anyValue(key: string, v: AttributeValue): unknown {
  if (Array.isArray(v)) return { arrayValue: { values: v.map((x) => anyValue(key, x)) } };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return key.endsWith('_ms') ? { doubleValue: v } : { intValue: String(v) };
  throw new Error(`no OTLP form for ${key}=${JSON.stringify(v)} in these fixtures`);
}

const keyValues = (attrs: Attributes) => Object.entries(attrs).map(([key, v]) => ({ key, value: anyValue(key, v) }));

/** An ExportTraceServiceRequest in OTLP/JSON: one resourceSpans per service. */
export function otlpJson(spans: SpanRecord[]): unknown {
  const byService = new Map<string, SpanRecord[]>();
  for (const s of spans) byService.set(s.service, [...(byService.get(s.service) ?? []), s]);
  return {
    resourceSpans: [...byService.values()].map((group) => ({
      resource: { attributes: keyValues(group[0].resource) },
      scopeSpans: [...new Set(group.map((s) => s.scope))].map((scope) => ({
        scope: { name: scope },
        spans: group
          .filter((s) => s.scope === scope)
          .map((s) => ({
            traceId: s.traceId,
            spanId: s.spanId,
            ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
            name: s.name,
            kind: s.kind,
            startTimeUnixNano: s.startNs.toString(),
            endTimeUnixNano: s.endNs.toString(),
            attributes: keyValues(s.attributes),
            links: s.links.map((l) => ({ traceId: l.traceId, spanId: l.spanId, attributes: keyValues(l.attributes) })),
            status: { code: s.statusCode },
          })),
      })),
    })),
  };
}
