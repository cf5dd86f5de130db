// Embedded mode under hostile input: who may read the UI, who may write
// spans, what browsers from elsewhere get, what the receiver does with
// requests meant to exhaust it, and the modes of what lands on disk.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { type Embedded, startEmbedded } from '../src/embedded';
import { jsonDepthExceeds } from '../src/embedded/otlp-decode';
import { sendRequestTrace } from './embedded-seed';

const tmpDirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-sec-'));
  tmpDirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

const quiet = { log: () => {} };
const TRACE = 'ab'.repeat(16);
const SPAN = 'cd'.repeat(8);

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw request: fetch() would not let us set Host or Origin. */
function request(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Reply> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method: opts.method ?? 'GET', headers: opts.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

function jsonSpan(extra: Record<string, unknown> = {}): string {
  const span = { traceId: TRACE, spanId: SPAN, name: 'DROP TABLE users', kind: 2, startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000100000000', ...extra };
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: 't' }, spans: [span] }] }] });
}

const postJson = (e: Embedded, body: string, headers: Record<string, string> = {}) =>
  request(`${e.otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

// ---- protobuf by hand: the encoders refuse what these tests need to send ----
function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}
const field = (no: number, bytes: Buffer) => Buffer.concat([varint((no << 3) | 2), varint(bytes.length), bytes]);
function pbRequest(span: Buffer[]): Buffer {
  const s = Buffer.concat([field(1, Buffer.from(TRACE, 'hex')), field(2, Buffer.from(SPAN, 'hex')), field(5, Buffer.from('x')), ...span]);
  return field(1, field(2, field(2, s)));
}
function fixed64(no: number, v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return Buffer.concat([varint((no << 3) | 1), b]);
}
/** Attribute "k" whose value is an array in an array … `depth` deep. */
function pbNested(depth: number): Buffer {
  let v = field(1, Buffer.from('leaf')); // AnyValue.string_value
  for (let i = 0; i < depth; i++) v = field(5, field(1, v)); // AnyValue.array_value{values: [v]}
  return field(9, Buffer.concat([field(1, Buffer.from('k')), field(2, v)])); // Span.attributes
}
const postPb = (e: Embedded, body: Buffer) => request(`${e.otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });

describe('the web UI needs the per-start token', () => {
  let e: Embedded;
  let dir: string;
  beforeAll(async () => {
    dir = tmpDir();
    e = await startEmbedded({ dataDir: dir, otlpPort: 0, uiPort: 0, ...quiet });
    await sendRequestTrace(e.otlpUrl, { method: 'GET', route: '/secret', path: '/secret', durationMs: 5, agoMs: 100, statements: [] });
  });
  afterAll(() => e.close());

  test('without it: 401 for pages and API, with a hint where the token is', async () => {
    for (const p of ['/', '/index.html', '/api/traces', '/api/stats']) {
      const r = await request(`${e.uiUrl}${p}`);
      expect([p, r.status]).toEqual([p, 401]);
      expect(r.body).toMatch(/URL the collector printed.*ui-token/);
      expect(r.body).not.toContain('/secret');
    }
    expect((await request(`${e.uiUrl}/api/traces`, { headers: { authorization: `Bearer ${'x'.repeat(43)}` } })).status).toBe(401);
    expect((await request(`${e.uiUrl}/api/traces?token=${'x'.repeat(43)}`)).status).toBe(401);
  });

  test('the printed URL sets an HttpOnly SameSite=Strict cookie and drops the token from the address', async () => {
    expect(e.uiLoginUrl).toBe(`${e.uiUrl}/?token=${e.uiToken}`);
    expect(fs.readFileSync(path.join(dir, 'ui-token'), 'utf8').trim()).toBe(e.uiToken);
    const login = await request(`${e.uiUrl}/trace.html?id=${TRACE}&token=${e.uiToken}`);
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe(`/trace.html?id=${TRACE}`);
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(/^pgferret_ui_\d+=[\w-]{43}; HttpOnly; SameSite=Strict; Path=\/$/);
    const cookie = setCookie.split(';')[0];
    const list = await request(`${e.uiUrl}/api/traces`, { headers: { cookie } });
    expect(list.status).toBe(200);
    expect(list.body).toContain('/secret');
    expect((await request(`${e.uiUrl}/`, { headers: { cookie } })).status).toBe(200);
    expect((await request(`${e.uiUrl}/api/traces`, { headers: { authorization: `Bearer ${e.uiToken}` } })).status).toBe(200);
  });

  test('a page from elsewhere is refused even with the cookie (Origin, Sec-Fetch-Site, Host)', async () => {
    const cookie = `pgferret_ui_${new URL(e.uiUrl).port}=${e.uiToken}`;
    const api = `${e.uiUrl}/api/traces`;
    expect((await request(api, { headers: { cookie, origin: 'http://evil.example' } })).status).toBe(403);
    expect((await request(api, { headers: { cookie, 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
    expect((await request(api, { headers: { cookie, host: 'evil.example:80' } })).status).toBe(403);
    const form = await request(api, { method: 'POST', headers: { cookie, 'content-type': 'text/plain', origin: 'http://evil.example' }, body: 'x' });
    expect(form.status).toBe(403);
    // the UI's own scripts: same origin
    const own = await request(api, { headers: { cookie, origin: `http://${new URL(e.uiUrl).host}`, 'sec-fetch-site': 'same-origin' } });
    expect(own.status).toBe(200);
  });

  test('every start has a new token', async () => {
    const other = await startEmbedded({ dataDir: tmpDir(), otlpPort: 0, uiPort: 0, ...quiet });
    try {
      expect(other.uiToken).not.toBe(e.uiToken);
      expect(other.uiToken).toMatch(/^[\w-]{43}$/);
    } finally {
      await other.close();
    }
  });
});

describe('the OTLP receiver', () => {
  let e: Embedded;
  beforeAll(async () => {
    e = await startEmbedded({ dataDir: tmpDir(), otlpPort: 0, uiPort: 0, ...quiet });
  });
  afterAll(() => e.close());

  test('refuses browsers: any Origin, cross-site fetches, rebound Host names', async () => {
    const r = await postJson(e, jsonSpan(), { origin: 'http://evil.example' });
    expect(r.status).toBe(403);
    expect(r.body).toMatch(/Origin "http:\/\/evil.example"/);
    expect((await postJson(e, jsonSpan(), { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await postJson(e, jsonSpan(), { host: 'evil.example' })).status).toBe(403);
    expect((await request(`${e.otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: jsonSpan() })).status).toBe(415);
    expect(e.store.getTrace(TRACE)).toBeNull();
  });

  test('JSON nested 5,000 deep: 400, in the body and inside an attribute value', async () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const r = await postJson(e, `{"resourceSpans": ${deep}}`);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).message).toMatch(/nested deeper than 64 levels/);
    let v = '{"stringValue":"leaf"}';
    for (let i = 0; i < 40; i++) v = `{"arrayValue":{"values":[${v}]}}`;
    const attr = await postJson(e, jsonSpan({ attributes: [{ key: 'k', value: JSON.parse(v) }] }));
    expect(attr.status).toBe(400);
    expect(JSON.parse(attr.body).message).toMatch(/nested deeper than (64|32) levels/);
    // brackets inside strings do not count
    expect(jsonDepthExceeds(JSON.stringify({ a: '['.repeat(1000) }), 8)).toBe(false);
  });

  test('protobuf values nested 5,000 deep: 400, not a reset connection', async () => {
    const r = await postPb(e, pbRequest([pbNested(5000)]));
    expect(r.status).toBe(400);
    expect((await postPb(e, pbRequest([pbNested(10)]))).status).toBe(200);
  });

  test('timestamps past 2^63 - 1 and out-of-range numbers: 400 (a 503 would be retried forever)', async () => {
    for (const t of ['9223372036854775808', '18446744073709551615', '-5', '1e30', 'soon']) {
      const r = await postJson(e, jsonSpan({ startTimeUnixNano: t }));
      expect([t, r.status]).toEqual([t, 400]);
      expect(JSON.parse(r.body).message).toMatch(/startTimeUnixNano/);
    }
    expect((await postJson(e, jsonSpan({ kind: 1e300 }))).status).toBe(400);
    expect((await postJson(e, jsonSpan({ status: { code: -1 } }))).status).toBe(400);
    const pb = await postPb(e, pbRequest([fixed64(7, 1n << 63n)]));
    expect(pb.status).toBe(400);
    expect((await postPb(e, pbRequest([fixed64(7, (1n << 63n) - 1n)]))).status).toBe(200);
  });

  test('with a token configured, requests without it get 401 and store nothing', async () => {
    const token = 'a'.repeat(40);
    const t = await startEmbedded({ dataDir: tmpDir(), otlpPort: 0, uiPort: 0, otlpToken: token, ...quiet });
    try {
      const none = await postJson(t, jsonSpan());
      expect(none.status).toBe(401);
      expect(JSON.parse(none.body).message).toMatch(/Authorization: Bearer <token>/);
      expect((await postJson(t, jsonSpan(), { authorization: `Bearer ${'b'.repeat(40)}` })).status).toBe(401);
      expect(t.store.getTrace(TRACE)).toBeNull();
      expect((await postJson(t, jsonSpan(), { authorization: `Bearer ${token}` })).status).toBe(200);
      expect(t.store.getTrace(TRACE)?.spans[0].name).toBe('DROP TABLE users');
    } finally {
      await t.close();
    }
  });

  test('the in-flight byte cap: excess requests get 503 with Retry-After, then the receiver takes more', async () => {
    const MiB = 1024 * 1024;
    const part = 900 * 1024;
    const t = await startEmbedded({ dataDir: tmpDir(), otlpPort: 0, uiPort: 0, maxBodyBytes: MiB, maxInflightBytes: 2 * MiB, ...quiet });
    try {
      const u = new URL(`${t.otlpUrl}/v1/traces`);
      // two slow senders hold 1.76 MiB between them: their bodies are not finished yet
      const open = [0, 1].map(() => {
        const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(part) } });
        const done = new Promise<number>((resolve) => req.on('response', (res) => (res.resume(), resolve(res.statusCode ?? 0))));
        req.on('error', () => undefined);
        req.write(Buffer.alloc(1024, 0x20));
        return { req, done };
      });
      await new Promise((r) => setTimeout(r, 200));
      const small = await postJson(t, jsonSpan());
      expect(small.status).toBe(200);
      // its declared length alone is over the budget: refused before its body is read
      const big = await postJson(t, ' '.repeat(400 * 1024) + jsonSpan());
      expect(big.status).toBe(503);
      expect(big.headers['retry-after']).toBe('1');
      expect(JSON.parse(big.body).message).toMatch(/retry after 1 s/);
      expect(t.stats().otlp.requestsThrottled).toBeGreaterThanOrEqual(1);
      // the senders finish (with junk: 400), their bytes are given back
      for (const o of open) o.req.end(Buffer.alloc(part - 1024, 0x20));
      expect(await Promise.all(open.map((o) => o.done))).toEqual([400, 400]);
      const after = await postJson(t, ' '.repeat(400 * 1024) + jsonSpan());
      expect(after.status).toBe(200);
    } finally {
      await t.close();
    }
  });
});

describe('files on disk', () => {
  test('state directory 0700; database, WAL and token 0600', async () => {
    const dir = path.join(tmpDir(), 'state');
    const e = await startEmbedded({ dataDir: dir, otlpPort: 0, uiPort: 0, ...quiet });
    try {
      await postJson(e, jsonSpan());
      const mode = (f: string) => (fs.statSync(path.join(dir, f)).mode & 0o777).toString(8);
      expect(mode('.')).toBe('700');
      // exclusive locking mode: SQLite keeps the WAL index in memory, no -shm file
      expect(fs.readdirSync(dir).sort()).toEqual(['traces.sqlite', 'traces.sqlite-wal', 'ui-token']);
      for (const f of fs.readdirSync(dir)) expect([f, mode(f)]).toEqual([f, '600']);
    } finally {
      await e.close();
    }
  });

  test('an existing directory others may enter is tightened; one of another user is refused', async () => {
    const dir = tmpDir();
    fs.chmodSync(dir, 0o777);
    fs.writeFileSync(path.join(dir, 'traces.sqlite'), '');
    fs.chmodSync(path.join(dir, 'traces.sqlite'), 0o644);
    const messages: string[] = [];
    const e = await startEmbedded({ dataDir: dir, otlpPort: 0, uiPort: 0, log: (m) => messages.push(m) });
    await e.close();
    expect((fs.statSync(dir).mode & 0o777).toString(8)).toBe('700');
    expect((fs.statSync(path.join(dir, 'traces.sqlite')).mode & 0o777).toString(8)).toBe('600');
    expect(messages.join('\n')).toMatch(/was mode 777; set it to 700/);

    const foreign = tmpDir();
    fs.chownSync(foreign, 65534, 65534);
    await expect(startEmbedded({ dataDir: foreign, otlpPort: 0, uiPort: 0, ...quiet })).rejects.toThrow(/belongs to uid 65534, not to this user.*--state-dir/);
  });
});
