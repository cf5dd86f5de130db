// The CPU profile in the web UI, for real: a hash join traced by the
// collector on Debian's PostgreSQL lands in the embedded store with its whole
// folded profile, and Chromium draws its flame graph on the statement's
// details, with the plan node the time went to and, with --postgres-url, the
// EXPLAIN plan whose lines carry their share; Top queries merges the profiles
// of a query's slowest executions.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import type { BrowserContext, Page } from 'playwright-core';
import { RUN_DEFAULTS, type Running, startRun } from '../packages/collector/dist/run';
import { A } from '../packages/collector/src/spans/attributes';
import { openUi } from '../packages/collector/test/chromium';
import { eventually, randomTraceparent } from './helpers/collector';
import { type PgCluster, startPostgres } from './helpers/postgres';

const ARTIFACTS = path.resolve(__dirname, '..', 'test-artifacts');

let pg: PgCluster;
let running: Running;
let stateDir: string;
let userDataDir: string;
let context: BrowserContext;
let page: Page;
let client: Client;

beforeAll(async () => {
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  delete process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  // planner settings of the cluster, not the session: the collector's EXPLAIN plans as the traced statement ran
  pg = await startPostgres({ flavor: 'debian', settings: { max_parallel_workers_per_gather: 0, jit: 'off', enable_mergejoin: 'off', enable_nestloop: 'off', work_mem: '256MB' } });
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-ui-profile-'));
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-ui-profile-chromium-'));
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  running = await startRun(
    { ...RUN_DEFAULTS, filter: { ports: [pg.port] }, rootSampleRate: 0, rawQueryText: false, stateDir, otlpPort: 0, uiPort: 0, allowNonLoopback: false, profileHz: 997,
      postgresUrl: pg.connectionString, explainMinMs: 100 },
    () => undefined,
  );
  client = new Client({ connectionString: pg.connectionString });
  await client.connect();
  await client.query(`CREATE TABLE orders AS SELECT g AS id, g % 5000 AS customer FROM generate_series(1, 600000) g;
    CREATE TABLE customers AS SELECT g AS id, md5(g::text) AS name FROM generate_series(1, 400000) g;
    ANALYZE orders; ANALYZE customers`);
  // the first sampled statement arms the backend
  await client.query(`SELECT 1 ${randomTraceparent().comment}`);
  await eventually('the backend to be armed, its CPU clock too', () => running.collector.status().backends.completePids.length > 0 && running.collector.status().profile.clocks > 0);
  ({ context, page } = await openUi(userDataDir, running.embedded!.uiLoginUrl, 10_000));
}, 180_000);

afterAll(async () => {
  await client?.end();
  await context?.close();
  await running?.stop();
  await pg?.stop();
  for (const d of [stateDir, userDataDir]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

const api = async (pathname: string) =>
  (await fetch(`${running.embedded!.uiUrl}${pathname}`, { headers: { authorization: `Bearer ${running.embedded!.uiToken}` } })).json() as Promise<any>;

/** the trace's statement span, once the store has it */
const storedStatement = async (traceId: string): Promise<any> => {
  let statement: any;
  await eventually('the statement in the store', async () => {
    const trace = await api(`/api/traces/${traceId}`).catch(() => null);
    statement = trace?.spans?.find((s: any) => s.isPostgres && s.name.startsWith('SELECT'));
    return statement !== undefined;
  });
  return statement;
};

test('a traced hash join: its whole profile in the store, its flame graph on the statement details', async () => {
  const t = randomTraceparent();
  await client.query(`SELECT count(*), max(c.name) FROM orders o JOIN customers c ON c.id = o.id ${t.comment}`);
  const statement = await storedStatement(t.traceId);
  const samples = statement.attributes[A.profileSamples] as number;
  expect(samples).toBeGreaterThan(50);
  // the store keeps every stack: their counts add up to the samples
  const event = statement.events.find((e: any) => e.name === 'pgferret.profile');
  expect(event.attributes[A.profileTruncated]).toBe(false);
  const lines = String(event.attributes[A.profileFolded]).split('\n');
  expect(lines.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)).toBe(samples);

  await page.goto(`${running.embedded!.uiUrl}/trace.html?id=${t.traceId}#span=${statement.spanId}`);
  const graph = page.locator('#flame-graph svg.flame');
  try {
    await graph.waitFor();
    const summary = await page.locator('.flame-summary').textContent();
    expect(summary).toMatch(/\d+ % in (Hash Join|Hash|Seq Scan) \(\w+\)/);
    expect(summary).toContain(`${samples} samples at 997 Hz`);
    const names = await graph.locator('g.frame').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-name')));
    expect(names[0]).toBe('all');
    expect(names).toEqual(expect.arrayContaining(['PostgresMain', 'standard_ExecutorRun', 'ExecScanHashBucket']));
    // a frame's width is its share: the root spans the graph, ExecScanHashBucket a part of it
    const width = async (name: string) => Number(await graph.locator(`g.frame[data-name="${name}"] rect`).first().getAttribute('width'));
    // drawn at the panel's width in pixels
    const full = Number(await graph.getAttribute('width'));
    expect(full).toBe(await page.locator('#flame-graph').evaluate((b) => b.clientWidth));
    expect(await width('all')).toBeGreaterThan(full - 2);
    const bucket = await width('ExecScanHashBucket');
    expect(bucket).toBeGreaterThan(0.1 * full);
    expect(bucket).toBeLessThan(0.9 * full);
    await page.locator('#flame-graph').screenshot({ path: path.join(ARTIFACTS, 'ui-profile-flame-graph.png') });
    // beside the EXPLAIN plan (--postgres-url): the summary's node is a line of the plan, with the same share, highlighted
    expect(typeof statement.attributes[A.plan]).toBe('string');
    const [, pct, node] = /^(\d+) % in ([A-Za-z ]+) \(/.exec(summary!)!;
    const line = page.locator(`#plan-profile .plan-line[data-node="${node}"]`).first();
    expect((await line.locator('.plan-share').textContent())!.trim()).toBe(`${pct} %`);
    expect(await line.getAttribute('class')).toContain('hot');
    expect(await line.textContent()).toContain(node);
    const planned = await page.locator('#plan-profile .plan-line').allTextContents();
    expect(planned.length).toBe(String(statement.attributes[A.plan]).split('\n').length);
    await page.locator('#plan-profile').screenshot({ path: path.join(ARTIFACTS, 'ui-profile-plan.png') });
    // clicking a frame zooms to it: it then spans the graph
    await graph.locator('g.frame[data-name="ExecScanHashBucket"]').first().click();
    expect(await width('ExecScanHashBucket')).toBeGreaterThan(full - 2);
    expect(await graph.locator('g.frame[data-name="PostgresMain"]').count()).toBe(0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'ui-profile-zoomed.png'), fullPage: true });
  } catch (e) {
    await page.screenshot({ path: path.join(ARTIFACTS, 'ui-profile-failure.png'), fullPage: true });
    throw e;
  }
});

test('Top queries: a query\'s profile merged over its slowest executions, drawn when its row opens', async () => {
  const sql = 'SELECT count(*), max(c.name) FROM orders o JOIN customers c ON c.id = o.id';
  const traces: string[] = [];
  for (let i = 0; i < 3; i++) {
    const t = randomTraceparent();
    await client.query(`${sql} ${t.comment}`);
    traces.push(t.traceId);
  }
  const statements: any[] = [];
  await eventually('the three statements in the store', async () => {
    statements.length = 0;
    for (const id of traces) {
      const trace = await api(`/api/traces/${id}`).catch(() => null);
      const st = trace?.spans?.find((x: any) => x.isPostgres && x.name.startsWith('SELECT'));
      if (st) statements.push(st);
    }
    return statements.length === 3;
  });
  const top = await api('/api/top-queries');
  const q = top.queries.find((x: any) => x.text.includes('customers'));
  expect(q.calls).toBeGreaterThanOrEqual(4);
  const merged = await api(`/api/top-queries/${q.fingerprint}/profile?limit=10`);
  // every execution ran on the armed backend: each has a profile, and the merged samples are theirs
  expect(merged.statements).toBe(q.calls);
  expect(merged.profiled).toBe(q.calls);
  expect(merged.merged.map((m: any) => m.durationMs)).toEqual([...merged.merged.map((m: any) => m.durationMs)].sort((x: number, y: number) => y - x));
  for (const st of statements) {
    expect(merged.merged.find((m: any) => m.spanId === st.spanId)?.samples).toBe(st.attributes[A.profileSamples]);
  }
  expect(merged.samples).toBe(merged.merged.reduce((n: number, m: any) => n + m.samples, 0));
  const folded = String(merged.folded).split('\n');
  expect(folded.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)).toBe(merged.samples);
  expect(merged.summary).toMatch(/^\d+ % in (Hash Join|Hash|Seq Scan) \(\w+\)$/);
  expect(merged.self.map((x: any) => x.name)).toContain('ExecScanHashBucket');

  await page.goto(`${running.embedded!.uiUrl}/queries.html`);
  try {
    const row = page.locator(`tr.query-row[data-fingerprint="${q.fingerprint}"]`);
    await row.click();
    const graph = page.locator('[data-merged-profile] svg.flame');
    await graph.waitFor();
    const summary = await page.locator('.merged-profile-summary').textContent();
    expect(summary).toContain(merged.summary);
    expect(summary).toContain(`${merged.samples} samples from ${merged.profiled} of its ${merged.statements} slowest executions`);
    const names = await graph.locator('g.frame').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-name')));
    expect(names[0]).toBe('all');
    expect(names).toEqual(expect.arrayContaining(['ExecScanHashBucket']));
    expect(Number(await graph.locator('g.frame[data-name="all"]').getAttribute('data-samples'))).toBe(merged.samples);
    await page.screenshot({ path: path.join(ARTIFACTS, 'ui-profile-top-queries.png'), fullPage: true });
  } catch (e) {
    await page.screenshot({ path: path.join(ARTIFACTS, 'ui-profile-top-queries-failure.png'), fullPage: true });
    throw e;
  }
});

test('a profile that starts late says by how much, in the store and on the statement\'s details', async () => {
  const t = randomTraceparent();
  const done = client.query(`SELECT count(*), max(c.name) FROM orders o JOIN customers c ON c.id = o.id ${t.comment}`);
  // the collector runs in this process: while this spins it reads nothing, so the backend's clock stays off
  const until = performance.now() + 80;
  while (performance.now() < until) { /* busy, as a collector arming backends or building spans is */ }
  await done;
  const statement = await storedStatement(t.traceId);
  const lateMs = statement.attributes[A.profileLateMs] as number;
  expect(lateMs).toBeGreaterThanOrEqual(70);
  expect(lateMs).toBeLessThan(statement.attributes[A.cpuOnMs] as number);
  await page.goto(`${running.embedded!.uiUrl}/trace.html?id=${t.traceId}#span=${statement.spanId}`);
  try {
    await page.locator('#flame-graph svg.flame').waitFor();
    expect(await page.locator('.flame-summary').textContent()).toContain(`starts ${lateMs} ms into the statement (the collector was busy when it began): that part is not in the profile`);
  } catch (e) {
    await page.screenshot({ path: path.join(ARTIFACTS, 'ui-profile-late-failure.png'), fullPage: true });
    throw e;
  }
});
