// Deep pipelines and big COPYs at the socket: every statement of a 1,000-deep
// pipeline (pg's `pipeline: true`) traced and parented, and statements after a
// 100 MB COPY FROM STDIN sent as one CopyData message per row, with the
// collector's protocol reader never losing sync.
import { once } from 'node:events';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { eventually, randomTraceparent, startCollector, startReceiver, statementsOf, type CollectorProcess, type Receiver } from './helpers/collector';
import { startPostgres, type PgCluster } from './helpers/postgres';

describe('deep pipelines and big COPYs (Debian PostgreSQL)', () => {
  let pg: PgCluster;
  let receiver: Receiver;
  let collector: CollectorProcess;

  beforeAll(async () => {
    pg = await startPostgres({ flavor: 'debian' });
    receiver = await startReceiver();
    collector = await startCollector(['--port', String(pg.port), '--root-sample-rate', '0'], { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    await collector.waitFor(/running; Ctrl-C to stop/);
  });

  afterAll(async () => {
    await collector?.stop();
    await receiver?.close();
    await pg?.stop();
  });

  /** Each context's one statement span, parented on its span id, with its row count. */
  async function expectTraced(contexts: { traceId: string; spanId: string }[], rows: number | null = 1): Promise<void> {
    await eventually(`${contexts.length} statement spans`, () => contexts.every((t) => statementsOf(receiver, t.traceId).length > 0), 60000);
    const wrong = contexts.filter((t) => {
      const s = statementsOf(receiver, t.traceId);
      return s.length !== 1 || s[0].parentSpanId !== t.spanId || (rows !== null && s[0].attributes['db.response.returned_rows'] !== rows);
    });
    expect(wrong).toEqual([]);
  }

  it.each(['simple', 'extended'])('%s protocol: 1,000 queries in flight on one connection, every one sampled and parented, no desync', async (mode) => {
    const st0 = await collector.status();
    const c = new Client({ connectionString: pg.connectionString, pipeline: true });
    await c.connect();
    try {
      const tps = Array.from({ length: 1000 }, () => randomTraceparent());
      const results = await Promise.all(tps.map((t, i) => (mode === 'simple'
        ? c.query(`SELECT ${i} AS n ${t.comment}`)
        : c.query(`SELECT $1::int AS n ${t.comment}`, [i]))));
      expect(results.map((r) => r.rows[0].n)).toEqual(tps.map((_, i) => i));
      await expectTraced(tps);
      const st = await collector.status();
      expect(st.kernel.desync - st0.kernel.desync).toBe(0);
      expect(st.kernel.traced - st0.kernel.traced).toBe(1000);
      expect(st.kernel.dropped).toBe(0);
    } finally {
      await c.end();
    }
  });

  it('a 100 MB COPY FROM STDIN, one CopyData message per row, then traced statements: all followed', async () => {
    const st0 = await collector.status();
    const c = new Client({ connectionString: pg.connectionString });
    await c.connect();
    try {
      await c.query('CREATE UNLOGGED TABLE big (id int, pad text)');
      const copyTp = randomTraceparent();
      const stream = c.query(copyFrom(`COPY big FROM STDIN ${copyTp.comment}`));
      const pad = 'p'.repeat(93);
      const rows = 1_000_000; // 100 bytes a row: 100 MB
      let i = 0;
      await new Promise<void>((resolve, reject) => {
        stream.on('error', reject);
        stream.on('finish', () => resolve());
        const write = () => {
          while (i < rows) {
            const ok = stream.write(`${String(i).padStart(6, '0')}\t${pad}\n`);
            i++;
            if (!ok) return void stream.once('drain', write);
          }
          stream.end();
        };
        write();
      });
      expect((await c.query('SELECT count(*)::int AS n FROM big')).rows[0].n).toBe(rows);
      const after = Array.from({ length: 20 }, () => randomTraceparent());
      for (const t of after) await c.query(`SELECT 1 AS one ${t.comment}`);
      await expectTraced(after);
      await expectTraced([copyTp], rows);
      const st = await collector.status();
      expect(st.kernel.desync - st0.kernel.desync).toBe(0);
      expect(st.kernel.dropped).toBe(0);
    } finally {
      await c.end();
    }
  });
});
