// One app of the compatibility matrix. Runs in plain node with a fixture
// directory (its own package.json, installed from the registry by
// scripts/setup.sh) as the working directory, so every package, the built SDK
// copied into it included, resolves from that install. argv: setup, database
// URL, marker prefix. Each query runs inside its own span named after a
// marker that is also in the SQL; spans go over OTLP/HTTP to the receiver
// named by OTEL_EXPORTER_OTLP_ENDPOINT. Prints one JSON object: the queries
// (marker, which span the traceparent should name, the active span), the
// SDK's diag warnings and who wraps Client#query in which order.
'use strict';
const path = require('node:path');
const { createRequire } = require('node:module');
const { Readable } = require('node:stream');
const { pipeline } = require('node:stream/promises');

const own = path.join(process.cwd(), 'node_modules') + path.sep;
const resolveRequire = createRequire(path.join(process.cwd(), 'package.json'));
// only what the fixture installed: resolution would otherwise walk up into the repository's node_modules
const has = (name) => {
  try {
    return resolveRequire.resolve(name).startsWith(own);
  } catch {
    return false;
  }
};
const fixtureRequire = (name) => {
  if (!has(name)) throw new Error(`${name} is not installed in ${process.cwd()}: run bash scripts/setup.sh`);
  return resolveRequire(name);
};
const [setup, connectionString, prefix] = process.argv.slice(2);

const { trace, diag, DiagLogLevel } = fixtureRequire('@opentelemetry/api');
const sdk = fixtureRequire('@pgferret/sdk');
const warnings = [];
const keep = (m) => {
  if (String(m).includes('@pgferret/sdk')) warnings.push(String(m));
};
diag.setLogger({ error: keep, warn: keep, info() {}, debug() {}, verbose() {} }, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });

// the app's own requestHook: must keep working when pgferret's is composed with it
const userHook = (span, info) => span.setAttribute('app.request_hook', info.query.text.length);

function startOtel() {
  if (setup === 'auto-register') return undefined; // started by --require …/register
  const { NodeSDK } = fixtureRequire('@opentelemetry/sdk-node');
  const { OTLPTraceExporter } = fixtureRequire('@opentelemetry/exporter-trace-otlp-http');
  const { PgInstrumentation } = fixtureRequire('@opentelemetry/instrumentation-pg');
  const hooked = () => new PgInstrumentation({ requestHook: sdk.pgferretRequestHook(userHook) });
  let instrumentations;
  if (setup === 'hook-pg-first') instrumentations = [hooked(), new sdk.PgFerretInstrumentation()];
  else if (setup === 'hook-sdk-first') instrumentations = [new sdk.PgFerretInstrumentation(), hooked()];
  else if (setup === 'option') {
    const pgInstrumentation = new PgInstrumentation({ requestHook: userHook });
    instrumentations = [pgInstrumentation, new sdk.PgFerretInstrumentation({ pgInstrumentation })];
  } else if (setup === 'fallback-pg-first') instrumentations = [new PgInstrumentation(), new sdk.PgFerretInstrumentation()];
  else if (setup === 'fallback-sdk-first') instrumentations = [new sdk.PgFerretInstrumentation(), new PgInstrumentation()];
  else if (setup === 'instrument-after') instrumentations = [hooked()];
  else if (setup === 'auto') {
    const { getNodeAutoInstrumentations } = fixtureRequire('@opentelemetry/auto-instrumentations-node');
    instrumentations = [
      getNodeAutoInstrumentations({
        '@opentelemetry/instrumentation-pg': { requestHook: sdk.pgferretRequestHook(userHook) },
        '@opentelemetry/instrumentation-fs': { enabled: false },
      }),
    ];
  } else throw new Error(`unknown setup ${setup}`);
  const otel = new NodeSDK({ serviceName: 'matrix', traceExporter: new OTLPTraceExporter(), instrumentations });
  otel.start();
  return otel;
}

const otel = startOtel();
const pg = fixtureRequire('pg');
if (setup === 'instrument-after' || setup === 'auto' || setup === 'auto-register') sdk.instrument();

const tracer = trace.getTracer('matrix');
const queries = [];
/** Runs fn in a new active span named marker; `names` is which span the traceparent must name. */
function inSpan(marker, names, fn) {
  return tracer.startActiveSpan(marker, async (span) => {
    const sc = span.spanContext();
    queries.push({ marker, names, traceId: sc.traceId, activeSpanId: sc.spanId });
    try {
      await fn();
    } finally {
      span.end();
    }
  });
}

/**
 * Who wraps Client#query, outermost first: 'sdk' (its __original is a getter,
 * see src/patch.ts) or 'otel' (shimmer's value), down to pg's own.
 */
function queryLayers() {
  const layers = [];
  for (let fn = pg.Client.prototype.query; fn && fn.__wrapped; fn = fn.__original) {
    layers.push(Object.getOwnPropertyDescriptor(fn, '__original').get ? 'sdk' : 'otel');
  }
  return layers;
}

async function main() {
  const client = new pg.Client({ connectionString });
  await client.connect();
  const pool = new pg.Pool({ connectionString, max: 2 });
  const m = (name) => `${prefix}_${name}`;
  await inSpan(m('string'), 'pg', () => client.query(`SELECT '${m('string')}'`));
  await inSpan(m('config'), 'pg', () => client.query({ text: `SELECT $1::text, '${m('config')}'`, values: ['x'] }));
  await inSpan(m('callback'), 'pg', () => new Promise((res, rej) => client.query(`SELECT '${m('callback')}'`, (e, r) => (e ? rej(e) : res(r)))));
  await inSpan(m('pool'), 'pg', () => pool.query(`SELECT '${m('pool')}'`));
  // queued behind a query of no span, still running: carries the context of its own call
  const busy = client.query('SELECT pg_sleep(0.05)');
  await inSpan(m('queued'), 'pg', () => client.query(`SELECT '${m('queued')}'`));
  await busy;
  // instrumentation-pg never ends its span for a submittable without its own
  // callback, so these name the active span
  if (has('pg-cursor')) {
    const Cursor = fixtureRequire('pg-cursor');
    await inSpan(m('cursor'), 'active', async () => {
      const c = client.query(new Cursor(`SELECT '${m('cursor')}'`));
      await c.read(10);
      await c.close();
    });
  }
  if (has('pg-query-stream')) {
    const QueryStream = fixtureRequire('pg-query-stream');
    await inSpan(m('stream'), 'active', async () => {
      for await (const row of client.query(new QueryStream(`SELECT '${m('stream')}'`))) void row;
    });
  }
  if (has('pg-copy-streams')) {
    const { from: copyFrom, to: copyTo } = fixtureRequire('pg-copy-streams');
    await client.query(`CREATE TEMP TABLE ${m('copy_from')} (n int)`);
    await inSpan(m('copy_from'), 'active', () => pipeline(Readable.from(['1\n', '2\n']), client.query(copyFrom(`COPY ${m('copy_from')} (n) FROM STDIN`))));
    await inSpan(m('copy_to'), 'active', async () => {
      for await (const chunk of client.query(copyTo(`COPY (SELECT '${m('copy_to')}') TO STDOUT`))) void chunk;
    });
  }
  if (new pg.Client({ pipeline: true }).pipeline === true) {
    // pg's pipeline mode: all three are queued and written before any answer
    const piped = new pg.Client({ connectionString, pipeline: true });
    await piped.connect();
    await Promise.all(['a', 'b', 'c'].map((x) => inSpan(m(`pipeline_${x}`), 'pg', () => piped.query(`SELECT '${m(`pipeline_${x}`)}'`))));
    await piped.end();
  }
  if (has('knex')) {
    const db = fixtureRequire('knex')({ client: 'pg', connection: connectionString, pool: { min: 0, max: 1 } });
    await inSpan(m('knex'), 'pg', () => db.raw(`SELECT '${m('knex')}'`));
    await db.destroy();
  }
  if (has('@prisma/adapter-pg')) {
    const { PrismaPg } = fixtureRequire('@prisma/adapter-pg');
    const adapter = await new PrismaPg({ connectionString }).connect();
    await inSpan(m('prisma'), 'pg', () => adapter.queryRaw({ sql: `SELECT '${m('prisma')}'`, args: [], argTypes: [] }));
    await adapter.dispose();
  }
  await client.end();
  await pool.end();
  if (otel) await otel.shutdown();
  else await trace.getTracerProvider().getDelegate().forceFlush();
  // exit once written: --require …/register leaves its SDK running
  process.stdout.write(JSON.stringify({ queries, warnings, layers: queryLayers() }), () => process.exit(0));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
