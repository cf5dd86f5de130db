'use strict';
// The collector's CPU beside a large pool of idle connections: what its
// per-backend work costs (the budget reads every backend's CPU from /proc
// five times a second; the rescan looks at every process), with a light
// sampled load that keeps the budget ticking. Builds A/B interleaved (order
// reversed every other round), medians and paired ratios.
//   node bench/overhead/pool.js [--idle 300] [--rounds 3] [--warm 15] [--seconds 20] [--rate 50]
//                               [--base <built checkout>] [--out <file.json>]
const fs = require('node:fs'); const os = require('node:os'); const path = require('node:path');
const { Client } = require('pg');
const B = __dirname + '/';
const { startCluster } = require(B + 'postgres'); const { startCollector, collectorCli, cpuSeconds } = require(B + 'collector');
const { startSink } = require(B + 'sink'); const { runPgbench, writeScripts } = require(B + 'pgbench');

function parseArgs(argv) {
  const o = { idle: 300, rounds: 3, warm: 15, seconds: 20, rate: 50, base: null, out: null };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i], v = argv[i + 1];
    if (v === undefined) throw new Error(`${k} needs a value`);
    switch (k) {
      case '--idle': o.idle = Number(v); break;
      case '--rounds': o.rounds = Number(v); break;
      case '--warm': o.warm = Number(v); break;
      case '--seconds': o.seconds = Number(v); break;
      case '--rate': o.rate = Number(v); break;
      case '--base': o.base = v; break;
      case '--out': o.out = v; break;
      default: throw new Error(`unknown option ${k} (see the comment at the top of bench/overhead/pool.js)`);
    }
  }
  if (!(Number.isInteger(o.idle) && o.idle >= 0 && o.rounds >= 1 && o.seconds >= 2 && o.warm >= 0 && o.rate >= 1)) throw new Error('--idle ≥ 0, --rounds ≥ 1, --seconds ≥ 2, --warm ≥ 0, --rate ≥ 1');
  return o;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const n = s.length; return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

(async () => {
  const o = parseArgs(process.argv.slice(2));
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pool-')); fs.chmodSync(workDir, 0o755);
  const cluster = await startCluster({ settings: { fsync: 'off', max_connections: String(o.idle + 20) }, scale: 1 });
  const idle = [];
  const sink = await startSink();
  const scripts = writeScripts(workDir);
  const builds = o.base ? ['this', 'base'] : ['this'];
  const rows = [];
  try {
    const socketDir = cluster.connArgs[cluster.connArgs.indexOf('-h') + 1];
    for (let i = 0; i < o.idle; i++) {
      const c = new Client({ host: socketDir, port: cluster.port, user: 'postgres', database: 'postgres' });
      await c.connect();
      idle.push(c);
    }
    for (let round = 0; round < o.rounds; round++) {
      for (const build of round % 2 ? [...builds].reverse() : builds) {
        const col = await startCollector({ mode: 'otlp', pgPort: cluster.port, endpoint: sink.endpoint, cli: collectorCli(build === 'base' ? o.base : null) });
        try {
          const load = runPgbench({ cluster, workload: 'select', seconds: o.warm + o.seconds + 2, rate: o.rate, clients: 1, threads: 1, workDir, scriptFile: scripts.select.sampled, latencies: false });
          await sleep(o.warm * 1000);
          const c0 = cpuSeconds(col.pid);
          await sleep(o.seconds * 1000);
          const c1 = cpuSeconds(col.pid);
          await load;
          const row = { round, build, idle: o.idle, collectorMsPerS: ((c1 - c0) * 1000) / o.seconds };
          rows.push(row);
          process.stderr.write(`[pool] round ${round + 1}/${o.rounds} ${build}: collector ${row.collectorMsPerS.toFixed(1)} ms/s beside ${o.idle} idle connections\n`);
        } finally {
          await col.stop();
        }
      }
    }
  } finally {
    for (const c of idle) await c.end().catch(() => {});
    await sink.close();
    await cluster.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
  const of = (b) => rows.filter((r) => r.build === b).map((r) => r.collectorMsPerS);
  const paired = o.base ? median([...Array(o.rounds).keys()].map((r) => rows.find((x) => x.round === r && x.build === 'this').collectorMsPerS / rows.find((x) => x.round === r && x.build === 'base').collectorMsPerS)) : null;
  const summary = { idle: o.idle, rate: o.rate, seconds: o.seconds, warm: o.warm, thisMsPerS: median(of('this')), baseMsPerS: o.base ? median(of('base')) : null, pairedRatio: paired };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  if (o.out) fs.writeFileSync(o.out, `${JSON.stringify({ summary, rows }, null, 1)}\n`);
})().catch((e) => {
  process.stderr.write(`pool bench failed: ${e.stack || e}\n`);
  process.exit(1);
});
