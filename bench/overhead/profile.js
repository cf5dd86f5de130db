// Where the collector's CPU goes under traced pgbench load: runs the
// collector with --cpu-prof for one round and prints the functions with the
// most self time, grouped by file.
//   node bench/overhead/profile.js [--seconds 15] [--workload select] [--mode otlp] [--detail phases] [--scale 10] [--rate tps] [--script sampled|mixed|mixed1]
// --rate: pgbench -R (a fixed, low rate: the collector's fixed costs per statement)
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startCluster } = require('./postgres');
const { startCollector } = require('./collector');
const { startSink } = require('./sink');
const { WORKLOADS, runPgbench, writeScripts } = require('./pgbench');

function opt(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}

function topSelf(profile, limit) {
  const dt = new Map();
  const { nodes, samples, timeDeltas } = profile;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  samples.forEach((id, i) => dt.set(id, (dt.get(id) || 0) + (timeDeltas[i] || 0)));
  const total = [...dt.values()].reduce((a, b) => a + b, 0);
  const fn = new Map();
  const file = new Map();
  for (const [id, us] of dt) {
    const cf = byId.get(id).callFrame;
    const where = cf.url ? cf.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/packages\//, '') : '(native)';
    const key = `${cf.functionName || '(anonymous)'} ${where}:${cf.lineNumber + 1}`;
    fn.set(key, (fn.get(key) || 0) + us);
    const group = where.replace(/\/[^/]*$/, '');
    file.set(group, (file.get(group) || 0) + us);
  }
  // inclusive time: a sample counts once for every distinct function on its stack
  const parent = new Map();
  for (const n of nodes) for (const c of n.children || []) parent.set(c, n.id);
  const incl = new Map();
  for (const [id, us] of dt) {
    const seen = new Set();
    for (let q = id; q !== undefined; q = parent.get(q)) {
      const cf = byId.get(q).callFrame;
      if (!cf.url) continue;
      const key = `${cf.functionName || '(anonymous)'} ${cf.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/packages\//, '')}`;
      if (seen.has(key)) continue;
      seen.add(key);
      incl.set(key, (incl.get(key) || 0) + us);
    }
  }
  const fmt = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, limit).map(([k, us]) => `${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`).join('\n');
  const busy = total - (dt.get(nodes.find((n) => n.callFrame.functionName === '(idle)')?.id) || 0);
  return `profiled ${(total / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s (shares below are of all samples)\n\n` +
    `by function (self time):\n${fmt(fn)}\n\nby function (inclusive):\n${fmt(incl)}\n\nby directory (self):\n${fmt(file)}\n`;
}

async function main() {
  const seconds = Number(opt('seconds', 15));
  const workload = opt('workload', 'select');
  const mode = opt('mode', 'otlp');
  if (!WORKLOADS[workload]) throw new Error(`unknown workload '${workload}': use ${Object.keys(WORKLOADS).join(', ')}`);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-profile-'));
  fs.chmodSync(workDir, 0o755);
  const cluster = await startCluster({ settings: { fsync: 'off', shared_buffers: '256MB', max_wal_size: '4GB' }, scale: Number(opt('scale', 10)) });
  const sink = await startSink();
  try {
    const scripts = writeScripts(workDir);
    const keep = path.join(os.tmpdir(), `pgferret-collector-${workload}-${mode}.cpuprofile`);
    fs.rmSync(keep, { force: true });
    process.env.PGFERRET_PROFILE_OUT = keep;
    const col = await startCollector({ mode, pgPort: cluster.port, endpoint: sink.endpoint, nodeArgs: ['-r', path.join(__dirname, 'cpu-profile-preload.js')], extraArgs: ['--detail', opt('detail', 'phases')] });
    process.kill(col.pid, 'SIGUSR2');
    const rate = opt('rate') ? Number(opt('rate')) : undefined;
    const pg = await runPgbench({ cluster, workload, seconds, rate, clients: 2, threads: 1, workDir, scriptFile: scripts[workload][opt('script', 'sampled')] });
    const st = await col.status();
    await col.stop();
    if (!fs.existsSync(keep)) throw new Error(`the collector wrote no CPU profile to ${keep}: did it exit cleanly?\n${col.log()}`);
    process.stdout.write(`${workload}/${mode}: ${pg.tps.toFixed(0)} tps; kernel ${JSON.stringify(st.kernel)}; ring ${JSON.stringify(st.ringBuffer)}; export ${JSON.stringify(st.export)}\nprofile: ${keep}\n\n`);
    process.stdout.write(topSelf(JSON.parse(fs.readFileSync(keep, 'utf8')), 30));
  } finally {
    await sink.close();
    await cluster.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--report') {
  process.stdout.write(topSelf(JSON.parse(fs.readFileSync(process.argv[3], 'utf8')), 30));
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`profile failed: ${e.stack || e}\n`);
  process.exit(1);
});
