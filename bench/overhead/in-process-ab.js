// What the in-process A/B benches share (rescan.js, backend-cpu.js): one
// module of the collector loaded from this checkout and from a built base
// checkout, a cluster with idle connections, both versions timed in
// alternating batches (order reversed every other round), medians and the
// median of the paired ratios.
'use strict';
const path = require('node:path');
const { Client } = require('pg');

/** The collector's compiled module `rel` (under packages/collector/dist) of this checkout and of `base`. */
function loadBuilds(rel, base) {
  const load = (root) => require(path.join(root, 'packages', 'collector', 'dist', rel));
  return { this: load(path.join(__dirname, '..', '..')), base: load(base) };
}

/** `n` idle connections to the cluster, as a pool holds them. */
async function connectIdle(cluster, n) {
  const clients = [];
  for (let i = 0; i < n; i++) {
    const c = new Client({ host: cluster.connArgs[cluster.connArgs.indexOf('-h') + 1], port: cluster.port, user: 'postgres', database: 'postgres' });
    await c.connect();
    clients.push(c);
  }
  return clients;
}

/** `batch(build)` (µs per call, one batch) for both builds, `rounds` times, alternating. */
async function alternate(rounds, batch) {
  const per = { this: [], base: [] };
  for (let r = 0; r < rounds; r++) {
    for (const b of r % 2 ? ['base', 'this'] : ['this', 'base']) per[b].push(await batch(b));
  }
  return per;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** "µs per <what>: this …, base …; paired ratio …" */
function pairedLine(what, per) {
  const ratios = per.this.map((x, i) => x / per.base[i]);
  return `µs per ${what}: this ${median(per.this).toFixed(0)}, base ${median(per.base).toFixed(0)}; paired ratio ${median(ratios).toFixed(3)}`;
}

/** The --base option every such bench requires. */
function requireBase(base) {
  if (!base) throw new Error('--base <checkout> is required: a checkout of the version to compare, built (npx tsc -b)');
  return path.resolve(base);
}

module.exports = { loadBuilds, connectIdle, alternate, pairedLine, requireBase };
