// Encrypted connections end to end: Debian PostgreSQL with ssl=on that
// refuses plaintext TCP (hostssl only), a certificate made by the test, the
// traced application over sslmode=require (no-verify: self-signed), the
// collector following each TLS backend at be_tls_read/be_tls_write from its
// first byte.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { isPostgresServerSpan, type SpanRecord } from '../packages/collector/src/embedded/span-record';
import { CLI, eventually, randomTraceparent, startTraced, statementsOf, type CollectorProcess, type Receiver, type Traced } from './helpers/collector';
import type { PgCluster } from './helpers/postgres';
import { askGssEncryption, selfSignedCertificate, startPgbouncer, tlsSettings, type Certificate } from './helpers/tls';

const APP = path.join(__dirname, 'fixtures', 'traced-app.js');

/** Runs the traced app; `onWarm` is awaited once its pooled connections are open (WARMUP_FILE), then it goes on. */
function runApp(env: Record<string, string>, onWarm?: () => Promise<void>): Promise<{ traces: number; queries: number; errors: number }> {
  const file = path.join(os.tmpdir(), `pgferret-warm-${process.pid}-${Date.now()}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [APP], { env: { ...process.env, ...env, ...(onWarm ? { WARMUP_FILE: file } : {}) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (onWarm && /^warm$/m.test(String(d))) onWarm().finally(() => fs.writeFileSync(file, ''));
    });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => {
      fs.rmSync(file, { force: true });
      if (code === 0) resolve(JSON.parse(out.trim().split('\n').pop()!));
      else reject(new Error(`app exited ${code}: ${err}`));
    });
  });
}

/**
 * Runs the traced app (TRACES × QUERIES statements over a pool of POOL TLS
 * connections) and checks every statement span: one under each pg client
 * span, in its trace; phases on all but the first of each backend (its phase
 * probes come after its first sampled statement).
 */
async function tracedRun(
  collector: CollectorProcess, receiver: Receiver, url: string, mode: string, traces: number, queries: number, pool: number, backends = pool,
): Promise<SpanRecord[]> {
  const before = new Set(receiver.spans.map((s) => s.traceId));
  const st0 = await collector.status();
  // a new backend is followed from its first byte, and timed once its phase probes are attached
  // (from under 1 ms to ~0.5 s here): the app waits for those after opening its pool
  const armed = () => eventually('the pool\'s backends to be armed', async () => (await collector.status()).backends.armings - st0.backends.armings >= backends, 30000);
  const r = await runApp({
    DATABASE_URL: url, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, MODE: mode,
    TRACES: String(traces), QUERIES: String(queries), POOL: String(pool),
  }, armed);
  const n = traces * queries;
  expect(r).toEqual({ traces, queries: n, errors: 0 });
  const ids = () => new Set(receiver.spans.filter((s) => s.name.startsWith('request ') && !before.has(s.traceId)).map((s) => s.traceId));
  const statements = () => {
    // the trace ids once per check: the receiver answers the collector's exports on this event loop
    const t = ids();
    return receiver.spans.filter((s) => isPostgresServerSpan(s) && t.has(s.traceId)).length;
  };
  await eventually(`${n} statement spans`, () => statements() >= n, 30000).catch(async (e) => {
    // spans the collector gave up exporting are counted and said: name them rather than a bare count
    const { export: x } = await collector.status();
    throw new Error(`${(e as Error).message}: ${statements()} arrived; the collector exported ${x.exported - st0.export.exported} spans `
      + `and dropped ${x.dropped - st0.export.dropped} since the run began (last export error: ${x.lastError})`);
  });
  const t = ids();
  const inTraces = receiver.spans.filter((s) => t.has(s.traceId));
  const clientSpans = inTraces.filter((s) => s.kind === 3 && s.name.startsWith('pg.query'));
  const server = inTraces.filter(isPostgresServerSpan);
  expect(clientSpans).toHaveLength(n);
  expect(server).toHaveLength(n);
  const byId = new Map(inTraces.map((s) => [s.spanId, s]));
  const misparented = server.filter((s) => {
    const p = s.parentSpanId ? byId.get(s.parentSpanId) : undefined;
    return !p || p.kind !== 3 || p.traceId !== s.traceId;
  });
  expect(misparented).toEqual([]);
  const underEach = clientSpans.map((c) => server.filter((s) => s.parentSpanId === c.spanId).length);
  expect(underEach.every((k) => k === 1)).toBe(true);
  const untimed = server.filter((s) => s.attributes['pgferret.phases.untimed'] === true);
  expect(untimed.length).toBeLessThanOrEqual(pool);
  for (const s of server) {
    if (untimed.includes(s)) continue;
    const phases = inTraces.filter((p) => p.parentSpanId === s.spanId && p.attributes['postgresql.phase']).map((p) => p.name);
    expect(phases).toEqual(expect.arrayContaining(['parse', 'plan', 'execute']));
  }
  return server;
}

describe('TLS connections (Debian PostgreSQL, ssl=on, hostssl only)', () => {
  let cert: Certificate;
  let traced: Traced;
  let pg: PgCluster;
  let receiver: Receiver;
  let collector: CollectorProcess;
  let tlsUrl: string;

  beforeAll(async () => {
    cert = selfSignedCertificate();
    traced = await startTraced('debian', ['--root-sample-rate', '0'], tlsSettings(cert));
    ({ pg, receiver, collector } = traced);
    tlsUrl = `${pg.connectionString}?sslmode=no-verify`;
  });

  afterAll(async () => {
    await traced?.stop();
    cert?.remove();
  });

  it('refuses plaintext: what the tests trace went through TLS', async () => {
    const c = new Client({ connectionString: pg.connectionString, ssl: false });
    await expect(c.connect()).rejects.toThrow(/pg_hba.conf rejects connection .* no encryption/);
    const t = new Client({ connectionString: tlsUrl });
    await t.connect();
    const r = await t.query('SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    expect(r.rows[0].ssl).toBe(true);
    await t.end();
  });

  it.each(['simple', 'extended'])('%s protocol over sslmode=require: 200 statements in 20 traces over a pool of 4, all parented, with phases', async (mode) => {
    const st0 = await collector.status();
    await tracedRun(collector, receiver, tlsUrl, mode, 20, 10, 4);
    const st = await collector.status();
    expect(st.encrypted.tls - st0.encrypted.tls).toBeGreaterThanOrEqual(4);
    expect(st.encrypted.notFollowed).toBe(st0.encrypted.notFollowed);
    expect(st.kernel.tls_hits).toBeGreaterThan(st0.kernel.tls_hits);
    expect(st.kernel.desync).toBe(0);
    expect(st.kernel.dropped).toBe(0);
    expect(collector.output()).toMatch(/encrypted connections \(TLS, GSSAPI\) followed at be_tls_read\/write and be_gssapi_read\/write \(8 probes in the binary/);
  });

  it('a new connection\'s very first statement, sent as soon as it is ready, is traced and parented: 50 fresh TLS connections in a row', async () => {
    const st0 = await collector.status();
    const tps = Array.from({ length: 50 }, () => randomTraceparent());
    for (const [i, tp] of tps.entries()) {
      const c = new Client({ connectionString: tlsUrl });
      // queued before the connection is up: pg sends it right after the first ReadyForQuery
      const connected = c.connect();
      const first = c.query(`SELECT ${i} AS n ${tp.comment}`);
      await connected;
      expect((await first).rows[0].n).toBe(i);
      await c.end();
    }
    await eventually('50 statement spans', () => tps.every((t) => statementsOf(receiver, t.traceId).length > 0), 30000);
    const wrong = tps.filter((t) => {
      const s = statementsOf(receiver, t.traceId);
      return s.length !== 1 || s[0].parentSpanId !== t.spanId || s[0].attributes['db.response.returned_rows'] !== 1;
    });
    expect(wrong).toEqual([]);
    const st = await collector.status();
    expect(st.encrypted.tls - st0.encrypted.tls).toBe(50);
    expect(st.encrypted.notFollowed).toBe(st0.encrypted.notFollowed);
    expect(st.kernel.desync - st0.kernel.desync).toBe(0);
  });

  it('1 MB statements over TLS, the traceparent at the end and at the start; an error', async () => {
    const c = new Client({ connectionString: tlsUrl });
    await c.connect();
    const mb = 'x'.repeat(1024 * 1024);
    const tail = randomTraceparent();
    const head = randomTraceparent();
    const err = randomTraceparent();
    await c.query(`SELECT length('${mb}') AS big ${tail.comment}`);
    await c.query(`${head.comment} SELECT length('${mb}') AS big`);
    await expect(c.query(`SELECT 1/0 ${err.comment}`)).rejects.toThrow(/division by zero/);
    // the reply of a big result too: 1 MB back through secure_write
    const rows = await c.query(`SELECT repeat('y', 1024 * 1024) AS big_reply ${randomTraceparent().comment}`);
    expect(rows.rows[0].big_reply).toHaveLength(1024 * 1024);
    await c.end();
    await eventually('the three spans', () => [tail, head, err].every((t) => statementsOf(receiver, t.traceId).length === 1));
    const [t] = statementsOf(receiver, tail.traceId);
    expect(t.parentSpanId).toBe(tail.spanId);
    expect(t.attributes['pgferret.trace_context.origin']).toBe('comment_end');
    expect(Number(t.attributes['pgferret.query_text.length'])).toBeGreaterThan(1024 * 1024);
    expect(t.attributes['db.response.returned_rows']).toBe(1);
    const [h] = statementsOf(receiver, head.traceId);
    expect(h.parentSpanId).toBe(head.spanId);
    expect(h.attributes['pgferret.trace_context.origin']).toBe('comment_start');
    const [e] = statementsOf(receiver, err.traceId);
    expect(e.attributes['db.response.status_code']).toBe('22012');
    expect((await collector.status()).kernel.desync).toBe(0);
  });

  it('pgbouncer (transaction pooling) with TLS to the client and to PostgreSQL: every statement parented', async () => {
    const bouncer = await startPgbouncer(cert, pg.port);
    const st0 = await collector.status();
    try {
      const url = `postgres://postgres@127.0.0.1:${bouncer.port}/postgres?sslmode=no-verify`;
      // pgbouncer refuses plaintext clients too
      const plain = new Client({ connectionString: `postgres://postgres@127.0.0.1:${bouncer.port}/postgres`, ssl: false });
      await expect(plain.connect()).rejects.toThrow();
      // pgbouncer opens its server connections (TLS) for the first app; the second reuses them
      await tracedRun(collector, receiver, url, 'simple', 10, 10, 4);
      await tracedRun(collector, receiver, url, 'extended', 10, 10, 4, 0);
      expect(bouncer.log()).toMatch(/TLS|tls/);
      const st = await collector.status();
      expect(st.kernel.desync).toBe(0);
      expect(st.encrypted.notFollowed).toBe(st0.encrypted.notFollowed);
    } finally {
      await bouncer.stop();
    }
  });

  it('GSSAPI encryption: detected, counted and shown in status', async () => {
    const st0 = await collector.status();
    // Debian's build has GSSAPI: it accepts the request over TCP ('G') before any credential is checked
    expect(await askGssEncryption(pg.port)).toBe('G');
    await eventually('the GSSAPI backend to be counted', async () => (await collector.status()).encrypted.gssenc === st0.encrypted.gssenc + 1);
    const st = await collector.status();
    expect(st.kernel.gssenc - st0.kernel.gssenc).toBe(1);
    expect(st.kernel.tls - st0.kernel.tls).toBe(0);
    // and `pgferret-collector status` says so
    const out = execFileSync(process.execPath, [CLI, 'status', '--state-dir', collector.stateDir], { encoding: 'utf8' });
    expect(out).toMatch(new RegExp(`encrypted connections: ${st.encrypted.tls} TLS, ${st.encrypted.gssenc} GSSAPI so far`));
  });
});
