// Who holds the lock a sampled statement waits for. PostgreSQL knows it
// (pg_blocking_pids); the kernel side does not, so the question is asked over
// --postgres-url the moment a lock wait starts, while the waiter still
// waits. The answer names each blocker (pid, application, state, statement)
// and, when the blocker's transaction carries a sampled statement, the span
// to link to. Without a URL the lock wait says why its blocker is unknown.
// The enrich stage starts a lookup when the assembler reports a wait and,
// when the statement comes, holds its spans until the answer (briefly).
import { Client } from 'pg';
import type { Blocker, LockWait } from '../spans/assemble';
import type { OpenStatements } from '../spans/open-statements';

export interface BlockerLookupOptions {
  /** --postgres-url: only waits in the cluster on its port are asked about */
  url: string | null;
  /** the span a blocker's sampled statement has (or will have), as the assembler recorded it */
  holders: OpenStatements;
  log: (m: string) => void;
}

const QUERY = `SELECT a.pid, a.application_name, a.state, a.query,
  (SELECT l.relation::regclass::text FROM pg_locks l
    WHERE l.pid = $1 AND NOT l.granted AND l.relation IS NOT NULL LIMIT 1) AS relation
FROM pg_stat_activity a WHERE a.pid = ANY (pg_blocking_pids($1))`;
const RECONNECT_AFTER_MS = 30_000;
const MAX_IN_FLIGHT = 8;
/** a lock wait's statement waits at most this long for its blockers before its spans go out */
const BLOCKER_WAIT_MS = 1000;

export class BlockerLookup {
  private client: Client | null = null;
  private connecting: Promise<Client> | null = null;
  private failedAt = -Infinity;
  private inFlight = 0;
  private warned = false;
  /** lookups under way, by the wait they answer */
  private pending = new WeakMap<LockWait, Promise<void>>();
  lookups = 0;
  failures = 0;

  /** the port of the cluster the URL points at */
  private readonly port: number | null = null;

  constructor(private readonly o: BlockerLookupOptions) {
    if (o.url) {
      try {
        this.port = Number(new URL(o.url).port || 5432);
      } catch {
        throw new Error(`--postgres-url ${o.url} is not a URL: use postgres://user@host:port/database`);
      }
    }
  }

  /** Starts the lookup for a wait that just began; its result lands in `lock`. */
  lookup(waiterPid: number, clusterPort: number | null, lock: LockWait): void {
    if (!this.o.url) {
      lock.blockersMissing = 'the collector has no --postgres-url to ask pg_blocking_pids()';
      return;
    }
    if (clusterPort !== this.port) {
      lock.blockersMissing = `--postgres-url points at port ${this.port}, this cluster listens on ${clusterPort ?? 'an unknown port'}`;
      return;
    }
    if (this.inFlight >= MAX_IN_FLIGHT) {
      lock.blockersMissing = 'too many lock waits at once: not asked';
      return;
    }
    this.inFlight++;
    this.lookups++;
    this.pending.set(lock, this.ask(waiterPid, lock).finally(() => {
      this.inFlight--;
      this.pending.delete(lock);
    }));
  }

  /** Settles when the lookups of these waits are answered, or after BLOCKER_WAIT_MS; null when none is under way. */
  answered(locks: LockWait[]): Promise<unknown> | null {
    if (locks.length === 0) return null;
    const pending = locks.flatMap((l) => this.pending.get(l) ?? []);
    if (pending.length === 0) return null;
    return Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, BLOCKER_WAIT_MS))]);
  }

  private async ask(waiterPid: number, lock: LockWait): Promise<void> {
    try {
      const client = await this.connect();
      const res = await client.query(QUERY, [waiterPid]);
      lock.blockers = res.rows.map((r): Blocker => {
        const span = this.o.holders.holder(r.pid);
        return {
          pid: r.pid,
          applicationName: r.application_name || null,
          state: r.state ?? null,
          query: r.query ?? null,
          span: span && span.traceId ? { traceId: span.traceId, spanId: span.spanId } : null,
        };
      });
      lock.relationName = res.rows[0]?.relation ?? null;
      // the wait ended before the question arrived: nobody blocks any more
      if (lock.blockers.length === 0) lock.blockersMissing = 'the wait was over before pg_blocking_pids() was asked';
    } catch (e) {
      this.failures++;
      lock.blockersMissing = `pg_blocking_pids() failed: ${(e as Error).message}`;
    }
  }

  private async connect(): Promise<Client> {
    if (this.client) return this.client;
    if (this.connecting) return this.connecting;
    if (Date.now() - this.failedAt < RECONNECT_AFTER_MS) throw new Error('not connected (retrying every 30 s)');
    const client = new Client({ connectionString: this.o.url!, application_name: 'pgferret-collector locks' });
    client.on('error', () => {
      this.client = null;
    });
    this.connecting = client.connect().then(
      () => {
        this.client = client;
        this.connecting = null;
        return client;
      },
      (e: Error) => {
        this.connecting = null;
        this.failedAt = Date.now();
        if (!this.warned) this.o.log(`cannot connect with --postgres-url to name the blockers of lock waits (retrying every 30 s): ${e.message}`);
        this.warned = true;
        throw e;
      },
    );
    return this.connecting;
  }

  async close(): Promise<void> {
    await this.client?.end().catch(() => undefined);
    this.client = null;
  }
}
