// The OTLP exporters end to end: spans through the export queue and
// our encoder to a real HTTP receiver that decodes them with the official
// OTLP protos, configured by the standard environment variables, against the
// failure modes an OTLP endpoint has (down, 503 with Retry-After, 400,
// partial success).
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { SpanRecordConverter } from '../src/embedded/exporter';
import { decodeJsonRequest, decodeProtobufRequest, ResponseType } from '../src/embedded/otlp-decode';
import type { SpanRecord } from '../src/embedded/span-record';
import { createOtlpExporter, type OtlpProtocol } from '../src/export/exporter';
import { ExportQueue } from '../src/export/queue';
import type { SpanData } from '../src/spans/span-data';
import { build, clusterB, statement } from './span-fixtures';

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  spans: SpanRecord[];
  at: number;
}

type Reply = (res: http.ServerResponse) => void;

/** An OTLP/HTTP endpoint that decodes every request and answers from a script (then 200). */
async function receiver(script: Reply[] = [], tls?: https.ServerOptions) {
  const received: Received[] = [];
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const json = String(req.headers['content-type']).startsWith('application/json');
      received.push({ path: req.url!, headers: req.headers, spans: (json ? decodeJsonRequest(body) : decodeProtobufRequest(body)).spans, at: Date.now() });
      const reply = script.shift();
      if (reply) reply(res);
      else {
        res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
        res.end(json ? '{}' : Buffer.alloc(0));
      }
    });
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

const OTEL_VARS = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_EXPORTER_OTLP_TRACES_HEADERS', 'OTEL_EXPORTER_OTLP_COMPRESSION', 'OTEL_EXPORTER_OTLP_TIMEOUT', 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT'];
const saved = Object.fromEntries(OTEL_VARS.map((k) => [k, process.env[k]]));
afterEach(() => {
  for (const k of OTEL_VARS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

/** Exports the spans through a fresh queue and exporter (which read the environment), then closes both. */
async function exportSpans(spans: SpanData[], env: Record<string, string>, protocol: OtlpProtocol = 'http/protobuf') {
  Object.assign(process.env, env);
  const queue = new ExportQueue(createOtlpExporter(protocol), { maxQueue: 10_000, maxBatch: 512, intervalMs: 20, log: () => undefined });
  queue.add(spans);
  await queue.close(20_000);
  return queue.stats;
}

const spans = () => [...build(statement()), ...build(statement({ failed: true, sqlstate: '23505', phases: [] }, { text: 'INSERT INTO «orders» VALUES (1)' }), clusterB)];
const records = (s: SpanData[]) => {
  const c = new SpanRecordConverter();
  return s.map((x) => c.toRecord(x));
};

describe('OTLP http/protobuf exporter', () => {
  it('posts to $OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces with the configured headers, gzip, and spans that decode as built', async () => {
    const r = await receiver();
    try {
      const sent = spans();
      const stats = await exportSpans(sent, {
        OTEL_EXPORTER_OTLP_ENDPOINT: `${r.url}/otlp`,
        OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=acme,authorization=Bearer%20abc',
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-tenant=traces-team',
        OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
      });
      expect(stats).toMatchObject({ exported: sent.length, dropped: 0, exportFailures: 0 });
      expect(r.received).toHaveLength(1);
      const [req] = r.received;
      expect(req.path).toBe('/otlp/v1/traces');
      expect(req.headers).toMatchObject({
        'content-type': 'application/x-protobuf', 'content-encoding': 'gzip', 'x-tenant': 'traces-team', authorization: 'Bearer abc',
      });
      expect(req.headers['user-agent']).toMatch(/OTel-OTLP-Exporter-JavaScript/);
      const byResource = (a: SpanRecord, b: SpanRecord) => a.service.localeCompare(b.service);
      expect([...req.spans].sort(byResource)).toEqual(records(sent).sort(byResource));
    } finally {
      await r.close();
    }
  });

  it('uses $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is, uncompressed by default', async () => {
    const r = await receiver();
    try {
      const stats = await exportSpans(build(statement()), {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9/not-this-one',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${r.url}/custom/traces`,
      });
      expect(stats.exported).toBe(5);
      expect(r.received.map((x) => [x.path, x.headers['content-encoding']])).toEqual([['/custom/traces', undefined]]);
    } finally {
      await r.close();
    }
  });

  it('503 with Retry-After: waits as told, sends again, and the spans arrive once', async () => {
    const r = await receiver([(res) => {
      res.writeHead(503, { 'retry-after': '1' });
      res.end();
    }]);
    try {
      const sent = build(statement());
      const stats = await exportSpans(sent, { OTEL_EXPORTER_OTLP_ENDPOINT: r.url });
      expect(stats).toMatchObject({ exported: 5, dropped: 0, exportFailures: 0 });
      expect(r.received).toHaveLength(2);
      expect(r.received[1].at - r.received[0].at).toBeGreaterThanOrEqual(950);
      expect(r.received[1].spans).toEqual(records(sent));
    } finally {
      await r.close();
    }
  });

  it('endpoint down: retries with backoff until the timeout, then counts the batch as failed and dropped', async () => {
    // accepts connections and drops them at once: a crashing endpoint, countable
    let attempts = 0;
    const down = net.createServer((s) => {
      attempts++;
      s.destroy();
    });
    await new Promise<void>((r) => down.listen(0, '127.0.0.1', () => r()));
    const port = (down.address() as net.AddressInfo).port;
    try {
      const t0 = Date.now();
      const stats = await exportSpans(build(statement()), { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_EXPORTER_OTLP_TIMEOUT: '3000' });
      expect(stats).toMatchObject({ exported: 0, dropped: 5, exportFailures: 1 });
      expect(stats.lastError).toMatch(/socket hang up|ECONNRESET/);
      expect(attempts).toBeGreaterThanOrEqual(2); // the first try and at least one retry ~1 s later
      expect(Date.now() - t0).toBeGreaterThanOrEqual(800);
    } finally {
      await new Promise((r) => down.close(r));
    }
    // nothing listening at all: refused, retried, then counted the same way
    const stats = await exportSpans(build(statement()), { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_EXPORTER_OTLP_TIMEOUT: '1500' });
    expect(stats).toMatchObject({ exported: 0, dropped: 5, exportFailures: 1 });
    expect(stats.lastError).toMatch(/ECONNREFUSED/);
  });

  it('400 is not retried: one request, a counted failure with the status', async () => {
    const r = await receiver([(res) => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('bad spans');
    }]);
    try {
      const stats = await exportSpans(build(statement()), { OTEL_EXPORTER_OTLP_ENDPOINT: r.url });
      expect(stats).toMatchObject({ exported: 0, dropped: 5, exportFailures: 1 });
      expect(r.received).toHaveLength(1);
      expect(stats.lastError).toMatch(/Bad Request/);
    } finally {
      await r.close();
    }
  });

  it('a partial success is logged as a warning; the batch counts as exported', async () => {
    const warnings: string[] = [];
    const logger: DiagLogger = {
      error: () => undefined, info: () => undefined, debug: () => undefined, verbose: () => undefined,
      warn: (...args: unknown[]) => { warnings.push(args.join(' ')); },
    };
    diag.setLogger(logger, DiagLogLevel.WARN);
    const r = await receiver([(res) => {
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end(ResponseType.encode({ partialSuccess: { rejectedSpans: 3, errorMessage: 'quota exceeded for tenant' } }).finish());
    }]);
    try {
      const stats = await exportSpans(build(statement()), { OTEL_EXPORTER_OTLP_ENDPOINT: r.url });
      expect(stats).toMatchObject({ exported: 5, exportFailures: 0 });
      expect(warnings.join('\n')).toMatch(/Partial Success.*quota exceeded for tenant/);
    } finally {
      diag.disable();
      await r.close();
    }
  });
});

describe('OTLP over https', () => {
  // The official configuration builds the https agent (with the TLS files) through a dynamic
  // import, which jest's module sandbox refuses: the exporter runs in a plain node process here.
  const exportInChild = (env: Record<string, string>): Promise<{ exported: number; exportFailures: number; lastError: string | null }> => {
    const script = `
      const { resourceFromAttributes } = require('@opentelemetry/resources');
      const { createOtlpExporter } = require('./dist/export/exporter');
      const { ExportQueue } = require('./dist/export/queue');
      const { NONE } = require('./dist/spans/span-data');
      const resource = resourceFromAttributes({ 'service.name': 'postgresql' });
      const span = { traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), parentSpanId: null, parentIsRemote: false, traceFlags: 1, name: 'SELECT t',
        kind: 1, startTime: [1700000000, 1], endTime: [1700000000, 2], attributes: { 'db.system.name': 'postgresql' }, statusCode: 0,
        statusMessage: '', events: NONE, links: NONE, resource };
      const queue = new ExportQueue(createOtlpExporter('http/protobuf'), { maxQueue: 10, maxBatch: 10, intervalMs: 10 });
      queue.add([span]);
      queue.close(10000).then(() => process.stdout.write(JSON.stringify(queue.stats)));`;
    const child = spawn(process.execPath, ['-e', script], { cwd: path.resolve(__dirname, '..'), env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    return new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`export child exited ${code}: ${err}`)))));
  };

  it('trusts the CA in $OTEL_EXPORTER_OTLP_CERTIFICATE, and only then', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    const r = await receiver([], { key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) });
    try {
      const trusted = await exportInChild({ OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_EXPORTER_OTLP_CERTIFICATE: path.join(dir, 'cert.pem') });
      expect(trusted).toMatchObject({ exported: 1, exportFailures: 0 });
      expect(r.received.map((x) => x.spans.map((sp) => sp.name))).toEqual([['SELECT t']]);
      const untrusted = await exportInChild({ OTEL_EXPORTER_OTLP_ENDPOINT: r.url });
      expect(untrusted).toMatchObject({ exported: 0, exportFailures: 1 });
      expect(untrusted.lastError).toMatch(/self[- ]signed/i);
      expect(r.received).toHaveLength(1);
    } finally {
      await r.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('OTLP http/json exporter', () => {
  it('sends the same spans, serialized by the official JSON serializer', async () => {
    const r = await receiver();
    try {
      const sent = build(statement({}, { text: 'SELECT "ünïcode 🐘" FROM t' }));
      const stats = await exportSpans(sent, { OTEL_EXPORTER_OTLP_ENDPOINT: r.url }, 'http/json');
      expect(stats.exported).toBe(5);
      expect(r.received[0].headers['content-type']).toMatch(/^application\/json/);
      expect(r.received[0].spans).toEqual(records(sent));
    } finally {
      await r.close();
    }
  });
});
