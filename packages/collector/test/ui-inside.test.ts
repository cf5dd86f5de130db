// What happens inside a statement (docs/inside-execute.md), in a real headless
// Chromium: wait spans hatched, lock waits red with their blocker named and
// linked across traces, buffers/WAL as EXPLAIN prints them, on/off CPU, short
// waits, nested statements indented with their depth and aggregates as ×N.
// The spans go through the OTLP/JSON receiver as any exporter sends them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { type Embedded, startEmbedded } from '../src/embedded';
import { openUi } from './chromium';
import { BLOCKER_QUERY, BLOCKER_TRACE, IDS, SAME_TRACE, WAITER_TRACE, insideTraces, otlpJson } from './inside-fixtures';

const ARTIFACTS = path.resolve(__dirname, '..', '..', '..', 'test-artifacts');

let e: Embedded;
let context: BrowserContext;
let page: Page;
let userDataDir: string;
let dataDir: string;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-ui-inside-data-'));
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-ui-inside-chromium-'));
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  e = await startEmbedded({ dataDir, otlpPort: 0, uiPort: 0, log: () => {} });
  const res = await fetch(`${e.otlpUrl}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(otlpJson(insideTraces(Date.now() - 5000))),
  });
  expect(res.status).toBe(200);
  // the URL the collector prints: sets the session cookie, then the UI opens without a token
  ({ context, page } = await openUi(userDataDir, e.uiLoginUrl));
}, 60_000);

afterAll(async () => {
  await context?.close();
  await e?.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function shot(name: string, fullPage = true): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage }).catch(() => undefined);
}

/** A test that leaves test-artifacts/ui-inside-failed-<name>.png behind when it fails. */
function uiTest(name: string, fn: () => Promise<void>): void {
  test(name, async () => {
    try {
      await fn();
    } catch (err) {
      await shot(`ui-inside-failed-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 80)}`);
      throw err;
    }
  }, 30_000);
}

async function openTrace(id: string, hash = ''): Promise<void> {
  await page.goto(`${e.uiUrl}/trace.html?id=${id}${hash}`);
  await page.locator('.span-row').first().waitFor();
}

const row = (spanId: string) => page.locator(`.span-row[data-span-id="${spanId}"]`);

test('the API returns the links and the EXPLAIN lines of the stored spans', async () => {
  const res = await fetch(`${e.uiUrl}/api/traces/${WAITER_TRACE}`, { headers: { authorization: `Bearer ${e.uiToken}` } });
  const { spans } = (await res.json()) as { spans: { spanId: string; links: unknown[]; usage: string[] }[] };
  const lockWait = spans.find((s) => s.spanId === IDS.lockWait)!;
  expect(lockWait.links).toEqual([
    { traceId: BLOCKER_TRACE, spanId: IDS.blockerStatement, attributes: { 'pgferret.link.type': 'lock_blocker', 'postgresql.backend.pid': 4711 } },
  ]);
  expect(lockWait.usage).toEqual([]);
  expect(spans.find((s) => s.spanId === IDS.waiterStatement)!.usage).toEqual([
    'Buffers: shared hit=12 read=340 dirtied=2 written=1, temp read=4 written=4',
    'I/O Timings: shared read=1.234 write=0.000',
    'WAL: records=3 fpi=1 bytes=1234',
  ]);
});

describe.each([1280, 800])('at %i px', (width) => {
  beforeAll(async () => {
    await page.setViewportSize({ width, height: 900 });
  });

  uiTest(`${width}: waits hang under their phase, hatched, the lock wait in red; nested statements indent by depth`, async () => {
    await openTrace(WAITER_TRACE);
    const rows = await page.locator('.span-row').evaluateAll((els) =>
      els.map((el) => [el.getAttribute('data-name'), Number(el.getAttribute('data-depth')), el.className]),
    );
    expect(rows.map(([name, depth]) => [name, depth])).toEqual([
      ['GET /restock', 0],
      ['pg.query:UPDATE shop', 1],
      ['UPDATE inventory', 2],
      ['parse', 3],
      ['plan', 3],
      ['execute', 3],
      ['wait Lock:transactionid', 4],
      ['wait IO:DataFileRead', 4],
      ['INSERT inventory_audit', 3],
      ['SELECT audit_config', 4],
      ['UPDATE stats', 3],
      ['commit', 3],
    ]);
    const cls = Object.fromEntries(rows.map(([name, , c]) => [name, c as string]));
    expect(cls['wait Lock:transactionid']).toMatch(/\bpg-wait\b.*\bwait-lock\b/);
    expect(cls['wait IO:DataFileRead']).toMatch(/\bpg-wait\b/);
    expect(cls['wait IO:DataFileRead']).not.toMatch(/wait-lock/);
    for (const n of ['INSERT inventory_audit', 'SELECT audit_config', 'UPDATE stats']) expect(cls[n]).toMatch(/\bpg-nested\b/);

    // hatched bars; the lock's in red
    const barImage = (id: string) => row(id).locator('.wf-bar').evaluate((el) => getComputedStyle(el).backgroundImage);
    await expect(barImage(IDS.lockWait)).resolves.toMatch(/repeating-linear-gradient\(135deg, rgb\(214, 69, 69\)/);
    await expect(barImage(IDS.ioWait)).resolves.toMatch(/repeating-linear-gradient\(135deg, rgb\(141, 150, 168\)/);
    await expect(row(IDS.lockWait).locator('.wf-label').getAttribute('title')).resolves.toBe('wait Lock:transactionid · postgresql · held by pid 4711');

    await expect(row(IDS.nestedInsert).locator('.badge.depth').textContent()).resolves.toBe('depth 1');
    await expect(row(IDS.nestedSelect).locator('.badge.depth').textContent()).resolves.toBe('depth 2');
    // an aggregate reads like a repeated-statement group: ×N over its total
    await expect(row(IDS.aggregate).locator('.badge.aggregate').textContent()).resolves.toBe('×250');
    await expect(row(IDS.aggregate).locator('.group-stats').textContent()).resolves.toBe('total 12.5 ms · 250 rows');
    // the nested rows are indented further than their statement
    const indent = (id: string) => row(id).locator('.wf-label').evaluate((el) => parseFloat(getComputedStyle(el).paddingLeft));
    const statementIndent = await indent(IDS.waiterStatement);
    expect(await indent(IDS.nestedInsert)).toBeGreaterThan(statementIndent);
    expect(await indent(IDS.nestedSelect)).toBeGreaterThan(await indent(IDS.nestedInsert));
    // the badges of the deepest rows stay inside the label column
    for (const [id, sel] of [[IDS.aggregate, '.badge.aggregate'], [IDS.nestedSelect, '.badge.depth']]) {
      const label = (await row(id).locator('.wf-label').boundingBox())!;
      const badge = (await row(id).locator(sel).boundingBox())!;
      expect(badge.x + badge.width).toBeLessThanOrEqual(label.x + label.width + 0.5);
    }

    await expect(page.locator('.slowest-card').textContent()).resolves.toMatch(/wait Lock:transactionid in UPDATE inventory\s*296 ms/);
    await expect(page.locator('.pg-card .cpu-line').textContent()).resolves.toBe('on CPU 27.0 ms · off CPU 303 ms');
    await expect(page.locator('.pg-card .waits-line').textContent()).resolves.toBe(
      'waited in Lock:transactionid 296 ms · IO:DataFileRead 6.96 ms (13×) · LWLock:WALWrite 310 µs',
    );
    const legend = await page.locator('.legend-item').allTextContents();
    for (const item of ['lock wait', 'wait (off CPU)', 'nested statement']) expect(legend).toContain(item);
    // a run of waits is not an N+1 loop
    expect(await page.locator('.repeat-card').count()).toBe(0);
    await shot(`ui-inside-waterfall-${width}`);
  });

  uiTest(`${width}: a lock wait names its blocker; the link opens the blocker's trace at its statement`, async () => {
    await openTrace(WAITER_TRACE);
    await row(IDS.lockWait).click();
    await expect(page.locator('#details .lock-sentence').textContent()).resolves.toBe(
      `waited 296 ms for a transactionid lock (ShareLock) held by pid 4711 (${BLOCKER_QUERY}, idle in transaction, trace 4bf92f35…)`,
    );
    // the waiting statement's SQL comes with it
    await expect(page.locator('#details h3').first().textContent()).resolves.toBe('SQL of UPDATE inventory');
    expect(await page.locator('#details .links').count()).toBe(0);
    await shot(`ui-inside-lock-${width}`, false);

    await page.locator('#details a.blocker-link').click();
    await page.waitForURL(new RegExp(`trace\\.html\\?id=${BLOCKER_TRACE}#span=${IDS.blockerStatement}$`));
    await expect(page.locator('.summary h1').textContent()).resolves.toBe('POST /checkout');
    await expect(page.locator('.span-row.selected').getAttribute('data-span-id')).resolves.toBe(IDS.blockerStatement);
    await expect(page.locator('#details h2').textContent()).resolves.toBe('UPDATE inventory');
    // the blocker measured nothing of the kind: nothing is shown, not zeros
    expect(await page.locator('#details pre.usage, #details .cpu-facts, #details .short-waits, #details .nested-facts').count()).toBe(0);
    await shot(`ui-inside-blocker-${width}`, false);
  });
});

uiTest('holder and waiter in one request: the link selects the holder without leaving the page', async () => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await openTrace(SAME_TRACE, `#span=${IDS.sameTraceLockWait}`);
  await expect(page.locator('#details .lock-sentence').textContent()).resolves.toBe(
    'waited 300 ms for a transactionid lock (ShareLock) held by pid 4800 (SELECT stock FROM inventory WHERE sku = $1 FOR UPDATE, idle in transaction, in this trace)',
  );
  await page.evaluate(() => ((window as any).__samePage = true));
  await page.locator('#details a.blocker-link').click();
  // the selection moves after the click's handler ran: wait for it, then read it
  await page.waitForSelector(`.span-row.selected[data-span-id="${IDS.holderStatement}"]`);
  await expect(page.locator('.span-row.selected').getAttribute('data-span-id')).resolves.toBe(IDS.holderStatement);
  expect(await page.evaluate(() => (window as any).__samePage)).toBe(true);
});

uiTest('a statement shows buffers and WAL as EXPLAIN does, on/off CPU, short waits and nested counts', async () => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await openTrace(WAITER_TRACE);
  // the longest statement is selected on open
  await expect(page.locator('.span-row.selected').getAttribute('data-span-id')).resolves.toBe(IDS.waiterStatement);
  await expect(page.locator('#details pre.usage').textContent()).resolves.toBe(
    'Buffers: shared hit=12 read=340 dirtied=2 written=1, temp read=4 written=4\nI/O Timings: shared read=1.234 write=0.000\nWAL: records=3 fpi=1 bytes=1234',
  );
  await expect(page.locator('#details .cpu-facts').textContent()).resolves.toBe('On CPU27.0 ms (8%)Off CPU (waiting)303 ms (92%)');
  await expect(page.locator('#details .nested-facts').textContent()).resolves.toBe('Nested statements252 (250 folded into aggregates)');
  // PostgreSQL's query id among the facts (to join with pg_stat_statements), not again in the attribute table
  await expect(page.locator('#details .facts .fact').filter({ hasText: 'Query id' }).textContent()).resolves.toBe('Query id-5527664382445606513');
  await expect(page.locator('#details').textContent()).resolves.not.toContain('db.postgresql.query_id');
  const cells = (sel: string) => page.locator(`${sel} tbody tr`).evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
  await expect(cells('#details table.short-waits')).resolves.toEqual([
    ['execute', 'LWLock:BufferMapping', '3', '120 µs'],
    ['execute', 'IO:DataFileRead', '12', '4.56 ms'],
    ['commit', 'LWLock:WALWrite', '1', '310 µs'],
  ]);
  // phases only: nested statements are not phases
  await expect(page.locator('#details table.phases th').allTextContents()).resolves.toEqual(['parse', 'plan', 'execute', 'commit']);
  await shot('ui-inside-statement-1280');

  await row(IDS.execute).click();
  await expect(cells('#details table.short-waits')).resolves.toEqual([
    ['LWLock:BufferMapping', '3', '120 µs'],
    ['IO:DataFileRead', '12', '4.56 ms'],
  ]);
  await row(IDS.ioWait).click();
  await expect(page.locator('#details .wait-sentence').textContent()).resolves.toBe(
    'off CPU for 2.40 ms: IO:DataFileRead — waiting for a read from a relation data file',
  );
  await row(IDS.aggregate).click();
  await expect(page.locator('#details .nested-facts').textContent()).resolves.toBe('Nesting depth1Calls×250Total12.5 ms');
  await expect(page.locator('#details pre.sql').textContent()).resolves.toBe('UPDATE stats SET n = n + $1 WHERE k = $2');
  await row(IDS.nestedSelect).click();
  await expect(page.locator('#details .nested-facts').textContent()).resolves.toBe('Nesting depth2');
});
