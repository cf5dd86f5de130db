// One benchmark process. `plain` mode: pg alone; `otel` mode: pg under
// @opentelemetry/instrumentation-pg. pg is loaded twice (two module copies,
// two Client classes) and only the second copy gets the SDK, so no variant
// needs patching or unpatching during the run (that would change the
// prototypes' shapes and deoptimize pg). Variants alternate batch by batch
// in a shuffled order, sharing the process, the JIT and the machine's load.
// Prints, per variant, wall and CPU ns/query of every batch.
'use strict';
const path = require('node:path');
const { context, trace } = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { TracerProvider, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg');
const sdk = require(path.resolve(__dirname, '../../packages/sdk/dist'));

const [mode, url, batchArg, cyclesArg] = process.argv.slice(2);
const BATCH = Number(batchArg);
const CYCLES = Number(cyclesArg);

// spans are created and ended as in an app, then dropped
const dropAll = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: dropAll })] }));

const pgInstrumentation = mode === 'otel' ? new PgInstrumentation() : undefined;
if (pgInstrumentation) registerInstrumentations({ instrumentations: [pgInstrumentation] });

const pgDir = path.dirname(require.resolve('pg/package.json')) + path.sep;
const pgPlain = require('pg');
for (const file of Object.keys(require.cache)) if (file.startsWith(pgDir)) delete require.cache[file];
const pgWithSdk = require('pg');
if (pgPlain.Client === pgWithSdk.Client) throw new Error('pg was not loaded twice');
// SDK_TAGS=false: traceparent only, the same comment instrumentation-pg sends
sdk.instrument(process.env.SDK_TAGS === 'false' ? { tags: false } : {}); // resolves the cached copy: pgWithSdk

// the SDK's requestHook (the recommended setup) is only on for its own variant, so the others do not pay for it
const requestHook = sdk.pgferretRequestHook();
const config = (commenter, hook) => () => pgInstrumentation.setConfig({ addSqlCommenterCommentToQueries: commenter, requestHook: hook });
const variants = {
  plain: { plain: { pg: pgPlain }, sdk: { pg: pgWithSdk } },
  otel: {
    otel: { pg: pgPlain, before: config(false, undefined) },
    'otel-commenter': { pg: pgPlain, before: config(true, undefined) },
    'otel+sdk': { pg: pgWithSdk, before: config(false, requestHook) },
  },
}[mode];
if (!variants) throw new Error(`unknown mode ${mode}`);

function shuffle(xs) {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

async function batch(client, n) {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await client.query('SELECT $1::int AS n', [i]);
  const wall = Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(cpu0);
  return { wallNs: wall / n, cpuNs: ((cpu.user + cpu.system) * 1000) / n };
}

async function main() {
  const names = Object.keys(variants);
  for (const n of names) {
    variants[n].client = new variants[n].pg.Client({ connectionString: url });
    await variants[n].client.connect();
  }
  const out = Object.fromEntries(names.map((n) => [n, { wallNs: [], cpuNs: [] }]));
  await trace.getTracer('bench').startActiveSpan('request', async (span) => {
    const run = (n) => {
      variants[n].before?.();
      return batch(variants[n].client, BATCH);
    };
    for (let w = 0; w < 5; w++) for (const n of names) await run(n); // warm-up of every path
    for (let c = 0; c < CYCLES; c++) {
      for (const n of shuffle(names)) {
        const r = await run(n);
        out[n].wallNs.push(r.wallNs);
        out[n].cpuNs.push(r.cpuNs);
      }
    }
    span.end();
  });
  for (const n of names) await variants[n].client.end();
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
