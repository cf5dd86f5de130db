// The collector's JavaScript path per statement, A/B: ring-buffer batches
// recorded by capture.js are replayed through each build's pipeline (decode →
// assemble → enrich → build → export queue → OTLP protobuf encoding; the
// HTTP request is left out), builds interleaved, order reversed every other
// round, a collected heap before each; CPU time of this process per statement.
//   node --expose-gc bench/pipeline/replay.js --batches file [--rounds 10] [--repeat 1] <checkout> [<checkout> ...]
// A checkout is a built tree (its packages/collector/dist and node_modules);
// "." is this one.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function opt(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}

function readBatches(file) {
  const all = fs.readFileSync(file);
  const out = [];
  for (let at = 0; at + 4 <= all.length;) {
    const n = all.readUInt32LE(at);
    out.push(all.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}

function loadBuild(root) {
  const dist = path.join(path.resolve(root), 'packages', 'collector', 'dist');
  if (!fs.existsSync(path.join(dist, 'pipeline', 'pipeline.js'))) throw new Error(`${dist} has no built pipeline: build that checkout first`);
  const { Pipeline } = require(path.join(dist, 'pipeline', 'pipeline.js'));
  const { ExportQueue } = require(path.join(dist, 'export', 'queue.js'));
  const { TraceRequestEncoder } = require(path.join(dist, 'export', 'otlp-encode.js'));
  const { resourceFromAttributes } = require(require.resolve('@opentelemetry/resources', { paths: [dist] }));
  return { root, Pipeline, ExportQueue, TraceRequestEncoder, resource: resourceFromAttributes({ 'service.name': 'replay' }) };
}

async function run(b, batches, repeat) {
  const encoder = new b.TraceRequestEncoder();
  let bytes = 0;
  let spans = 0;
  const sink = {
    export(batch, done) {
      bytes += encoder.encode(batch).length;
      spans += batch.length;
      done({ code: 0 });
    },
    shutdown: async () => undefined,
  };
  const queue = new b.ExportQueue(sink, { maxQueue: 20000, maxBatch: 512, intervalMs: 1000, log: () => undefined });
  const view = { resource: b.resource, port: null, inside: null };
  const p = new b.Pipeline({
    queue, rawQueryText: false, inside: { waitThresholdNs: 1_000_000, nestedCap: 100 }, rootSampleRate: () => 1,
    cluster: () => view, fallbackResource: b.resource, listeners: () => [], timedAt: () => false, shedWhy: () => 'budget',
    taps: { statement() {}, encrypted() {}, fork() {}, cycle() {} }, log: (m) => process.stderr.write(`[${b.root}] ${m}\n`), profileHz: () => 0,
  });
  global.gc();
  const t0 = process.cpuUsage();
  for (let i = 0; i < repeat; i++) for (const batch of batches) p.push(batch);
  p.flush();
  await queue.close();
  const t = process.cpuUsage(t0);
  return { statements: p.statements, spans, bytes, dropped: queue.stats.dropped, us: t.user + t.system };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

async function main() {
  if (typeof global.gc !== 'function') throw new Error('run with node --expose-gc');
  const file = opt('batches');
  if (!file) throw new Error('--batches <file> is required (bench/pipeline/capture.js writes one)');
  const rounds = Number(opt('rounds', 10));
  const repeat = Number(opt('repeat', 1));
  const roots = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
  if (roots.length === 0) roots.push('.');
  const builds = roots.map(loadBuild);
  const batches = readBatches(file);
  const per = builds.map(() => []);
  for (let r = 0; r < rounds + 1; r++) {
    const order = r % 2 ? [...builds.keys()].reverse() : [...builds.keys()];
    for (const i of order) {
      const x = await run(builds[i], batches, repeat);
      if (r === 0) { process.stdout.write(`warm-up ${builds[i].root}: ${x.statements} statements, ${x.spans} spans, ${x.bytes} bytes, ${x.dropped} dropped\n`); continue; }
      per[i].push(x.us / x.statements);
    }
  }
  builds.forEach((b, i) => process.stdout.write(`${b.root}: ${median(per[i]).toFixed(2)} µs/statement median (${Math.min(...per[i]).toFixed(2)}–${Math.max(...per[i]).toFixed(2)}), ratio to the first ${(median(per[i].map((v, k) => v / per[0][k]))).toFixed(3)} (paired median)\n`));
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`replay failed: ${e.stack || e}\n`);
  process.exit(1);
});
