// The collector reads each session's standard_conforming_strings in the
// backend as a sampled text arrives, and the lexer reads the text that way:
// the comment is confirmed where PostgreSQL's own reading puts it, and the
// literals are masked as PostgreSQL reads them. A text whose reading depends
// on the setting shows which one was used: with `off`, 'it\'s /*' is one
// literal; `on` ends it at the backslash and finds no final comment; not
// knowing (both readings) masks everything after the first quote.
import { Client } from 'pg';
import { confirmTraceComment } from '../packages/sql/src';
import { describeSql } from '../packages/collector/src/spans/sql';
import { A } from '../packages/collector/src/spans/attributes';
import { isPostgresServerSpan } from '../packages/collector/src/embedded/span-record';
import { eventually, randomTraceparent, startCollector, startReceiver, type CollectorProcess, type Receiver } from './helpers/collector';
import { startPostgres, type PgCluster } from './helpers/postgres';

const TEXT = "SELECT 'it\\'s /*' AS a, 'hunter2' AS b";
const OFF_READING = 'SELECT ? AS a, ? AS b';

let pg: PgCluster;
let receiver: Receiver;
let collector: CollectorProcess;
const clients: Client[] = [];

async function connect(): Promise<Client> {
  const c = new Client({ connectionString: pg.connectionString });
  await c.connect();
  clients.push(c);
  return c;
}

beforeAll(async () => {
  pg = await startPostgres({ flavor: 'debian' });
  receiver = await startReceiver();
}, 60_000);

afterAll(async () => {
  for (const c of clients) await c.end();
  await collector?.stop();
  await receiver?.close();
  await pg?.stop();
});

async function traced(c: Client, sql: string): Promise<{ confidence: unknown; text: unknown; parent: boolean }> {
  const tp = randomTraceparent();
  await c.query(`${sql} ${tp.comment}`);
  await eventually('its server span', () => receiver.spans.some((s) => s.traceId === tp.traceId && isPostgresServerSpan(s)), 30_000);
  const s = receiver.spans.find((x) => x.traceId === tp.traceId && isPostgresServerSpan(x))!;
  return { confidence: s.attributes[A.traceContextConfidence], text: s.attributes[A.dbQueryText], parent: s.parentSpanId === tp.spanId };
}

test('the three readings of the text differ: only the session\'s own is right', () => {
  const tp = { traceId: '0af7651916cd43dd8448eb211c80319c', parentSpanId: 'b7ad6b7169203331', flags: 1 };
  const withComment = `${TEXT} /*traceparent='00-${tp.traceId}-${tp.parentSpanId}-01'*/`;
  expect(confirmTraceComment(withComment, 'tail', tp, true, false)).toBe('confirmed');
  // read with `on`, the comment opens inside `/*' AS a, …` and never closes
  expect(confirmTraceComment(withComment, 'tail', tp, true, true)).toBe('unverifiable');
  expect(describeSql(TEXT, false, false)[0].queryText).toBe(OFF_READING);
  expect(describeSql(TEXT, false, true)[0].queryText).toBe('SELECT ?s ?');
  expect(describeSql(TEXT, false, undefined)[0].queryText).toBe('SELECT ?');
});

test('a session that sets it off, one adopted with it off, and one that resets it: each read its own way', async () => {
  // connected, and set off, before the collector starts: adopted mid-session
  const adopted = await connect();
  await adopted.query('SET standard_conforming_strings = off');
  collector = await startCollector(['--port', String(pg.port), '--root-sample-rate', '0'], { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
  await collector.waitFor(/running; Ctrl-C to stop/);

  const fresh = await connect();
  // unsampled statements change it: no ParameterStatus of theirs is followed, the backend's memory says it
  await fresh.query('SET standard_conforming_strings = off');
  const off = await traced(fresh, TEXT);
  const onAgain = await connect();
  await onAgain.query('SET standard_conforming_strings = off');
  await onAgain.query('RESET standard_conforming_strings');
  const on = await traced(onAgain, "SELECT 'C:\\' AS path, 'x' AS b");
  const wasAdopted = await traced(adopted, TEXT);

  expect({ off, wasAdopted, on }).toEqual({
    off: { confidence: 'confirmed', text: OFF_READING, parent: true },
    wasAdopted: { confidence: 'confirmed', text: OFF_READING, parent: true },
    // with `on`, 'C:\' is a whole literal
    on: { confidence: 'confirmed', text: 'SELECT ? AS path, ? AS b', parent: true },
  });
}, 120_000);
