// Embedded mode end to end: the official OTel JS exporters send real spans over
// HTTP to the receiver, which stores them in SQLite on disk; the JSON API lists them.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { type Embedded, startEmbedded } from '../src/embedded';
import { type RequestTrace, sendRequestTrace, sendTraces } from './embedded-seed';
import { build, statement } from './span-fixtures';

const tmpDirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-embedded-'));
  tmpDirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

const quiet = { log: () => {} };

function start(dataDir: string, extra: Partial<Parameters<typeof startEmbedded>[0]> = {}): Promise<Embedded> {
  return startEmbedded({ dataDir, otlpPort: 0, uiPort: 0, ...quiet, ...extra });
}

/** A UI request as a script makes it: with the start's token. */
function ui(e: Embedded, p: string): Promise<Response> {
  return fetch(`${e.uiUrl}${p}`, { headers: { authorization: `Bearer ${e.uiToken}` } });
}

async function api(e: Embedded, p: string): Promise<any> {
  const res = await ui(e, p);
  expect(res.status).toBe(200);
  return res.json();
}

const usersRequest: RequestTrace = {
  method: 'GET',
  route: '/users/:id',
  path: '/users/42',
  durationMs: 48,
  agoMs: 1000,
  statements: [
    { sql: 'SELECT * FROM users WHERE id = $1', atMs: 3, phases: { parse: 0.4, plan: 1.5, execute: 30, commit: 0.6 } },
  ],
};

describe('OTLP ingest with the official exporters', () => {
  let e: Embedded;
  beforeAll(async () => {
    e = await start(tmpDir());
  });
  afterAll(() => e.close());

  test.each(['proto', 'json'] as const)('%s: app and Postgres spans of one trace are stored and summarised', async (protocol) => {
    const traceId = await sendRequestTrace(e.otlpUrl, { ...usersRequest, path: `/users/${protocol}` }, protocol);
    const detail = await api(e, `/api/traces/${traceId}`);
    expect(detail.summary).toMatchObject({
      traceId,
      rootName: 'GET /users/:id',
      rootService: 'shop-api',
      hasRoot: true,
      spanCount: 7,
      pgSpanCount: 1,
      errorCount: 0,
      route: '/users/:id',
    });
    expect(detail.summary.durationMs).toBeCloseTo(48, 3);

    const byName = new Map<string, any>();
    for (const s of detail.spans) byName.set(`${s.service}/${s.name}/${s.kind}`, s);
    const server = byName.get('shop-api/GET /users/:id/2');
    const client = byName.get('shop-api/SELECT users/3');
    const stmt = byName.get('postgresql/SELECT users/2');
    expect(server.parentSpanId).toBeNull();
    expect(client.parentSpanId).toBe(server.spanId);
    expect(stmt.parentSpanId).toBe(client.spanId);
    expect(stmt.isPostgres).toBe(true);
    expect(client.isPostgres).toBe(false);
    expect(stmt.attributes['db.query.text']).toBe('SELECT * FROM users WHERE id = $1');
    expect(stmt.attributes['postgresql.backend_pid']).toBe(4242);
    expect(stmt.resource['service.name']).toBe('postgresql');
    for (const phase of ['parse', 'plan', 'execute', 'commit']) {
      expect(byName.get(`postgresql/${phase}/1`).parentSpanId).toBe(stmt.spanId);
    }
    expect(byName.get('postgresql/execute/1').durationMs).toBeCloseTo(30, 3);
    expect(BigInt(server.startNs)).toBeLessThan(BigInt(stmt.startNs));

    const list = await api(e, '/api/traces?route=%2Fusers%2F%3Aid');
    expect(list.traces.map((t: any) => t.traceId)).toContain(traceId);
  });

  test('gzip-compressed protobuf from the exporter is accepted', async () => {
    const [traceId] = await sendTraces(
      e.otlpUrl,
      [{ ...usersRequest, route: '/compressed', service: 'gzip-service' }],
      'proto',
      'gzip',
    );
    const list = await api(e, '/api/traces?route=%2Fcompressed');
    expect(list.traces).toHaveLength(1);
    expect(list.traces[0]).toMatchObject({ traceId, rootName: 'GET /compressed', rootService: 'gzip-service', spanCount: 7 });
  });

  test('OTLP/JSON with base64 ids (protobuf-JSON style) is accepted', async () => {
    const traceId = Buffer.alloc(16, 0xab);
    const spanId = Buffer.alloc(8, 0xcd);
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'b64-service' } }] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: traceId.toString('base64'),
                  spanId: spanId.toString('base64'),
                  name: 'base64 ids',
                  kind: 'SPAN_KIND_SERVER',
                  startTimeUnixNano: '1700000000000000000',
                  endTimeUnixNano: 1700000000005000000,
                  attributes: [{ key: 'n', value: { intValue: '7' } }],
                },
              ],
            },
          ],
        },
      ],
    };
    const res = await fetch(`${e.otlpUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    const detail = await api(e, `/api/traces/${traceId.toString('hex')}`);
    expect(detail.spans[0]).toMatchObject({ spanId: spanId.toString('hex'), name: 'base64 ids', kind: 2, attributes: { n: 7 } });
    expect(detail.summary.durationMs).toBeCloseTo(5, 0);
  });

  test('spans with bad ids are rejected with a partial success, the rest is stored', async () => {
    const good = { traceId: 'aa'.repeat(16), spanId: 'bb'.repeat(8), name: 'good span', startTimeUnixNano: '1', endTimeUnixNano: '2' };
    const bad = { traceId: 'not-an-id', spanId: 'bb'.repeat(8), name: 'bad span' };
    const res = await fetch(`${e.otlpUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [good, bad] }] }] }),
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.partialSuccess.rejectedSpans).toBe(1);
    expect(body.partialSuccess.errorMessage).toMatch(/traceId/);
    expect((await api(e, `/api/traces/${'aa'.repeat(16)}`)).spans).toHaveLength(1);
  });

  test('retried batches are not stored twice', async () => {
    const span = { traceId: 'cc'.repeat(16), spanId: 'dd'.repeat(8), name: 'retried', startTimeUnixNano: '1', endTimeUnixNano: '2' };
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${e.otlpUrl}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] }),
      });
      expect(res.status).toBe(200);
    }
    expect((await api(e, `/api/traces/${'cc'.repeat(16)}`)).summary.spanCount).toBe(1);
  });
});

describe('bad requests get 4xx and leave stored data alone', () => {
  let e: Embedded;
  let before: unknown;
  beforeAll(async () => {
    e = await start(tmpDir(), { maxBodyBytes: 64 * 1024 });
    await sendRequestTrace(e.otlpUrl, usersRequest);
    before = await api(e, '/api/traces');
  });
  afterAll(() => e.close());
  afterEach(async () => {
    expect(await api(e, '/api/traces')).toEqual(before);
    expect(e.stats().store.spans).toBe(7);
  });

  const post = (body: Uint8Array | string, headers: Record<string, string>) =>
    fetch(`${e.otlpUrl}/v1/traces`, { method: 'POST', headers, body: typeof body === 'string' ? body : new Uint8Array(body) });

  test('garbage protobuf → 400 with a google.rpc.Status body', async () => {
    const res = await post(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), { 'content-type': 'application/x-protobuf' });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/x-protobuf');
    const text = Buffer.from(await res.arrayBuffer()).toString('latin1');
    expect(text).toMatch(/malformed OTLP protobuf request/);
  });

  test('invalid JSON → 400 with a JSON Status', async () => {
    const res = await post('{"resourceSpans": [', { 'content-type': 'application/json' });
    expect(res.status).toBe(400);
    expect((await res.json()).message).toMatch(/not valid JSON/);
  });

  test('JSON of the wrong shape → 400', async () => {
    const res = await post('{"resourceSpans": {"oops": 1}}', { 'content-type': 'application/json' });
    expect(res.status).toBe(400);
    expect((await res.json()).message).toMatch(/resourceSpans must be an array/);
  });

  test('wrong content type → 415', async () => {
    const res = await post('hello', { 'content-type': 'text/plain' });
    expect(res.status).toBe(415);
    expect((await res.json()).message).toMatch(/application\/x-protobuf or application\/json/);
  });

  test('unsupported content encoding → 415', async () => {
    const res = await post(zlib.deflateSync('{}'), { 'content-type': 'application/json', 'content-encoding': 'br' });
    expect(res.status).toBe(415);
  });

  test('oversized body → 413', async () => {
    const res = await post(Buffer.alloc(200 * 1024, 0x41), { 'content-type': 'application/json' });
    expect(res.status).toBe(413);
    // what to do, in a setting the sender has (no collector flag sets the limit)
    const { message } = await res.json();
    expect(message).toMatch(/limit of 65536 bytes: send smaller batches from the app \(OTEL_BSP_MAX_EXPORT_BATCH_SIZE/);
    expect(message).not.toMatch(/maxBodyBytes/);
  });

  test('gzip that expands past the limit → 413', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(10 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const res = await post(bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
  });

  test('broken gzip → 400', async () => {
    const res = await post(Buffer.from('not gzip at all'), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(res.status).toBe(400);
  });

  test('other paths → 404, other methods → 405', async () => {
    expect((await fetch(`${e.otlpUrl}/v1/metrics`, { method: 'POST', body: '{}' })).status).toBe(404);
    const res = await fetch(`${e.otlpUrl}/v1/traces`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });

  test('bad API parameters → 400 with what to send instead', async () => {
    const res = await ui(e, '/api/traces?minDurationMs=fast');
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatch(/minDurationMs must be a non-negative number/);
    expect((await ui(e, '/api/traces/xyz')).status).toBe(400);
    expect((await ui(e, `/api/traces/${'0'.repeat(31)}1`)).status).toBe(404);
  });
});

describe('in-process exporter', () => {
  test('StoreSpanExporter stores the collector’s own spans', async () => {
    const e = await start(tmpDir());
    try {
      const spans = build(statement({}, { text: 'INSERT INTO orders VALUES ($1)', traceId: null, parentSpanId: null }));
      const result = await new Promise((resolve) => e.exporter.export(spans, resolve));
      expect(result).toEqual({ code: 0 });
      const list = e.store.listTraces({ hasPostgres: true, q: 'INSERT INTO orders' });
      expect(list.traces).toHaveLength(1);
      expect(list.traces[0]).toMatchObject({ rootName: 'INSERT orders', pgSpanCount: 1, spanCount: 5 });
      await e.exporter.shutdown();
      const after = await new Promise<any>((resolve) => e.exporter.export(spans, resolve));
      expect(after.error.message).toMatch(/shut down/);
    } finally {
      await e.close();
    }
  });
});

describe('restart and exclusivity', () => {
  test('traces stored before a restart are listed after it, and bounds still hold', async () => {
    const dir = tmpDir();
    const first = await start(dir, { maxSpans: 20 });
    const ids = await sendTraces(first.otlpUrl, [
      { ...usersRequest, agoMs: 5000 },
      { ...usersRequest, agoMs: 4000 },
    ]);
    const listed = (await api(first, '/api/traces')).traces;

    // Same directory while the first one runs: refused with a clear message.
    await expect(start(dir)).rejects.toThrow(/in use by another process.*another --store-dir/);
    await first.close();

    const second = await start(dir, { maxSpans: 20 });
    try {
      expect((await api(second, '/api/traces')).traces).toEqual(listed);
      expect(second.stats().store).toMatchObject({ traces: 2, spans: 14 });
      // 7 more spans exceed 20: the oldest trace goes.
      const third = await sendRequestTrace(second.otlpUrl, { ...usersRequest, agoMs: 10 });
      const now = (await api(second, '/api/traces')).traces.map((t: any) => t.traceId);
      expect(now).toEqual([third, ids[1]]);
    } finally {
      await second.close();
    }
  });
});

describe('listening', () => {
  test('non-loopback addresses need allowNonLoopback, and then warn', async () => {
    await expect(start(tmpDir(), { otlpHost: '0.0.0.0' })).rejects.toThrow(/refusing to expose the OTLP receiver on 0\.0\.0\.0.*allow-non-loopback/);
    const messages: string[] = [];
    const e = await start(tmpDir(), { uiHost: '0.0.0.0', allowNonLoopback: true, log: (m) => messages.push(m) });
    try {
      expect(messages.join('\n')).toMatch(/warning: the web UI listens on 0\.0\.0\.0/);
      expect(e.uiUrl).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    } finally {
      await e.close();
    }
  });

  test('a port in use gives an error naming the option to change', async () => {
    const e = await start(tmpDir());
    try {
      const port = Number(new URL(e.otlpUrl).port);
      await expect(start(tmpDir(), { otlpPort: port })).rejects.toThrow(/already in use.*--otlp-port/);
    } finally {
      await e.close();
    }
  });

  test('the UI refuses foreign Host headers (DNS rebinding)', async () => {
    const e = await start(tmpDir());
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const u = new URL(`${e.uiUrl}/api/traces`);
        http
          .get({ host: u.hostname, port: u.port, path: u.pathname, headers: { host: 'evil.example:80' } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
          .on('error', reject);
      });
      expect(status).toBe(403);
    } finally {
      await e.close();
    }
  });
});
