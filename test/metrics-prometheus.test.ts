// Prometheus metrics end to end: real PostgreSQL, the collector with real
// probes and --metrics-port, traffic with trace comments (route and
// application tags, failing statements), a real Prometheus scraping it, and
// promtool checking the exposition. The Grafana dashboard's queries run
// against that Prometheus and every metric they name is in the exposition.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { eventually, startCollector, startReceiver, type CollectorProcess, type Receiver, armBackend } from './helpers/collector';
import { startPrometheus, type Prometheus } from './helpers/prometheus';
import { freePort, startPostgres, type PgCluster } from './helpers/postgres';

const DASHBOARD = path.resolve(__dirname, '..', 'deploy', 'grafana', 'pgferret-dashboard.json');
const hex = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
const tp = () => `traceparent='00-${hex(32)}-${hex(16)}-01'`;

describe('Prometheus /metrics', () => {
  let pg: PgCluster;
  let receiver: Receiver;
  let collector: CollectorProcess;
  let prom: Prometheus;
  let metricsUrl: string;

  beforeAll(async () => {
    pg = await startPostgres({ flavor: 'debian' });
    receiver = await startReceiver();
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    collector = await startCollector(['--port', String(pg.port), '--root-sample-rate', '0', '--metrics-port', String(metricsPort)], {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    });
    await collector.waitFor(/Prometheus metrics http:\/\/127\.0\.0\.1:\d+\/metrics/);
    await collector.waitFor(/attached to PostgreSQL/);
    prom = await startPrometheus([`127.0.0.1:${metricsPort}`]);

    const c = new Client({ connectionString: pg.connectionString });
    await c.connect();
    // one sampled statement first: the backend gets its phase probes before the traffic
    await armBackend((sql) => c.query(sql), collector);
    await c.query('CREATE TABLE items (id int PRIMARY KEY, name text)');
    for (let i = 0; i < 30; i++) {
      await c.query(`INSERT INTO items VALUES ($1, $2) /*application='shop',route='%2Fitems%2F%3Aid',${tp()}*/`, [i, `n${i}`]);
    }
    for (let i = 0; i < 20; i++) await c.query(`SELECT name FROM items WHERE id = ${i} /*application='shop',route='%2Fitems',${tp()}*/`);
    for (let i = 0; i < 5; i++) await c.query(`SELECT * FROM missing_table /*${tp()}*/`).catch(() => undefined);
    await c.query(`INSERT INTO items VALUES (1, 'dup') /*${tp()}*/`).catch(() => undefined);
    await c.end();
  });

  afterAll(async () => {
    await prom?.stop();
    await collector?.stop();
    await receiver?.close();
    await pg?.stop();
  });

  const value = async (expr: string) => {
    const r = await prom.query(expr);
    return r.length ? Number(r[0].value[1]) : NaN;
  };

  it('a real Prometheus scrapes statement metrics by route, application, operation, table and SQLSTATE class', async () => {
    // every traced statement in one scrape: the arming one, 30 inserts, 20 selects, 5 + 1 failures
    await eventually('all statements in Prometheus', async () => (await value('sum(pgferret_statement_duration_seconds_count{db_namespace="postgres"})')) === 57);
    expect(await value('sum(pgferret_statement_duration_seconds_count{route="/items/:id",application="shop"})')).toBe(30);
    expect(await value('sum(pgferret_statement_duration_seconds_count{route="/items",db_operation_name="SELECT",db_collection_name="items"})')).toBe(20);
    // one fingerprint for the 20 selects with different literals, and its masked text on the info metric
    const info = await prom.query('pgferret_statement_info * on (fingerprint) group_left sum by (fingerprint) (pgferret_statement_duration_seconds_count{route="/items"})');
    expect(info).toHaveLength(1);
    expect(info[0].metric.db_query_text).toBe('SELECT name FROM items WHERE id = $1');
    expect(Number(info[0].value[1])).toBe(20);
    expect(await value('sum(pgferret_statement_rows_total{route="/items"})')).toBe(20);
    const errors = await prom.query('sum by (sqlstate_class) (pgferret_statement_errors_total)');
    expect(Object.fromEntries(errors.map((e) => [e.metric.sqlstate_class, Number(e.value[1])]))).toEqual({ '42': 5, '23': 1 });
    // phases: every statement planned and executed (USDT probes)
    expect(await value('sum(pgferret_statement_phase_duration_seconds_count{phase="execute",route="/items"})')).toBe(20);
    expect(await value('sum(pgferret_statement_duration_seconds_bucket{le="10",route="/items"})')).toBe(20);
  });

  it('exposes the collector itself: process, kernel, ring buffer, export and what is attached', async () => {
    await eventually('the exported spans in Prometheus', async () => (await value('pgferret_export_spans_total')) > 0);
    expect(await value('pgferret_clusters_attached')).toBe(1);
    expect(await value('pgferret_backends_armed_total')).toBeGreaterThanOrEqual(1);
    expect(await value('sum(pgferret_binary_probe_set{probe_set="usdt"})')).toBe(1);
    expect(await value('pgferret_kernel_statements_total{outcome="traced"}')).toBeGreaterThanOrEqual(56);
    expect(await value('pgferret_ringbuffer_records_total')).toBeGreaterThan(56);
    expect(await value('pgferret_ringbuffer_dropped_total')).toBe(0);
    expect(await value('pgferret_decode_errors_total')).toBe(0);
    expect(await value('process_resident_memory_bytes')).toBeGreaterThan(10e6);
    expect(await value('process_open_fds')).toBeGreaterThan(3);
    expect(await value('pgferret_process_threads')).toBeGreaterThan(1);
    expect(await value('process_cpu_seconds_total')).toBeGreaterThan(0);
  });

  it('promtool accepts the exposition', async () => {
    const text = await (await fetch(metricsUrl)).text();
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.status).toBe(0);
  });

  it('every query of the Grafana dashboard names metrics the collector exposes and runs in Prometheus', async () => {
    const text = await (await fetch(metricsUrl)).text();
    const exposed = new Set(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => /^[a-zA-Z_:][\w:]*/.exec(l)![0]));
    const dash = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'));
    const exprs: string[] = dash.panels.flatMap((p: { targets: { expr: string }[] }) => p.targets.map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(10);
    const vars = (e: string) => e.replace(/\$__rate_interval/g, '1m').replace(/\$instance/g, '.*');
    const missing: string[] = [];
    for (const expr of exprs) {
      for (const name of expr.match(/\b(?:pgferret|process|nodejs)_\w+/g) ?? []) if (!exposed.has(name)) missing.push(`${name} (in ${expr})`);
      await prom.query(vars(expr)); // throws on a PromQL error
    }
    expect(missing).toEqual([]);
    // the panels that matter return data for this workload
    const top = dash.panels.find((p: { title: string }) => p.title === 'Top statements by time spent');
    await eventually('the top-statements panel to have rows', async () => (await prom.query(vars(top.targets[0].expr))).length >= 3);
  });
});
