// Cost of the Prometheus metrics per statement: the collector's statement
// listener (StatementMetrics.observe) against a listener that does nothing,
// on the same synthetic statements, batch by batch in a shuffled order each
// cycle (A/B interleaved in one process). Statements carry a fresh
// traceparent comment each, like real traffic. Workloads: `params`, 50
// parameterized shapes (ORM-style: the text repeats); `literals`, inline
// literals (every text distinct: the description cache misses, fingerprints
// repeat). For scale, a third variant builds the statement's spans
// (buildSpans), which the collector does for every traced statement anyway.
// Needs `npx tsc -b` first.
'use strict';
const { Registry } = require('prom-client');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { StatementMetrics } = require('../../packages/collector/dist/metrics/statement-metrics');
const { buildSpans } = require('../../packages/collector/dist/spans/build');
const { MonotonicClock } = require('../../packages/collector/dist/spans/clock');
const { SqlDescriber } = require('../../packages/collector/dist/spans/describe');

const BATCH = Number(process.env.BATCH ?? 1000);
const CYCLES = Number(process.env.CYCLES ?? 300);
const hex = (n) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function statement(text) {
  const start = { pid: 100, ppid: 1, tsNs: 0, traceId: hex(32), parentSpanId: hex(16), flags: 1, origin: 2, malformed: false, text, textTotal: text.length };
  return {
    start, index: 0, startNs: 1_000_000, endNs: 1_000_000 + Math.floor(Math.random() * 5_000_000), rows: 1, sqlstate: null, failed: false, incomplete: false,
    phases: [
      { name: 'parse', startNs: 1_000_000, endNs: 1_010_000 }, { name: 'plan', startNs: 1_010_000, endNs: 1_050_000 },
      { name: 'execute', startNs: 1_050_000, endNs: 1_900_000 }, { name: 'commit', startNs: 1_900_000, endNs: 1_950_000 },
    ],
  };
}

const comment = () => ` /*application='shop',route='%2Fitems%2F%3Aid',traceparent='00-${hex(32)}-${hex(16)}-01'*/`;
const WORKLOADS = {
  params: (i) => statement(`SELECT id, name, price FROM items_${i % 50} WHERE id = $1 AND owner = $2${comment()}`),
  literals: (i) => statement(`SELECT id, name, price FROM items_${i % 50} WHERE id = ${i} AND owner = 'u${i}'${comment()}`),
};

const backend = { database: 'shop', user: 'app' };
const metrics = new StatementMetrics(new Registry());
const resource = resourceFromAttributes({ 'service.name': 'postgresql' });
const clock = new MonotonicClock();
const describer = new SqlDescriber(false);
const VARIANTS = { noop: () => undefined, metrics: metrics.observe, spans: (s, b) => buildSpans(s, resource, clock, b, describer) };

const results = {};
for (const [w, make] of Object.entries(WORKLOADS)) {
  const perVariant = Object.fromEntries(Object.keys(VARIANTS).map((v) => [v, []]));
  let n = 0;
  for (let c = 0; c < CYCLES; c++) {
    const order = Object.keys(VARIANTS).sort(() => Math.random() - 0.5);
    for (const v of order) {
      const batch = Array.from({ length: BATCH }, () => make(n++));
      const fn = VARIANTS[v];
      const t0 = process.hrtime.bigint();
      for (const s of batch) fn(s, backend);
      perVariant[v].push(Number(process.hrtime.bigint() - t0) / BATCH);
    }
  }
  // the first tenth warms the JIT and the caches
  const skip = Math.floor(CYCLES / 10);
  const paired = perVariant.metrics.slice(skip).map((x, i) => x - perVariant.noop[skip + i]);
  const pairedSpans = perVariant.spans.slice(skip).map((x, i) => x - perVariant.noop[skip + i]);
  results[w] = { noopNs: median(perVariant.noop.slice(skip)), metricsNs: median(perVariant.metrics.slice(skip)), addedNs: median(paired), spansNs: median(pairedSpans) };
}
console.log(`node ${process.version}; ${CYCLES} cycles x ${BATCH} statements per variant, shuffled per cycle; medians of per-batch ns/statement (first 10% of cycles dropped)\n`);
console.log('| workload | noop listener ns | metrics listener ns | metrics: added per statement ns | for scale: building its spans ns |');
console.log('|---|---:|---:|---:|---:|');
for (const [w, r] of Object.entries(results)) {
  console.log(`| ${w} | ${r.noopNs.toFixed(0)} | ${r.metricsNs.toFixed(0)} | ${r.addedNs.toFixed(0)} | ${r.spansNs.toFixed(0)} |`);
}
console.log('\n(added = median of paired differences to the noop batch of the same cycle)');
