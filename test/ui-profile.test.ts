// The CPU profile in the web UI, for real: a hash join traced by the
// collector on Debian's PostgreSQL lands in the embedded store with its whole
// folded profile, and Chromium draws its flame graph on the statement's
// details, with the plan node the time went to.
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
  pg = await startPostgres({ flavor: 'debian', settings: { max_parallel_workers_per_gather: 0, jit: 'off' } });
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-ui-profile-'));
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-ui-profile-chromium-'));
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  running = await startRun(
    { ...RUN_DEFAULTS, filter: { ports: [pg.port] }, rootSampleRate: 0, rawQueryText: false, stateDir, otlpPort: 0, uiPort: 0, allowNonLoopback: false, profileHz: 997 },
    () => undefined,
  );
  client = new Client({ connectionString: pg.connectionString });
  await client.connect();
  await client.query(`CREATE TABLE orders AS SELECT g AS id, g % 5000 AS customer FROM generate_series(1, 600000) g;
    CREATE TABLE customers AS SELECT g AS id, md5(g::text) AS name FROM generate_series(1, 400000) g;
    ANALYZE orders; ANALYZE customers; SET enable_mergejoin = off; SET enable_nestloop = off; SET work_mem = '256MB'`);
  // the first sampled statement arms the backend
  await client.query(`SELECT 1 ${randomTraceparent().comment}`);
  await eventually('the backend to be armed', () => running.collector.status().backends.armed > 0);
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

test('a traced hash join: its whole profile in the store, its flame graph on the statement details', async () => {
  const t = randomTraceparent();
  await client.query(`SELECT count(*), max(c.name) FROM orders o JOIN customers c ON c.id = o.id ${t.comment}`);
  let statement: any;
  await eventually('the statement in the store', async () => {
    const trace = await api(`/api/traces/${t.traceId}`).catch(() => null);
    statement = trace?.spans?.find((s: any) => s.isPostgres && s.name.startsWith('SELECT'));
    return statement !== undefined;
  });
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
