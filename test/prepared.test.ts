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

  // The reader takes a receive's first 512 bytes in one read and hashes names from that copy; a name longer than
  // PostgreSQL keeps, or a Bind past those bytes, is read in the backend's memory instead: the hashes must agree
  // with the Parse's (read there), or the portal would bind nothing and later executions would have no text.
  it.each([
    ['a 63-character name (the longest PostgreSQL keeps: from the copy)', 'n'.repeat(63), ''],
    ['a 100-character name (read in the backend\'s memory)', 'm'.repeat(100), ''],
    ['a Bind past the first 512 bytes of the receive', 'past_copy', `/* ${'p'.repeat(700)} */`],
  ])('%s: the first execution is parented, later ones are roots with the text', async (_what, name, pad) => {
    const c = new Client({ connectionString: pg.connectionString });
    await c.connect();
    const tp = randomTraceparent();
    const col = `named_${name.length}_${pad.length}`;
    try {
      for (let i = 0; i < 5; i++) {
        const r = await c.query({ name, text: `SELECT $1::int AS ${col} ${pad} ${tp.comment}`, values: [i] });
        expect(r.rows[0][col]).toBe(i);
      }
    } finally {
      await c.end();
    }
    const re = new RegExp(col);
    await eventually('5 spans', () => withText(re).length >= 5, 30000);
    const spans = withText(re);
    expect(spans).toHaveLength(5);
    const parented = spans.filter((s) => s.traceId === tp.traceId);
    expect(parented).toHaveLength(1);
    expect(parented[0].parentSpanId).toBe(tp.spanId);
    expect(spans.filter((s) => s.traceId !== tp.traceId).every((s) => s.parentSpanId === null && String(s.attributes['db.query.text']).includes(col))).toBe(true);
    const st = await collector.status();
    expect(st.unknownPrepared).toBe(0);
    expect(st.kernel.desync).toBe(0);
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
