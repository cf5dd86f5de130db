// Embedded-mode benchmark (see BENCHMARKS.md "## Ingest"):
//  1. spans/s the OTLP/HTTP receiver + SQLite store accept (real HTTP requests
//     of 512 spans from a worker thread, several keep-alive connections),
//     variants interleaved round by round, medians;
//  2. trace-list API latency (p50/p95) over HTTP with 100,000 stored traces;
//  3. top-queries API latency (p50/p95) over the same store (40 fingerprints).
// Needs the built collector: `npx tsc -b` first.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { ROOT_CONTEXT, SpanKind, trace } = require('@opentelemetry/api');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { TracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace');
const { ProtobufTraceSerializer, JsonTraceSerializer } = require('@opentelemetry/otlp-transformer');

const dist = path.resolve(__dirname, '../../packages/collector/dist/embedded');
if (!fs.existsSync(`${dist}/index.js`)) {
  console.error('packages/collector/dist is missing: run `npx tsc -b` at the repository root first.');
  process.exit(1);
}
const { startEmbedded } = require(dist);
// A/B: BASELINE_DIST=<another build's packages/collector/dist/embedded> runs
// every ingest variant against both builds, interleaved round by round.
const baseline = process.env.BASELINE_DIST ? require(path.resolve(process.env.BASELINE_DIST)) : null;
const ONLY = process.env.ONLY ? new Set(process.env.ONLY.split(',')) : null;

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const ROUND_MS = Number(process.env.ROUND_MS ?? 5000);
const LIST_TRACES = Number(process.env.LIST_TRACES ?? 100_000);
const LIST_REQUESTS = Number(process.env.LIST_REQUESTS ?? 200);
const SPANS_PER_BATCH = 512;

// ---- realistic spans: HTTP server → pg client → Postgres statement → 4 phases

function makeSpans(traces) {
  const memory = new InMemorySpanExporter();
  const mk = (service) =>
    new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': service, 'host.name': 'bench-host', 'process.pid': 4242 }),
      spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
    });
  const app = mk('shop-api');
  const pg = mk('postgresql');
  const at = Date.now();
  for (let i = 0; i < traces; i++) {
    const t0 = at + i;
    const server = app.getTracer('http').startSpan(
      'GET /users/:id',
      { kind: SpanKind.SERVER, startTime: t0, attributes: { 'http.route': '/users/:id', 'http.request.method': 'GET', 'url.path': `/users/${i}`, 'http.response.status_code': 200 } },
      ROOT_CONTEXT,
    );
    const sql = 'SELECT id, name, email FROM users WHERE id = $1 /*traceparent=\'00-…-01\'*/';
    const client = app.getTracer('pg').startSpan(
      'SELECT users',
      { kind: SpanKind.CLIENT, startTime: t0 + 1, attributes: { 'db.system.name': 'postgresql', 'db.namespace': 'shop', 'db.query.text': sql } },
      trace.setSpan(ROOT_CONTEXT, server),
    );
    const stmt = pg.getTracer('pgferret').startSpan(
      'SELECT users',
      { kind: SpanKind.SERVER, startTime: t0 + 1, attributes: { 'db.system.name': 'postgresql', 'db.namespace': 'shop', 'db.operation.name': 'SELECT', 'db.collection.name': 'users', 'db.query.text': sql, 'postgresql.backend_pid': 999 } },
      trace.setSpanContext(ROOT_CONTEXT, client.spanContext()),
    );
    for (const phase of ['parse', 'plan', 'execute', 'commit']) {
      pg.getTracer('pgferret').startSpan(phase, { startTime: t0 + 1 }, trace.setSpan(ROOT_CONTEXT, stmt)).end(t0 + 2);
    }
    stmt.end(t0 + 2);
    client.end(t0 + 3);
    server.end(t0 + 4);
  }
  return memory.getFinishedSpans().slice(0, SPANS_PER_BATCH);
}

function template(spans, protocol) {
  const body = Buffer.from(
    protocol === 'proto' ? ProtobufTraceSerializer.serializeRequest(spans) : JsonTraceSerializer.serializeRequest(spans),
  );
  const ids = [...new Set(spans.map((s) => s.spanContext().traceId))];
  const traceIdOffsets = [];
  for (const id of ids) {
    const needle = protocol === 'proto' ? Buffer.from(id, 'hex') : Buffer.from(id, 'latin1');
    for (let at = body.indexOf(needle); at !== -1; at = body.indexOf(needle, at + 1)) {
      traceIdOffsets.push({ offset: at, hex: protocol !== 'proto' });
    }
  }
  if (traceIdOffsets.length < spans.length) throw new Error('could not find every trace id in the template');
  return { body, traceIdOffsets };
}

function runSenders(otlpUrl, tpl, contentType, concurrency) {
  return new Promise((resolve, reject) => {
    const w = new Worker(path.join(__dirname, 'sender.js'), {
      workerData: {
        url: otlpUrl,
        concurrency,
        durationMs: ROUND_MS,
        template: tpl.body,
        traceIdOffsets: tpl.traceIdOffsets,
        spansPerBatch: SPANS_PER_BATCH,
        contentType,
        workerIndex: 1,
      },
    });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

async function ingestBench(spans) {
  const templates = { proto: template(spans, 'proto'), json: template(spans, 'json') };
  const shapes = [
    { key: 'proto4', name: 'protobuf, 4 connections', protocol: 'proto', type: 'application/x-protobuf', concurrency: 4 },
    { key: 'proto1', name: 'protobuf, 1 connection', protocol: 'proto', type: 'application/x-protobuf', concurrency: 1 },
    { key: 'json4', name: 'JSON, 4 connections', protocol: 'json', type: 'application/json', concurrency: 4 },
  ].filter((v) => !ONLY || ONLY.has(v.key));
  const variants = shapes.flatMap((v) =>
    baseline
      ? [
          { ...v, name: `baseline: ${v.name}`, start: baseline.startEmbedded },
          { ...v, start: startEmbedded },
        ]
      : [{ ...v, start: startEmbedded }],
  );
  const results = new Map(variants.map((v) => [v.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? [...variants].reverse() : variants;
    for (const v of order) {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-bench-ingest-'));
      const e = await v.start({ dataDir, otlpPort: 0, uiPort: 0, log: () => {} });
      const cpu0 = process.cpuUsage();
      const r = await runSenders(e.otlpUrl, templates[v.protocol], v.type, v.concurrency);
      const cpu = process.cpuUsage(cpu0);
      const stored = e.stats().store.spans;
      await e.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
      if (r.failed) throw new Error(`${r.failed} requests failed in ${v.name}`);
      if (stored !== r.spans) throw new Error(`${v.name}: ${r.spans} spans acknowledged but ${stored} stored`);
      const perSec = (r.spans / r.elapsedMs) * 1000;
      results.get(v.name).push({ perSec, p95: percentile(r.latencies, 95), cpuMsPer100k: ((cpu.user + cpu.system) / 1000 / r.spans) * 1e5 });
      console.log(`round ${round + 1} ${v.name}: ${Math.round(perSec).toLocaleString()} spans/s, batch p95 ${percentile(r.latencies, 95).toFixed(1)} ms`);
    }
  }
  const base = median(results.get(variants[0].name).map((x) => x.perSec));
  // Ratio against the first variant (the baseline build when BASELINE_DIST is set).
  return variants.map((v) => {
    const rs = results.get(v.name);
    const perSec = median(rs.map((x) => x.perSec));
    return {
      variant: v.name,
      perSec,
      ratio: perSec / base,
      batchP95: median(rs.map((x) => x.p95)),
      cpuMsPer100k: median(rs.map((x) => x.cpuMsPer100k)),
    };
  });
}

// ---- list latency with LIST_TRACES stored traces

function spanRecords(i, t0) {
  const traceId = i.toString(16).padStart(32, '0');
  const sid = (k) => (i * 8 + k + 1).toString(16).padStart(16, '0');
  const start = BigInt(t0 + i) * 1_000_000n;
  const durNs = BigInt(1_000_000 + ((i * 7919) % 200) * 1_000_000); // 1–200 ms
  const route = ['/users/:id', '/orders', '/orders/:id', '/health', '/reports/daily'][i % 5];
  const hasPg = route !== '/health';
  // 40 statement fingerprints; the literal differs per trace and is masked away.
  const sql = `SELECT id, c${i % 8} FROM ${route === '/users/:id' ? 'users' : 'orders'} WHERE id = ${i} AND k${i % 5} = 'x'`;
  const resource = { 'service.name': 'shop-api' };
  const pgResource = { 'service.name': 'postgresql' };
  const base = { events: [], links: [], statusCode: 0, statusMessage: '', scope: 'bench' };
  const spans = [
    { ...base, traceId, spanId: sid(0), parentSpanId: null, name: `GET ${route}`, kind: 2, service: 'shop-api', startNs: start, endNs: start + durNs, attributes: { 'http.route': route, 'http.response.status_code': 200 }, resource },
  ];
  if (hasPg) {
    spans.push(
      { ...base, traceId, spanId: sid(1), parentSpanId: sid(0), name: 'SELECT', kind: 3, service: 'shop-api', startNs: start + 1000n, endNs: start + durNs - 1000n, attributes: { 'db.system.name': 'postgresql', 'db.query.text': sql }, resource },
      { ...base, traceId, spanId: sid(2), parentSpanId: sid(1), name: 'SELECT', kind: 2, service: 'postgresql', startNs: start + 2000n, endNs: start + durNs - 2000n, attributes: { 'db.system.name': 'postgresql', 'db.query.text': sql, 'db.response.returned_rows': 1 }, resource: pgResource },
    );
    for (const [k, phase] of ['parse', 'plan', 'execute', 'commit'].entries()) {
      spans.push({ ...base, traceId, spanId: sid(3 + k), parentSpanId: sid(2), name: phase, kind: 1, service: 'postgresql', startNs: start + 3000n, endNs: start + 4000n, attributes: {}, resource: pgResource });
    }
  }
  return spans;
}

async function get(url, token) {
  const t0 = process.hrtime.bigint();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${JSON.stringify(body)}`);
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, body };
}

async function listBench() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-bench-list-'));
  const e = await startEmbedded({ dataDir, otlpPort: 0, uiPort: 0, log: () => {} });
  const fill0 = Date.now();
  const t0 = Date.now() - LIST_TRACES;
  let batch = [];
  for (let i = 1; i <= LIST_TRACES; i++) {
    batch.push(...spanRecords(i, t0));
    if (batch.length >= 5000) {
      e.store.ingest(batch);
      batch = [];
    }
  }
  e.store.ingest(batch);
  const fillMs = Date.now() - fill0;
  const stats = e.stats().store;
  const oldest = e.store.listTraces({ limit: 500 }).traces.at(-1).startNs;
  const queries = [
    ['newest 100 (UI default)', 'limit=100'],
    ['route filter', 'route=%2Forders%2F%3Aid&limit=100'],
    ['minDurationMs=190', 'minDurationMs=190&limit=100'],
    ['hasPostgres=true', 'hasPostgres=true&limit=100'],
    ['next page (before=)', `before=${oldest}&limit=100`],
    ['SQL text, common (q=FROM users)', 'q=FROM%20users&limit=100'],
    ['SQL text, no match (full scan)', 'q=no_such_table&limit=100'],
    ['one trace (GET /api/traces/:id)', null],
    ['sort=longest', 'sort=longest&limit=100'],
    ['service filter', 'service=shop-api&limit=100'],
    ['hasErrors=true (no match)', 'hasErrors=true&limit=100'],
  ];
  const newestMs = t0 + LIST_TRACES;
  const topQueries = [
    ['top queries, all stored (100k traces)', 'sort=total'],
    ['top queries, sort=p95', 'sort=p95'],
    ['top queries, last 10% of the range', `from=${newestMs - LIST_TRACES / 10}`],
  ];
  const rows = [];
  for (const [name, qs] of queries) {
    const lat = [];
    let count = 0;
    for (let i = 0; i < LIST_REQUESTS; i++) {
      const url = qs === null ? `${e.uiUrl}/api/traces/${(1 + ((i * 7919) % LIST_TRACES)).toString(16).padStart(32, '0')}` : `${e.uiUrl}/api/traces?${qs}`;
      const r = await get(url, e.uiToken);
      lat.push(r.ms);
      count = qs === null ? r.body.spans.length : r.body.traces.length;
    }
    rows.push({ name, p50: percentile(lat, 50), p95: percentile(lat, 95), count });
    console.log(`${name}: p50 ${percentile(lat, 50).toFixed(2)} ms, p95 ${percentile(lat, 95).toFixed(2)} ms (${count} rows)`);
  }
  for (const [name, qs] of topQueries) {
    const lat = [];
    let r;
    for (let i = 0; i < LIST_REQUESTS; i++) {
      r = await get(`${e.uiUrl}/api/top-queries?${qs}`);
      lat.push(r.ms);
    }
    rows.push({ name, p50: percentile(lat, 50), p95: percentile(lat, 95), count: `${r.body.queries.length} of ${r.body.calls} calls` });
    console.log(`${name}: p50 ${percentile(lat, 50).toFixed(2)} ms, p95 ${percentile(lat, 95).toFixed(2)} ms`);
  }
  const top = e.store.topQueries().queries[0];
  const lat = [];
  for (let i = 0; i < LIST_REQUESTS; i++) lat.push((await get(`${e.uiUrl}/api/top-queries/${top.fingerprint}/slowest`)).ms);
  rows.push({ name: 'slowest traces of one fingerprint', p50: percentile(lat, 50), p95: percentile(lat, 95), count: 10 });
  const dbBytes = fs.statSync(stats.dbFile).size + (fs.existsSync(`${stats.dbFile}-wal`) ? fs.statSync(`${stats.dbFile}-wal`).size : 0);
  await e.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  return { rows, stats, fillMs, dbBytes };
}

(async () => {
  console.log(`node ${process.version}, ${os.cpus().length} CPUs, ${os.cpus()[0].model}`);
  const spans = makeSpans(Math.ceil(SPANS_PER_BATCH / 7));
  const ingest = await ingestBench(spans);
  const list = LIST_TRACES > 0 ? await listBench() : null;

  console.log('\n| variant | spans/s (median) | ratio | batch p95 (ms) | process CPU ms per 100k spans (receiver + sender thread) |');
  console.log('|---|---|---|---|---|');
  for (const r of ingest) {
    console.log(`| ${r.variant} | ${Math.round(r.perSec).toLocaleString('en')} | ${r.ratio.toFixed(2)} | ${r.batchP95.toFixed(1)} | ${Math.round(r.cpuMsPer100k)} |`);
  }
  if (!list) return;
  console.log(`\n${list.stats.traces.toLocaleString('en')} traces, ${list.stats.spans.toLocaleString('en')} spans stored in ${(list.fillMs / 1000).toFixed(1)} s (store.ingest, 5000-span batches); database ${(list.dbBytes / 1048576).toFixed(0)} MiB`);
  console.log('\n| request | p50 (ms) | p95 (ms) | rows |');
  console.log('|---|---|---|---|');
  for (const r of list.rows) console.log(`| ${r.name} | ${r.p50.toFixed(2)} | ${r.p95.toFixed(2)} | ${r.count} |`);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
