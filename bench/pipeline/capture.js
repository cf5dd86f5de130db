// Records the ring-buffer batches of a traced pgbench run, for replay.js.
//   node bench/pipeline/capture.js [--seconds 10] [--workload select] [--rate tps] [--out file]
// The collector runs as in bench/overhead (--detail full, every statement
// sampled), at nice 0 (a yielding collector would lose records to pgbench);
// its pipeline's input is written to --out as it arrives.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startCluster } = require('../overhead/postgres');
const { startCollector } = require('../overhead/collector');
const { startSink } = require('../overhead/sink');
const { WORKLOADS, runPgbench, writeScripts } = require('../overhead/pgbench');

function opt(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}

async function main() {
  const seconds = Number(opt('seconds', 10));
  const workload = opt('workload', 'select');
  if (!WORKLOADS[workload]) throw new Error(`unknown workload '${workload}': use ${Object.keys(WORKLOADS).join(', ')}`);
  const out = path.resolve(opt('out', path.join(os.tmpdir(), `pgferret-batches-${workload}.bin`)));
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-capture-'));
  fs.chmodSync(workDir, 0o755);
  const cluster = await startCluster({ settings: { fsync: 'off' }, scale: 10 });
  const sink = await startSink();
  try {
    const scripts = writeScripts(workDir);
    process.env.PGFERRET_CAPTURE_OUT = out;
    process.env.PGFERRET_CAPTURE_DIST = path.join(__dirname, '..', '..', 'packages', 'collector', 'dist');
    const col = await startCollector({ mode: 'otlp', pgPort: cluster.port, endpoint: sink.endpoint, nodeArgs: ['-r', path.join(__dirname, 'capture-preload.js')], extraArgs: ['--detail', 'full', '--nice', '0'] });
    const rate = opt('rate') ? Number(opt('rate')) : undefined;
    const pg = await runPgbench({ cluster, workload, seconds, rate, clients: 2, threads: 1, workDir, scriptFile: scripts[workload].sampled });
    const st = await col.status();
    await col.stop();
    process.stdout.write(`${workload}: ${pg.tps.toFixed(0)} tps; ${st.kernel.traced} statements traced, ring ${JSON.stringify(st.ringBuffer)}; batches in ${out} (${fs.statSync(out).size} bytes)\n`);
  } finally {
    await sink.close();
    await cluster.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`capture failed: ${e.stack || e}\n`);
  process.exit(1);
});
