#!/usr/bin/env node
// The overhead budget's read of its backends' CPU (discover/process-cpu.ts
// ClusterCpuReader.read, five times a second while anything is armed or
// waits) timed in one process against a built base checkout: one reader per
// version, both alternating in batches (order reversed every other round),
// with one Debian cluster whose backends are busy (`pgbench -S -c <busy>` at
// a fixed rate, every backend asked for as the budget asks for armed and
// waiting ones) besides its idle connections. Reports the medians of µs per
// read and of the paired ratios, and the /proc files each version opened.
//   node bench/overhead/backend-cpu.js --base <built checkout> [--rounds 15] [--calls 50] [--busy 2] [--idle 0]
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startCluster } = require('./postgres');
const { runPgbench, writeScripts } = require('./pgbench');
const { loadBuilds, connectIdle, alternate, pairedLine, requireBase } = require('./in-process-ab');

function args(argv) {
  const o = { base: null, rounds: 15, calls: 50, busy: 2, idle: 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--base') o.base = v;
    else if (['--rounds', '--calls', '--busy', '--idle'].includes(k)) o[k.slice(2)] = Number(v);
    else throw new Error(`unknown option ${k}: use --base, --rounds, --calls, --busy, --idle`);
  }
  o.base = requireBase(o.base);
  return o;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** How many files fn opens: fs.openSync and fs.readFileSync counted while it runs. */
function opened(fn) {
  let n = 0;
  const { openSync, readFileSync } = fs;
  fs.openSync = (...a) => (n++, openSync(...a));
  fs.readFileSync = (...a) => (n++, readFileSync(...a));
  try {
    fn();
  } finally {
    fs.openSync = openSync;
    fs.readFileSync = readFileSync;
  }
  return n;
}

(async () => {
  const o = args(process.argv.slice(2));
  const builds = loadBuilds('discover/process-cpu.js', o.base);
  const readers = { this: new builds.this.ClusterCpuReader(), base: new builds.base.ClusterCpuReader() };
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'backend-cpu-'));
  fs.chmodSync(workDir, 0o755);
  const cluster = await startCluster({ settings: { fsync: 'off' }, scale: 1 });
  let clients = [];
  try {
    clients = await connectIdle(cluster, o.idle);
    const scripts = writeScripts(workDir);
    const seconds = Math.ceil((o.rounds * 2 * o.calls * 0.002) + 10);
    const busy = runPgbench({ cluster, workload: 'select', seconds, rate: 500 * o.busy, clients: o.busy, threads: 1, workDir, scriptFile: scripts.select.unsampled, latencies: false });
    await sleep(1500);
    const pm = cluster.pid;
    const files = {};
    for (const b of ['this', 'base']) {
      readers[b].read(pm);
      await sleep(5);
      files[b] = opened(() => readers[b].read(pm));
    }
    const per = await alternate(o.rounds, async (b) => {
      let ns = 0;
      for (let i = 0; i < o.calls; i++) {
        // between reads the busy backends run (the budget reads every 200 ms; 1 ms here)
        await sleep(1);
        const t0 = process.hrtime.bigint();
        if (!readers[b].read(pm)) throw new Error('the postmaster was not found');
        ns += Number(process.hrtime.bigint() - t0);
      }
      return ns / 1000 / o.calls;
    });
    await busy;
    console.log(`${o.busy} busy and ${o.idle} idle connections, ${o.rounds} rounds × ${o.calls} reads; files opened by one read: this ${files.this}, base ${files.base}`);
    console.log(pairedLine('read', per));
  } finally {
    for (const c of clients) await c.end().catch(() => {});
    await cluster.stop();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
