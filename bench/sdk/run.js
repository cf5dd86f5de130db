// SDK cost per query: plain pg, pg + @pgferret/sdk, instrumentation-pg with
// and without addSqlCommenterCommentToQueries, and both together. Sub-variants
// alternate batch by batch inside one process per mode (see variant.js);
// medians over all batches of all rounds, and medians of paired differences. Needs `npx tsc -b` first.
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { startPostgres } = require('./postgres');

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const BATCH = Number(process.env.BATCH ?? 100);
const CYCLES = Number(process.env.CYCLES ?? 100);
const VARIANTS = ['plain', 'sdk', 'otel', 'otel-commenter', 'otel+sdk'];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main() {
  const pg = await startPostgres();
  const results = Object.fromEntries(VARIANTS.map((v) => [v, { wallNs: [], cpuNs: [] }]));
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of r % 2 ? ['otel', 'plain'] : ['plain', 'otel']) {
        const args = [path.join(__dirname, 'variant.js'), mode, pg.url, String(BATCH), String(CYCLES)];
        const out = JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' }));
        for (const [v, xs] of Object.entries(out)) {
          results[v].wallNs.push(...xs.wallNs);
          results[v].cpuNs.push(...xs.cpuNs);
        }
      }
      process.stderr.write(`round ${r + 1}/${ROUNDS}\n`);
    }
  } finally {
    await pg.stop();
  }
  const med = Object.fromEntries(VARIANTS.map((v) => [v, { wall: median(results[v].wallNs) / 1000, cpu: median(results[v].cpuNs) / 1000 }]));
  const us = (x) => x.toFixed(2);
  console.log(`node ${process.version}; ${ROUNDS} rounds x ${CYCLES} cycles x ${BATCH} queries per variant ('SELECT $1::int', one client, sequential, inside a sampled span); medians of per-batch µs/query\n`);
  console.log('| variant | wall µs/query | CPU µs/query | wall vs plain | CPU vs plain |');
  console.log('|---|---:|---:|---:|---:|');
  for (const v of VARIANTS) {
    console.log(`| ${v} | ${us(med[v].wall)} | ${us(med[v].cpu)} | ${(med[v].wall / med.plain.wall).toFixed(3)} | ${(med[v].cpu / med.plain.cpu).toFixed(3)} |`);
  }
  // paired: the two variants' batches of the same cycle ran back to back
  const diff = (a, b, key) => median(results[a][key].map((x, i) => x - results[b][key][i])) / 1000;
  const row = (label, a, b) => `| ${label} | ${us(diff(a, b, 'wallNs'))} | ${us(diff(a, b, 'cpuNs'))} |`;
  console.log('\n| added cost per query (median of paired batch differences) | wall µs | CPU µs |');
  console.log('|---|---:|---:|');
  console.log(row('SDK on plain pg (sdk − plain)', 'sdk', 'plain'));
  console.log(row('SDK on instrumentation-pg (otel+sdk − otel)', 'otel+sdk', 'otel'));
  console.log(row('addSqlCommenterCommentToQueries (otel-commenter − otel)', 'otel-commenter', 'otel'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
