// pg Client, Pool, QueryConfig, parameters, submittables (pg.Query,
// pg-cursor, pg-query-stream, pg-copy-streams), named statements, opt-outs,
// concurrency: the comment must arrive intact at a real server.
import * as pg from 'pg';
import Cursor from 'pg-cursor';
import QueryStream from 'pg-query-stream';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { trace, context, TraceFlags } from '@opentelemetry/api';
import { startPostgres, type PgCluster } from '../../../test/helpers/postgres';
import { InstrumentationBase } from '@opentelemetry/instrumentation';
import { instrument, uninstrument, withTags, withoutComment, uncommentedQueries, pgferretRequestHook, PgFerretInstrumentation } from '../src';
import { startTracing, inSpan, traceparentOf, type Tracing } from './support/tracing';
import { LOG_SETTINGS, waitLogged, parseComment, commentCount } from './support/server-log';

let server: PgCluster;
let tracing: Tracing;
let client: pg.Client;
const PG_VERSION: string = require('pg/package.json').version;

beforeAll(async () => {
  server = await startPostgres({ flavor: 'debian', settings: LOG_SETTINGS });
  tracing = startTracing();
  instrument({ application: 'sdk-tests' });
  client = new pg.Client({ connectionString: server.connectionString });
  await client.connect();
});

afterAll(async () => {
  uninstrument();
  await client?.end();
  await tracing?.shutdown();
  await server?.stop();
});

const marker = () => `m_${randomUUID().replace(/-/g, '')}`;

/** A pool whose idle clients' errors fail the test with the server's own words (its log's last lines). */
function watchedPool(max: number): { pool: pg.Pool; noErrors(): void } {
  const pool = new pg.Pool({ connectionString: server.connectionString, max });
  const errors: string[] = [];
  pool.on('error', (e: Error & { code?: string; severity?: string }, c: pg.PoolClient & { processID?: number }) => {
    errors.push(`backend ${c?.processID}: ${e.severity ?? ''} ${e.code ?? ''} ${e.message}`);
  });
  return {
    pool,
    noErrors() {
      if (errors.length) throw new Error(`an idle pooled connection failed:\n${errors.join('\n')}\nserver log (end):\n${server.log().split('\n').slice(-40).join('\n')}`);
    },
  };
}

async function loggedTags(m: string): Promise<Record<string, string> | undefined> {
  const [stmt] = await waitLogged(server, m);
  return parseComment(stmt);
}

test('plain string query carries the active span, application and db_driver', async () => {
  const m = marker();
  const span = await inSpan(tracing.tracer, 'req', async (s) => {
    const r = await client.query(`SELECT '${m}' AS v`);
    expect(r.rows).toEqual([{ v: m }]);
    return s;
  });
  expect(await loggedTags(m)).toEqual({
    traceparent: traceparentOf(span),
    application: 'sdk-tests',
    db_driver: `pg:${PG_VERSION}`,
  });
});

test('parameterised query and callback style', async () => {
  const m = marker();
  const span = await inSpan(tracing.tracer, 'req', async (s) => {
    const rows = await new Promise<unknown[]>((resolve, reject) =>
      client.query(`SELECT $1::text AS v, '${m}' AS m`, ['a\'b'], (err, res) => (err ? reject(err) : resolve(res.rows))),
    );
    expect(rows).toEqual([{ v: "a'b", m }]);
    return s;
  });
  expect((await loggedTags(m))?.traceparent).toBe(traceparentOf(span));
});

test('a reused QueryConfig object is never modified and gets a fresh traceparent each time', async () => {
  const m = marker();
  const config: pg.QueryConfig = { text: `SELECT $1::int + 1 AS n, '${m}' AS m`, values: [41] };
  const spans = [];
  for (let i = 0; i < 3; i++) {
    spans.push(
      await inSpan(tracing.tracer, `req${i}`, async (s) => {
        const r = await client.query(config);
        expect(r.rows[0].n).toBe(42);
        return s;
      }),
    );
  }
  expect(config.text).toBe(`SELECT $1::int + 1 AS n, '${m}' AS m`);
  const logged = await waitLogged(server, m, 3);
  expect(logged.map(commentCount)).toEqual([1, 1, 1]);
  expect(logged.map((s) => parseComment(s)?.traceparent)).toEqual(spans.map(traceparentOf));
});

test('pg.Pool', async () => {
  const pool = new pg.Pool({ connectionString: server.connectionString, max: 2 });
  try {
    const m = marker();
    const span = await inSpan(tracing.tracer, 'req', async (s) => {
      await pool.query(`SELECT '${m}'`);
      return s;
    });
    expect((await loggedTags(m))?.traceparent).toBe(traceparentOf(span));
  } finally {
    await pool.end();
  }
});

test('the comment is visible in pg_stat_activity from another connection', async () => {
  const m = marker();
  const watcher = new pg.Client({ connectionString: server.connectionString });
  await watcher.connect();
  try {
    let seen: string | undefined;
    const span = await inSpan(tracing.tracer, 'req', async (s) => {
      const running = client.query(`SELECT pg_sleep(0.5), '${m}'`);
      for (let i = 0; i < 40 && seen === undefined; i++) {
        const r = await withoutComment(() =>
          watcher.query("SELECT query FROM pg_stat_activity WHERE query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()", [m]),
        );
        seen = r.rows[0]?.query;
        if (seen === undefined) await new Promise((r) => setTimeout(r, 10));
      }
      await running;
      return s;
    });
    expect(seen).toBeDefined();
    expect(parseComment(seen!)?.traceparent).toBe(traceparentOf(span));
  } finally {
    await watcher.end();
  }
});

test('a query queued behind a busy client carries the context of its own call', async () => {
  const [a, b] = [marker(), marker()];
  let first: Promise<unknown> | undefined;
  const spanA = await inSpan(tracing.tracer, 'a', async (s) => {
    first = client.query(`SELECT pg_sleep(0.1), '${a}'`);
    return s;
  });
  // queued while A's query runs; pg sends it from A's completion
  const spanB = await inSpan(tracing.tracer, 'b', async (s) => {
    await client.query(`SELECT '${b}'`);
    return s;
  });
  await first;
  expect((await loggedTags(a))?.traceparent).toBe(traceparentOf(spanA));
  expect((await loggedTags(b))?.traceparent).toBe(traceparentOf(spanB));
});

test('named prepared statements keep their text: no comment, reusable across spans', async () => {
  const m = marker();
  for (let i = 0; i < 2; i++) {
    await inSpan(tracing.tracer, 'req', async () => {
      const r = await client.query({ name: `stmt_${m}`, text: `SELECT $1::int AS n, '${m}' AS m`, values: [i] });
      expect(r.rows[0].n).toBe(i);
    });
  }
  const logged = await waitLogged(server, m, 2);
  expect(logged.every((s) => commentCount(s) === 0)).toBe(true);
});

test('a new pg.Query submittable runs as the object passed in', async () => {
  const m = marker();
  const span = await inSpan(tracing.tracer, 'req', async (s) => {
    const q = new pg.Query(`SELECT '${m}' AS v`);
    const rows: unknown[] = [];
    q.on('row', (row: unknown) => rows.push(row));
    const returned = client.query(q);
    expect(returned).toBe(q);
    await new Promise((resolve, reject) => q.on('end', resolve).on('error', reject));
    expect(rows).toEqual([{ v: m }]);
    return s;
  });
  expect((await loggedTags(m))?.traceparent).toBe(traceparentOf(span));
});

test('pg-cursor reads in batches', async () => {
  const m = marker();
  const span = await inSpan(tracing.tracer, 'req', async (s) => {
    const cursor = client.query(new Cursor(`SELECT g, '${m}' AS m FROM generate_series(1, 25) g`));
    const first = await cursor.read(10);
    const rest = await cursor.read(100);
    await cursor.close();
    expect(first.map((r) => r.g)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(rest).toHaveLength(15);
    return s;
  });
  expect((await loggedTags(m))?.traceparent).toBe(traceparentOf(span));
});

test('pg-query-stream streams rows', async () => {
  const m = marker();
  const span = await inSpan(tracing.tracer, 'req', async (s) => {
    const stream = client.query(new QueryStream(`SELECT g, '${m}' AS m FROM generate_series(1, 300) g`, [], { batchSize: 50 }));
    let count = 0;
    for await (const _row of stream) count++;
    expect(count).toBe(300);
    return s;
  });
  expect((await loggedTags(m))?.traceparent).toBe(traceparentOf(span));
});

test('COPY FROM and COPY TO through pg-copy-streams', async () => {
  const table = marker();
  await client.query(`CREATE TABLE ${table} (id int, name text)`);
  const span = await inSpan(tracing.tracer, 'req', async (s) => {
    await pipeline(Readable.from(['1\tone\n', '2\ttwo\n', '3\tthree\n']), client.query(copyFrom(`COPY ${table} FROM STDIN`)));
    const chunks: Buffer[] = [];
    await pipeline(
      client.query(copyTo(`COPY (SELECT * FROM ${table} ORDER BY id) TO STDOUT`)),
      new Writable({ write(chunk, _enc, cb) { chunks.push(chunk); cb(); } }),
    );
    expect(Buffer.concat(chunks).toString()).toBe('1\tone\n2\ttwo\n3\tthree\n');
    return s;
  });
  const logged = await waitLogged(server, `COPY ${table}`, 1);
  const out = await waitLogged(server, `FROM ${table} ORDER BY id) TO STDOUT`, 1);
  expect(parseComment(logged[0])?.traceparent).toBe(traceparentOf(span));
  expect(parseComment(out[0])?.traceparent).toBe(traceparentOf(span));
});

test('no active span → no traceparent; unsampled → none unless traceparent: always', async () => {
  const m1 = marker();
  await client.query(`SELECT '${m1}'`);
  expect(await loggedTags(m1)).toEqual({ application: 'sdk-tests', db_driver: `pg:${PG_VERSION}` });

  const unsampled = trace.wrapSpanContext({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: TraceFlags.NONE });
  const m2 = marker();
  await context.with(trace.setSpan(context.active(), unsampled), () => client.query(`SELECT '${m2}'`));
  expect((await loggedTags(m2))?.traceparent).toBeUndefined();

  instrument({ application: 'sdk-tests', traceparent: 'always', tags: false });
  try {
    const m3 = marker();
    await context.with(trace.setSpan(context.active(), unsampled), () => client.query(`SELECT '${m3}'`));
    expect(await loggedTags(m3)).toEqual({ traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-00` });
  } finally {
    instrument({ application: 'sdk-tests' });
  }
});

test('withTags adds tags, withoutComment sends the query as written', async () => {
  const m1 = marker();
  await withTags({ route: '/users/:id', controller: 'users', action: 'show' }, () =>
    withTags({ action: 'inner' }, () => client.query(`SELECT '${m1}'`)),
  );
  expect(await loggedTags(m1)).toMatchObject({ route: '/users/:id', controller: 'users', action: 'inner' });

  const m2 = marker();
  await inSpan(tracing.tracer, 'req', () => withoutComment(() => client.query(`SELECT '${m2}'`)));
  expect(commentCount((await waitLogged(server, m2))[0])).toBe(0);
});

test('hostile tag values neither break the query nor leave the comment', async () => {
  const hostile = "*/ ; DROP TABLE x; /* ' \" \n\0 \uD800 " + 'y'.repeat(5000);
  const m = marker();
  const r = await withTags({ route: hostile, [hostile]: 'k' }, () => client.query(`SELECT '${m}' AS v`));
  expect(r.rows).toEqual([{ v: m }]);
  const tags = await loggedTags(m);
  expect(tags?.route.startsWith("*/ ; DROP TABLE x; /* ' \" \n\0 \uFFFD yyy")).toBe(true);
});

test('instrument() twice patches once; uninstrument() restores the text', async () => {
  instrument({ application: 'sdk-tests' });
  const m1 = marker();
  await client.query(`SELECT '${m1}'`);
  expect(commentCount((await waitLogged(server, m1))[0])).toBe(1);
  uninstrument();
  try {
    const m2 = marker();
    await inSpan(tracing.tracer, 'req', () => client.query(`SELECT '${m2}'`));
    expect((await waitLogged(server, m2))[0]).toBe(`SELECT '${m2}'`);
  } finally {
    instrument({ application: 'sdk-tests' });
  }
});

test('50 concurrent requests, each with its own trace, on a shared pool', async () => {
  const { pool, noErrors } = watchedPool(8);
  try {
    const requests = Array.from({ length: 50 }, (_, i) => ({ i, m: marker() }));
    const spans = await Promise.all(
      requests.map(({ i, m }) =>
        inSpan(tracing.tracer, `req${i}`, async (s) => {
          await new Promise((r) => setTimeout(r, (i * 7) % 13));
          await withTags({ route: `/r/${i}` }, () => pool.query(`SELECT pg_sleep(0.005), '${m}'`));
          await pool.query(`SELECT '${m}_second'`);
          return s;
        }),
      ),
    );
    noErrors(); // first: a connection lost while the requests ran would fail what follows for another reason
    const ids = new Set(spans.map((s) => s.spanContext().traceId));
    expect(ids.size).toBe(50);
    for (const { i, m } of requests) {
      const first = await loggedTags(`${m}'`);
      const second = await loggedTags(`${m}_second`);
      expect(first?.traceparent).toBe(traceparentOf(spans[i]));
      expect(first?.route).toBe(`/r/${i}`);
      expect(second?.traceparent).toBe(traceparentOf(spans[i]));
      expect(second?.route).toBeUndefined();
    }
    noErrors();
  } finally {
    await pool.end();
  }
});

test('settings belong to their instrumentation: a PgFerretInstrumentation made later leaves instrument()’s alone', async () => {
  const other = new PgFerretInstrumentation({ application: 'other', enabled: false });
  const m = marker();
  await client.query(`SELECT '${m}'`);
  expect((await loggedTags(m))?.application).toBe('sdk-tests');
  other.disable();
});

// a wrapper of Client#query that makes no span the SDK hears of, under ours
class Silent extends InstrumentationBase {
  constructor() {
    super('silent', '1.0.0', { enabled: false });
  }
  protected init() {
    return [];
  }
  patch(): void {
    this._wrap(pg.Client.prototype, 'query', (original) =>
      function (this: pg.Client, ...args: unknown[]) {
        return (original as (...a: unknown[]) => unknown).apply(this, args);
      } as typeof original,
    );
  }
  unpatch(): void {
    this._unwrap(pg.Client.prototype, 'query');
  }
}

test('outside a wrapper that reports no span although a requestHook exists: that query goes as written and is counted, later ones name the active span', async () => {
  uninstrument();
  const silent = new Silent();
  silent.patch();
  pgferretRequestHook();
  instrument({ application: 'sdk-tests' });
  try {
    const before = uncommentedQueries().no_pg_span ?? 0;
    const [m1, m2] = [marker(), marker()];
    const span = await inSpan(tracing.tracer, 'req', async (s) => {
      await client.query(`SELECT '${m1}'`);
      await client.query(`SELECT '${m2}'`);
      return s;
    });
    expect((await waitLogged(server, m1))[0]).toBe(`SELECT '${m1}'`);
    expect((await loggedTags(m2))?.traceparent).toBe(traceparentOf(span));
    expect((uncommentedQueries().no_pg_span ?? 0) - before).toBe(1);
  } finally {
    uninstrument();
    silent.unpatch();
    instrument({ application: 'sdk-tests' });
  }
});
