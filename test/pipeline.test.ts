// Deep pipelines and big COPYs at the socket: every statement of a 1,000-deep
// pipeline (pg's `pipeline: true`) traced and parented, statements after a
// 100 MB COPY FROM STDIN sent as one CopyData message per row, and one
// extended-protocol cycle and one simple Query cut between two receives at
// every byte, with the
// collector's protocol reader never losing sync.
import { once } from 'node:events';
import * as net from 'node:net';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { eventually, randomTraceparent, startTraced, statementsOf, type CollectorProcess, type Receiver, type Traced } from './helpers/collector';
import type { PgCluster } from './helpers/postgres';

describe('deep pipelines and big COPYs (Debian PostgreSQL)', () => {
  let traced: Traced;
  let pg: PgCluster;
  let receiver: Receiver;
  let collector: CollectorProcess;

  beforeAll(async () => {
    traced = await startTraced('debian', ['--root-sample-rate', '0']);
    ({ pg, receiver, collector } = traced);
  });

  afterAll(async () => {
    await traced?.stop();
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

  // what a client sends for one traced statement, and the text its span must show
  const CUT: Record<string, { bytes: (tp: { comment: string }) => Buffer; text: string }> = {
    'one extended-protocol cycle (named statement and portal)': {
      bytes: (tp) => Buffer.concat([
        msg('P', cstr('pf_stmt'), cstr(`SELECT $1::int AS n ${tp.comment}`), int16(0)),
        msg('B', cstr('pf_portal'), cstr('pf_stmt'), int16(0), int16(1), int32(1), Buffer.from('7'), int16(0)),
        msg('D', Buffer.from('P'), cstr('pf_portal')),
        msg('E', cstr('pf_portal'), int32(0)),
        msg('C', Buffer.from('S'), cstr('pf_stmt')),
        msg('S'),
      ]),
      text: 'SELECT $1::int AS n',
    },
    'one simple-protocol Query': {
      bytes: (tp) => msg('Q', cstr(`SELECT 7 AS cut_at_every_byte ${tp.comment}`)),
      text: 'SELECT ? AS cut_at_every_byte',
    },
  };

  it.each(Object.keys(CUT))('%s cut between two receives at every byte: each one traced, parented, with its whole text', async (what) => {
    const { bytes: build, text } = CUT[what];
    const st0 = await collector.status();
    const conn = await rawConnection(pg.port);
    try {
      const size = build(randomTraceparent()).length;
      const tps = Array.from({ length: size - 1 }, () => randomTraceparent());
      for (const [i, tp] of tps.entries()) {
        const bytes = build(tp);
        // the backend reads the first part and waits for the rest: its receive ends at byte i + 1
        await conn.send(bytes.subarray(0, i + 1));
        await new Promise((r) => setTimeout(r, 5));
        await conn.send(bytes.subarray(i + 1));
        expect(await conn.untilReady()).toContain('C');
      }
      await expectTraced(tps);
      const texts = new Set(tps.map((t) => String(statementsOf(receiver, t.traceId)[0].attributes['db.query.text'])));
      expect([...texts]).toEqual([text]);
      const st = await collector.status();
      expect(st.kernel.desync - st0.kernel.desync).toBe(0);
      expect(st.kernel.traced - st0.kernel.traced).toBe(tps.length);
    } finally {
      conn.close();
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

// A frontend speaking the protocol by hand, to cut messages where a test wants.
const int16 = (n: number) => { const b = Buffer.alloc(2); b.writeInt16BE(n); return b; };
const int32 = (n: number) => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
const cstr = (s: string) => Buffer.from(`${s}\0`);
const msg = (type: string, ...body: Buffer[]) => { const b = Buffer.concat(body); return Buffer.concat([Buffer.from(type), int32(b.length + 4), b]); };

/** A trust-authenticated connection as `postgres`: send bytes, read until ReadyForQuery (the message types seen). */
async function rawConnection(port: number): Promise<{ send(b: Buffer): Promise<void>; untilReady(): Promise<string>; close(): void }> {
  const sock = net.connect(port, '127.0.0.1');
  sock.setNoDelay(true);
  await once(sock, 'connect');
  let buf = Buffer.alloc(0);
  let wake: (() => void) | null = null;
  sock.on('data', (d) => { buf = Buffer.concat([buf, d]); wake?.(); });
  const untilReady = async (): Promise<string> => {
    let types = '';
    for (;;) {
      while (buf.length >= 5 && buf.length >= 1 + buf.readInt32BE(1)) {
        const t = String.fromCharCode(buf[0]);
        const body = buf.subarray(5, 1 + buf.readInt32BE(1));
        buf = buf.subarray(1 + buf.readInt32BE(1));
        if (t === 'E') throw new Error(`PostgreSQL: ${body.toString('latin1').split('\0').filter((f) => f.startsWith('M')).join(' ')}`);
        types += t;
        if (t === 'Z') return types;
      }
      if (sock.destroyed) throw new Error('the connection closed');
      await new Promise<void>((r) => { wake = r; setTimeout(r, 1000); });
    }
  };
  const send = (b: Buffer) => new Promise<void>((resolve, reject) => sock.write(b, (e) => (e ? reject(e) : resolve())));
  const startup = Buffer.concat([int32(196608), cstr('user'), cstr('postgres'), cstr('database'), cstr('postgres'), Buffer.from([0])]);
  await send(Buffer.concat([int32(startup.length + 4), startup]));
  await untilReady();
  return { send, untilReady, close: () => { sock.end(); } };
}
