// Only the client's socket is the protocol: up to PostgreSQL 14 a backend
// also sends its statistics to the stats collector (a UDP datagram, at most
// every 500 ms, just before its ReadyForQuery). Read as protocol output, it
// lost the reader's place and the statement's completion with it (rows,
// errors, query id: the span came out `pgferret.incomplete`). Statements
// 600 ms apart make the backend send it in every cycle; a backend connected
// before the collector (adopted) learns its socket from its next receive.
import { Client } from 'pg';
import { A } from '../packages/collector/src/spans/attributes';
import { isPostgresServerSpan } from '../packages/collector/src/embedded/span-record';
import { eventually, randomTraceparent, startCollector, startReceiver } from './helpers/collector';
import { startPostgres, type PgFlavor } from './helpers/postgres';

test.each(['embedded13', 'embedded14'] as PgFlavor[])('%s: statements whose cycle sends statistics complete, no resync', async (flavor) => {
  const pg = await startPostgres({ flavor });
  const receiver = await startReceiver();
  const adopted = new Client({ connectionString: pg.connectionString });
  await adopted.connect();
  const collector = await startCollector(['--port', String(pg.port), '--root-sample-rate', '0'], { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
  const fresh = new Client({ connectionString: pg.connectionString });
  try {
    await collector.waitFor(/running; Ctrl-C to stop/);
    await fresh.connect();
    const before = (await collector.status()).kernel.desync;
    const got: unknown[] = [];
    for (const [name, c] of [['fresh', fresh], ['adopted', adopted]] as const) {
      for (let i = 0; i < 3; i++) {
        const tp = randomTraceparent();
        await c.query(`SELECT pg_sleep(0.6), ${i} AS n ${tp.comment}`);
        const find = () => receiver.spans.find((s) => s.traceId === tp.traceId && isPostgresServerSpan(s));
        await eventually('its span', () => find() !== undefined, 30_000);
        const s = find()!;
        got.push([name, i, s.attributes[A.incomplete] ?? false, s.attributes[A.dbResponseReturnedRows]]);
      }
    }
    expect(got).toEqual([0, 1, 2].map((i) => ['fresh', i, false, 1]).concat([0, 1, 2].map((i) => ['adopted', i, false, 1])));
    expect((await collector.status()).kernel.desync - before).toBe(0);
  } finally {
    await fresh.end();
    await adopted.end();
    await collector.stop();
    await receiver.close();
    await pg.stop();
  }
}, 120_000);
