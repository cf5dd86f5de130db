// The embedded trace store.
//
// Why better-sqlite3: it is embedded (no server to run), on disk, transactional
// (a batch is committed before the receiver answers 200, so nothing
// acknowledged is lost), synchronous (no callback interleaving between the
// span rows and the per-trace summary that is updated with them), runs SQLite
// in WAL mode (readers of the UI do not block ingest), and is widely used and
// well maintained.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { makeDir } from '../io/make-dir';
import {
  type Attributes,
  type SpanEventRecord,
  type SpanLinkRecord,
  type SpanRecord,
  STATUS_CODE_ERROR,
  httpRoute,
  httpStatus,
  isPostgresServerSpan,
  queryText,
} from './span-record';
import { layoutSql } from './sql-layout';
import { fingerprint as fingerprintSql } from './fingerprint';
import { usageLines } from './usage-lines';
import { QueryStats, STATEMENT_ROW_BYTES, type SlowStatement, type TimeRange, type TopQueries, type TopQueriesQuery } from './query-stats';
import type { MergedProfile } from './merged-profile';

export const DEFAULT_MAX_SPANS = 1_000_000;
export const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;
const SCHEMA_VERSION = 2;
const SEARCH_TEXT_MAX = 16 * 1024;
/** Rough per-row cost of ids, times and integers, added to the text lengths. */
const SPAN_ROW_OVERHEAD = 120;

export interface TraceStoreOptions {
  dataDir: string;
  /** Upper bound on stored spans; whole traces are dropped, oldest received first. */
  maxSpans?: number;
  /** Upper bound on stored span data (names, attributes, SQL, resources) in bytes. */
  maxBytes?: number;
}

export interface TraceSummary {
  traceId: string;
  rootName: string;
  rootService: string;
  rootKind: number;
  /** False while the span without a parent has not arrived (yet). */
  hasRoot: boolean;
  startNs: string;
  startMs: number;
  durationMs: number;
  spanCount: number;
  pgSpanCount: number;
  errorCount: number;
  route: string | null;
  /** HTTP response status of the root span, when it is an HTTP server span. */
  httpStatus: number | null;
}

export type TraceSort = 'newest' | 'oldest' | 'longest' | 'shortest' | 'most-spans';
export const TRACE_SORTS: TraceSort[] = ['newest', 'oldest', 'longest', 'shortest', 'most-spans'];

const SORT_ORDER: Record<TraceSort, string> = {
  newest: 'start_ns DESC',
  oldest: 'start_ns ASC',
  longest: 'duration_ns DESC, start_ns DESC',
  shortest: 'duration_ns ASC, start_ns DESC',
  'most-spans': 'span_count DESC, start_ns DESC',
};

export interface TraceListQuery extends TimeRange {
  route?: string;
  /** Service of the root span. */
  service?: string;
  /** Only traces with (true) or without (false) a span in error. */
  hasErrors?: boolean;
  sort?: TraceSort;
  /** Rows to skip: the page cursor of every sort but newest. */
  offset?: number;
  minDurationMs?: number;
  hasPostgres?: boolean;
  /** Substring of a span name or of the SQL text (db.query.text). */
  q?: string;
  limit?: number;
  /** Page cursor: only traces that started before this (nextBefore of the previous page). */
  before?: string;
}

export interface TraceList {
  traces: TraceSummary[];
  nextBefore: string | null;
  /** For sorts other than newest: the offset of the next page. */
  nextOffset: number | null;
}

export interface StoredSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: number;
  service: string;
  scope: string;
  startNs: string;
  endNs: string;
  durationMs: number;
  statusCode: number;
  statusMessage: string;
  isPostgres: boolean;
  /** db.query.text (or db.statement) laid out for reading, or null */
  sql: string | null;
  /** the statement's fingerprint (@pgferret/sql), for spans with SQL: the UI groups by it, never by its own reading */
  fingerprint: string | null;
  /** the statement's buffer, I/O timing and WAL counters as EXPLAIN prints them; [] when it has none */
  usage: string[];
  attributes: Attributes;
  resource: Attributes;
  events: SpanEventRecord[];
  /** span links, e.g. a lock wait's to the statement of the transaction that held the lock */
  links: SpanLinkRecord[];
}

export interface TraceDetail {
  summary: TraceSummary;
  spans: StoredSpan[];
}

export interface IngestResult {
  accepted: number;
  duplicates: number;
  evictedTraces: number;
}

export interface StoreStats {
  traces: number;
  spans: number;
  bytes: number;
  maxSpans: number;
  maxBytes: number;
  evictedTraces: number;
  dbFile: string;
}

/** A traces row read with safeIntegers: every integer is a bigint. */
interface TraceRow {
  seq: bigint;
  root_span_id: string;
  root_name: string;
  root_service: string;
  root_kind: bigint;
  root_is_real: bigint;
  root_start_ns: bigint;
  start_ns: bigint;
  end_ns: bigint;
  span_count: bigint;
  pg_span_count: bigint;
  error_count: bigint;
  route: string | null;
  search: string;
  bytes: bigint;
  http_status: bigint | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS spans (
  id INTEGER PRIMARY KEY,
  trace_id TEXT NOT NULL,
  span_id TEXT NOT NULL,
  parent_span_id TEXT,
  name TEXT NOT NULL,
  kind INTEGER NOT NULL,
  service TEXT NOT NULL,
  scope TEXT NOT NULL,
  start_ns INTEGER NOT NULL,
  end_ns INTEGER NOT NULL,
  status_code INTEGER NOT NULL,
  status_message TEXT NOT NULL,
  is_postgres INTEGER NOT NULL,
  attributes TEXT NOT NULL,
  resource TEXT NOT NULL,
  events TEXT NOT NULL,
  links TEXT NOT NULL,
  bytes INTEGER NOT NULL
);
-- Also dedupes spans an exporter sends twice after a retry.
CREATE UNIQUE INDEX IF NOT EXISTS spans_by_trace ON spans(trace_id, span_id);

-- One row per trace, maintained on ingest so that the trace list never has to
-- aggregate spans. seq is the order traces were first received: eviction order.
CREATE TABLE IF NOT EXISTS traces (
  trace_id TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  root_span_id TEXT NOT NULL,
  root_name TEXT NOT NULL,
  root_service TEXT NOT NULL,
  root_kind INTEGER NOT NULL,
  root_is_real INTEGER NOT NULL,
  root_start_ns INTEGER NOT NULL,
  start_ns INTEGER NOT NULL,
  end_ns INTEGER NOT NULL,
  duration_ns INTEGER NOT NULL,
  span_count INTEGER NOT NULL,
  pg_span_count INTEGER NOT NULL,
  error_count INTEGER NOT NULL,
  route TEXT,
  search TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  http_status INTEGER
);
-- search rides along in the start_ns index: a text search that matches
-- little reads only the index, not every row (2.5x faster with 100k traces).
CREATE INDEX IF NOT EXISTS traces_by_start_search ON traces(start_ns, search);
DROP INDEX IF EXISTS traces_by_start;
CREATE INDEX IF NOT EXISTS traces_by_route ON traces(route, start_ns);
CREATE INDEX IF NOT EXISTS traces_by_seq ON traces(seq);
CREATE INDEX IF NOT EXISTS traces_by_duration ON traces(duration_ns);
CREATE INDEX IF NOT EXISTS traces_by_service ON traces(root_service, start_ns);
-- Traces with errors are few: a partial index finds them without a scan.
CREATE INDEX IF NOT EXISTS traces_with_errors ON traces(start_ns) WHERE error_count > 0;
`;

// Times are read as text (64-bit nanoseconds do not fit a JS number). The
// aliases must differ from the columns: ORDER BY would sort by the text alias.
const TRACE_COLUMNS = `trace_id, root_name, root_service, root_kind, root_is_real,
  CAST(start_ns AS TEXT) AS start_text, duration_ns, span_count, pg_span_count, error_count, route, http_status`;

function toSummary(r: any): TraceSummary {
  return {
    traceId: r.trace_id,
    rootName: r.root_name,
    rootService: r.root_service,
    rootKind: r.root_kind,
    hasRoot: r.root_is_real === 1,
    startNs: r.start_text,
    startMs: Number(BigInt(r.start_text) / 1000n) / 1000,
    durationMs: r.duration_ns / 1e6,
    spanCount: r.span_count,
    pgSpanCount: r.pg_span_count,
    errorCount: r.error_count,
    route: r.route,
    httpStatus: r.http_status,
  };
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => '\\' + c);
}

/** Per-trace changes of one ingest batch, merged into the traces row. */
interface TraceDelta {
  spans: SpanRecord[];
  bytes: number;
}

function betterRoot(candidate: SpanRecord, current: { isReal: boolean; startNs: bigint } | null): boolean {
  if (!current) return true;
  const real = candidate.parentSpanId === null;
  if (real !== current.isReal) return real;
  return candidate.startNs < current.startNs;
}

/** Opens (creating) the store's SQLite file, readable by the collector's user only. */
function openDatabase(dataDir: string, dbFile: string): Database.Database {
  try {
    makeDir(dataDir, 0o700);
    // SQL text: for the collector's user only. SQLite gives -wal and -shm
    // the mode of the database file; files of older versions are tightened.
    fs.closeSync(fs.openSync(dbFile, 'a', 0o600));
    for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) if (fs.existsSync(f)) fs.chmodSync(f, 0o600);
    // Nothing else should hold the lock (locking_mode, in setUpSchema): fail fast.
    return new Database(dbFile, { timeout: 200 });
  } catch (err) {
    throw new Error(
      `cannot open the trace store at ${dbFile}: ${(err as Error).message}. ` +
        'Choose a writable directory (--state-dir) or fix its permissions.',
    );
  }
}

/** The statements the store runs on every write and read. */
function prepareStatements(db: Database.Database): Record<string, Database.Statement> {
  return {
    insertSpan: db.prepare(`INSERT OR IGNORE INTO spans
      (trace_id, span_id, parent_span_id, name, kind, service, scope, start_ns, end_ns,
       status_code, status_message, is_postgres, attributes, resource, events, links, bytes)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    getTraceRow: db
      .prepare(
        `SELECT seq, root_span_id, root_name, root_service, root_kind, root_is_real, root_start_ns,
           start_ns, end_ns, span_count, pg_span_count, error_count, route, search, bytes, http_status
         FROM traces WHERE trace_id = ?`,
      )
      .safeIntegers(true),
    upsertTrace: db.prepare(`INSERT OR REPLACE INTO traces
      (trace_id, seq, root_span_id, root_name, root_service, root_kind, root_is_real, root_start_ns,
       start_ns, end_ns, duration_ns, span_count, pg_span_count, error_count, route, search, bytes, http_status)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    oldestTraces: db.prepare('SELECT trace_id, seq, span_count, bytes FROM traces ORDER BY seq LIMIT ?'),
    deleteSpans: db.prepare('DELETE FROM spans WHERE trace_id = ?'),
    deleteTrace: db.prepare('DELETE FROM traces WHERE trace_id = ?'),
    summary: db.prepare(`SELECT ${TRACE_COLUMNS} FROM traces WHERE trace_id = ?`),
    spansOf: db.prepare(`SELECT trace_id, span_id, parent_span_id, name, kind, service, scope,
        CAST(start_ns AS TEXT) AS start_text, CAST(end_ns AS TEXT) AS end_text, end_ns - start_ns AS duration_ns,
        status_code, status_message, is_postgres, attributes, resource, events, links
      FROM spans WHERE trace_id = ? ORDER BY start_ns, id`),
    routes: db.prepare('SELECT DISTINCT route FROM traces WHERE route IS NOT NULL ORDER BY route LIMIT 500'),
    services: db.prepare('SELECT DISTINCT root_service FROM traces ORDER BY root_service LIMIT 500').pluck(),
  };
}

export class TraceStore {
  readonly dbFile: string;
  readonly maxSpans: number;
  readonly maxBytes: number;
  private readonly db: Database.Database;
  private totalSpans = 0;
  private totalBytes = 0;
  private totalTraces = 0;
  private nextSeq = 1;
  private evicted = 0;
  private readonly listStatements = new Map<string, Database.Statement>();
  private readonly resourceJson = new WeakMap<Attributes, string>();
  private readonly stmt: Record<string, Database.Statement>;
  private readonly queryStats: QueryStats;
  private readonly ingestTx: (batches: SpanRecord[][]) => IngestResult[];

  private constructor(opts: TraceStoreOptions) {
    this.maxSpans = opts.maxSpans ?? DEFAULT_MAX_SPANS;
    this.maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    if (!(this.maxSpans >= 1) || !(this.maxBytes >= 1)) {
      throw new Error(
        `invalid trace store bounds (maxSpans=${opts.maxSpans}, maxBytes=${opts.maxBytes}): both must be positive numbers`,
      );
    }
    this.dbFile = path.join(opts.dataDir, 'traces.sqlite');
    this.db = openDatabase(opts.dataDir, this.dbFile);
    this.queryStats = this.setUpSchema();
    this.stmt = prepareStatements(this.db);
    this.ingestTx = this.db.transaction((batches: SpanRecord[][]) => this.storeBatches(batches));
    this.loadTotals();
  }

  /** Takes the file for this process alone and brings its schema up to date. */
  private setUpSchema(): QueryStats {
    try {
      this.db.pragma('journal_mode = WAL');
      // FULL: a commit is on disk before we answer 200, even across a power loss.
      this.db.pragma('synchronous = FULL');
      // One collector per data directory: the in-memory totals and sequence
      // would be wrong if two processes wrote the same file.
      this.db.pragma('locking_mode = EXCLUSIVE');
      const version = this.db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) {
        throw new Error(
          `it was written by a newer pgferret-collector (schema ${version}, this one knows ${SCHEMA_VERSION}). ` +
            'Upgrade the collector or use another --store-dir.',
        );
      }
      this.db.exec(SCHEMA);
      const stats = this.migrate(version);
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
      return stats;
    } catch (err) {
      this.db.close();
      const msg = (err as Error).message;
      if (/locked|busy/i.test(msg)) {
        throw new Error(
          `the trace store at ${this.dbFile} is in use by another process (${msg}). ` +
            'Stop the other pgferret-collector or give this one another --store-dir.',
        );
      }
      throw new Error(`cannot use the trace store at ${this.dbFile}: ${msg}`);
    }
  }

  /** Brings a store of an older schema up to date; schema 1 lacks http_status and the statements. */
  private migrate(version: number): QueryStats {
    const columns = this.db.pragma('table_info(traces)') as { name: string }[];
    if (!columns.some((c) => c.name === 'http_status')) this.db.exec('ALTER TABLE traces ADD COLUMN http_status INTEGER');
    const stats = new QueryStats(this.db);
    if (version < 2) this.db.transaction(() => stats.backfill())();
    return stats;
  }

  static open(opts: TraceStoreOptions): TraceStore {
    return new TraceStore(opts);
  }

  private loadTotals(): void {
    const t = this.db
      .prepare(
        'SELECT COUNT(*) AS n, COALESCE(SUM(span_count), 0) AS spans, COALESCE(SUM(bytes), 0) AS bytes, COALESCE(MAX(seq), 0) AS seq FROM traces',
      )
      .get() as { n: number; spans: number; bytes: number; seq: number };
    this.totalTraces = t.n;
    this.totalSpans = t.spans;
    this.totalBytes = t.bytes;
    this.nextSeq = t.seq + 1;
  }

  /** Stores a batch in one transaction; when this returns the batch is durable. */
  ingest(spans: SpanRecord[]): IngestResult {
    return this.ingestGroup([spans])[0];
  }

  /**
   * Stores several batches in one transaction (one fsync: group commit); when
   * this returns all of them are durable. Results are per batch, in order.
   */
  ingestGroup(batches: SpanRecord[][]): IngestResult[] {
    if (batches.every((b) => b.length === 0)) return batches.map(() => ({ accepted: 0, duplicates: 0, evictedTraces: 0 }));
    try {
      return this.ingestTx(batches);
    } catch (err) {
      // The transaction rolled back; the in-memory totals may have moved with it.
      this.loadTotals();
      this.queryStats.resetCache();
      throw err;
    }
  }

  private storeBatches(batches: SpanRecord[][]): IngestResult[] {
    const byTrace = new Map<string, TraceDelta>();
    const results: IngestResult[] = [];
    for (const batch of batches) {
      let accepted = 0;
      for (const s of batch) {
        const attributes = JSON.stringify(s.attributes);
        let resource = this.resourceJson.get(s.resource);
        if (resource === undefined) {
          resource = JSON.stringify(s.resource);
          this.resourceJson.set(s.resource, resource);
        }
        const events = s.events.length === 0 ? '[]' : JSON.stringify(s.events);
        const links = s.links.length === 0 ? '[]' : JSON.stringify(s.links);
        const isPg = isPostgresServerSpan(s);
        const bytes =
          SPAN_ROW_OVERHEAD +
          s.name.length +
          s.service.length +
          s.scope.length +
          s.statusMessage.length +
          attributes.length +
          resource.length +
          events.length +
          links.length;
        const info = this.stmt.insertSpan.run(
          s.traceId,
          s.spanId,
          s.parentSpanId,
          s.name,
          s.kind,
          s.service,
          s.scope,
          s.startNs,
          s.endNs,
          s.statusCode,
          s.statusMessage,
          isPg ? 1 : 0,
          attributes,
          resource,
          events,
          links,
          bytes,
        );
        if (info.changes === 0) continue;
        accepted++;
        let d = byTrace.get(s.traceId);
        if (!d) byTrace.set(s.traceId, (d = { spans: [], bytes: 0 }));
        d.spans.push(s);
        // A statement also costs its top-queries row: counted against maxBytes too.
        d.bytes += isPg ? bytes + STATEMENT_ROW_BYTES : bytes;
      }
      results.push({ accepted, duplicates: batch.length - accepted, evictedTraces: 0 });
    }
    // One summary upsert per trace for the whole group.
    for (const [traceId, d] of byTrace) this.mergeTrace(traceId, d);
    const evicted = this.evictIfNeeded();
    if (evicted > 0) results[results.length - 1].evictedTraces = evicted;
    return results;
  }

  private mergeTrace(traceId: string, d: TraceDelta): void {
    const row = this.stmt.getTraceRow.get(traceId) as TraceRow | undefined;
    let root = row ? { isReal: row.root_is_real === 1n, startNs: row.root_start_ns } : null;
    let newRoot: SpanRecord | null = null;
    let start = row ? row.start_ns : d.spans[0].startNs;
    let end = row ? row.end_ns : d.spans[0].endNs;
    let pg = row ? Number(row.pg_span_count) : 0;
    let errors = row ? Number(row.error_count) : 0;
    let route = row ? row.route : null;
    let search = row ? row.search : '';
    const statements: SpanRecord[] = [];
    for (const s of d.spans) {
      if (betterRoot(s, root)) {
        root = { isReal: s.parentSpanId === null, startNs: s.startNs };
        newRoot = s;
      }
      if (s.startNs < start) start = s.startNs;
      if (s.endNs > end) end = s.endNs;
      if (isPostgresServerSpan(s)) {
        pg++;
        statements.push(s);
      }
      if (s.statusCode === STATUS_CODE_ERROR) errors++;
      if (route === null) route = httpRoute(s) ?? null;
      search = appendSearch(search, s.name);
      const sql = queryText(s);
      if (sql) search = appendSearch(search, sql);
    }
    if (newRoot) route = httpRoute(newRoot) ?? route;
    const status = newRoot ? httpStatus(newRoot) : row?.http_status == null ? null : Number(row.http_status);
    const seq = row ? Number(row.seq) : this.nextSeq++;
    if (!row) this.totalTraces++;
    for (const s of statements) this.queryStats.record(s, seq);
    this.stmt.upsertTrace.run(
      traceId,
      seq,
      newRoot ? newRoot.spanId : row!.root_span_id,
      newRoot ? newRoot.name : row!.root_name,
      newRoot ? newRoot.service : row!.root_service,
      newRoot ? newRoot.kind : Number(row!.root_kind),
      root!.isReal ? 1 : 0,
      root!.startNs,
      start,
      end,
      end - start,
      (row ? Number(row.span_count) : 0) + d.spans.length,
      pg,
      errors,
      route,
      search,
      (row ? Number(row.bytes) : 0) + d.bytes,
      status,
    );
    this.totalSpans += d.spans.length;
    this.totalBytes += d.bytes;
  }

  /** Drops whole traces, first received first, until both bounds hold. */
  private evictIfNeeded(): number {
    let dropped = 0;
    let lastSeq = 0;
    while (this.totalSpans > this.maxSpans || this.totalBytes > this.maxBytes) {
      const oldest = this.stmt.oldestTraces.all(256) as { trace_id: string; seq: number; span_count: number; bytes: number }[];
      if (oldest.length === 0) break;
      for (const t of oldest) {
        this.stmt.deleteSpans.run(t.trace_id);
        this.stmt.deleteTrace.run(t.trace_id);
        lastSeq = t.seq;
        this.totalSpans -= t.span_count;
        this.totalBytes -= t.bytes;
        this.totalTraces--;
        dropped++;
        if (this.totalSpans <= this.maxSpans && this.totalBytes <= this.maxBytes) break;
      }
    }
    if (dropped > 0) this.queryStats.forgetThrough(lastSeq, dropped);
    this.evicted += dropped;
    return dropped;
  }

  listTraces(query: TraceListQuery = {}): TraceList {
    const limit = Math.min(Math.max(Math.trunc(query.limit ?? 50), 1), 500);
    const where: string[] = [];
    const params: Record<string, unknown> = { limit };
    const sort = query.sort ?? 'newest';
    const offset = sort === 'newest' ? 0 : Math.max(Math.trunc(query.offset ?? 0), 0);
    params.offset = offset;
    if (query.before !== undefined && sort === 'newest') {
      where.push('start_ns < @before');
      params.before = BigInt(query.before);
    }
    if (query.fromMs !== undefined) {
      where.push('start_ns >= @fromNs');
      params.fromNs = BigInt(Math.floor(query.fromMs)) * 1_000_000n;
    }
    if (query.toMs !== undefined) {
      where.push('start_ns < @toNs');
      params.toNs = BigInt(Math.ceil(query.toMs)) * 1_000_000n;
    }
    if (query.service !== undefined && query.service !== '') {
      where.push('root_service = @service');
      params.service = query.service;
    }
    if (query.hasErrors !== undefined) where.push(query.hasErrors ? 'error_count > 0' : 'error_count = 0');
    if (query.route !== undefined && query.route !== '') {
      where.push('route = @route');
      params.route = query.route;
    }
    if (query.minDurationMs !== undefined && query.minDurationMs > 0) {
      where.push('duration_ns >= @minDurationNs');
      params.minDurationNs = BigInt(Math.round(query.minDurationMs * 1e6));
    }
    if (query.hasPostgres !== undefined) where.push(query.hasPostgres ? 'pg_span_count > 0' : 'pg_span_count = 0');
    if (query.q !== undefined && query.q !== '') {
      where.push("search LIKE @q ESCAPE '\\'");
      params.q = `%${escapeLike(query.q)}%`;
    }
    const sql = `SELECT ${TRACE_COLUMNS} FROM traces ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
      ORDER BY ${SORT_ORDER[sort]} LIMIT @limit OFFSET @offset`;
    let stmt = this.listStatements.get(sql);
    if (!stmt) this.listStatements.set(sql, (stmt = this.db.prepare(sql)));
    const traces = (stmt.all(params) as any[]).map(toSummary);
    const full = traces.length === limit;
    return {
      traces,
      nextBefore: full && sort === 'newest' ? traces[traces.length - 1].startNs : null,
      nextOffset: full && sort !== 'newest' ? offset + limit : null,
    };
  }

  getTrace(traceId: string): TraceDetail | null {
    const byText = new Map<string, string>();
    const spanFingerprint = (attributes: Attributes): string | null => {
      const text = queryText({ attributes });
      if (text === undefined) return null;
      let id = byText.get(text);
      if (id === undefined) byText.set(text, (id = fingerprintSql(text).id));
      return id;
    };
    const row = this.stmt.summary.get(traceId.toLowerCase());
    if (!row) return null;
    const spans = (this.stmt.spansOf.all(traceId.toLowerCase()) as any[]).map(
      (r): StoredSpan => {
        const attributes = JSON.parse(r.attributes) as Attributes;
        return {
        traceId: r.trace_id,
        spanId: r.span_id,
        parentSpanId: r.parent_span_id,
        name: r.name,
        kind: r.kind,
        service: r.service,
        scope: r.scope,
        startNs: r.start_text,
        endNs: r.end_text,
        durationMs: r.duration_ns / 1e6,
        statusCode: r.status_code,
        statusMessage: r.status_message,
        isPostgres: r.is_postgres === 1,
        sql: layoutSql(queryText({ attributes }) ?? '') || null,
        fingerprint: spanFingerprint(attributes),
        usage: usageLines(attributes),
        attributes,
        resource: JSON.parse(r.resource),
        events: JSON.parse(r.events),
        links: JSON.parse(r.links),
        };
      },
    );
    return { summary: toSummary(row), spans };
  }

  routes(): string[] {
    return (this.stmt.routes.all() as { route: string }[]).map((r) => r.route);
  }

  services(): string[] {
    return this.stmt.services.all() as string[];
  }

  /** Per statement fingerprint: calls, time, p95, rows, errors and share, over a time range. */
  topQueries(query: TopQueriesQuery = {}): TopQueries {
    return this.queryStats.top(query);
  }

  /** The slowest statements of one fingerprint, with the traces they belong to. */
  slowestStatements(fingerprint: string, range: TimeRange = {}, limit = 10): SlowStatement[] {
    return this.queryStats.slowest(fingerprint, range, limit);
  }

  /** The CPU profiles of one fingerprint's slowest executions, merged. */
  queryProfile(fingerprint: string, range: TimeRange = {}, limit = 10): MergedProfile {
    return this.queryStats.profile(fingerprint, range, limit);
  }

  stats(): StoreStats {
    return {
      traces: this.totalTraces,
      spans: this.totalSpans,
      bytes: this.totalBytes,
      maxSpans: this.maxSpans,
      maxBytes: this.maxBytes,
      evictedTraces: this.evicted,
      dbFile: this.dbFile,
    };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function appendSearch(search: string, piece: string): string {
  if (search.length >= SEARCH_TEXT_MAX || search.includes(piece)) return search;
  const next = search === '' ? piece : `${search}\n${piece}`;
  return next.length > SEARCH_TEXT_MAX ? next.slice(0, SEARCH_TEXT_MAX) : next;
}
