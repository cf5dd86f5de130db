// Plans for slow statements: with a connection (--postgres-url, a read-only
// role), the first slow run of a fingerprint is explained — EXPLAIN, never
// ANALYZE, in a read-only transaction with a statement timeout; GENERIC_PLAN
// on PostgreSQL 16+ for text with $n parameters — and its spans wait for the
// plan (at most ~3 s). Later slow runs within the refresh interval carry the
// cached plan at once. Explains are rate-limited per fingerprint and overall.
import type { Attributes } from '@opentelemetry/api';
import { Client } from 'pg';
import type { Statement } from '../spans/assemble';
import { A } from '../spans/attributes';
import type { BackendInfo } from '../spans/build';
import { withoutTraceComment } from '../spans/describe';
import { describeSql } from '../spans/sql';

/** What a plan is cached by and decided on (the statement keys of /metrics and diagnose). */
export interface PlanKeys {
  namespace: string;
  fingerprint: string;
  operation: string;
  /** literals masked */
  maskedText: string;
}

export interface ExplainerOptions {
  url: string;
  /** the statement's keys: given by whoever wires the explainer, so plans need not know metrics */
  keyer: { keys(s: Statement, backend: BackendInfo): PlanKeys };
  /** statements at least this long get a plan */
  minMs: number;
  log: (m: string) => void;
}

export const PLAN_REFRESH_MS = 10 * 60_000;
export const MAX_EXPLAINS_PER_MINUTE = 10;
const STATEMENT_TIMEOUT_MS = 2000;
const RECONNECT_AFTER_MS = 30_000;
const EXPLAINABLE = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE']);

interface Connection {
  client: Client | null;
  ready: Promise<Client> | null;
  failedAt: number;
  version: number;
}

export class Explainer {
  private plans = new Map<string, { at: number; attrs: Attributes }>();
  private inFlight = new Map<string, Promise<Attributes>>();
  private recent: number[] = [];
  private connections = new Map<string, Connection>();
  private readonly url: URL;
  private closed = false;
  private warned = new Set<string>();

  constructor(private readonly o: ExplainerOptions) {
    try {
      this.url = new URL(o.url);
    } catch {
      throw new Error(`--postgres-url ${o.url} is not a URL: use postgres://user@host:port/database`);
    }
    if (!/^postgres(ql)?:$/.test(this.url.protocol)) throw new Error(`--postgres-url must start with postgres://, got ${this.url.protocol}//`);
  }

  /** The port of the cluster the URL points at: only its statements are explained. */
  get port(): number {
    return Number(this.url.port || 5432);
  }

  /**
   * Plan attributes for the statement's span: null when it gets none (fast,
   * another cluster, rate-limited), at once when cached, else a promise.
   */
  readonly annotate = (s: Statement, backend: BackendInfo, clusterPort: number | null): Attributes | Promise<Attributes> | null => {
    if (this.closed || (s.endNs - s.startNs) / 1e6 < this.o.minMs || clusterPort !== this.port) return null;
    const k = this.o.keyer.keys(s, backend);
    const key = `${k.namespace}\u0000${k.fingerprint}`;
    const now = Date.now();
    const cached = this.plans.get(key);
    if (cached && now - cached.at < PLAN_REFRESH_MS) return cached.attrs;
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const skip = this.unexplainable(s, k.operation);
    if (skip) return { [A.planSkipped]: skip };
    this.recent = this.recent.filter((t) => now - t < 60_000);
    if (this.recent.length >= MAX_EXPLAINS_PER_MINUTE) return cached?.attrs ?? null;
    this.recent.push(now);
    const raw = withoutTraceComment(s.start.text, s.start.origin);
    // $n outside literals and identifiers: a parameterized text (extended protocol)
    const parameterized = /(^|[^\w$])\$\d/.test(k.maskedText);
    const p = this.explain(raw, parameterized, backend.database).then((attrs) => {
      this.plans.set(key, { at: Date.now(), attrs });
      return attrs;
    }).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  };

  private unexplainable(s: Statement, operation: string): string | null {
    if (s.start.textTotal === 0 || s.start.textTotal > Buffer.byteLength(s.start.text)) return 'the statement text was truncated (--max-query-text)';
    if (describeSql(withoutTraceComment(s.start.text, s.start.origin), true).length !== 1) return 'several statements in one string';
    if (!EXPLAINABLE.has(operation)) return `${operation || 'this statement'} has no plan to show`;
    return null;
  }

  private async explain(raw: string, parameterized: boolean, database: string | undefined): Promise<Attributes> {
    let client: Client;
    let version: number;
    try {
      ({ client, version } = await this.connect(database ?? this.url.pathname.slice(1)));
    } catch (e) {
      return { [A.planSkipped]: `cannot connect with --postgres-url: ${(e as Error).message}` };
    }
    if (parameterized && version < 160000) return { [A.planSkipped]: 'the text has $n parameters: a generic plan needs PostgreSQL 16+' };
    const options = parameterized ? 'FORMAT TEXT, GENERIC_PLAN' : 'FORMAT TEXT';
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no answer within 3 s')), STATEMENT_TIMEOUT_MS + 1000);
    });
    try {
      const run = (async () => {
        await client.query('BEGIN READ ONLY');
        try {
          await client.query(`SET LOCAL statement_timeout = ${STATEMENT_TIMEOUT_MS}`);
          // one statement only (checked above); where there are no $n to leave unbound,
          // the extended protocol (pg's queryMode, not in its types) refuses more as well
          const text = `EXPLAIN (${options}) ${raw}`;
          const extended = { text, queryMode: 'extended' };
          const r = await client.query<{ 'QUERY PLAN': string }>(parameterized ? text : extended);
          return r.rows.map((row) => row['QUERY PLAN']).join('\n');
        } finally {
          await client.query('ROLLBACK');
        }
      })();
      const plan = await Promise.race([run, timeout]);
      return { [A.plan]: plan, [A.planGeneric]: parameterized, [A.planExplainedAt]: new Date().toISOString() };
    } catch (e) {
      return { [A.planSkipped]: `EXPLAIN failed: ${(e as Error).message}` };
    } finally {
      clearTimeout(timer);
    }
  }

  private async connect(database: string): Promise<{ client: Client; version: number }> {
    let c = this.connections.get(database);
    if (!c) {
      c = { client: null, ready: null, failedAt: 0, version: 0 };
      this.connections.set(database, c);
    }
    if (c.client) return { client: c.client, version: c.version };
    if (Date.now() - c.failedAt < RECONNECT_AFTER_MS) throw new Error('the last attempt failed less than 30 s ago');
    const conn = c;
    conn.ready ??= (async () => {
      const url = new URL(this.url);
      url.pathname = `/${encodeURIComponent(database)}`;
      const client = new Client({ connectionString: url.toString(), application_name: 'pgferret-collector explain' });
      client.on('error', (e) => {
        this.warnOnce(`explain connection to ${database}: ${e.message}`);
        conn.client = null;
      });
      try {
        await client.connect();
        const v = await client.query<{ server_version_num: string }>('SHOW server_version_num');
        conn.version = Number(v.rows[0].server_version_num);
        conn.client = client;
        return client;
      } catch (e) {
        conn.failedAt = Date.now();
        this.warnOnce(`cannot connect to ${database} with --postgres-url (plans of slow statements are skipped; retrying every 30 s): ${(e as Error).message}`);
        await client.end().catch(() => undefined);
        throw e;
      } finally {
        conn.ready = null;
      }
    })();
    const client = await conn.ready;
    return { client, version: conn.version };
  }

  private warnOnce(msg: string): void {
    if (this.warned.has(msg)) return;
    this.warned.add(msg);
    this.o.log(msg);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inFlight.values()]);
    await Promise.allSettled([...this.connections.values()].map((c) => c.client?.end()));
    this.connections.clear();
  }
}
