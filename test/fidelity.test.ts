// Spans users can trust, on both probe sets: pipelined statements decided one
// by one, NOTICE/WARNING never an error, real errors with their message and
// the phase they failed in, one span per CALL even when the procedure
// commits, no commit phase inside a transaction block.
import * as net from 'node:net';
import { Client } from 'pg';
import { serialize } from 'pg-protocol';
import { isPostgresServerSpan, type SpanRecord } from '../packages/collector/src/embedded/span-record';
import { armBackend, eventually, randomTraceparent, type CollectorProcess, type Receiver, startTraced, type Traced } from './helpers/collector';
import type { PgCluster, PgFlavor } from './helpers/postgres';

/** A raw protocol connection: sends prepared bytes, waits for n ReadyForQuery. */
async function rawConnection(port: number): Promise<{ send(buf: Buffer, readyForQuery: number): Promise<Buffer>; close(): void }> {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r, j) => sock.once('connect', r).once('error', j));
  let pending = Buffer.alloc(0);
  let want = 0;
  let wake: ((b: Buffer) => void) | null = null;
  sock.on('data', (d) => {
    pending = Buffer.concat([pending, d]);
    let z = 0;
    for (let i = 0; i + 5 <= pending.length;) {
      const len = pending.readUInt32BE(i + 1);
      if (i + 1 + len > pending.length) break;
      if (pending[i] === 0x5a) z++;
      i += 1 + len;
    }
    if (wake && z >= want) {
      const w = wake;
      wake = null;
      const out = pending;
      pending = Buffer.alloc(0);
      w(out);
    }
  });
  const send = (buf: Buffer, readyForQuery: number) => new Promise<Buffer>((resolve) => {
    want = readyForQuery;
    wake = resolve;
    sock.write(buf);
  });
  await send(serialize.startup({ user: 'postgres', database: 'postgres' }), 1);
  return { send, close: () => sock.end(serialize.end()) };
}

/** One Parse/Bind/Execute of an unnamed statement (no Sync). */
const pbe = (text: string) => Buffer.concat([serialize.parse({ text }), serialize.bind({}), serialize.execute({})]);

describe.each(['debian', 'embedded'] as PgFlavor[])('span fidelity on %s PostgreSQL', (flavor) => {
  let pg: PgCluster;
  let receiver: Receiver;
  let collector: CollectorProcess;
  let c: Client;

  const statementsOf = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId && isPostgresServerSpan(s));
  const phasesOf = (s: SpanRecord) => receiver.spans.filter((p) => p.parentSpanId === s.spanId && p.attributes['postgresql.phase']);
  const one = async (traceId: string) => {
    await eventually(`the statement span of trace ${traceId}`, () => statementsOf(traceId).length > 0);
    await new Promise((r) => setTimeout(r, 300)); // a second one would have arrived by now
    const found = statementsOf(traceId);
    expect(found).toHaveLength(1);
    return found[0];
  };

  let traced: Traced;

  beforeAll(async () => {
    traced = await startTraced(flavor, ['--root-sample-rate', '0']);
    ({ pg, receiver, collector } = traced);
    c = new Client({ connectionString: pg.connectionString });
    await c.connect();
    await armBackend((sql) => c.query(sql), collector);
  });

  afterAll(async () => {
    await c?.end();
    await traced?.stop();
  });

  it('a pipeline of mixed statements: each sampled one gets its own context and text, the others nothing', async () => {
    const raw = await rawConnection(pg.port);
    try {
      const a = randomTraceparent();
      const unsampled = randomTraceparent('00');
      const d = randomTraceparent();
      const pipeline = (n: number) => Buffer.concat([
        pbe(`SELECT ${n} AS first ${a.comment}`),
        pbe(`SELECT ${n} AS no_comment`),
        pbe(`SELECT ${n} AS unsampled ${unsampled.comment}`),
        pbe(`SELECT ${n}, pg_sleep(0.01) AS fourth ${d.comment}`),
        serialize.sync(),
      ]);
      await raw.send(pipeline(1), 1); // arms the backend: its statements are untimed
      await eventually('the first pipeline', () => statementsOf(d.traceId).length === 1);
      await raw.send(pipeline(2), 1);
      await eventually('both statements of the second pipeline', () => statementsOf(a.traceId).length === 2 && statementsOf(d.traceId).length === 2);
      await new Promise((r) => setTimeout(r, 300));
      const sa = statementsOf(a.traceId);
      const sd = statementsOf(d.traceId);
      expect(sa.map((s) => s.parentSpanId)).toEqual([a.spanId, a.spanId]);
      expect(sd.map((s) => s.parentSpanId)).toEqual([d.spanId, d.spanId]);
      expect(sa.map((s) => s.attributes['db.query.text'])).toEqual(['SELECT ? AS first', 'SELECT ? AS first']);
      expect(String(sd[1].attributes['db.query.text'])).toMatch(/AS fourth/);
      expect(receiver.spans.filter((s) => /no_comment|unsampled/.test(String(s.attributes['db.query.text'])))).toEqual([]);
      expect(statementsOf(unsampled.traceId)).toEqual([]);
      // the second pipeline ran on an armed backend: phases, in order, inside their statements
      const [first, fourth] = [sa[1], sd[1]];
      expect(first.attributes['pgferret.phases.untimed']).toBeUndefined();
      expect(phasesOf(first).map((p) => p.name)).toEqual(expect.arrayContaining(['execute']));
      const exec4 = phasesOf(fourth).find((p) => p.name === 'execute')!;
      expect(Number(exec4.endNs - exec4.startNs)).toBeGreaterThan(9e6);
      expect(exec4.startNs >= phasesOf(first).find((p) => p.name === 'execute')!.endNs).toBe(true);
    } finally {
      raw.close();
    }
  });

  it('a multi-statement string whose statements carry their own traceparents: each statement is its own context\'s child', async () => {
    const [a, b] = [randomTraceparent(), randomTraceparent()];
    await c.query(`SELECT 1 AS one ${a.comment}; SELECT 2 AS two ${b.comment}`);
    const first = await one(a.traceId);
    const second = await one(b.traceId);
    expect([first.parentSpanId, String(first.attributes['db.query.text'])]).toEqual([a.spanId, 'SELECT ? AS one']);
    expect([second.parentSpanId, second.attributes['postgresql.statement.index']]).toEqual([b.spanId, 1]);
  });

  it('NOTICE and WARNING with a SQLSTATE are not errors; an ERROR is, with its message and the phase it failed in', async () => {
    const ok = [randomTraceparent(), randomTraceparent(), randomTraceparent(), randomTraceparent()];
    await c.query(`CREATE TABLE IF NOT EXISTS fidelity_t (a int) ${ok[0].comment}`);
    await c.query(`CREATE TABLE IF NOT EXISTS fidelity_t (a int) ${ok[1].comment}`); // NOTICE 42P07
    await c.query(`COMMIT ${ok[2].comment}`); // WARNING 25P01: no transaction in progress
    await c.query(`DO $$BEGIN PERFORM 1/0; EXCEPTION WHEN division_by_zero THEN RAISE NOTICE 'caught'; END$$ ${ok[3].comment}`);
    for (const tp of ok) {
      const s = await one(tp.traceId);
      expect([s.statusCode, s.attributes['db.response.status_code']]).toEqual([0, undefined]);
    }
    // 1/0 of constants fails while planning (constant folding); of a column, while executing
    const cases = [
      { sql: 'SELECT 1/0', phase: 'plan' },
      { sql: 'SELECT 1/(x - x) FROM generate_series(1, 1) AS x', phase: 'execute' },
    ];
    for (const { sql, phase } of cases) {
      const bad = randomTraceparent();
      await expect(c.query(`${sql} ${bad.comment}`)).rejects.toThrow(/division by zero/);
      const s = await one(bad.traceId);
      expect([s.statusCode, s.attributes['db.response.status_code']]).toEqual([2, '22012']);
      expect(s.statusMessage).toBe('division_by_zero (22012): division by zero');
      const failedPhases = phasesOf(s).filter((p) => p.statusCode === 2);
      expect([sql, failedPhases.map((p) => p.name)]).toEqual([sql, [phase]]);
    }
  });

  it('a CALL whose procedure commits inside is one span; inside a transaction block only the COMMIT has a commit phase', async () => {
    await c.query('CREATE OR REPLACE PROCEDURE fidelity_p() LANGUAGE plpgsql AS $$BEGIN INSERT INTO fidelity_t VALUES (1); COMMIT; INSERT INTO fidelity_t VALUES (2); COMMIT; END$$');
    const call = randomTraceparent();
    await c.query(`CALL fidelity_p() ${call.comment}`);
    const s = await one(call.traceId);
    expect(s.name).toMatch(/^CALL/);
    expect(s.statusCode).toBe(0);

    const [b, u, cm] = [randomTraceparent(), randomTraceparent(), randomTraceparent()];
    await c.query(`BEGIN ${b.comment}`);
    await c.query(`UPDATE fidelity_t SET a = a + 1 ${u.comment}`);
    await c.query(`COMMIT ${cm.comment}`);
    const upd = await one(u.traceId);
    expect(upd.attributes['db.response.returned_rows']).toBe(2);
    expect(phasesOf(upd).map((p) => p.name)).not.toContain('commit');
    expect(phasesOf(await one(b.traceId)).map((p) => p.name)).not.toContain('commit');
    expect(phasesOf(await one(cm.traceId)).map((p) => p.name)).toContain('commit');
  });
});
