// The web UI in a real headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core), against the embedded receiver fed by the official exporters.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { type Embedded, startEmbedded } from '../src/embedded';
import { type RequestTrace, sendTraces } from './embedded-seed';

const ARTIFACTS = path.resolve(__dirname, '..', '..', '..', 'test-artifacts');
const XSS_NAME = '<img src=x onerror="window.__xss=1">';
const XSS_SQL = "SELECT '</pre><script>window.__xss=2</script>' FROM users";

const fast = { parse: 0.1, plan: 0.3, execute: 1.2, commit: 0.1 };
const traces: RequestTrace[] = [
  {
    method: 'GET',
    route: '/users/:id',
    path: '/users/7',
    durationMs: 480,
    agoMs: 3000,
    statements: [
      {
        sql: "SELECT u.id, u.name, count(o.id) AS orders FROM users u LEFT JOIN orders o ON o.user_id = u.id WHERE u.id = $1 GROUP BY u.id, u.name ORDER BY orders DESC /*traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'*/",
        atMs: 12,
        phases: { parse: 0.6, plan: 4.5, execute: 410, commit: 0.9 },
      },
    ],
  },
  { method: 'GET', route: '/users/:id', path: '/users/8', durationMs: 14, agoMs: 2500, statements: [{ sql: 'SELECT * FROM users WHERE id = $1', atMs: 2, phases: fast }] },
  {
    method: 'POST',
    route: '/orders',
    path: '/orders',
    durationMs: 35,
    agoMs: 2000,
    statements: [
      { sql: 'INSERT INTO orders (user_id, total) VALUES ($1, $2) RETURNING id', atMs: 3, phases: { parse: 0.2, plan: 0.4, execute: 6, commit: 3 } },
      { sql: 'UPDATE users SET last_order_at = now() WHERE id = $1', atMs: 18, phases: { parse: 0.2, plan: 0.3, execute: 4, commit: 2 } },
    ],
  },
  { method: 'GET', route: '/health', path: '/health', durationMs: 1.5, agoMs: 1500, statements: [] },
  {
    method: 'GET',
    route: '/reports/daily',
    path: '/reports/daily',
    durationMs: 60,
    agoMs: 1000,
    status: 500,
    statements: [{ sql: 'SELECT sum(total) FROM orders WHERE created_at > now() - interval \'1 day\'', atMs: 4, phases: { parse: 0.2, plan: 1, execute: 50 }, error: 'canceling statement due to statement timeout' }],
  },
  { method: 'GET', route: XSS_NAME, path: '/xss', durationMs: 5, agoMs: 500, statements: [{ sql: XSS_SQL, atMs: 1, phases: fast }] },
];

let e: Embedded;
let context: BrowserContext;
let page: Page;
let userDataDir: string;
let dataDir: string;
let ids: string[];

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-ui-data-'));
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-ui-chromium-'));
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  e = await startEmbedded({ dataDir, otlpPort: 0, uiPort: 0, log: () => {} });
  ids = await sendTraces(e.otlpUrl, traces, 'proto');
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1440, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(5000);
  page.on('pageerror', (err) => {
    throw err;
  });
  // the URL the collector prints: sets the session cookie, then the UI opens without a token
  await page.goto(e.uiLoginUrl);
});

afterAll(async () => {
  await context?.close();
  await e?.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const rowNames = () => page.locator('#rows tr td.name a').allTextContents();

/** Retries an assertion while the page catches up (the list reloads asynchronously). */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => void, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check(await read());
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

test('the list shows every trace with service, duration, Postgres spans and errors', async () => {
  await page.goto(`${e.uiUrl}/`);
  await page.locator('#rows tr').nth(traces.length - 1).waitFor();
  expect(await page.locator('#rows tr').count()).toBe(traces.length);
  const slow = page.locator(`#rows tr[data-trace-id="${ids[0]}"]`);
  await expect(slow.locator('td').nth(2).textContent()).resolves.toBe('shop-api');
  await expect(slow.locator('td.duration').textContent()).resolves.toBe('480 ms');
  await expect(slow.locator('td').nth(5).textContent()).resolves.toBe('1');
  const failed = page.locator(`#rows tr[data-trace-id="${ids[4]}"]`);
  await expect(failed.locator('.badge.err').textContent()).resolves.toBe('3');
  await expect(page.locator('#stats').textContent()).resolves.toMatch(/6 traces/);
  await page.screenshot({ path: path.join(ARTIFACTS, 'ui-trace-list.png'), fullPage: true });
});

test('span names and SQL are shown as text, never run as markup', async () => {
  const xssRow = page.locator(`#rows tr[data-trace-id="${ids[5]}"]`);
  await expect(xssRow.locator('td.name a').textContent()).resolves.toBe(`GET ${XSS_NAME}`);
  await xssRow.locator('td.name a').click();
  await page.locator('pre.sql').waitFor();
  expect(await page.locator('pre.sql').textContent()).toContain('<script>window.__xss=2</script>');
  expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();
  expect(await page.locator('img, script:not([src])').count()).toBe(0);
});

test('filters: route, minimum duration, Postgres spans, SQL text', async () => {
  await page.goto(`${e.uiUrl}/`);
  await page.locator('#rows tr').nth(traces.length - 1).waitFor();

  await page.fill('#q', 'INTO orders');
  await page.click('#filters button[type=submit]');
  await eventually(rowNames, (names) => expect(names).toEqual(['POST /orders']));

  await page.click('#reset');
  await page.check('#hasPostgres');
  await eventually(rowNames, (names) => expect(names).toHaveLength(5));

  await page.selectOption('#route', '/users/:id');
  await eventually(rowNames, (names) => expect(names).toEqual(['GET /users/:id', 'GET /users/:id']));

  await page.fill('#minDurationMs', '100');
  await page.click('#filters button[type=submit]');
  await eventually(rowNames, (names) => expect(names).toEqual(['GET /users/:id']));
  expect(page.url()).toContain('minDurationMs=100');
  await expect(page.locator('#rows tr').getAttribute('data-trace-id')).resolves.toBe(ids[0]);
});

test('the slow trace: Postgres phases nested under the pg span, the slowest part marked, SQL on click', async () => {
  // Filters in the address are applied on load.
  await page.goto(`${e.uiUrl}/?route=%2Fusers%2F%3Aid&minDurationMs=100`);
  await eventually(rowNames, (names) => expect(names).toEqual(['GET /users/:id']));
  await page.locator('#rows tr td.name a').first().click();
  await page.waitForURL(/trace\.html\?id=/);
  await page.locator('.span-row').nth(6).waitFor();

  const rows = await page.locator('.span-row').evaluateAll((els) =>
    els.map((el) => ({
      name: el.getAttribute('data-name'),
      depth: Number(el.getAttribute('data-depth')),
      cls: el.className,
    })),
  );
  expect(rows.map((r) => [r.name, r.depth])).toEqual([
    ['GET /users/:id', 0],
    ['SELECT users', 1],
    ['SELECT users', 2],
    ['parse', 3],
    ['plan', 3],
    ['execute', 3],
    ['commit', 3],
  ]);
  expect(rows[0].cls).toContain('server');
  expect(rows[1].cls).toContain('db-client');
  expect(rows[2].cls).toContain('pg-statement');
  expect(rows[5].cls).toContain('phase-execute');
  expect(rows[5].cls).toContain('slowest');

  await expect(page.locator('.slowest-card').textContent()).resolves.toMatch(/execute of SELECT users\s*410 ms/);
  await expect(page.locator('.pg-card').textContent()).resolves.toMatch(/416 ms.*1 statement/);
  await expect(page.locator('.phase-legend').textContent()).resolves.toMatch(/parse.*plan.*execute 410 ms.*commit/);

  await page.locator('.span-row.pg-statement').click();
  await expect(page.locator('#details h2').textContent()).resolves.toBe('SELECT users');
  const sql = await page.locator('#details pre.sql').textContent();
  expect(sql).toContain('SELECT u.id, u.name, count(o.id) AS orders');
  expect(sql).toMatch(/\nFROM users u\nLEFT JOIN orders o/);
  expect(sql!.replace(/\s+/g, ' ')).toBe(traces[0].statements[0].sql.replace(/\s+/g, ' '));
  await expect(page.locator('#details table.attrs:not(.phases)').first().textContent()).resolves.toMatch(/db\.namespace\s*shop/);
  await expect(page.locator('#details table.phases').textContent()).resolves.toMatch(/plan4\.50 ms \(1%\)execute410 ms \(99%\)/);
  await page.screenshot({ path: path.join(ARTIFACTS, 'ui-trace-waterfall.png'), fullPage: true });

  await page.locator('.span-row[data-name="plan"]').click();
  await expect(page.locator('#details h3').first().textContent()).resolves.toBe('SQL of SELECT users');
});

test('an error trace marks the failing spans', async () => {
  await page.goto(`${e.uiUrl}/trace.html?id=${ids[4]}`);
  await page.locator('.span-row').first().waitFor();
  expect(await page.locator('.span-row.error').count()).toBe(3);
  await page.locator('.span-row.pg-statement').click();
  await expect(page.locator('#details').textContent()).resolves.toMatch(/error: canceling statement due to statement timeout/);
  await expect(page.locator('#details table.attrs:not(.phases)').first().textContent()).resolves.toMatch(/db\.response\.status_code\s*57014 \(query_canceled\)/);
});

test('an unknown trace id says so', async () => {
  await page.goto(`${e.uiUrl}/trace.html?id=${'f'.repeat(32)}`);
  await page.locator('#error').waitFor();
  await expect(page.locator('#error').textContent()).resolves.toMatch(/not stored/);
});
