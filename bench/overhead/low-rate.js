'use strict';
// Collector CPU per sampled statement at a fixed low rate, split user/system
// and per thread (main thread vs V8's and libuv's), after a warm-up.
//   node bench/overhead/low-rate.js [rate 200] [seconds 20] [detail full]
// env WARM=<s> (warm-up, default 3), PERF=1 (perf record the collector: /tmp/perf.data)
const fs = require('node:fs'); const os = require('node:os'); const path = require('node:path');
const B = __dirname + '/';
const { startCluster } = require(B + 'postgres'); const { startCollector } = require(B + 'collector');
const { startSink } = require(B + 'sink'); const { runPgbench, writeScripts } = require(B + 'pgbench');
const ticks = (pid) => { const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return { u: +f[11], s: +f[12] }; };
const threads = (pid) => Object.fromEntries(fs.readdirSync(`/proc/${pid}/task`).map((t) => { const f = fs.readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8'); const name = fs.readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim(); const x = f.split(') ')[1].split(' '); return [`${t}:${name}`, +x[11] + +x[12]]; }));
(async () => {
  const rate = Number(process.argv[2] || 200), seconds = Number(process.argv[3] || 20), detail = process.argv[4] || 'full';
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lr-')); fs.chmodSync(workDir, 0o755);
  const cluster = await startCluster({ settings: { fsync: 'off' }, scale: 10 });
  const sink = await startSink();
  const scripts = writeScripts(workDir);
  const col = await startCollector({ mode: 'otlp', pgPort: cluster.port, endpoint: sink.endpoint, extraArgs: ['--detail', detail], nodeArgs: process.env.PERF ? ['--perf-basic-prof'] : [] });
  await runPgbench({ cluster, workload: 'select', seconds: Number(process.env.WARM || 3), rate, clients: 2, threads: 1, workDir, scriptFile: scripts.select.sampled });
  const st0 = await col.status(); const t0 = ticks(col.pid); const th0 = threads(col.pid);
  const perf = process.env.PERF ? require('child_process').spawn('perf', ['record', '-F', '1999', '-g', '-p', String(col.pid), '-o', '/tmp/perf.data', '--', 'sleep', String(seconds - 2)], { stdio: 'ignore' }) : null;
  const pg = await runPgbench({ cluster, workload: 'select', seconds, rate, clients: 2, threads: 1, workDir, scriptFile: scripts.select.sampled });
  if (perf) await new Promise((r) => perf.on('exit', r));
  await new Promise((r) => setTimeout(r, 1000));
  const st1 = await col.status(); const t1 = ticks(col.pid); const th1 = threads(col.pid);
  const n = st1.kernel.traced - st0.kernel.traced; const hz = 100;
  const us = (x) => ((x / hz) * 1e6 / n).toFixed(1);
  console.log(`rate ${rate} detail ${detail}: ${n} statements; collector user ${us(t1.u - t0.u)} µs/stmt, system ${us(t1.s - t0.s)} µs/stmt; records ${st1.ringBuffer.records - st0.ringBuffer.records} batches ${st1.ringBuffer.batches - st0.ringBuffer.batches}`);
  for (const k of Object.keys(th1)) if ((th1[k] - (th0[k] || 0)) > 0) console.log(`  thread ${k}: ${us(th1[k] - (th0[k] || 0))} µs/stmt`);
  await col.stop(); await sink.close(); await cluster.stop();
})().catch((e) => { console.error(e); process.exit(1); });
