// Sends realistic traces to an OTLP endpoint through the official OpenTelemetry
// JS exporters: an app (HTTP server span → pg client spans) and the pgferret
// collector's side (Postgres statement span → parse/plan/execute/commit).
//
// Plain CommonJS run as a child process (see embedded-seed.ts): the exporters
// load node:http with a dynamic import(), which jest's module sandbox refuses
// without --experimental-vm-modules. Running them in their own Node process is
// also exactly how an app sends spans.
//
//   node embedded-seed-sender.js <otlpUrl> <proto|json> [gzip] < traces.json
//   prints the trace ids as a JSON array.
'use strict';
const { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } = require('@opentelemetry/api');
const { OTLPTraceExporter: JsonExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const { OTLPTraceExporter: ProtoExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { TracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace');

function provider(otlpUrl, protocol, compression, service) {
  const config = { url: `${otlpUrl}/v1/traces`, ...(compression ? { compression } : {}) };
  const exporter = protocol === 'proto' ? new ProtoExporter(config) : new JsonExporter(config);
  return new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new BatchSpanProcessor({ exporter, maxExportBatchSize: 512, maxQueueSize: 100000 })],
  });
}

const hr = (t) => [Math.floor(t / 1000), Math.round((t % 1000) * 1e6)];

/** One request: HTTP server span → a pg client span per statement → the collector's spans. */
function record(t, appProviders, pgProvider) {
  const service = t.service || 'shop-api';
  const app = appProviders(service);
  const appTracer = app.getTracer('@opentelemetry/instrumentation-http');
  const pgClientTracer = app.getTracer('@opentelemetry/instrumentation-pg');
  const collector = pgProvider.getTracer('pgferret-collector');
  const t0 = Date.now() - t.agoMs;
  const status = t.status || 200;

  const server = appTracer.startSpan(
    `${t.method} ${t.route}`,
    {
      kind: SpanKind.SERVER,
      startTime: hr(t0),
      attributes: {
        'http.request.method': t.method,
        'http.route': t.route,
        'url.path': t.path,
        'http.response.status_code': status,
      },
    },
    ROOT_CONTEXT,
  );
  const serverCtx = trace.setSpan(ROOT_CONTEXT, server);
  for (const st of t.statements) {
    const op = st.sql.trim().split(/\s+/)[0].toUpperCase();
    const table = (/(?:from|into|update)\s+"?(\w+)/i.exec(st.sql) || [])[1] || '';
    const name = table ? `${op} ${table}` : op;
    const p = st.phases;
    const total = p.parse + p.plan + p.execute + (p.commit || 0);
    const cStart = t0 + st.atMs;
    const client = pgClientTracer.startSpan(
      name,
      {
        kind: SpanKind.CLIENT,
        startTime: hr(cStart),
        attributes: {
          'db.system.name': 'postgresql',
          'db.namespace': 'shop',
          'db.query.text': st.sql,
          'server.address': 'localhost',
          'server.port': 5432,
        },
      },
      serverCtx,
    );
    const total0 = p.parse + p.plan + p.execute + (p.commit || 0);
    if (t.pgSpans === false) {
      // The app's side only: what a trace looks like when no collector saw the statement.
      if (st.error) client.setStatus({ code: SpanStatusCode.ERROR, message: st.error });
      client.end(hr(cStart + total0 + 0.5));
      continue;
    }
    const pgCtx = trace.setSpanContext(ROOT_CONTEXT, client.spanContext());
    const sStart = cStart + 0.2;
    const stmt = collector.startSpan(
      name,
      {
        kind: SpanKind.SERVER,
        startTime: hr(sStart),
        attributes: {
          'db.system.name': 'postgresql',
          'db.namespace': 'shop',
          'db.operation.name': op,
          ...(table ? { 'db.collection.name': table } : {}),
          'db.query.text': st.sql,
          'postgresql.backend_pid': 4242,
          ...(st.rows !== undefined ? { 'db.response.returned_rows': st.rows } : {}),
          ...(st.error ? { 'db.response.status_code': '57014' } : {}),
        },
      },
      pgCtx,
    );
    const stmtCtx = trace.setSpan(ROOT_CONTEXT, stmt);
    let at = sStart;
    for (const phase of ['parse', 'plan', 'execute', 'commit']) {
      const d = p[phase];
      if (d === undefined) continue;
      collector.startSpan(phase, { kind: SpanKind.INTERNAL, startTime: hr(at) }, stmtCtx).end(hr(at + d));
      at += d;
    }
    if (st.error) {
      stmt.setStatus({ code: SpanStatusCode.ERROR, message: st.error });
      client.setStatus({ code: SpanStatusCode.ERROR, message: st.error });
    }
    stmt.end(hr(sStart + total));
    client.end(hr(sStart + total + 0.3));
  }
  if (status >= 500) server.setStatus({ code: SpanStatusCode.ERROR });
  server.end(hr(t0 + t.durationMs));
  return server.spanContext().traceId;
}

async function main() {
  const [otlpUrl, protocol, compression] = process.argv.slice(2);
  if (!otlpUrl || (protocol !== 'proto' && protocol !== 'json')) {
    throw new Error('usage: node embedded-seed-sender.js <otlpUrl> <proto|json> [gzip] < traces.json');
  }
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const traces = JSON.parse(Buffer.concat(chunks).toString('utf8'));

  const apps = new Map();
  const appProviders = (service) => {
    if (!apps.has(service)) apps.set(service, provider(otlpUrl, protocol, compression, service));
    return apps.get(service);
  };
  const pg = provider(otlpUrl, protocol, compression, 'postgresql');
  const ids = traces.map((t) => record(t, appProviders, pg));
  // The collector's spans first, then the app's: the store must not care.
  await pg.forceFlush();
  for (const app of apps.values()) await app.forceFlush();
  await Promise.all([pg.shutdown(), ...[...apps.values()].map((a) => a.shutdown())]);
  process.stdout.write(JSON.stringify(ids));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
