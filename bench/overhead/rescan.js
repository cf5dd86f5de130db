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
const { startCluster } = require('./postgres');
const { loadBuilds, connectIdle, alternate, pairedLine, requireBase } = require('./in-process-ab');

function args(argv) {
  const o = { base: null, rounds: 15, calls: 40, connections: 20 };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--base') o.base = v;
    else if (k === '--rounds' || k === '--calls' || k === '--connections') o[k.slice(2)] = Number(v);
    else throw new Error(`unknown option ${k}: use --base, --rounds, --calls, --connections`);
  }
  o.base = requireBase(o.base);
  return o;
}

(async () => {
  const o = args(process.argv.slice(2));
  const builds = loadBuilds('discover/postmasters.js', o.base);
  const cluster = await startCluster({ settings: {}, scale: 1 });
  let clients = [];
  try {
    clients = await connectIdle(cluster, o.connections);
    const known = builds.this.findPostmasters();
    const pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).length;
    const kthreads = fs.readFileSync('/proc/2/task/2/children', 'latin1').trim().split(/\s+/).length + 1;
    const per = await alternate(o.rounds, (b) => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < o.calls; i++) builds[b].findPostmasters(known);
      return Number(process.hrtime.bigint() - t0) / 1000 / o.calls;
    });
    console.log(`processes ${pids} (kernel threads ${kthreads}), ${o.connections} connections, ${o.rounds} rounds × ${o.calls} calls`);
    console.log(pairedLine('rescan', per));
  } finally {
    for (const c of clients) await c.end().catch(() => {});
    await cluster.stop();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
