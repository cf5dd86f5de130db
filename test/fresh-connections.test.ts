// Detail for fresh connections: a backend's first sampled statement used to
// be what armed it, so a connection opened per unit of work (scripts, cron
// jobs, serverless functions) never got phases. Backends of a cluster that
// carries sampled traffic are now armed at their fork, before their first
// statement: the lock-wait, buffer, nested-statement and wait-event scenarios
// hold on a connection's very first statement. Without arming at fork
// (--arm-at-fork 0) that statement says why it has none.
import { Client } from 'pg';
import { isPostgresServerSpan, type SpanRecord } from '../packages/collector/src/embedded/span-record';
import { eventually, randomTraceparent, startTraced, type Traced } from './helpers/collector';

async function setup(c: Client): Promise<void> {
  await c.query(`CREATE TABLE inventory (sku text PRIMARY KEY, stock int NOT NULL);
    INSERT INTO inventory VALUES ('ferret', 10);
    CREATE TABLE big (id int, pad text);
    INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 100000) g;
    CREATE TABLE audit (what text);
    CREATE FUNCTION restock(n int) RETURNS int LANGUAGE plpgsql AS $$
      DECLARE s int;
      BEGIN
        UPDATE inventory SET stock = stock + n WHERE sku = 'ferret';
        INSERT INTO audit (what) VALUES ('restock');
        SELECT stock INTO s FROM inventory WHERE sku = 'ferret';
        RETURN s;
      END $$;`);
}

function helpers(traced: Traced) {
  const { receiver } = traced;
  const statementOf = async (traceId: string): Promise<SpanRecord> => {
    await eventually(`the statement span of trace ${traceId}`, () => receiver.spans.some((s) => s.traceId === traceId && isPostgresServerSpan(s)));
    await new Promise((r) => setTimeout(r, 300)); // its children come in the same batch
    return receiver.spans.find((s) => s.traceId === traceId && isPostgresServerSpan(s))!;
  };
  const childrenOf = (span: SpanRecord) => receiver.spans.filter((s) => s.parentSpanId === span.spanId);
  const descendantsOf = (span: SpanRecord): SpanRecord[] => childrenOf(span).flatMap((c) => [c, ...descendantsOf(c)]);
  const phasesOf = (span: SpanRecord) => childrenOf(span).filter((p) => p.attributes['postgresql.phase']).map((p) => p.name);
  /**
   * A new connection whose first statement is `sql`, sampled; returns its
   * statement span. `armedFirst`: the statement waits until the backend's
   * probes are in place (arming at fork takes 1–500 ms here, mostly the
   * kernel's RCU grace periods; an app on this host connects in ~5 ms), as it
   * does for an app whose connection setup (TLS, SCRAM, a pooler) outlasts it.
   */
  const firstStatement = async (sql: string, before?: (c: Client) => Promise<void>, armedFirst = true) => {
    const c = new Client({ connectionString: traced.pg.connectionString });
    await c.connect();
    try {
      const pid = (c as unknown as { processID: number }).processID;
      // all its probes: the lock and SPI probes follow the phase probes, after the arming's callback
      if (armedFirst) await eventually(`backend ${pid} armed at its fork`, async () => ((await traced.collector.status()).backends.completePids as number[]).includes(pid), 10000);
      const t = randomTraceparent();
      const running = c.query(`${sql} ${t.comment}`);
      await before?.(c);
      await running;
      return statementOf(t.traceId);
    } finally {
      await c.end();
    }
  };
  return { statementOf, childrenOf, descendantsOf, phasesOf, firstStatement };
}

describe('fresh connections on Debian PostgreSQL, armed at their fork', () => {
  let traced: Traced;
  let holder: Client;
  let h: ReturnType<typeof helpers>;

  beforeAll(async () => {
    traced = await startTraced('debian', ['--root-sample-rate', '0', '--arm-at-fork', '1'], { shared_buffers: '16MB' });
    h = helpers(traced);
    holder = new Client({ connectionString: traced.pg.connectionString, application_name: 'holder-app' });
    await holder.connect();
    await setup(holder);
    // the cluster carries sampled traffic from now on: its new backends are armed at fork
    await h.statementOf(await (async () => {
      const t = randomTraceparent();
      await holder.query(`SELECT 1 ${t.comment}`);
      return t.traceId;
    })());
  }, 60000);

  afterAll(async () => {
    await holder?.end();
    await traced?.stop();
  });

  it('a lock wait on a connection\'s first statement: phases, the wait and the lock', async () => {
    await holder.query('BEGIN');
    await holder.query("UPDATE inventory SET stock = stock - 1 WHERE sku = 'ferret'");
    const waiter = await h.firstStatement("UPDATE inventory SET stock = stock + 1 WHERE sku = 'ferret'", async () => {
      await new Promise((r) => setTimeout(r, 400));
      await holder.query('COMMIT');
    });
    expect(waiter.attributes['pgferret.phases.untimed']).toBeUndefined();
    expect(h.phasesOf(waiter)).toEqual(expect.arrayContaining(['parse', 'plan', 'execute']));
    const lock = h.descendantsOf(waiter).find((s) => s.name === 'wait Lock:transactionid');
    expect(lock).toBeDefined();
    expect(lock!.attributes['postgresql.lock.mode']).toBe('ShareLock');
    expect(Number(lock!.endNs - lock!.startNs) / 1e6).toBeGreaterThan(300);
  });

  it('buffers on a connection\'s first statement', async () => {
    const scan = await h.firstStatement('SELECT count(*) FROM big');
    expect(h.phasesOf(scan)).toEqual(expect.arrayContaining(['parse', 'plan', 'execute']));
    const pages = Number((await holder.query("SELECT pg_relation_size('big') / current_setting('block_size')::int AS n")).rows[0].n);
    const hit = scan.attributes['postgresql.buffers.shared.hit'] as number;
    const read = scan.attributes['postgresql.buffers.shared.read'] as number;
    expect(hit + read).toBeGreaterThanOrEqual(pages);
    expect(hit + read).toBeLessThan(pages + 100);
  });

  it('nested statements on a connection\'s first statement', async () => {
    const s = await h.firstStatement('SELECT restock(2)');
    expect(h.phasesOf(s)).toEqual(expect.arrayContaining(['parse', 'plan', 'execute']));
    const nested = h.childrenOf(s).filter((c) => c.attributes['postgresql.nesting.depth'] !== undefined);
    expect(nested.map((n) => n.attributes['db.query.text'])).toEqual([
      'UPDATE inventory SET stock = stock + n WHERE sku = ?',
      'INSERT INTO audit (what) VALUES (?)',
      'SELECT stock FROM inventory WHERE sku = ?',
    ]);
  });

  it('a wait event on a connection\'s first statement', async () => {
    const s = await h.firstStatement('SELECT pg_sleep(0.05)');
    expect(h.phasesOf(s)).toEqual(expect.arrayContaining(['parse', 'plan', 'execute']));
    const sleep = h.descendantsOf(s).find((w) => w.name === 'wait Timeout:PgSleep');
    expect(sleep).toBeDefined();
    expect(Number(sleep!.endNs - sleep!.startNs) / 1e6).toBeGreaterThanOrEqual(45);
    const st = await traced.collector.status();
    // every fresh connection of this suite was armed at its fork, none held back
    expect(st.budget.forkArms).toBeGreaterThanOrEqual(4);
    expect(st.budget.forksHeldBack).toBe(0);
    // the one statement without phases: the holder's first, which made the cluster one with sampled traffic
    expect(st.phases.late).toBe(1);
  });

  it('connect and query at once: a first statement that beats its arming says so (pgferret.detail "late")', async () => {
    const spans: SpanRecord[] = [];
    for (let i = 0; i < 10; i++) spans.push(await h.firstStatement('SELECT pg_sleep(0.01)', undefined, false));
    const timed = spans.filter((s) => h.phasesOf(s).length > 0);
    const late = spans.filter((s) => s.attributes['pgferret.detail'] === 'late');
    process.stderr.write(`fresh connections queried at once: ${timed.length}/10 had phases, ${late.length} late\n`);
    expect(timed.length + late.length).toBe(10);
    for (const s of late) expect(h.phasesOf(s)).toEqual([]);
  });
});

describe('fresh connections on Debian PostgreSQL, not armed at fork', () => {
  let traced: Traced;
  let h: ReturnType<typeof helpers>;

  beforeAll(async () => {
    traced = await startTraced('debian', ['--root-sample-rate', '0', '--arm-at-fork', '0']);
    h = helpers(traced);
  }, 60000);

  afterAll(async () => {
    await traced?.stop();
  });

  it('the first statement has no phases and says why: armed too late', async () => {
    await h.firstStatement('SELECT 1', undefined, false);
    const s = await h.firstStatement('SELECT pg_sleep(0.05)', async () => undefined, false);
    expect(h.phasesOf(s)).toEqual([]);
    expect(s.attributes['pgferret.phases.untimed']).toBe(true);
    expect(s.attributes['pgferret.detail']).toBe('late');
    const st = await traced.collector.status();
    expect(st.budget.forkArms).toBe(0);
    expect(st.phases.late).toBeGreaterThanOrEqual(2);
    expect(st.phases.timed).toBe(0);
  });
});
