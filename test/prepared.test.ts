// Named prepared statements (node-postgres `{ name }`, JDBC, pgx, asyncpg,
// psycopg 3): parsed once per connection, then executed with Bind/Execute
// alone, which carry neither text nor context. The collector keeps each
// named Parse's text and gives it to every later execution, traced as a root.
import { Client } from 'pg';
import { isPostgresServerSpan } from '../packages/collector/src/embedded/span-record';
import { eventually, randomTraceparent, startTraced, type CollectorProcess, type Receiver, type Traced } from './helpers/collector';
import type { PgCluster } from './helpers/postgres';

describe('named prepared statements (Debian PostgreSQL, root sampling 1)', () => {
  let traced: Traced;
  let pg: PgCluster;
  let receiver: Receiver;
  let collector: CollectorProcess;

  beforeAll(async () => {
    traced = await startTraced('debian', ['--root-sample-rate', '1']);
    ({ pg, receiver, collector } = traced);
  });

  afterAll(async () => {
    await traced?.stop();
  });

  const withText = (re: RegExp) => receiver.spans.filter((s) => isPostgresServerSpan(s) && re.test(String(s.attributes['db.query.text'])));

  it('1,000 executions of one named statement on one connection: every one traced with its text', async () => {
    const st0 = await collector.status();
    const c = new Client({ connectionString: pg.connectionString });
    await c.connect();
    try {
      for (let i = 0; i < 1000; i++) {
        const r = await c.query({ name: 'by_n', text: 'SELECT $1::int AS named_n', values: [i] });
        expect(r.rows[0].named_n).toBe(i);
      }
      // parsed once: nothing else on the server
      expect((await c.query('SELECT count(*)::int AS n FROM pg_prepared_statements')).rows[0].n).toBe(1);
    } finally {
      await c.end();
    }
    await eventually('1,000 spans of the named statement', () => withText(/named_n/).length >= 1000, 30000);
    const spans = withText(/named_n/);
    expect(spans).toHaveLength(1000);
    expect(spans.every((s) => s.attributes['db.query.text'] === 'SELECT $1::int AS named_n')).toBe(true);
    expect(spans.every((s) => s.parentSpanId === null && s.attributes['pgferret.trace_context.origin'] === 'sampled_root')).toBe(true);
    expect(spans.filter((s) => s.attributes['db.response.returned_rows'] === 1)).toHaveLength(1000);
    const st = await collector.status();
    expect(st.kernel.named - st0.kernel.named).toBe(999);
    expect(st.unknownPrepared).toBe(0);
    expect(st.kernel.desync).toBe(0);
  });

  it('a named statement whose text carries a traceparent: its first execution is parented, later ones are roots (never the first trace)', async () => {
    const c = new Client({ connectionString: pg.connectionString });
    await c.connect();
    const tp = randomTraceparent();
    try {
      for (let i = 0; i < 50; i++) await c.query({ name: 'ctx', text: `SELECT $1::int AS ctx_n ${tp.comment}`, values: [i] });
    } finally {
      await c.end();
    }
    await eventually('50 spans', () => withText(/ctx_n/).length >= 50, 30000);
    const spans = withText(/ctx_n/);
    expect(spans).toHaveLength(50);
    const parented = spans.filter((s) => s.traceId === tp.traceId);
    expect(parented).toHaveLength(1);
    expect(parented[0].parentSpanId).toBe(tp.spanId);
    expect(spans.filter((s) => s.traceId !== tp.traceId).every((s) => s.parentSpanId === null)).toBe(true);
  });

  it('a statement prepared before the collector attached is counted, not silently dropped', async () => {
    const c = new Client({ connectionString: pg.connectionString });
    await c.connect();
    try {
      await collector.control({ enabled: false });
      await c.query({ name: 'early', text: 'SELECT 1 AS early_n', values: [] });
      await collector.control({ enabled: true });
      const before = (await collector.status()).unknownPrepared;
      for (let i = 0; i < 3; i++) await c.query({ name: 'early', text: 'SELECT 1 AS early_n', values: [] });
      await eventually('the unknown executions to be counted', async () => (await collector.status()).unknownPrepared === before + 3);
    } finally {
      await c.end();
    }
  });
});
