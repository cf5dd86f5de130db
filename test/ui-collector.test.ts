// The web UI with a real collector behind it: a real PostgreSQL cluster, the
// eBPF probes attached to it (filtered to its port: other sessions' clusters
// are not ours), the embedded store and UI, and Chromium reading what the
// collector's status() says — attached clusters, drops, why a trace has no
// PostgreSQL spans — and top queries built from statements it really traced.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import type { BrowserContext, Page } from 'playwright-core';
import { RUN_DEFAULTS, type Running, startRun } from '../packages/collector/dist/run';
import { launchChromium } from '../packages/collector/test/chromium';
import { sendTraces } from '../packages/collector/test/embedded-seed';
import { eventually } from './helpers/collector';
import { type PgCluster, startPostgres } from './helpers/postgres';

const ARTIFACTS = path.resolve(__dirname, '..', 'test-artifacts');
const APP_PORT = 5432;

let pg: PgCluster;
let running: Running;
let storeDir: string;
let userDataDir: string;
let context: BrowserContext;
let page: Page;
let appOnlyTrace: string;

beforeAll(async () => {
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  delete process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  pg = await startPostgres({ flavor: 'debian' });
  if (pg.port === APP_PORT) throw new Error(`the test cluster got port ${APP_PORT}, which the app-only trace claims to use`);
  storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-ui-collector-store-'));
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-ui-collector-chromium-'));
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  running = await startRun(
    {
      ...RUN_DEFAULTS,
      filter: { ports: [pg.port] },
      // Every statement traced: these come without a traceparent.
      rootSampleRate: 1,
      rawQueryText: false,
      stateDir: storeDir,
      otlpPort: 0,
      uiPort: 0,
      allowNonLoopback: false,
    },
    () => undefined,
  );
  // An app whose pg spans name a server on port 5432: not the one the collector watches.
  [appOnlyTrace] = await sendTraces(running.embedded!.otlpUrl, [
    {
      method: 'GET',
      route: '/elsewhere',
      path: '/elsewhere',
      durationMs: 12,
      agoMs: 100,
      pgSpans: false,
      statements: [{ sql: 'SELECT * FROM accounts WHERE id = $1', atMs: 1, phases: { parse: 0.1, plan: 0.1, execute: 1 } }],
    },
  ]);
  context = await launchChromium(userDataDir);
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(10_000);
  // the URL the collector prints: sets the session cookie
  await page.goto(running.embedded!.uiLoginUrl);
}, 90_000);

/** The UI's JSON API, with the token a script uses. */
const api = (pathname: string) => fetch(`${running.embedded!.uiUrl}${pathname}`, { headers: { authorization: `Bearer ${running.embedded!.uiToken}` } });

afterAll(async () => {
  await context?.close();
  await running?.stop();
  await pg?.stop();
  for (const d of [storeDir, userDataDir]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

async function withScreenshot(name: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    await page.screenshot({ path: path.join(ARTIFACTS, `ui-collector-failed-${name}.png`), fullPage: true }).catch(() => undefined);
    throw err;
  }
}

test('the API gives the collector state: our cluster attached', async () => {
  const res = await api('/api/collector');
  const state = await res.json();
  expect(state.running).toBe(true);
  const ours = state.clusters.find((c: { port: number }) => c.port === pg.port);
  expect(ours).toMatchObject({ pid: pg.pid, error: null });
  expect(state.export).toMatchObject({ dropped: 0 });
});

test.each([1280, 800])('at %i px: the header shows attached clusters and drops, a trace without PostgreSQL spans says why', async (width) => {
  await page.setViewportSize({ width, height: 900 });
  await withScreenshot(`header-${width}`, async () => {
    await page.goto(`${running.embedded!.uiUrl}/`);
    const summary = page.locator('#collector-summary');
    await summary.waitFor();
    // Only our cluster matches the filter; nothing dropped so far.
    expect(await summary.textContent()).toBe('collector: 1 cluster attached · 0 dropped');
    await summary.click();
    const panel = page.locator('.collector-panel');
    expect(await panel.textContent()).toContain(`port ${pg.port}`);
    expect(await panel.textContent()).toMatch(/PostgreSQL \d+ · pid \d+/);
    await page.screenshot({ path: path.join(ARTIFACTS, `ui-collector-panel-${width}.png`) });

    await page.goto(`${running.embedded!.uiUrl}/trace.html?id=${appOnlyTrace}`);
    const card = page.locator('#missing-postgres');
    await card.waitFor();
    expect(await card.textContent()).toContain(`The app talks to port ${APP_PORT}; the collector is attached to port ${pg.port}.`);
    expect(await card.textContent()).not.toContain('No eBPF collector runs');
    await page.screenshot({ path: path.join(ARTIFACTS, `ui-collector-missing-${width}.png`) });
  });
}, 30_000);

test('top queries lists statements the collector traced', async () => {
  await withScreenshot('top-queries', async () => {
    const c = new Client({ connectionString: pg.connectionString });
    await c.connect();
    await c.query('CREATE TABLE ui_probe (id int PRIMARY KEY, v text)');
    for (let i = 0; i < 5; i++) await c.query(`INSERT INTO ui_probe VALUES (${i}, 'v${i}')`);
    await c.end();
    const ui = running.embedded!.uiUrl;
    await eventually('the five INSERTs in top queries', async () => {
      const top = await (await api('/api/top-queries')).json();
      return top.queries.some((q: { text: string; calls: number }) => q.text === 'INSERT INTO ui_probe VALUES ($1, $2)' && q.calls === 5);
    });
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${ui}/queries.html`);
    const row = page.locator('tr.query-row', { hasText: 'INSERT INTO ui_probe VALUES ($1, $2)' });
    await row.waitFor();
    expect(await row.locator('td.calls').textContent()).toBe('5');
    await row.click();
    const link = page.locator('tr.query-detail:not([hidden]) .slowest-list a').first();
    await link.click();
    await page.waitForURL(/trace\.html\?id=.*#span=/);
    await page.locator('.span-row.selected').waitFor();
    expect(await page.locator('.span-row.selected').getAttribute('data-name')).toBe('INSERT ui_probe');
  });
}, 60_000);
