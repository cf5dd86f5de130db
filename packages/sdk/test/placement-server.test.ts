// Issue 21 against a real server: no query loses its context. Each session's
// standard_conforming_strings reaches the SDK through ParameterStatus (at
// connect, from ALTER DATABASE … SET; after a SET; never, for a client that
// connected before instrument()). For the issue's three cases and generated
// SELECTs biased to the scanner's edges (backslashes in standard strings,
// U&'…' UESCAPE, continued strings, non-ASCII identifiers and dollar tags,
// CR/LF/form feed), current_query() shows exactly one traceparent, in a real
// comment at the end when the end is sure and at the start otherwise, and
// the statement returns what it returns without the comment.
import * as pg from 'pg';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { commentPlacement, confirmTraceComment, findTraceComment } from '@pgferret/sql';
import { startPostgres, type PgCluster } from '../../../test/helpers/postgres';
import { instrument, uninstrument, uncommentedQueries, withoutComment } from '../src';
import { startTracing, inSpan, type Tracing } from './support/tracing';
import { edgeSelect, prng, Rand } from '../../sql/test/edge-sql';

let server: PgCluster;
let tracing: Tracing;
const clients: pg.Client[] = [];
let unknown: pg.Client;

const ISSUE_CASES = [
  "SELECT current_query() AS q, 'C:\\' AS path, '--' AS d",
  'SELECT current_query() AS q, $été$ -- $ét$ $été$ AS t',
  `SELECT current_query() AS q, $${'t'.repeat(80)}$ -- x $${'t'.repeat(80)}$ AS t`,
];

async function connect(database = 'postgres'): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: server.connectionString.replace(/\/postgres(\?|$)/, `/${database}$1`) });
  await c.connect();
  clients.push(c);
  return c;
}

beforeAll(async () => {
  server = await startPostgres({ flavor: 'debian' });
  const admin = new pg.Client({ connectionString: server.connectionString });
  await admin.connect();
  await admin.query('CREATE DATABASE scs_off');
  await admin.query('ALTER DATABASE scs_off SET standard_conforming_strings = off');
  await admin.end();
  tracing = startTracing();
  // connected before the SDK: it never sees this session's ParameterStatus
  unknown = new pg.Client({ connectionString: server.connectionString });
  await unknown.connect();
  instrument({ application: 'placement' });
});

afterAll(async () => {
  uninstrument();
  for (const c of clients) await c.end();
  await unknown?.end();
  await tracing?.shutdown();
  await server?.stop();
});

const placed = { tail: 0, head: 0 };

/**
 * Runs `sql` (its first column is current_query()) traced and untraced on a
 * session whose setting is `actual`, the SDK knowing it as `known`.
 */
async function runBoth(c: pg.Client, sql: string, actual: boolean, known: boolean | undefined): Promise<void> {
  const context = `${JSON.stringify(sql)} (scs ${actual ? 'on' : 'off'}, known to the SDK: ${known})`;
  const plain = (await withoutComment(() => c.query({ text: sql, rowMode: 'array' }))) as pg.QueryResult<unknown[]>;
  expect({ context, q: plain.rows[0][0] }).toEqual({ context, q: sql });
  let ids = { traceId: '', parentSpanId: '', flags: 1 };
  const traced = await inSpan(tracing.tracer, 'q', async (span) => {
    ids = { traceId: span.spanContext().traceId, parentSpanId: span.spanContext().spanId, flags: 1 };
    return (await c.query({ text: sql, rowMode: 'array' })) as pg.QueryResult<unknown[]>;
  });
  const sent = String(traced.rows[0][0]);
  const placement = commentPlacement(sql, known);
  expect({ context, where: placement.where }).toEqual({ context, where: expect.stringMatching(/^(head|tail)$/) });
  if (placement.where === 'none') return;
  placed[placement.where]++;
  // one traceparent, in the comment the lexer reads where the SDK put it, under the session's real setting
  expect({ context, sent, traceparents: sent.split("traceparent='").length - 1 }).toEqual({ context, sent, traceparents: 1 });
  expect({ context, sent, check: confirmTraceComment(sent, placement.where, ids, true, actual) }).toEqual({ context, sent, check: 'confirmed' });
  const comment = findTraceComment(sent, placement.where, actual)!;
  const rest = sent.slice(0, comment.start) + sent.slice(comment.end);
  const expected = placement.where === 'head' ? ` ${sql}` : `${sql.slice(0, placement.at)} ${sql.slice(placement.at)}`;
  expect({ context, rest }).toEqual({ context, rest: expected });
  // the server ran the same statement
  expect({ context, rows: traced.rows.map((r) => r.slice(1)) }).toEqual({ context, rows: plain.rows.map((r) => r.slice(1)) });
}

test("the issue's three cases get their comment on every kind of session", async () => {
  const on = await connect();
  for (const sql of ISSUE_CASES) {
    await runBoth(on, sql, true, true);
    await runBoth(unknown, sql, true, undefined);
  }
  // 'C:\' under the unknown session: the end is unsure, so the comment leads
  expect(commentPlacement(ISSUE_CASES[0]).where).toBe('head');
  expect(commentPlacement(ISSUE_CASES[0], true).where).toBe('tail');
  expect(commentPlacement(ISSUE_CASES[1]).where).toBe('tail');
});

test.each([
  ['on (reported at connect)', true, 'connect'],
  ['off (ALTER DATABASE … SET, reported at connect)', false, 'database'],
  ['off (SET in the session, reported after it)', false, 'set'],
  ['unknown to the SDK (connected before it)', undefined, 'before'],
] as const)('150 generated edge SELECTs on a session with standard_conforming_strings %s', async (_what, scs, how) => {
  const c = how === 'database' ? await connect('scs_off') : how === 'before' ? unknown : await connect();
  if (how === 'set') await c.query('SET standard_conforming_strings = off');
  const actual = scs ?? true;
  const before = { ...placed };
  for (let i = 0; i < 150; i++) {
    const r = new Rand(prng(0x5eed + i * 7919 + (scs === undefined ? 1 : scs ? 2 : 3)));
    // the unknown session runs with the setting on: statements written for on, some of which only on reads to their end (those lead)
    await runBoth(c, edgeSelect(r, scs ?? true, 0), actual, scs);
  }
  // every statement got its comment; a leading one only where the SDK does not know the setting
  expect(placed.tail - before.tail + placed.head - before.head).toBe(150);
  if (scs === undefined) expect(placed.head - before.head).toBeGreaterThan(0);
  else expect(placed.head - before.head).toBe(0);
  if (how === 'set') await c.query('RESET standard_conforming_strings');
  console.log(`scs ${String(scs)} (${how}): ${placed.tail - before.tail} at the end, ${placed.head - before.head} at the start`);
});

test('a statement that cannot take a comment is counted and said once per reason', async () => {
  const warnings: string[] = [];
  const noop = () => undefined;
  diag.setLogger({ warn: (m: string) => void warnings.push(m), error: noop, info: noop, debug: noop, verbose: noop }, DiagLogLevel.WARN);
  try {
    const c = await connect();
    const before = { ...uncommentedQueries() };
    await inSpan(tracing.tracer, 'uncommentable', async () => {
      await c.query({ name: 'pgferret_named', text: 'SELECT 1 AS one' });
      await c.query({ name: 'pgferret_named', text: 'SELECT 1 AS one' });
      await c.query('SELECT 1 /* the app\'s own */');
      await c.query('SELECT 2 -- the app\'s own');
    });
    const after = uncommentedQueries();
    expect((after.named_statement ?? 0) - (before.named_statement ?? 0)).toBe(2);
    expect((after.has_comment ?? 0) - (before.has_comment ?? 0)).toBe(2);
    expect(warnings.filter((w) => /named prepared statements/.test(w))).toHaveLength(1);
    expect(warnings.filter((w) => /already has a comment/.test(w))).toHaveLength(1);
  } finally {
    diag.disable();
  }
});

test("a query queued behind another is not placed by a setting that one may change: its comment leads", async () => {
  const c = await connect();
  const sql = ISSUE_CASES[0];
  let ids = { traceId: '', parentSpanId: '', flags: 1 };
  const traced = await inSpan(tracing.tracer, 'queued', async (span) => {
    ids = { traceId: span.spanContext().traceId, parentSpanId: span.spanContext().spanId, flags: 1 };
    // not awaited: the SET is still ahead when the next query is queued
    const first = c.query('SET standard_conforming_strings = off');
    const second = c.query({ text: sql, rowMode: 'array' }) as Promise<pg.QueryResult<unknown[]>>;
    await first;
    return second;
  });
  const sent = String(traced.rows[0][0]);
  // the SDK did not assume the setting it had seen (on): at the end, the comment would be inside the `--` comment that off makes
  expect(sent.startsWith("/*traceparent='")).toBe(true);
  expect(confirmTraceComment(sent, 'head', ids, true, false)).toBe('confirmed');
  expect(traced.rows[0].slice(1)).toEqual(["C:' AS path, "]);
  await c.query('RESET standard_conforming_strings');
});
