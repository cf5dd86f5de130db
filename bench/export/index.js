// The collector's sampled path after assembly, in CPU time per statement
// (see BENCHMARKS.md "## Export"): the same assembled statements as under
// pgbench -S with a traceparent (statement span + parse/plan/execute/commit,
// a distinct literal per statement, so describing the SQL is paid each time)
// turned into spans and OTLP protobuf
//   - encode: in batches of 512 spans, by the official ProtobufTraceSerializer
//     (on ReadableSpans, as the collector built them before) or by ours;
//   - export: fed at a fixed statement rate through the collector's export
//     queue to a live OTLP/HTTP sink in another process, by the official
//     http/protobuf exporter or ours (same official transport), counting drops.
// Arms alternate within each round; medians over the rounds.
// Needs the built collector (`npx tsc -b`) and `node --expose-gc` (each arm
// starts from a collected heap). The CPU time spent making the statements is
// measured and left out.
'use strict';
const { fork } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { ProtobufTraceSerializer } = require('@opentelemetry/otlp-transformer');
const { resourceFromAttributes } = require('@opentelemetry/resources');

const dist = path.resolve(__dirname, '../../packages/collector/dist');
if (!fs.existsSync(`${dist}/export/otlp-encode.js`)) {
  console.error('packages/collector/dist is missing: run `npx tsc -b` at the repository root first.');
  process.exit(1);
}
const { buildSpans } = require(`${dist}/spans/build`);
const { MonotonicClock } = require(`${dist}/spans/clock`);
const { SqlDescriber } = require(`${dist}/spans/describe`);
const { TraceRequestEncoder } = require(`${dist}/export/otlp-encode`);
const { toReadableSpan } = require(`${dist}/export/readable-span`);
const { ExportQueue } = require(`${dist}/export/queue`);

if (typeof global.gc !== 'function') {
  console.error('run with `node --expose-gc bench/export/index.js` (or `npm run -w bench bench:export`)');
  process.exit(1);
}

const ROUNDS = Number(process.env.ROUNDS ?? 8);
const STATEMENTS = Number(process.env.STATEMENTS ?? 20_000);
const RATE = Number(process.env.RATE ?? 20_000); // statements/s in the export arms (pgbench -S reaches ~19k here)
const BATCH = Number(process.env.BATCH ?? 512);
const ONLY = process.env.ONLY ? new Set(process.env.ONLY.split(',')) : null;

const resource = resourceFromAttributes({
  'service.name': 'postgresql', 'host.name': 'bench-host', 'db.system.name': 'postgresql',
  'postgresql.cluster.data_directory': '/var/lib/postgresql/15/main', 'postgresql.postmaster.pid': 4242,
  'postgresql.cluster.port': 5432, 'postgresql.version': '15',
});
const backend = { database: 'bench', user: 'postgres' };
const clock = new MonotonicClock();

// as the decoder makes them: flat strings out of a buffer, not concatenation ropes
const flat = (s) => Buffer.from(s).toString();

function hex(n) {
  let s = '';
  for (let i = 0; i < n; i++) s += ((Math.random() * 16) | 0).toString(16);
  return flat(s);
}

/** Statements as the assembler hands them over under pgbench -S with the SDK's comment. */
function statements(n) {
  const out = [];
  let t = Number(process.hrtime.bigint());
  for (let i = 0; i < n; i++) {
    const traceId = hex(32);
    const parent = hex(16);
    const text = flat(`SELECT abalance FROM pgbench_accounts WHERE aid = ${1 + ((Math.random() * 1e6) | 0)} /*traceparent='00-${traceId}-${parent}-01'*/`);
    t += 50_000;
    out.push({
      start: { pid: 1000 + (i % 2), ppid: 4242, tsNs: t, traceId, parentSpanId: parent, flags: 1, origin: 2, malformed: false, text, textTotal: text.length },
      index: 0, startNs: t, endNs: t + 40_000, rows: 1, sqlstate: null, failed: false, incomplete: false,
      phases: [
        { name: 'parse', startNs: t + 2_000, endNs: t + 6_000 },
        { name: 'plan', startNs: t + 7_000, endNs: t + 15_000 },
        { name: 'execute', startNs: t + 16_000, endNs: t + 30_000 },
        { name: 'commit', startNs: t + 31_000, endNs: t + 39_000 },
      ],
    });
  }
  return out;
}

function cpuUs(since) {
  const d = process.cpuUsage(since);
  return d.user + d.system;
}

/** CPU time of `work`, minus what making its statements cost. */
class Meter {
  constructor() {
    this.excluded = 0;
    this.c0 = process.cpuUsage();
  }

  statements(n) {
    const c = process.cpuUsage();
    const out = statements(n);
    this.excluded += cpuUs(c);
    return out;
  }

  us() {
    return cpuUs(this.c0) - this.excluded;
  }
}

// Statements are made in small chunks as the arm goes, as the ring buffer
// delivers them: young objects, like the decoder's.
const CHUNK = 200;

function encodeArm(kind) {
  return (n) => {
    const describer = new SqlDescriber(false);
    const encoder = kind === 'ours' ? new TraceRequestEncoder() : null;
    let pending = [];
    let bytes = 0;
    const flush = () => {
      bytes += kind === 'ours'
        ? encoder.encode(pending).length
        : ProtobufTraceSerializer.serializeRequest(pending.map(toReadableSpan)).length;
      pending = [];
    };
    const meter = new Meter();
    for (let done = 0; done < n; done += CHUNK) {
      for (const s of meter.statements(CHUNK)) {
        for (const span of buildSpans(s, resource, clock, backend, describer)) pending.push(span);
        if (pending.length >= BATCH) flush();
      }
    }
    if (pending.length) flush();
    return Promise.resolve({ cpuUs: meter.us(), bytes, dropped: 0 });
  };
}

function exportArm(kind, endpoint) {
  return async (n) => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = endpoint;
    const { createOtlpExporter } = require(`${dist}/export/exporter`);
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
    let sink;
    if (kind === 'ours') sink = createOtlpExporter('http/protobuf');
    else {
      const official = new OTLPTraceExporter();
      sink = { export: (spans, done) => official.export(spans.map(toReadableSpan), done), shutdown: () => official.shutdown() };
    }
    const queue = new ExportQueue(sink, { maxQueue: 20_000, maxBatch: BATCH, intervalMs: 1000 });
    const describer = new SqlDescriber(false);
    const perTick = Math.max(1, Math.round(RATE / 100));
    const meter = new Meter();
    let fed = 0;
    await new Promise((resolve) => {
      const tick = setInterval(() => {
        for (const s of meter.statements(Math.min(perTick, n - fed))) {
          if (!queue.hasRoom(1 + s.phases.length)) queue.drop(1 + s.phases.length);
          else queue.add(buildSpans(s, resource, clock, backend, describer));
          fed++;
        }
        if (fed >= n) {
          clearInterval(tick);
          resolve();
        }
      }, 10);
    });
    await queue.close(30_000);
    return { cpuUs: meter.us(), bytes: 0, dropped: queue.stats.dropped, failures: queue.stats.exportFailures };
  };
}

function startSink() {
  const child = fork(path.join(__dirname, 'sink-child.js'), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (endpoint) => resolve({ endpoint, stop: () => child.kill() }));
    child.once('exit', (code) => reject(new Error(`the OTLP sink exited (${code})`)));
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  const sink = await startSink();
  const arms = {
    'encode/official': encodeArm('official'),
    'encode/ours': encodeArm('ours'),
    'export/official': exportArm('official', sink.endpoint),
    'export/ours': exportArm('ours', sink.endpoint),
  };
  const names = Object.keys(arms).filter((n) => !ONLY || ONLY.has(n));
  // warm-up: JIT and pools, not measured
  for (const n of names) await arms[n](2000);
  const results = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 ? [...names].reverse() : names;
    for (const n of order) {
      global.gc();
      const res = await arms[n](STATEMENTS);
      results[n].push({ usPerStatement: res.cpuUs / STATEMENTS, bytesPerStatement: res.bytes / STATEMENTS, dropped: res.dropped, failures: res.failures ?? 0 });
    }
    process.stderr.write(`round ${r + 1}/${ROUNDS} done\n`);
  }
  sink.stop();
  const summary = names.map((n) => ({
    arm: n,
    rounds: results[n].length,
    usPerStatement: Number(median(results[n].map((x) => x.usPerStatement)).toFixed(2)),
    min: Number(Math.min(...results[n].map((x) => x.usPerStatement)).toFixed(2)),
    max: Number(Math.max(...results[n].map((x) => x.usPerStatement)).toFixed(2)),
    bytesPerStatement: Math.round(median(results[n].map((x) => x.bytesPerStatement))),
    dropped: results[n].reduce((a, x) => a + x.dropped, 0),
    failures: results[n].reduce((a, x) => a + x.failures, 0),
  }));
  console.table(summary);
  const out = { date: new Date().toISOString(), node: process.version, rounds: ROUNDS, statements: STATEMENTS, rate: RATE, spansPerStatement: 5, summary, results };
  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `export-${out.date.slice(0, 19).replace(/[-:T]/g, '')}.json`);
  fs.writeFileSync(file, `${JSON.stringify(out, null, 1)}\n`);
  console.log(`raw data: ${path.relative(process.cwd(), file)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
