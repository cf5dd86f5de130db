// The web UI in a real headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core), against the embedded receiver fed by the official exporters.
// Every navigation feature runs at 1280 and at 800 px; a failing test leaves a
// screenshot in test-artifacts/.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { type Embedded, startEmbedded } from '../src/embedded';
import { openUi } from './chromium';
import { type RequestTrace, type Statement, sendTraces } from './embedded-seed';

const ARTIFACTS = path.resolve(__dirname, '..', '..', '..', 'test-artifacts');
const XSS_NAME = '<img src=x onerror="window.__xss=1">';
const XSS_SQL = "SELECT '</pre><script>window.__xss=2</script>' FROM users";
const N_PLUS_ONE = 440;

const fast = { parse: 0.1, plan: 0.3, execute: 1.2, commit: 0.1 };
const nPlusOne: Statement[] = [
  { sql: 'SELECT id FROM users ORDER BY id LIMIT 440', atMs: 1, phases: { parse: 0.1, plan: 0.2, execute: 2 }, rows: 440 },
  ...Array.from({ length: N_PLUS_ONE }, (_, i) => ({
    sql: `SELECT * FROM users WHERE id = ${i + 1}`,
    atMs: 4 + i * 0.5,
    phases: { parse: 0.01, plan: 0.02, execute: i === 300 ? 9 : 0.2 + (i % 7) * 0.01 },
    rows: 1,
  })),
];
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
        rows: 1,
      },
    ],
  },
  { method: 'GET', route: '/users/:id', path: '/users/8', durationMs: 14, agoMs: 2500, statements: [{ sql: 'SELECT * FROM users WHERE id = $1', atMs: 2, phases: fast, rows: 1 }] },
  {
    method: 'POST',
    route: '/orders',
    path: '/orders',
    durationMs: 35,
    agoMs: 2000,
    status: 201,
    statements: [
      { sql: 'INSERT INTO orders (user_id, total) VALUES ($1, $2) RETURNING id', atMs: 3, phases: { parse: 0.2, plan: 0.4, execute: 6, commit: 3 }, rows: 1 },
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
    statements: [{ sql: "SELECT sum(total) FROM orders WHERE created_at > now() - interval '1 day'", atMs: 4, phases: { parse: 0.2, plan: 1, execute: 50 }, error: 'canceling statement due to statement timeout' }],
  },
  { method: 'GET', route: XSS_NAME, path: '/xss', durationMs: 5, agoMs: 500, statements: [{ sql: XSS_SQL, atMs: 1, phases: fast }] },
  { method: 'GET', route: '/users', path: '/users', durationMs: 250, agoMs: 4000, statements: nPlusOne },
  {
    method: 'POST',
    route: '/invoices/:id/send',
    path: '/invoices/3/send',
    durationMs: 22,
    agoMs: 3500,
    service: 'billing-worker',
    pgSpans: false,
    statements: [
      { sql: 'SELECT * FROM invoices WHERE id = $1', atMs: 2, phases: fast },
      { sql: 'UPDATE invoices SET sent_at = now() WHERE id = $1', atMs: 8, phases: fast },
    ],
  },
  // Two hours old: outside "last hour".
  { method: 'GET', route: '/archive', path: '/archive', durationMs: 9, agoMs: 2 * 3_600_000, statements: [{ sql: 'SELECT * FROM archive LIMIT 10', atMs: 1, phases: fast, rows: 10 }] },
];
const ID = { slow: 0, fast: 1, orders: 2, health: 3, failed: 4, xss: 5, nPlusOne: 6, noPg: 7, old: 8 };

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
  // the URL the collector prints: sets the session cookie, then the UI opens without a token
  ({ context, page } = await openUi(userDataDir, e.uiLoginUrl));
}, 60_000);

afterAll(async () => {
  await context?.close();
  await e?.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const rowNames = () => page.locator('#rows tr td.name a').allTextContents();
const listIds = () => page.locator('#rows tr').evaluateAll((els) => els.map((el) => el.getAttribute('data-trace-id')));

/** Retries an assertion while the page catches up (the list reloads asynchronously). */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => void, timeoutMs = 8000): Promise<void> {
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

async function shot(name: string, fullPage = true): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage }).catch(() => undefined);
}

/** A test that leaves test-artifacts/ui-failed-<name>.png behind when it fails. */
function uiTest(name: string, fn: () => Promise<void>, timeoutMs = 30_000): void {
  test(
    name,
    async () => {
      try {
        await fn();
      } catch (err) {
        await shot(`ui-failed-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 80)}`);
        throw err;
      }
    },
    timeoutMs,
  );
}

async function openList(query = ''): Promise<void> {
  await page.goto(`${e.uiUrl}/${query}`);
  await page.locator('#rows tr').first().waitFor();
}

async function openTrace(id: string, hash = ''): Promise<void> {
  await page.goto(`${e.uiUrl}/trace.html?id=${id}${hash}`);
  await page.locator('.span-row').first().waitFor();
}

type Box = { x: number; y: number; width: number; height: number };
const box = async (selector: string): Promise<Box> => (await page.locator(selector).first().boundingBox())!;

uiTest('span names and SQL are shown as text, never run as markup', async () => {
  await openList();
  const xssRow = page.locator(`#rows tr[data-trace-id="${ids[ID.xss]}"]`);
  await expect(xssRow.locator('td.name a').textContent()).resolves.toBe(`GET ${XSS_NAME}`);
  await xssRow.locator('td.name a').click();
  await page.locator('pre.sql').waitFor();
  expect(await page.locator('pre.sql').textContent()).toContain('<script>window.__xss=2</script>');
  expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();
  expect(await page.locator('img, script:not([src])').count()).toBe(0);
});

describe.each([1280, 800])('at %i px', (width) => {
  beforeAll(async () => {
    await page.setViewportSize({ width, height: 900 });
  });

  uiTest(`${width}: the list shows service, HTTP status, duration, Postgres spans and errors`, async () => {
    await openList();
    await eventually(listIds, (l) => expect(l).toHaveLength(traces.length));
    const slow = page.locator(`#rows tr[data-trace-id="${ids[ID.slow]}"]`);
    await expect(slow.locator('td.service').textContent()).resolves.toBe('shop-api');
    await expect(slow.locator('td.duration').textContent()).resolves.toBe('480 ms');
    await expect(slow.locator('td.status').textContent()).resolves.toBe('200');
    await expect(slow.locator('td').nth(6).textContent()).resolves.toBe('1');
    const failed = page.locator(`#rows tr[data-trace-id="${ids[ID.failed]}"]`);
    await expect(failed.locator('td.status .badge.http.err').textContent()).resolves.toBe('500');
    await expect(failed.locator('.badge.err').last().textContent()).resolves.toBe('3');
    await expect(page.locator('#stats').textContent()).resolves.toMatch(/9 traces/);
    await expect(page.locator('#collector-summary').textContent()).resolves.toBe('collector: not running here');
    await shot(`ui-list-${width}`);
  });

  uiTest(`${width}: filters: service, errors, route, minimum duration, Postgres spans, SQL text`, async () => {
    await openList();
    await page.selectOption('#service', 'billing-worker');
    await eventually(listIds, (l) => expect(l).toEqual([ids[ID.noPg]]));
    expect(page.url()).toContain('service=billing-worker');

    await page.click('#reset');
    await page.check('#hasErrors');
    await eventually(listIds, (l) => expect(l).toEqual([ids[ID.failed]]));

    await page.click('#reset');
    await page.fill('#q', 'INTO orders');
    await page.click('#filters button[type=submit]');
    await eventually(rowNames, (names) => expect(names).toEqual(['POST /orders']));

    await page.click('#reset');
    await page.check('#hasPostgres');
    await eventually(rowNames, (names) => expect(names).toHaveLength(7));
    await page.selectOption('#route', '/users/:id');
    await eventually(rowNames, (names) => expect(names).toEqual(['GET /users/:id', 'GET /users/:id']));
    await page.fill('#minDurationMs', '100');
    await page.click('#filters button[type=submit]');
    await eventually(listIds, (l) => expect(l).toEqual([ids[ID.slow]]));
    expect(page.url()).toContain('minDurationMs=100');
    // Into the trace and back: the filtered view is still there.
    await page.locator('#rows tr td.name a').first().click();
    await page.locator('.span-row').first().waitFor();
    await page.click('#back');
    await eventually(listIds, (l) => expect(l).toEqual([ids[ID.slow]]));
    expect(page.url()).toContain('minDurationMs=100');
  });

  uiTest(`${width}: sort and time range`, async () => {
    await openList();
    await page.selectOption('#sort', 'longest');
    await eventually(listIds, (l) => expect(l.slice(0, 3)).toEqual([ids[ID.slow], ids[ID.nPlusOne], ids[ID.failed]]));
    await page.selectOption('#sort', 'oldest');
    await eventually(listIds, (l) => expect(l[0]).toBe(ids[ID.old]));
    await page.selectOption('#range', '1h');
    await eventually(listIds, (l) => expect(l).toHaveLength(traces.length - 1));
    expect((await listIds())[0]).not.toBe(ids[ID.old]);
    expect(page.url()).toMatch(/range=1h.*sort=oldest|sort=oldest.*range=1h/);

    // A custom range around the old trace only.
    await page.selectOption('#range', 'custom');
    const at = Date.now() - 2 * 3_600_000;
    const local = (ms: number) => {
      const d = new Date(ms);
      const p = (n: number) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
    };
    await page.fill('#range-from', local(at - 5 * 60_000));
    await page.fill('#range-to', local(at + 5 * 60_000));
    await page.locator('#range-to').dispatchEvent('change');
    await eventually(listIds, (l) => expect(l).toEqual([ids[ID.old]]));
    // Reloading the address gives the same view.
    await page.reload();
    await eventually(listIds, (l) => expect(l).toEqual([ids[ID.old]]));
    await expect(page.locator('#range').inputValue()).resolves.toBe('custom');
  });

  uiTest(`${width}: open a trace by id`, async () => {
    await openList();
    await page.fill('#trace-id', 'not-an-id');
    await page.press('#trace-id', 'Enter');
    await eventually(() => page.locator('#error').textContent(), (t) => expect(t).toMatch(/32 hexadecimal digits/));
    await page.fill('#trace-id', ids[ID.orders].toUpperCase());
    await page.press('#trace-id', 'Enter');
    await page.waitForURL(/trace\.html\?id=/);
    await expect(page.locator('.summary h1').textContent()).resolves.toBe('POST /orders');
  });

  uiTest(`${width}: the slow trace: phases nested, slowest marked, badges leave names and durations readable`, async () => {
    await openTrace(ids[ID.slow]);
    await page.locator('.span-row').nth(6).waitFor();
    const rows = await page.locator('.span-row').evaluateAll((els) =>
      els.map((el) => ({ name: el.getAttribute('data-name'), depth: Number(el.getAttribute('data-depth')), cls: el.className })),
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
    await expect(page.locator('.span-row').first().locator('.badge.http').textContent()).resolves.toBe('200');

    // The row with the most badges: the name keeps its text, badges end before the duration column.
    const root = page.locator('.span-row').first();
    const name = (await root.locator('.wf-name').boundingBox())!;
    const nameText = await root.locator('.wf-name').evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
    expect(nameText.client).toBe(nameText.scroll); // not cut
    const badges = (await root.locator('.wf-badges').boundingBox())!;
    const dur = (await root.locator('.wf-dur').boundingBox())!;
    expect(name.x + name.width).toBeLessThanOrEqual(badges.x + 0.5);
    expect(badges.x + badges.width).toBeLessThanOrEqual(dur.x + 0.5);
    const exec = page.locator('.span-row[data-name="execute"]');
    expect(await exec.locator('.wf-dur').textContent()).toBe('410 ms');
    const execName = await exec.locator('.wf-name').evaluate((el) => el.clientWidth >= el.scrollWidth);
    expect(execName).toBe(true);

    await expect(page.locator('.slowest-card').textContent()).resolves.toMatch(/execute of SELECT users\s*410 ms/);
    await expect(page.locator('.pg-card').textContent()).resolves.toMatch(/416 ms.*1 statement/);
    await page.locator('.span-row.pg-statement').click();
    await expect(page.locator('#details h2').textContent()).resolves.toBe('SELECT users');
    const sql = await page.locator('#details pre.sql').textContent();
    expect(sql!.replace(/\s+/g, ' ')).toBe(traces[0].statements[0].sql.replace(/\s+/g, ' '));
    await expect(page.locator('#details table.phases').textContent()).resolves.toMatch(/plan4\.50 ms \(1%\)execute410 ms \(99%\)/);
    await page.locator('.span-row[data-name="plan"]').click();
    await expect(page.locator('#details h3').first().textContent()).resolves.toBe('SQL of SELECT users');
    await shot(`ui-trace-${width}`);
  });

  uiTest(`${width}: collapse and expand subtrees`, async () => {
    await openTrace(ids[ID.orders]);
    await eventually(() => page.locator('.span-row').count(), (n) => expect(n).toBe(1 + 2 * 6));
    // Collapse the first pg client span: its statement and phases go away.
    const client = page.locator('.span-row.db-client').first();
    await client.locator('.wf-toggle').click();
    await eventually(() => page.locator('.span-row').count(), (n) => expect(n).toBe(1 + 1 + 6));
    await expect(page.locator('.span-row.db-client').first().locator('.wf-toggle').getAttribute('aria-expanded')).resolves.toBe('false');
    await page.locator('.span-row.db-client').first().locator('.wf-toggle').click();
    await eventually(() => page.locator('.span-row').count(), (n) => expect(n).toBe(13));
    // The keyboard: ↓ to the second row, ← folds it, → opens it again.
    await page.locator('.span-row').first().focus();
    await page.keyboard.press('ArrowDown');
    await expect(page.evaluate(() => document.activeElement?.getAttribute('data-name'))).resolves.toBe('INSERT orders');
    await page.keyboard.press('ArrowLeft');
    await eventually(() => page.locator('.span-row').count(), (n) => expect(n).toBe(8));
    await page.keyboard.press('ArrowRight');
    await eventually(() => page.locator('.span-row').count(), (n) => expect(n).toBe(13));
    await page.keyboard.press('Enter');
    await expect(page.locator('#details h2').textContent()).resolves.toBe('INSERT orders');
    await page.click('#collapse-all');
    await eventually(() => page.locator('.span-row').count(), (n) => expect(n).toBe(1));
    await page.click('#expand-all');
    await eventually(() => page.locator('.span-row').count(), (n) => expect(n).toBe(13));
  });

  uiTest(`${width}: an N+1 trace folds into one row per repeated statement`, async () => {
    await openTrace(ids[ID.nPlusOne]);
    const group = page.locator('.group-row[data-name="SELECT users"]');
    await group.waitFor();
    await expect(group.getAttribute('data-count')).resolves.toBe(String(N_PLUS_ONE));
    const text = (await group.textContent())!;
    expect(text).toMatch(new RegExp(`SELECT users\\s*×${N_PLUS_ONE}`));
    expect(text).toMatch(/total [\d.]+ (ms|s) · min [\d.]+ (µs|ms) · max 9\.\d+ ms/);
    // Root, the list query with its statement and phases, the group: not 2,200 rows.
    expect(await page.locator('.span-row').count()).toBeLessThan(10);
    await expect(page.locator('.repeat-card').textContent()).resolves.toMatch(new RegExp(`SELECT users ×${N_PLUS_ONE}`));
    await shot(`ui-nplusone-${width}`);

    await group.click();
    await eventually(() => page.locator('.span-row.in-group').count(), (n) => expect(n).toBe(N_PLUS_ONE));

    // Click a span far down: the details panel must be next to it, not a page away.
    const far = page.locator('.span-row.in-group').nth(400);
    await far.scrollIntoViewIfNeeded();
    await far.click();
    await expect(page.locator('#details h2').textContent()).resolves.toBe('SELECT users');
    const row = (await far.boundingBox())!;
    const details = await box('#details');
    if (width < 1100) {
      // Right under the clicked row.
      expect(details.y).toBeGreaterThanOrEqual(row.y + row.height - 1);
      expect(details.y - (row.y + row.height)).toBeLessThan(40);
    } else {
      // Beside the waterfall and on screen (sticky).
      expect(details.x).toBeGreaterThan(row.x + row.width - 1);
      expect(details.y).toBeGreaterThanOrEqual(0);
      expect(details.y).toBeLessThan(900);
    }
    await shot(`ui-details-near-${width}`, false);

    // Zoom the axis to that one call: its bar fills the track, the axis starts at its offset.
    await page.click('#zoom-span');
    const zoomedRow = page.locator('.span-row.selected');
    const track = (await zoomedRow.locator('.wf-track').boundingBox())!;
    const zbar = (await zoomedRow.locator('.wf-bar').boundingBox())!;
    expect(zbar.width).toBeGreaterThan(track.width * 0.98);
    await expect(page.locator('.wf-axis .tick').first().textContent()).resolves.toMatch(/^204 ms$/);
    await shot(`ui-zoomed-${width}`, false);
    await page.click('#zoom-reset');
    await eventually(() => page.locator('.wf-axis .tick').first().textContent(), (t) => expect(t).toBe('0'));
    await group.click();
    await eventually(() => page.locator('.span-row.in-group').count(), (n) => expect(n).toBe(0));
  });

  uiTest(`${width}: find in a trace marks matches, Enter opens the group that hides one`, async () => {
    await openTrace(ids[ID.nPlusOne]);
    await page.locator('.group-row').waitFor();
    await page.fill('#find', 'id = 401');
    // The pg client span and the PostgreSQL span of that one call.
    await eventually(() => page.locator('#find-count').textContent(), (t) => expect(t).toBe('2 matches'));
    await expect(page.locator('.group-row').getAttribute('class')).resolves.toContain('match');
    expect(await page.locator('.span-row.match').count()).toBe(0);
    await page.press('#find', 'Enter');
    await eventually(() => page.locator('.span-row.selected.match').count(), (n) => expect(n).toBe(1));
    const selected = await box('.span-row.selected');
    expect(selected.y).toBeGreaterThanOrEqual(0);
    expect(selected.y).toBeLessThan(900);
    await expect(page.locator('#details pre.sql').textContent()).resolves.toBe('SELECT * FROM users WHERE id = 401');
    await shot(`ui-find-${width}`, false);
    await page.press('#find', 'Enter');
    await eventually(() => page.locator('.span-row.selected').getAttribute('class'), (c) => expect(c).toContain('pg-statement'));
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('find');
  });

  uiTest(`${width}: a span linked by its address opens its group and scrolls to it`, async () => {
    const detail = await (await fetch(`${e.uiUrl}/api/traces/${ids[ID.nPlusOne]}`, { headers: { authorization: `Bearer ${e.uiToken}` } })).json();
    const deep = detail.spans.find((s: any) => s.name === 'execute' && s.durationMs > 8);
    await openTrace(ids[ID.nPlusOne], `#span=${deep.spanId}`);
    await eventually(() => page.locator('.span-row.selected').getAttribute('data-span-id'), (id) => expect(id).toBe(deep.spanId));
    const selected = (await box('.span-row.selected'));
    expect(selected.y).toBeGreaterThanOrEqual(0);
    expect(selected.y).toBeLessThan(900);
  });

  uiTest(`${width}: pg client spans without PostgreSQL spans say why`, async () => {
    await openTrace(ids[ID.noPg]);
    const card = page.locator('#missing-postgres');
    await card.waitFor();
    const text = (await card.textContent())!;
    expect(text).toMatch(/2 pg client spans and nothing from inside PostgreSQL/);
    expect(text).toMatch(/No eBPF collector runs with this UI/);
    expect(text).toMatch(/@pgferret\/sdk may not be loaded/);
    expect(text).toMatch(/not have been sampled/);
    // A trace with PostgreSQL spans has no such card.
    await openTrace(ids[ID.orders]);
    await page.locator('.pg-card').waitFor();
    expect(await page.locator('#missing-postgres').count()).toBe(0);
  });

  uiTest(`${width}: top queries: sortable, over a time range, linking to the slowest traces`, async () => {
    await page.goto(`${e.uiUrl}/queries.html`);
    await page.locator('tr.query-row').first().waitFor();
    const texts = () => page.locator('tr.query-row td.query-text').allTextContents();
    // By total time: the 440 lookups (one of them 9 ms), then the 416 ms join.
    await eventually(texts, (t) => expect(t[0]).toBe('SELECT u.id, u.name, count(o.id) AS orders FROM users u LEFT JOIN orders o ON o.user_id = u.id WHERE u.id = $1 GROUP BY u.id, u.name ORDER BY orders DESC'));
    // the lookups by parameter, not the one lookup by literal (also shown `$1`, a fingerprint of its own as in pg_stat_statements)
    const lookups = page
      .locator('tr.query-row', { hasText: 'SELECT * FROM users WHERE id = $1' })
      .filter({ has: page.locator('td.calls', { hasText: new RegExp(`^${N_PLUS_ONE}$`) }) });
    await expect(lookups.locator('td.calls').textContent()).resolves.toBe(String(N_PLUS_ONE));
    await expect(lookups.locator('td.rows').textContent()).resolves.toBe(String(N_PLUS_ONE));
    await expect(page.locator('#totals').textContent()).resolves.toMatch(/9 queries · 448 calls/);

    await page.click('button.sort[data-sort="calls"]');
    await eventually(texts, (t) => expect(t[0]).toBe('SELECT * FROM users WHERE id = $1'));
    expect(page.url()).toContain('sort=calls');
    await page.click('button.sort[data-sort="errors"]');
    await eventually(texts, (t) => expect(t[0]).toMatch(/^SELECT sum\(total\) FROM orders/));
    await expect(page.locator('tr.query-row').first().locator('td.errors').textContent()).resolves.toBe('1');

    await page.selectOption('#range', '1h');
    await eventually(texts, (t) => expect(t.some((x) => x.includes('archive'))).toBe(false));
    await page.selectOption('#range', 'all');
    await eventually(texts, (t) => expect(t.some((x) => x.includes('archive'))).toBe(true));

    await page.click('button.sort[data-sort="p95"]');
    await lookups.click();
    const slowest = page.locator('tr.query-detail:not([hidden]) .slowest-list a').first();
    await slowest.waitFor();
    await expect(slowest.textContent()).resolves.toMatch(/^9\.\d+ ms$/);
    await expect(page.locator('tr.query-detail:not([hidden]) .slowest-list li').first().textContent()).resolves.toMatch(/ · in GET \/users · trace /);
    await shot(`ui-top-queries-${width}`);
    await slowest.click();
    await page.waitForURL(/trace\.html\?id=.*#span=/);
    await eventually(() => page.locator('.span-row.selected').getAttribute('data-name'), (n) => expect(n).toBe('SELECT users'));
    expect(page.url()).toContain(ids[ID.nPlusOne]);
  });
});

uiTest('auto-refresh shows new traces without a reload', async () => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await openList('?refresh=5');
  await expect(page.locator('#refresh').inputValue()).resolves.toBe('5');
  const before = (await listIds()).length;
  const [fresh] = await sendTraces(e.otlpUrl, [{ method: 'GET', route: '/fresh', path: '/fresh', durationMs: 3, agoMs: 0, statements: [] }]);
  await eventually(listIds, (l) => {
    expect(l).toHaveLength(before + 1);
    expect(l[0]).toBe(fresh);
  }, 12_000);
});

uiTest('an error trace marks the failing spans', async () => {
  await page.goto(`${e.uiUrl}/trace.html?id=${ids[4]}`);
  await page.locator('.span-row').first().waitFor();
  expect(await page.locator('.span-row.error').count()).toBe(3);
  await page.locator('.span-row.pg-statement').click();
  await expect(page.locator('#details').textContent()).resolves.toMatch(/error: canceling statement due to statement timeout/);
  await expect(page.locator('#details table.attrs:not(.phases)').first().textContent()).resolves.toMatch(/db\.response\.status_code\s*57014 \(query_canceled\)/);
});

uiTest('an unknown trace id says so', async () => {
  await page.goto(`${e.uiUrl}/trace.html?id=${'f'.repeat(32)}`);
  await page.locator('#error').waitFor();
  await expect(page.locator('#error').textContent()).resolves.toMatch(/not stored/);
});

uiTest('the API refuses bad parameters with a message', async () => {
  const bad = async (q: string) => {
    const res = await fetch(`${e.uiUrl}${q}`, { headers: { authorization: `Bearer ${e.uiToken}` } });
    return { status: res.status, body: (await res.json()) as { error: string } };
  };
  await expect(bad('/api/traces?sort=fastest')).resolves.toMatchObject({ status: 400, body: { error: expect.stringMatching(/sort must be one of newest, oldest/) } });
  await expect(bad('/api/top-queries?from=20&to=10')).resolves.toMatchObject({ status: 400, body: { error: expect.stringMatching(/from \(20\) must be before to/) } });
  await expect(bad('/api/top-queries?sort=name')).resolves.toMatchObject({ status: 400 });
  await expect(bad('/api/traces?sort=longest&before=123')).resolves.toMatchObject({ status: 400, body: { error: expect.stringMatching(/page with offset/) } });
  await expect(bad('/api/traces?offset=100')).resolves.toMatchObject({ status: 400, body: { error: expect.stringMatching(/pages with before/) } });
  await expect(bad('/api/collector')).resolves.toMatchObject({ status: 200, body: { running: false } });
});
