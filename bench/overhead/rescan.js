#!/usr/bin/env node
// The collector's rescan (discover/postmasters.ts findPostmasters, every 2 s
// in every collector) timed in one process against a built base checkout:
// both versions alternate in batches (order reversed every other round) with
// one Debian cluster running and its backends connected, the last scan's
// postmasters given as the collector gives them. Reports the medians of µs
// per call and of the paired ratios, and the host's process count (kernel
// threads among them).
//   node bench/overhead/rescan.js --base <built checkout> [--rounds 15] [--calls 40] [--connections 20]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { Client } = require('pg');
const { startCluster } = require('./postgres');

function args(argv) {
  const o = { base: null, rounds: 15, calls: 40, connections: 20 };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--base') o.base = path.resolve(v);
    else if (k === '--rounds' || k === '--calls' || k === '--connections') o[k.slice(2)] = Number(v);
    else throw new Error(`unknown option ${k}: use --base, --rounds, --calls, --connections`);
  }
  if (!o.base) throw new Error('--base <checkout> is required: a checkout of the version to compare, built (npx tsc -b)');
  return o;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

(async () => {
  const o = args(process.argv.slice(2));
  const load = (root) => require(path.join(root, 'packages', 'collector', 'dist', 'discover', 'postmasters.js'));
  const builds = { this: load(path.join(__dirname, '..', '..')), base: load(o.base) };
  const cluster = await startCluster({ settings: {}, scale: 1 });
  const clients = [];
  try {
    for (let i = 0; i < o.connections; i++) {
      const c = new Client({ host: cluster.connArgs[cluster.connArgs.indexOf('-h') + 1], port: cluster.port, user: 'postgres', database: 'postgres' });
      await c.connect();
      clients.push(c);
    }
    const known = builds.this.findPostmasters();
    const pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).length;
    const kthreads = fs.readFileSync('/proc/2/task/2/children', 'latin1').trim().split(/\s+/).length + 1;
    const per = { this: [], base: [] };
    for (let r = 0; r < o.rounds; r++) {
      for (const b of r % 2 ? ['base', 'this'] : ['this', 'base']) {
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < o.calls; i++) builds[b].findPostmasters(known);
        per[b].push(Number(process.hrtime.bigint() - t0) / 1000 / o.calls);
      }
    }
    const ratios = per.this.map((x, i) => x / per.base[i]);
    console.log(`processes ${pids} (kernel threads ${kthreads}), ${o.connections} connections, ${o.rounds} rounds × ${o.calls} calls`);
    console.log(`µs per rescan: this ${median(per.this).toFixed(0)}, base ${median(per.base).toFixed(0)}; paired ratio ${median(ratios).toFixed(3)}`);
  } finally {
    for (const c of clients) await c.end().catch(() => {});
    await cluster.stop();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
