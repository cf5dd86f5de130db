// `pgferret-collector diagnose` on a real cluster with real probes: traffic
// with an N+1 pattern, failing statements, a long statement and a burst;
// the JSON report is validated against its published JSON Schema and checked
// against the traffic, and the text report shows every section.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { Client } from 'pg';
import { CLI, startCollector, startReceiver } from './helpers/collector';
import { startPostgres, type PgCluster } from './helpers/postgres';

const SCHEMA = path.resolve(__dirname, '..', 'packages', 'collector', 'schemas', 'diagnose-report.schema.json');

function validator() {
  const ajv = new Ajv({ allErrors: true, formats: { 'date-time': /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/ } });
  return ajv.compile(JSON.parse(fs.readFileSync(SCHEMA, 'utf8')));
}
const hex = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');

interface Diagnosis {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Starts diagnose; `traffic` runs once it is watching (it says so, or `watching` resolves). */
function runDiagnose(args: string[], traffic: () => Promise<void>, watching?: Promise<void>): Promise<Diagnosis> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'diagnose', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let started = false;
    const go = () => {
      started = true;
      traffic().catch((e) => { child.kill(); reject(e); });
    };
    watching?.then(go, reject);
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!started && !watching && /watching \d+ cluster/.test(stderr)) go();
    });
    child.on('exit', (code) => resolve({ stdout, stderr, code }));
  });
}

describe('pgferret-collector diagnose', () => {
  let pg: PgCluster;

  beforeAll(async () => {
    pg = await startPostgres({ flavor: 'debian' });
    const c = new Client({ connectionString: pg.connectionString });
    await c.connect();
    await c.query('CREATE TABLE authors (id int PRIMARY KEY, name text); INSERT INTO authors SELECT g, \'a\' || g FROM generate_series(1, 50) g');
    await c.end();
  });

  afterAll(async () => {
    await pg?.stop();
  });

  it('--json: a report that matches its schema and the traffic', async () => {
    const c = new Client({ connectionString: pg.connectionString });
    await c.connect();
    const nPlusOneTrace = hex(32);
    const traffic = async () => {
      // one request loading 25 authors one by one: an N+1 pattern
      for (let i = 1; i <= 25; i++) {
        await c.query(`SELECT name FROM authors WHERE id = $1 /*application='blog',route='%2Fposts',traceparent='00-${nPlusOneTrace}-${hex(16)}-01'*/`, [i]);
      }
      for (let i = 0; i < 6; i++) await c.query('SELECT * FROM no_such_table').catch(() => undefined);
      await c.query(`SELECT pg_sleep(1.2) /*route='%2Fslow',traceparent='00-${hex(32)}-${hex(16)}-01'*/`);
      // a burst: 300 statements in well under a second, after quiet seconds
      await new Promise((r) => setTimeout(r, 1500));
      for (let i = 0; i < 300; i++) await c.query(`SELECT ${i} AS n`);
    };
    const r = await runDiagnose(['--duration', '7s', '--json', '--port', String(pg.port)], traffic);
    await c.end();
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);

    const validate = validator();
    const valid = validate(report);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);

    expect(report.clusters).toEqual([expect.objectContaining({ pid: pg.pid, port: pg.port, probeSet: 'usdt', error: null })]);
    const s = report.summary;
    // --root-sample-rate defaults to 1 for diagnose: every statement is traced
    expect(s.statementsTraced).toBeGreaterThanOrEqual(25 + 6 + 1 + 300);
    expect(s.statementsSeen).toBeGreaterThanOrEqual(s.statementsTraced);
    expect(s.withTraceContext).toBe(26);
    expect(s.tracedShare).toBeGreaterThan(0.95);
    expect(s.errors).toBe(6);
    expect(s.latency.maxMs).toBeGreaterThanOrEqual(1200);
    expect(s.latency.p50Ms).toBeLessThanOrEqual(s.latency.p95Ms);
    expect(s.latency.p95Ms).toBeLessThanOrEqual(s.latency.p99Ms);

    expect(report.slowestFingerprints[0].query).toBe('SELECT pg_sleep($1)');
    const byAuthor = report.slowestFingerprints.find((f: { query: string }) => f.query === 'SELECT name FROM authors WHERE id = $1');
    expect(byAuthor).toMatchObject({ calls: 25, rows: 25, operation: 'SELECT', collection: 'authors', errors: 0 });
    expect(report.errorsBySqlstate).toEqual([expect.objectContaining({ sqlstate: '42P01', class: '42', count: 6 })]);
    expect(report.byApplicationRoute).toEqual(expect.arrayContaining([expect.objectContaining({ application: 'blog', route: '/posts', calls: 25 })]));

    const kinds = report.issues.map((i: { kind: string }) => i.kind);
    expect(kinds).toEqual(expect.arrayContaining(['n_plus_one', 'high_error_rate', 'long_statement']));
    expect(report.issues.find((i: { kind: string }) => i.kind === 'n_plus_one')).toMatchObject({ traceId: nPlusOneTrace, count: 25, fingerprint: byAuthor.fingerprint });
    expect(report.issues.find((i: { kind: string }) => i.kind === 'long_statement')).toMatchObject({ query: 'SELECT pg_sleep($1)', count: 1 });

    expect(report.timeline.buckets.length).toBeGreaterThanOrEqual(7);
    expect(report.timeline.buckets.reduce((a: number, b: { statements: number }) => a + b.statements, 0)).toBe(s.statementsTraced);
    expect(report.timeline.bursts.length).toBeGreaterThanOrEqual(1);
    expect(report.timeline.bursts.reduce((a: number, b: { statements: number }) => a + b.statements, 0)).toBeGreaterThanOrEqual(300);
  });

  it('text: every section, and a clear error when no cluster matches', async () => {
    const c = new Client({ connectionString: pg.connectionString });
    await c.connect();
    const r = await runDiagnose(['--duration', '2s', '--port', String(pg.port)], async () => {
      for (let i = 0; i < 20; i++) await c.query(`SELECT name FROM authors WHERE id = ${i}`);
    });
    await c.end();
    expect(r.code).toBe(0);
    for (const section of ['Summary', 'Slowest statements', 'Errors by SQLSTATE', 'By application / route', 'Activity', 'Potential issues']) {
      expect(r.stdout).toContain(section);
    }
    expect(r.stdout).toMatch(/SELECT name FROM authors WHERE id = \$1/);

    const none = await runDiagnose(['--duration', '1s', '--port', '1'], async () => undefined);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no running PostgreSQL cluster matches/);
  });

  it('--from-collector: the running collector watches its own statements and answers through its admin API', async () => {
    const receiver = await startReceiver();
    const collector = await startCollector(['--port', String(pg.port), '--root-sample-rate', '0'], { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    const c = new Client({ connectionString: pg.connectionString });
    try {
      await collector.waitFor(/admin API on /);
      await c.connect();
      const trace = hex(32);
      const r = await runDiagnose(['--from-collector', '--state-dir', collector.stateDir, '--duration', '3s', '--json', '--n-plus-one', '5'], async () => {
        for (let i = 1; i <= 8; i++) await c.query(`SELECT name FROM authors WHERE id = ${i} /*traceparent='00-${trace}-${hex(16)}-01'*/`);
        for (let i = 0; i < 5; i++) await c.query('SELECT 1'); // no traceparent, root rate 0: seen, not traced
      }, collector.waitFor(/watching 1 cluster\(s\) for 3 s/));
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/asking the collector of \S+ for 3 s/);
      const report = JSON.parse(r.stdout);
      const validate = validator();
      expect(validate(report) ? [] : validate.errors).toEqual([]);
      expect(report.summary).toMatchObject({ statementsTraced: 8, withTraceContext: 8, sampledRoots: 0, rootSampleRate: 0 });
      expect(report.summary.statementsSeen).toBeGreaterThanOrEqual(13);
      expect(report.summary.tracedShare).toBeLessThan(1);
      expect(report.issues).toEqual([expect.objectContaining({ kind: 'n_plus_one', traceId: trace, count: 8 })]);
      // the running collector keeps exporting its spans meanwhile
      expect(receiver.spans.filter((s) => s.traceId === trace).length).toBeGreaterThanOrEqual(8);
    } finally {
      await c.end();
      await collector.stop();
      await receiver.close();
    }
  });
});
