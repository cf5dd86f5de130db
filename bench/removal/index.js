// How long the kernel takes to remove a backend's probes, and what the
// backends feel meanwhile. A Debian PostgreSQL cluster runs `pgbench -S` on
// 16 connections; each round arms every backend with the collector's own
// probe sets (phase probes, then lock and SPI probes, pid-filtered, as
// Arming does), keeps them 1 s, disarms all at once (every backend's phase
// probes released first, as `Arming.disarm` does) and follows the loader's
// detacher until every probe is gone. Two arms, alternating round by round:
// `perf` (one perf-event uprobe per site: what Linux < 6.6 gets) and `multi`
// (uprobe_multi links, one per program and backend), each with its own
// loaded object. Reported per arm (medians of rounds): links, release →
// last phase probe gone, release → all gone, the detacher's time per link;
// and the transactions' latency (pgbench's log, 1 in 10) while removals run
// against while nothing is armed or removed.
//   flock /work/bench.lock node bench/removal [--rounds 6] [--clients 16] [--arms perf,multi] [--out file.json]
// Needs the collector built (npm run build) and root.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startCluster } = require('../overhead/postgres');
const dist = path.join(__dirname, '..', '..', 'packages', 'collector', 'dist');
const { loadProbes } = require(path.join(dist, 'kernel', 'load'));
const { BPF_OBJECT } = require(path.join(dist, 'collector'));
const { readElf } = require(path.join(dist, 'discover', 'elf'));
const { USDT_SET, nestedProbes } = require(path.join(dist, 'probes', 'tables'));
const { armBackend } = require(path.join(dist, 'probes', 'attach'));

function parseArgs(argv) {
  const o = { rounds: 6, clients: 16, out: null, arms: ['perf', 'multi'] };
  for (let i = 2; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`${k} needs a value (see the header of bench/removal/index.js)`);
    if (k === '--out') o.out = v;
    else if (k === '--arms') {
      o.arms = v.split(',');
      if (o.arms.some((a) => a !== 'perf' && a !== 'multi')) throw new Error(`--arms takes perf and/or multi, got '${v}'`);
    }
    else if (k === '--rounds' || k === '--clients') {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${k} needs a positive integer, got '${v}'`);
      o[k.slice(2)] = n;
    } else throw new Error(`unknown option ${k}: see the header of bench/removal/index.js`);
  }
  return o;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pct = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const monoNs = () => Number(process.hrtime.bigint());

/** The client backends of postmaster pm (pgbench's), by their title. */
function backends(pm) {
  const kids = fs.readFileSync(`/proc/${pm}/task/${pm}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return kids.filter((k) => {
    try {
      return /^postgres: postgres postgres /.test(fs.readFileSync(`/proc/${k}/cmdline`, 'latin1'));
    } catch {
      return false;
    }
  });
}

(async () => {
  const o = parseArgs(process.argv);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-removal-'));
  fs.chmodSync(work, 0o777);
  const cluster = await startCluster({ settings: { fsync: 'off' }, scale: 10, log: (m) => process.stderr.write(`${m}\n`) });
  const objs = {};
  for (const arm of o.arms) {
    const loaded = loadProbes(BPF_OBJECT, (m) => process.stderr.write(`${m}\n`), { uprobeMulti: arm === 'multi' });
    if (arm === 'multi' && !loaded.uprobeMulti) throw new Error(`Linux ${os.release()} has no uprobe_multi links (6.6+): run --arms perf`);
    objs[arm] = loaded.obj;
  }
  const exe = `/proc/${cluster.pid}/exe`;
  const elf = readElf(exe);
  const later = [...USDT_SET.locks, ...nestedProbes(elf.functions)];
  const bench = spawn(path.join(cluster.bin, 'pgbench'), ['-S', '-n', '-c', String(o.clients), '-j', '2', '-T', '86400', '-l', '--sampling-rate', '0.1',
    '--log-prefix', path.join(work, 'lat'), ...cluster.connArgs, 'postgres'], { stdio: ['ignore', 'pipe', 'pipe'], cwd: work });
  let out = '';
  bench.stdout.on('data', (d) => (out += d));
  bench.stderr.on('data', (d) => (out += d));
  const done = new Promise((r) => bench.on('exit', r));
  await sleep(3000);
  const pids = backends(cluster.pid);
  if (pids.length !== o.clients) throw new Error(`expected ${o.clients} pgbench backends, found ${pids.length}: ${out}`);
  const rounds = [];
  // wall-clock windows (ms since the epoch) in which probes were being removed, per arm, and in which none were attached
  const removing = Object.fromEntries(o.arms.map((a) => [a, []]));
  const quiet = [];
  for (let round = 0; round < o.rounds * o.arms.length; round++) {
    const arm = o.arms[(round + Math.floor(round / o.arms.length)) % o.arms.length];
    const obj = objs[arm];
    const q0 = Date.now();
    await sleep(1500);
    quiet.push([q0 + 200, Date.now()]);
    const t0 = monoNs();
    const armed = pids.map((pid) => {
      const a = armBackend(obj, pid, `/proc/${pid}/exe`, USDT_SET.probes, elf);
      a.add(later);
      return a;
    });
    const attachMs = (monoNs() - t0) / 1e6;
    await sleep(1000);
    const d0 = obj.detacher();
    const rel = monoNs();
    const wall0 = Date.now();
    for (const a of armed) a.detachFirst();
    for (const a of armed) a.detach();
    const links = obj.detacher().pending;
    for (;;) {
      await sleep(5);
      if (obj.detacher().pending === 0 && armed.every((a) => a.removedAtNs() !== null)) break;
    }
    // the last link leaves the queue before bpf_link__destroy returns: wait until the count says so
    while (obj.detacher().destroyed - d0.destroyed < links) await sleep(5);
    const allNs = monoNs() - rel;
    removing[arm].push([wall0, Date.now()]);
    const d1 = obj.detacher();
    const firstGone = armed.map((a) => (a.removedAtNs() - rel) / 1e9);
    const r = {
      arm, links, firstLinks: armed.reduce((s, a) => s + a.firstLinks, 0), attachMs,
      phaseGoneS: Math.max(...firstGone), allGoneS: allNs / 1e9,
      destroyMsPerLink: Number(d1.destroyNs - d0.destroyNs) / 1e6 / (d1.destroyed - d0.destroyed),
    };
    rounds.push(r);
    process.stderr.write(`round ${round + 1} (${arm}): ${r.links} links (${r.firstLinks} phase) attached in ${attachMs.toFixed(0)} ms; ` +
      `phase probes gone ${r.phaseGoneS.toFixed(2)} s, all ${r.allGoneS.toFixed(2)} s; ${r.destroyMsPerLink.toFixed(1)} ms per link in bpf_link__destroy\n`);
  }
  bench.kill('SIGINT');
  await done;
  for (const obj of Object.values(objs)) obj.close();
  // latency of the sampled transactions, by when they ended
  const lat = { quiet: [], ...Object.fromEntries(o.arms.map((a) => [`removing (${a})`, []])) };
  for (const f of fs.readdirSync(work).filter((n) => n.startsWith('lat.'))) {
    for (const line of fs.readFileSync(path.join(work, f), 'utf8').split('\n')) {
      const p = line.split(' ');
      if (p.length < 6) continue;
      const endMs = Number(p[4]) * 1000 + Number(p[5]) / 1000;
      const us = Number(p[2]);
      const arm = o.arms.find((x) => removing[x].some(([a, b]) => endMs >= a && endMs <= b));
      if (arm) lat[`removing (${arm})`].push(us);
      else if (quiet.some(([a, b]) => endMs >= a && endMs <= b)) lat.quiet.push(us);
    }
  }
  await cluster.stop();
  fs.rmSync(work, { recursive: true, force: true });
  const sum = {
    kernel: os.release(), date: new Date().toISOString(), clients: o.clients, rounds,
    median: Object.fromEntries(o.arms.map((arm) => {
      const rs = rounds.filter((r) => r.arm === arm);
      return [arm, {
        links: median(rs.map((r) => r.links)), phaseLinks: median(rs.map((r) => r.firstLinks)), attachMs: median(rs.map((r) => r.attachMs)),
        phaseGoneS: median(rs.map((r) => r.phaseGoneS)), allGoneS: median(rs.map((r) => r.allGoneS)),
        msPerLink: median(rs.map((r) => (1000 * r.allGoneS) / r.links)), destroyMsPerLink: median(rs.map((r) => r.destroyMsPerLink)),
      }];
    })),
    latencyUs: Object.fromEntries(Object.entries(lat).map(([k, v]) => [k, { n: v.length, p50: pct(v, 0.5), p99: pct(v, 0.99), p999: pct(v, 0.999), max: pct(v, 1) }])),
    pgbench: /tps = [\d.]+/.exec(out)?.[0] ?? out.trim().split('\n').slice(-3).join(' | '),
  };
  process.stdout.write(`${JSON.stringify(sum.median)}\n${JSON.stringify(sum.latencyUs)}\n${sum.pgbench}\n`);
  if (o.out) fs.writeFileSync(o.out, JSON.stringify(sum, null, 2));
})().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
