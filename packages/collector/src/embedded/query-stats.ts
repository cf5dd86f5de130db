// Per-fingerprint statement statistics for the top-queries view. Every
// PostgreSQL statement span stored gets one narrow row here (fingerprint,
// start, duration, rows, error) written in the ingest transaction, so a
// request aggregates an index range instead of parsing spans.
import type Database from 'better-sqlite3';
import { A } from '../spans/attributes';
import { fingerprint, type Fingerprint } from './fingerprint';
import { mergeProfiles, type MergedProfile } from './merged-profile';
import { type SpanRecord, STATUS_CODE_ERROR, queryText } from './span-record';

export const STATEMENTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS statements (
  id INTEGER PRIMARY KEY,
  trace_id TEXT NOT NULL,
  -- the trace's eviction order: traces go oldest seq first, so their
  -- statements go with one range delete on an append-only index
  trace_seq INTEGER NOT NULL,
  span_id TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  start_ns INTEGER NOT NULL,
  duration_ns INTEGER NOT NULL,
  rows INTEGER,
  is_error INTEGER NOT NULL
);
-- Covering indexes: the aggregate reads only the first, in fingerprint
-- order (no sort for GROUP BY: 2-4x faster over 80k statements than a
-- start_ns range scan that has to sort); the p95 and slowest-traces lookups
-- read only the second. Neither touches the table.
CREATE INDEX IF NOT EXISTS statements_for_aggregate ON statements(fingerprint, start_ns, duration_ns, rows, is_error);
CREATE INDEX IF NOT EXISTS statements_by_fingerprint ON statements(fingerprint, duration_ns, start_ns);
CREATE INDEX IF NOT EXISTS statements_by_seq ON statements(trace_seq);
CREATE TABLE IF NOT EXISTS fingerprints (
  id TEXT PRIMARY KEY,
  text TEXT NOT NULL,
  operation TEXT,
  collection TEXT
) WITHOUT ROWID;
`;

export type TopQueriesSort = 'total' | 'calls' | 'mean' | 'p95' | 'max' | 'rows' | 'errors';
export const TOP_QUERIES_SORTS: TopQueriesSort[] = ['total', 'calls', 'mean', 'p95', 'max', 'rows', 'errors'];

export interface TimeRange {
  /** Statements that started at or after this (ms since the epoch). */
  fromMs?: number;
  /** Statements that started before this (ms since the epoch). */
  toMs?: number;
}

export interface TopQueriesQuery extends TimeRange {
  sort?: TopQueriesSort;
  limit?: number;
}

export interface TopQuery {
  fingerprint: string;
  text: string;
  operation: string | null;
  collection: string | null;
  calls: number;
  totalMs: number;
  meanMs: number;
  p95Ms: number;
  minMs: number;
  maxMs: number;
  /** Sum of db.response.returned_rows; null when no statement reported rows. */
  rows: number | null;
  errors: number;
  /** Fraction (0–1) of the time of all statements in the range. */
  share: number;
}

export interface TopQueries {
  queries: TopQuery[];
  /** Distinct fingerprints in the range (queries holds at most `limit` of them). */
  fingerprints: number;
  calls: number;
  totalMs: number;
}

export interface SlowStatement {
  traceId: string;
  /** Name of the trace's root span (e.g. the HTTP route). */
  rootName: string;
  spanId: string;
  startMs: number;
  durationMs: number;
  isError: boolean;
}

interface BackfillRow {
  id: bigint;
  trace_id: string;
  seq: bigint;
  span_id: string;
  name: string;
  start_ns: bigint;
  end_ns: bigint;
  status_code: bigint;
  attributes: string;
}

/** Rough on-disk cost of one statements row and its three index entries. */
export const STATEMENT_ROW_BYTES = 200;
const FINGERPRINT_CACHE_MAX = 10_000;
const PRUNE_EVERY_TRACES = 10_000;
const NS_MAX = 2n ** 63n - 1n;

function nsRange(r: TimeRange): { from: bigint; to: bigint } {
  return {
    from: r.fromMs === undefined ? 0n : BigInt(Math.floor(r.fromMs)) * 1_000_000n,
    to: r.toMs === undefined ? NS_MAX : BigInt(Math.ceil(r.toMs)) * 1_000_000n,
  };
}

function returnedRows(s: SpanRecord): number | null {
  const v = s.attributes[A.dbResponseReturnedRows];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

const SORT_KEYS: Record<TopQueriesSort, (q: TopQuery) => number> = {
  total: (q) => q.totalMs,
  calls: (q) => q.calls,
  mean: (q) => q.meanMs,
  p95: (q) => q.p95Ms,
  max: (q) => q.maxMs,
  rows: (q) => q.rows ?? -1,
  errors: (q) => q.errors,
};

export class QueryStats {
  private readonly stmt: Record<string, Database.Statement>;
  /** SQL text → fingerprint: the same statements arrive over and over. */
  private readonly byText = new Map<string, Fingerprint>();
  /** Fingerprints known to be in the fingerprints table. */
  private readonly stored = new Set<string>();
  private evictedSincePrune = 0;

  constructor(private readonly db: Database.Database) {
    db.exec(STATEMENTS_SCHEMA);
    this.stmt = {
      insert: db.prepare(`INSERT INTO statements (trace_id, trace_seq, span_id, fingerprint, start_ns, duration_ns, rows, is_error)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      insertFingerprint: db.prepare('INSERT OR IGNORE INTO fingerprints (id, text, operation, collection) VALUES (?, ?, ?, ?)'),
      forget: db.prepare('DELETE FROM statements WHERE trace_seq <= ?'),
      pruneFingerprints: db.prepare(
        'DELETE FROM fingerprints WHERE NOT EXISTS (SELECT 1 FROM statements s WHERE s.fingerprint = fingerprints.id)',
      ),
      aggregate: db.prepare(`SELECT fingerprint, count(*) AS calls, sum(duration_ns) AS total, min(duration_ns) AS min,
          max(duration_ns) AS max, sum(rows) AS rows, sum(is_error) AS errors
        FROM statements INDEXED BY statements_for_aggregate
        WHERE start_ns >= @from AND start_ns < @to GROUP BY fingerprint`),
      // Nearest-rank p95: the (n - ceil(0.95 n) + 1)-th longest.
      p95: db
        .prepare(`SELECT duration_ns FROM statements INDEXED BY statements_by_fingerprint WHERE fingerprint = @fp AND start_ns >= @from AND start_ns < @to
          ORDER BY duration_ns DESC LIMIT 1 OFFSET @offset`)
        .pluck(),
      describe: db.prepare('SELECT text, operation, collection FROM fingerprints WHERE id = ?'),
      slowest: db.prepare(`SELECT s.trace_id, s.span_id, CAST(s.start_ns AS TEXT) AS start_text, s.duration_ns, s.is_error,
          t.root_name
        FROM statements s INDEXED BY statements_by_fingerprint JOIN traces t USING (trace_id)
        WHERE s.fingerprint = @fp AND s.start_ns >= @from AND s.start_ns < @to
        ORDER BY s.duration_ns DESC LIMIT @limit`),
      slowestEvents: db.prepare(`SELECT s.trace_id, s.span_id, s.duration_ns, sp.events
        FROM statements s INDEXED BY statements_by_fingerprint JOIN spans sp ON sp.trace_id = s.trace_id AND sp.span_id = s.span_id
        WHERE s.fingerprint = @fp AND s.start_ns >= @from AND s.start_ns < @to
        ORDER BY s.duration_ns DESC LIMIT @limit`),
      backfill: db
        .prepare(`SELECT s.id, s.trace_id, t.seq, s.span_id, s.name, s.start_ns, s.end_ns, s.status_code, s.attributes
          FROM spans s JOIN traces t USING (trace_id) WHERE s.is_postgres = 1 AND s.id > ? ORDER BY s.id LIMIT 5000`)
        .safeIntegers(true),
    };
  }

  /** Called inside the ingest transaction for each stored PostgreSQL statement span. */
  record(s: SpanRecord, traceSeq: number): void {
    const fp = this.fingerprintOf(queryText(s) ?? s.name, s);
    this.stmt.insert.run(s.traceId, traceSeq, s.spanId, fp.id, s.startNs, s.endNs - s.startNs, returnedRows(s), s.statusCode === STATUS_CODE_ERROR ? 1 : 0);
  }

  private fingerprintOf(sql: string, s: SpanRecord): Fingerprint {
    let fp = this.byText.get(sql);
    if (!fp) {
      if (this.byText.size >= FINGERPRINT_CACHE_MAX) this.byText.clear();
      fp = fingerprint(sql);
      this.byText.set(sql, fp);
    }
    if (!this.stored.has(fp.id)) {
      const op = s.attributes[A.dbOperationName];
      const coll = s.attributes[A.dbCollectionName];
      this.stmt.insertFingerprint.run(fp.id, fp.text, typeof op === 'string' ? op : null, typeof coll === 'string' ? coll : null);
      if (this.stored.size >= FINGERPRINT_CACHE_MAX) this.stored.clear();
      this.stored.add(fp.id);
    }
    return fp;
  }

  /**
   * Drops the statements of every trace up to this eviction sequence number;
   * now and then also the fingerprints no statement uses any more (a scan of
   * them all, too slow for every batch of a full store).
   */
  forgetThrough(traceSeq: number, traces: number): void {
    this.stmt.forget.run(traceSeq);
    this.evictedSincePrune += traces;
    if (this.evictedSincePrune >= PRUNE_EVERY_TRACES) {
      this.stmt.pruneFingerprints.run();
      this.stored.clear();
      this.evictedSincePrune = 0;
    }
  }

  /** A rolled-back transaction may have taken cached fingerprint rows with it. */
  resetCache(): void {
    this.stored.clear();
  }

  /** Fills the statements of a store written before they existed (schema 1), a page at a time. */
  backfill(): number {
    let n = 0;
    for (let after = 0; ; ) {
      const page = this.stmt.backfill.all(after) as BackfillRow[];
      if (page.length === 0) return n;
      for (const r of page) {
        this.record({
          traceId: r.trace_id,
          spanId: r.span_id,
          parentSpanId: null,
          name: r.name,
          kind: 2,
          service: '',
          scope: '',
          startNs: r.start_ns,
          endNs: r.end_ns,
          statusCode: Number(r.status_code),
          statusMessage: '',
          attributes: JSON.parse(r.attributes),
          resource: {},
          events: [],
          links: [],
        }, Number(r.seq));
      }
      n += page.length;
      after = Number(page[page.length - 1].id);
    }
  }

  top(query: TopQueriesQuery = {}): TopQueries {
    const range = nsRange(query);
    const groups = this.stmt.aggregate.all(range) as {
      fingerprint: string;
      calls: number;
      total: number;
      min: number;
      max: number;
      rows: number | null;
      errors: number;
    }[];
    let calls = 0;
    let totalNs = 0;
    for (const g of groups) {
      calls += g.calls;
      totalNs += g.total;
    }
    const queries = groups.map((g): TopQuery => {
      const offset = g.calls - Math.ceil(0.95 * g.calls);
      const p95 = this.stmt.p95.get({ fp: g.fingerprint, ...range, offset }) as number;
      const d = this.stmt.describe.get(g.fingerprint) as { text: string; operation: string | null; collection: string | null } | undefined;
      return {
        fingerprint: g.fingerprint,
        text: d?.text ?? '',
        operation: d?.operation ?? null,
        collection: d?.collection ?? null,
        calls: g.calls,
        totalMs: g.total / 1e6,
        meanMs: g.total / g.calls / 1e6,
        p95Ms: p95 / 1e6,
        minMs: g.min / 1e6,
        maxMs: g.max / 1e6,
        rows: g.rows,
        errors: g.errors,
        share: totalNs > 0 ? g.total / totalNs : 0,
      };
    });
    const key = SORT_KEYS[query.sort ?? 'total'];
    queries.sort((a, b) => key(b) - key(a) || b.totalMs - a.totalMs);
    const limit = Math.min(Math.max(Math.trunc(query.limit ?? 100), 1), 1000);
    return { queries: queries.slice(0, limit), fingerprints: groups.length, calls, totalMs: totalNs / 1e6 };
  }

  /** The CPU profiles of the fingerprint's `limit` slowest executions, merged. */
  profile(fp: string, range: TimeRange, limit = 10): MergedProfile {
    const rows = this.stmt.slowestEvents.all({ fp, ...nsRange(range), limit }) as { trace_id: string; span_id: string; duration_ns: number; events: string }[];
    return mergeProfiles(rows.map((r) => ({ traceId: r.trace_id, spanId: r.span_id, durationMs: r.duration_ns / 1e6, events: JSON.parse(r.events) })));
  }

  slowest(fp: string, range: TimeRange, limit = 10): SlowStatement[] {
    const rows = this.stmt.slowest.all({ fp, ...nsRange(range), limit }) as {
      trace_id: string;
      span_id: string;
      start_text: string;
      duration_ns: number;
      is_error: number;
      root_name: string;
    }[];
    return rows.map((r) => ({
      traceId: r.trace_id,
      rootName: r.root_name,
      spanId: r.span_id,
      startMs: Number(BigInt(r.start_text) / 1000n) / 1000,
      durationMs: r.duration_ns / 1e6,
      isError: r.is_error === 1,
    }));
  }
}
