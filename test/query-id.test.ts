// PostgreSQL's own query identifier on the statement span, end to end: the
// kernel reads MyBEEntry->st_query_id as a sampled statement's reply is sent,
// and the span's db.postgresql.query_id is the id PostgreSQL itself gives the
// statement: pg_stat_statements.queryid where the extension is loaded, else
// EXPLAIN (VERBOSE)'s "Query Identifier" with compute_query_id = on. Simple
// and extended protocol; none where PostgreSQL computes none (13;
// compute_query_id off, or auto without pg_stat_statements).
import { Client } from 'pg';
import { A } from '../packages/collector/src/spans/attributes';
import { isPostgresServerSpan, type SpanRecord } from '../packages/collector/src/embedded/span-record';
import { eventually, randomTraceparent, startTraced, type Traced } from './helpers/collector';
import type { PgFlavor } from './helpers/postgres';

async function spanOf(t: Traced, run: (comment: string) => Promise<unknown>): Promise<SpanRecord> {
  const tp = randomTraceparent();
  await run(tp.comment);
  const find = () => t.receiver.spans.find((s) => s.traceId === tp.traceId && isPostgresServerSpan(s));
  await eventually('its server span', () => find() !== undefined, 30_000);
  return find()!;
}

// a statement per protocol, named by a marker column so pg_stat_statements' row is found by its text
const simple = (marker: string) => (c: Client) => (comment: string) => c.query(`SELECT count(*) AS ${marker} FROM pg_class WHERE relkind = 'r' ${comment}`);
const extended = (marker: string) => (c: Client) => (comment: string) => c.query({ text: `SELECT $1::int + relnatts AS ${marker} FROM pg_class WHERE oid = $2 ${comment}`, values: [1, 1259] });

async function statementsRow(c: Client, marker: string): Promise<string> {
  const r = await c.query(`SELECT queryid::text AS id FROM pg_stat_statements WHERE query LIKE '%' || $1 || '%' AND query NOT LIKE '%pg_stat_statements%'`, [marker]);
  expect(r.rows).toHaveLength(1);
  return r.rows[0].id;
}

// TEXT, not JSON: the id is a 64-bit integer
async function explainedId(c: Client, sql: string): Promise<string> {
  const r = await c.query(`EXPLAIN (VERBOSE) ${sql}`);
  const line = r.rows.map((x) => x['QUERY PLAN'] as string).find((l) => l.includes('Query Identifier:'));
  return /Query Identifier: (-?\d+)/.exec(line ?? '')![1];
}

describe.each([
  ['debian', 15],
  ['embedded18', 18],
] as [PgFlavor, number][])('with pg_stat_statements on %s (PostgreSQL %i)', (flavor) => {
  let t: Traced;
  let c: Client;
  beforeAll(async () => {
    t = await startTraced(flavor, ['--root-sample-rate', '0'], { shared_preload_libraries: 'pg_stat_statements' });
    c = new Client({ connectionString: t.pg.connectionString });
    await c.connect();
    await c.query('CREATE EXTENSION pg_stat_statements');
  }, 120_000);
  afterAll(async () => {
    await c?.end();
    await t?.stop();
  });

  test('the span of a simple and of an extended-protocol statement carries pg_stat_statements.queryid', async () => {
    const a = await spanOf(t, simple('qid_simple')(c));
    const b = await spanOf(t, extended('qid_extended')(c));
    const got = { simple: a.attributes[A.queryId], extended: b.attributes[A.queryId] };
    const want = { simple: await statementsRow(c, 'qid_simple'), extended: await statementsRow(c, 'qid_extended') };
    expect(got).toEqual(want);
    expect(want.simple).not.toBe(want.extended);
  }, 60_000);

  // their replies leave together: what PostgreSQL publishes by then is not the first statement's (15.18 and 18 reset it per statement)
  test('a multi-statement string: no id on its statements, never another one\'s', async () => {
    const tp = randomTraceparent();
    await c.query(`SELECT count(*) AS qid_multi_a FROM pg_class; SELECT 2 AS qid_multi_b ${tp.comment}`);
    const span = (marker: string) => t.receiver.spans.find((s) => isPostgresServerSpan(s) && String(s.attributes[A.dbQueryText]).includes(marker));
    await eventually('both spans', () => span('qid_multi_a') !== undefined && span('qid_multi_b') !== undefined, 30_000);
    expect([span('qid_multi_a')!.attributes[A.queryId], span('qid_multi_b')!.attributes[A.queryId]]).toEqual([undefined, undefined]);
  }, 60_000);
});

describe('without pg_stat_statements (embedded 14)', () => {
  let t: Traced;
  let c: Client;
  const others: Client[] = [];
  const connect = async () => {
    const x = new Client({ connectionString: t.pg.connectionString });
    await x.connect();
    others.push(x);
    return x;
  };
  beforeAll(async () => {
    t = await startTraced('embedded14', ['--root-sample-rate', '0'], { compute_query_id: 'on' });
    c = new Client({ connectionString: t.pg.connectionString });
    await c.connect();
  }, 120_000);
  afterAll(async () => {
    for (const x of others) await x.end();
    await c?.end();
    await t?.stop();
  });

  test('compute_query_id = on: the id EXPLAIN (VERBOSE) and pg_stat_activity show', async () => {
    const sql = `SELECT count(*) AS qid_simple FROM pg_class WHERE relkind = 'r'`;
    const own = await connect();
    // the second on its backend: after arming
    const b = await spanOf(t, extended('qid_extended')(own));
    const a = await spanOf(t, simple('qid_simple')(own));
    // the same statement again: its backend's query_id, seen from another session while it is idle
    const pid = (await own.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    await own.query(sql);
    const activity = (await c.query('SELECT query_id::text AS id FROM pg_stat_activity WHERE pid = $1', [pid])).rows[0].id;
    expect({ simple: a.attributes[A.queryId], extended: b.attributes[A.queryId], activity }).toEqual({
      simple: await explainedId(c, sql),
      extended: await explainedIdPrepared(c),
      activity: a.attributes[A.queryId],
    });
  }, 60_000);

  test('compute_query_id = off, or auto without pg_stat_statements: no attribute', async () => {
    const got: unknown[] = [];
    for (const setting of ['off', 'auto']) {
      for (const statement of [simple, extended]) {
        const x = await connect();
        await x.query(`SET compute_query_id = ${setting}`);
        const span = await spanOf(t, statement('qid_none')(x));
        expect(span.attributes[A.incomplete]).toBeUndefined();
        got.push(span.attributes[A.queryId]);
      }
    }
    expect(got).toEqual([undefined, undefined, undefined, undefined]);
  }, 60_000);
});

// PG 14 has no GENERIC_PLAN: the id of the same query prepared, through EXPLAIN EXECUTE
async function explainedIdPrepared(c: Client): Promise<string> {
  await c.query(`PREPARE qid_p(int, oid) AS SELECT $1::int + relnatts AS qid_extended FROM pg_class WHERE oid = $2`);
  const id = await explainedId(c, 'EXECUTE qid_p(1, 1259)');
  await c.query('DEALLOCATE qid_p');
  return id;
}

test('PostgreSQL 13 has no query identifier: no attribute', async () => {
  const t = await startTraced('embedded13', ['--root-sample-rate', '0']);
  const c = new Client({ connectionString: t.pg.connectionString });
  try {
    await c.connect();
    const a = await spanOf(t, simple('qid_13')(c));
    const b = await spanOf(t, extended('qid_13')(c));
    expect([a.attributes[A.queryId], b.attributes[A.queryId], a.attributes[A.dbQueryText]]).toEqual([undefined, undefined, expect.stringContaining('qid_13')]);
  } finally {
    await c.end();
    await t.stop();
  }
}, 120_000);
