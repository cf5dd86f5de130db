// In-process A/B of the trace store alone (no HTTP, no decode): ms per
// 512-span batch through store.ingest, the base build and this one
// alternating batch by batch, medians. See BENCHMARKS.md "Top queries".
//   BASELINE_DIST=<other build>/packages/collector/dist/embedded node bench/ingest/store-ab.js
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

if (!process.env.BASELINE_DIST) {
  console.error('set BASELINE_DIST to another build\'s packages/collector/dist/embedded');
  process.exit(1);
}
const builds = {
  base: path.join(path.resolve(process.env.BASELINE_DIST), 'store'),
  mine: path.resolve(__dirname, '../../packages/collector/dist/embedded/store'),
};
let n = 0;
function batch() {
  const spans = [];
  for (let t = 0; t < 73; t++) {
    const i = ++n;
    const traceId = i.toString(16).padStart(32, '0');
    const sid = (k) => (k + 1).toString(16).padStart(16, '0');
    const start = BigInt(Date.now()) * 1000000n + BigInt(i);
    const base = { events: [], links: [], statusCode: 0, statusMessage: '', scope: 'b', traceId };
    const sql = "SELECT id, name, email FROM users WHERE id = $1 /*traceparent='00-x-01'*/";
    const app = { 'service.name': 'shop-api', 'host.name': 'h' }, pgr = { 'service.name': 'postgresql' };
    spans.push({ ...base, spanId: sid(0), parentSpanId: null, name: 'GET /users/:id', kind: 2, service: 'shop-api', startNs: start, endNs: start + 4000000n, attributes: { 'http.route': '/users/:id', 'http.request.method': 'GET', 'url.path': `/users/${i}`, 'http.response.status_code': 200 }, resource: app });
    spans.push({ ...base, spanId: sid(1), parentSpanId: sid(0), name: 'SELECT users', kind: 3, service: 'shop-api', startNs: start + 1000000n, endNs: start + 3000000n, attributes: { 'db.system.name': 'postgresql', 'db.namespace': 'shop', 'db.query.text': sql }, resource: app });
    spans.push({ ...base, spanId: sid(2), parentSpanId: sid(1), name: 'SELECT users', kind: 2, service: 'postgresql', startNs: start + 1000000n, endNs: start + 2000000n, attributes: { 'db.system.name': 'postgresql', 'db.namespace': 'shop', 'db.operation.name': 'SELECT', 'db.collection.name': 'users', 'db.query.text': sql, 'postgresql.backend_pid': 999 }, resource: pgr });
    for (const [k, ph] of ['parse', 'plan', 'execute', 'commit'].entries()) spans.push({ ...base, spanId: sid(3 + k), parentSpanId: sid(2), name: ph, kind: 1, service: 'postgresql', startNs: start + 1000000n, endNs: start + 2000000n, attributes: {}, resource: pgr });
  }
  return spans.slice(0, 512);
}
const stores = {};
for (const [k, p] of Object.entries(builds)) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ab-${k}-`));
  stores[k] = { store: require(p).TraceStore.open({ dataDir: dir }), dir, ms: [] };
}
const BATCHES = Number(process.env.BATCHES ?? 400);
for (let i = 0; i < BATCHES; i++) {
  for (const k of i % 2 ? ['mine', 'base'] : ['base', 'mine']) {
    const b = batch();
    const t = process.hrtime.bigint();
    stores[k].store.ingest(b);
    stores[k].ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
}
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
for (const [k, s] of Object.entries(stores)) {
  console.log(k, 'median ms/batch', med(s.ms).toFixed(2), 'spans/s', Math.round(512 / med(s.ms) * 1000));
  s.store.close(); fs.rmSync(s.dir, { recursive: true });
}
