'use strict';
// The collector's steady-state cost at fixed sampled-statement rates, idle
// included: CPU per second and per statement (the main thread vs the others:
// V8's compiler and GC helpers, libuv's pool, the loader's detacher) and the main thread's wake-ups, after a warm-up, builds A/B
// interleaved (order reversed every other round), medians and paired ratios.
//   node bench/overhead/steady.js [--rates 0,200,550,5000] [--rounds 3] [--warm 5 | --warm 20,60,15,10] [--seconds 10]
//                                 [--base <built checkout>] [--detail full] [--out <file.json>]
//                                 [--node-args "<flags>"]   (node/V8 flags for this build's collector only)
//                                 [--collector-args "<flags>"]   (more collector flags, both builds: e.g. "--max-overhead 100")
//                                 [--reconnect]   (the window's statements on new connections, as before 2026-12-07 22:00)
// Every statement of `pgbench -S -R <rate> -c 2 -j 1` carries a sampled
// traceparent; rate 0 is an attached cluster with no statement. One collector
// per build and round goes through the rates in order (a warm-up before each:
// one figure, or one per rate — at 200/s V8 is still compiling after 30 s),
// one pgbench run through warm-up and window: the window is the steady state
// of a pool, not two new backends' first statements, forks and armings; the
// status calls that count statements are made outside the measured window.
const fs = require('node:fs'); const os = require('node:os'); const path = require('node:path');
const B = __dirname + '/';
const { startCluster } = require(B + 'postgres'); const { startCollector, collectorCli } = require(B + 'collector');
const { startSink } = require(B + 'sink'); const { runPgbench, writeScripts } = require(B + 'pgbench');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A thread's run time in ns: schedstat's first field (utime+stime move in 10 ms ticks: an idle collector's 10 s window held 2 of them). */
const runNs = (pid, tid) => Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ')[0]);

/** Run time (ns) of the main thread and of the others (node 20 names them all "node"), and the main thread's voluntary context switches (its wake-ups). Threads that ended in between are not counted. */
function sample(pid) {
  const out = { main: 0, other: 0, wakeups: 0 };
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    let ns;
    try {
      ns = runNs(pid, t);
    } catch { continue; }
    if (t === String(pid)) {
      out.main += ns;
      out.wakeups = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8'))[1]);
    } else out.other += ns;
  }
  return out;
}

function parseArgs(argv) {
  const o = { rates: [0, 200, 550, 5000], rounds: 3, warm: [5], seconds: 10, base: null, detail: 'full', out: null, nodeArgs: [], collectorArgs: [], reconnect: false };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i], v = argv[i + 1];
    if (k === '--reconnect') { o.reconnect = true; i--; continue; }
    if (v === undefined) throw new Error(`${k} needs a value`);
    switch (k) {
      case '--rates': o.rates = v.split(',').map(Number); break;
      case '--rounds': o.rounds = Number(v); break;
      case '--warm': o.warm = v.split(',').map(Number); break;
      case '--seconds': o.seconds = Number(v); break;
      case '--base': o.base = v; break;
      case '--detail': o.detail = v; break;
      case '--out': o.out = v; break;
      case '--node-args': o.nodeArgs = v.split(' ').filter(Boolean); break;
      case '--collector-args': o.collectorArgs = v.split(' ').filter(Boolean); break;
      default: throw new Error(`unknown option ${k} (see the comment at the top of bench/overhead/steady.js)`);
    }
  }
  if (o.rates.some((r) => !(Number.isInteger(r) && r >= 0))) throw new Error(`--rates must be whole statements per second, got ${o.rates}`);
  if (!(o.rounds >= 1 && o.seconds >= 2 && o.warm.every((w) => w >= 0))) throw new Error('--rounds ≥ 1, --seconds ≥ 2, --warm ≥ 0');
  if (o.warm.length !== 1 && o.warm.length !== o.rates.length) throw new Error(`--warm takes one figure or one per rate (${o.rates.length}), got ${o.warm.length}`);
  return o;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const n = s.length; return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };

(async () => {
  const o = parseArgs(process.argv.slice(2));
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'steady-')); fs.chmodSync(workDir, 0o755);
  const cluster = await startCluster({ settings: { fsync: 'off' }, scale: 10 });
  const sink = await startSink();
  const scripts = writeScripts(workDir);
  const builds = o.base ? ['this', 'base'] : ['this'];
  const rows = [];
  try {
    for (let round = 0; round < o.rounds; round++) {
      for (const build of round % 2 ? [...builds].reverse() : builds) {
        const col = await startCollector({ mode: 'otlp', pgPort: cluster.port, endpoint: sink.endpoint, extraArgs: ['--detail', o.detail, ...o.collectorArgs], nodeArgs: build === 'this' ? o.nodeArgs : [], cli: collectorCli(build === 'base' ? o.base : null) });
        try {
          for (const [i, rate] of o.rates.entries()) {
            const load = (seconds) => (rate > 0
              ? runPgbench({ cluster, workload: 'select', seconds, rate, clients: 2, threads: 1, workDir, scriptFile: scripts.select.sampled, latencies: false })
              : sleep(seconds * 1000));
            const warm = o.warm[o.warm.length === 1 ? 0 : i];
            // the same connections through the warm-up and the window (--reconnect: new ones for the window)
            const run = o.reconnect ? null : load(warm + o.seconds + 2);
            await (run ? sleep(warm * 1000) : load(warm));
            const st0 = await col.status(); const s0 = sample(col.pid); const t0 = process.hrtime.bigint();
            await (run ? sleep(o.seconds * 1000) : load(o.seconds));
            // what the last statements sent is drained and built within the window
            if (!run) await sleep(200);
            const s1 = sample(col.pid); const wallS = Number(process.hrtime.bigint() - t0) / 1e9; const st1 = await col.status();
            await run;
            const n = st1.kernel.traced - st0.kernel.traced;
            const ms = (k) => (s1[k] - s0[k]) / 1e6 / wallS;
            const row = {
              round, build, rate, statements: n, perS: n / wallS,
              cpuMsPerS: ms('main') + ms('other'), mainMsPerS: ms('main'), otherMsPerS: ms('other'),
              wakeupsPerS: (s1.wakeups - s0.wakeups) / wallS,
              batchesPerS: (st1.ringBuffer.batches - st0.ringBuffer.batches) / wallS,
              armingsPerS: (st1.backends.armings - st0.backends.armings) / wallS,
              probeHitsPerS: ((st1.kernel.phase_hits ?? 0) - (st0.kernel.phase_hits ?? 0)) / wallS,
              drops: (st1.kernel.dropped ?? 0) - (st0.kernel.dropped ?? 0) + (st1.export.dropped - st0.export.dropped),
            };
            // the share of this window's sampled statements that got phases
            const ph = (st) => st.phases.timed + st.phases.budget + st.phases.late + st.phases.off;
            row.phasesShare = ph(st1) > ph(st0) ? (st1.phases.timed - st0.phases.timed) / (ph(st1) - ph(st0)) : null;
            row.usPerStmt = n > 0 ? (row.cpuMsPerS * 1000) / row.perS : null;
            rows.push(row);
            console.log(`round ${round} ${build} rate ${rate}: ${row.perS.toFixed(0)} stmt/s, collector ${row.cpuMsPerS.toFixed(1)} ms/s (main ${row.mainMsPerS.toFixed(1)}, other threads ${row.otherMsPerS.toFixed(1)}), ${row.usPerStmt === null ? '-' : row.usPerStmt.toFixed(1)} µs/stmt, ${row.wakeupsPerS.toFixed(0)} wake-ups/s, ${row.batchesPerS.toFixed(0)} batches/s, ${row.armingsPerS.toFixed(1)} armings/s, ${row.probeHitsPerS.toFixed(0)} probe hits/s, ${row.phasesShare === null ? '-' : (row.phasesShare * 100).toFixed(0)} % with phases, drops ${row.drops}`);
          }
        } finally {
          await col.stop();
        }
      }
    }
  } finally {
    await sink.close(); await cluster.stop();
  }
  console.log('\n| rate | build | stmt/s | collector ms/s | main ms/s | other threads ms/s | µs/stmt | main wake-ups/s | batches/s | armings/s | with phases | paired ratio (CPU) to base |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const rate of o.rates) {
    for (const build of builds) {
      const r = rows.filter((x) => x.rate === rate && x.build === build);
      const m = (k) => median(r.map((x) => x[k]));
      let ratio = '';
      if (o.base && build === 'this') {
        const ratios = r.map((x) => x.cpuMsPerS / rows.find((y) => y.rate === rate && y.build === 'base' && y.round === x.round).cpuMsPerS);
        ratio = median(ratios).toFixed(2);
      }
      console.log(`| ${rate} | ${build} | ${m('perS').toFixed(0)} | ${m('cpuMsPerS').toFixed(1)} | ${m('mainMsPerS').toFixed(1)} | ${m('otherMsPerS').toFixed(1)} | ${rate > 0 ? m('usPerStmt').toFixed(1) : '—'} | ${m('wakeupsPerS').toFixed(0)} | ${m('batchesPerS').toFixed(0)} | ${m('armingsPerS').toFixed(1)} | ${rate > 0 ? `${(m('phasesShare') * 100).toFixed(0)} %` : '—'} | ${ratio} |`);
    }
  }
  if (o.out) fs.writeFileSync(o.out, JSON.stringify({ options: o, rows }, null, 1));
})().catch((e) => { console.error(e); process.exit(1); });
