// What the collector's host-wide hooks (raw_tp/sys_exit, fork/exit, later
// sched_switch) cost processes that are NOT PostgreSQL: C workloads (load.c)
// run with the collector detached and attached to an idle PostgreSQL
// cluster, arms interleaved round by round and paired by round; then, with
// bpf_stats on, the time inside each of the collector's BPF programs per hit.
// Runs that saw another process's BPF link (other sessions' collector tests)
// are run again after waiting for a quiet host (--retries, --wait-seconds) and
// left out of the pairs; rounds continue until every pair has --rounds clean
// ones (at most --max-rounds, new rounds only within --budget-minutes).
//   node bench/hooks [--rounds 8] [--max-rounds 12] [--budget-minutes 8] [--wait-seconds 60] [--retries 2]
//                    [--seconds 1.5] [--workloads cpu,syscall,pingpong]
//                    [--arms detached,attached,detached-again,empty-sys-exit] [--account-seconds 2]
//                    [--out bench/hooks/results/run-<date>.json]
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { debianBinDir, startCluster } = require('../../packages/demo/dist/cluster.js');
const { startCollector, cpuSeconds } = require('../overhead/collector');
const { startSink } = require('../overhead/sink');
const { measureProgTimeDuring } = require('../overhead/bpf-prog-time');
const { WORKLOADS, compile, runLoad } = require('./load');
const { buildControl, startControl } = require('./control');
const { foreignLinks, quietHost } = require('./links');
const { summarise, formatSummary } = require('./report');

// An arm: null, nothing attached; { collector: args }, the collector run
// with these arguments after `run --port <cluster>` (a new collector flag is
// one line here); { control: program }, one empty program from control.bpf.c.
const ARMS = {
  detached: null,
  // a second detached arm paired like the others: how far apart two
  // identical arms land on this machine (the noise floor)
  'detached-again': null,
  // the default, --detail full: the socket hook (fexit where the kernel allows it, else the recvfrom/sendto syscall
  // tracepoints), fork/exit and sched_switch
  attached: { collector: [] },
  // the same on the sys_exit tracepoint, as on a kernel without syscall tracepoints
  'attached-sys-exit': { collector: [], env: { PGFERRET_SOCKET_HOOK: 'sys_exit' } },
  // no sched_switch hook
  phases: { collector: ['--detail', 'phases'] },
  statement: { collector: ['--detail', 'statement'] },
  // the floor for any program on the tracepoint: the collector's arm minus
  // this one is what its own filtering adds
  'empty-sys-exit': { control: 'empty_sys_exit' },
  'empty-sched-switch': { control: 'empty_sched_switch' },
  // one empty program on syscalls:sys_exit_recvfrom: what every other syscall pays once any syscall tracepoint is on
  'empty-syscall-tp': { control: 'empty_exit_recvfrom' },
};

function parseArgs(argv) {
  const o = { rounds: 8, maxRounds: 12, budgetMinutes: 8, waitSeconds: 60, retries: 2, seconds: 1.5, workloads: Object.keys(WORKLOADS), arms: ['detached', 'attached', 'detached-again', 'empty-sys-exit'], accountSeconds: 2, out: null };
  const num = (name, v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} needs a positive number, got '${v}'`);
    return n;
  };
  const list = (name, v, known) => {
    const xs = v.split(',');
    for (const x of xs) if (!(x in known)) throw new Error(`unknown ${name} '${x}': use ${Object.keys(known).join(', ')}`);
    return xs;
  };
  for (let i = 2; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`${k} needs a value (see the header of bench/hooks/index.js)`);
    switch (k) {
      case '--rounds': o.rounds = num('rounds', v); break;
      case '--max-rounds': o.maxRounds = num('max-rounds', v); break;
      case '--budget-minutes': o.budgetMinutes = num('budget-minutes', v); break;
      case '--wait-seconds': o.waitSeconds = num('wait-seconds', v); break;
      case '--retries':
        o.retries = Number(v);
        if (!Number.isInteger(o.retries) || o.retries < 0) throw new Error(`--retries needs a whole number ≥ 0, got '${v}'`);
        break;
      case '--seconds': o.seconds = num('seconds', v); break;
      case '--account-seconds': o.accountSeconds = num('account-seconds', v); break;
      case '--out': o.out = v; break;
      case '--workloads': o.workloads = list('workload', v, WORKLOADS); break;
      case '--arms':
        o.arms = list('arm', v, ARMS);
        if (!o.arms.includes('detached')) throw new Error('--arms must include detached: it is the baseline');
        break;
      default: throw new Error(`unknown option ${k}: see the header of bench/hooks/index.js`);
    }
  }
  return o;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const T0 = Date.now();
const log = (m) => process.stderr.write(`[hooks +${((Date.now() - T0) / 1000).toFixed(0)}s] ${m}\n`);

function attach(arm, { cluster, sink, control }) {
  const a = ARMS[arm];
  if (!a) return null;
  if (a.control) return startControl(control, a.control);
  return startCollector({ mode: 'otlp', pgPort: cluster.port, endpoint: sink.endpoint, extraArgs: a.collector, extraEnv: a.env });
}

/** Per workload and attached arm, rounds in which both it and detached ran on a host without foreign hooks. */
function fewestCleanPairs(results, o) {
  const ok = (arm, w, i) => results.some((r) => r.arm === arm && r.workload === w && r.round === i && r.clean);
  const rounds = [...new Set(results.map((r) => r.round))];
  let fewest = Infinity;
  for (const w of o.workloads) {
    for (const arm of o.arms.filter((a) => a !== 'detached')) {
      fewest = Math.min(fewest, rounds.filter((i) => ok('detached', w, i) && ok(arm, w, i)).length);
    }
  }
  return results.length ? fewest : 0;
}

async function measuredRun({ hook, arm, workload, round, attempt, o, bin, deadline }) {
  // past the budget the round is finished without waiting
  const before = await quietHost(hook?.pid, Math.max(0, Math.min(o.waitSeconds * 1000, deadline - Date.now())));
  const hook0 = hook ? cpuSeconds(hook.pid) : 0;
  const r = await runLoad(bin, workload, o.seconds);
  const after = foreignLinks(hook?.pid);
  const foreign = before && after ? [...new Set([...before, ...after])] : ['bpftool failed'];
  const row = { round, attempt, arm, workload, ...r, loadavg1: os.loadavg()[0], foreign, clean: foreign.length === 0 };
  if (hook) row.hookCpuSeconds = cpuSeconds(hook.pid) - hook0;
  log(`round ${round + 1} ${arm} ${workload}: ${(r.opsPerSec / 1e6).toFixed(3)} M ${WORKLOADS[workload].unit}, ${(1e9 * r.cpuSeconds / r.ops).toFixed(2)} CPU ns/op` +
    `${hook ? `, hook process ${(1000 * row.hookCpuSeconds).toFixed(0)} ms CPU` : ''}, load ${row.loadavg1.toFixed(1)}` +
    `${row.clean ? '' : `, NOT CLEAN (foreign BPF links: ${foreign.join(' ')})`}`);
  return row;
}

async function abPhase(ctx) {
  const { o, bin } = ctx;
  const results = [];
  const deadline = Date.now() + o.budgetMinutes * 60e3;
  // rounds until every pair has --rounds clean ones, within --max-rounds and the time budget
  for (let i = 0; i < o.maxRounds && fewestCleanPairs(results, o) < o.rounds; i++) {
    if (Date.now() > deadline) {
      log(`time budget (${o.budgetMinutes} min) used up after ${i} rounds`);
      break;
    }
    // rotate arms and workloads so none always runs first or last in a round
    const arms = o.arms.map((_, k) => o.arms[(k + i) % o.arms.length]);
    const workloads = o.workloads.map((_, k) => o.workloads[(k + i) % o.workloads.length]);
    for (const arm of arms) {
      const hook = await attach(arm, ctx);
      try {
        await sleep(1000); // the collector's start-up work (or a stopped one's exit) out of the window
        for (const workload of workloads) {
          // a run that saw a foreign hook is kept (flagged) and run again once the host is quiet
          for (let attempt = 0; attempt <= o.retries && (attempt === 0 || Date.now() < deadline); attempt++) {
            const row = await measuredRun({ hook, arm, workload, round: i, attempt, o, bin, deadline });
            results.push(row);
            if (row.clean) break;
          }
        }
      } finally {
        await hook?.stop();
      }
    }
  }
  log(`${fewestCleanPairs(results, o)} clean pairs (fewest over workloads and arms) in ${new Set(results.map((r) => r.round)).size} rounds`);
  return results;
}

/**
 * Per hooked arm and workload: runs and ns per run of each of the arm's BPF
 * programs (bpf_stats: program bodies only) over a whole workload run. Runs
 * are host-wide; the rate over an idle second just before (other processes'
 * syscalls) is kept, and taken off in hitsPerOp.
 */
async function accountPhase(ctx) {
  const { o, bin } = ctx;
  const out = {};
  for (const arm of o.arms.filter((a) => ARMS[a])) {
    const hook = await attach(arm, ctx);
    try {
      await sleep(1000);
      for (const workload of o.workloads) {
        const idle = await measureProgTimeDuring(hook.pid, () => sleep(1000));
        const { prog, result: r } = await measureProgTimeDuring(hook.pid, () => runLoad(bin, workload, o.accountSeconds));
        const runs = (p) => Object.values(p).reduce((s, x) => s + x.runs, 0);
        const background = runs(idle.prog) * r.seconds;
        out[`${arm}/${workload}`] = { arm, workload, ...r, prog, backgroundRunsPerSec: runs(idle.prog), hitsPerOp: (runs(prog) - background) / r.ops };
        log(`account ${arm} ${workload}: ${Object.entries(prog).map(([n, p]) => `${n} ${p.nsPerRun.toFixed(0)} ns × ${p.runs}`).join(', ') || 'no program ran'}; ${runs(idle.prog)} runs/s idle`);
      }
    } finally {
      await hook.stop();
    }
  }
  return out;
}

function defaultOut() {
  const d = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 13);
  return path.join(__dirname, 'results', `run-${d}.json`);
}

async function main() {
  const o = parseArgs(process.argv);
  if (process.getuid() !== 0) throw new Error('the hooks bench loads eBPF through the collector: run it as root');
  o.out ??= defaultOut();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-hooks-'));
  const bin = compile(workDir);
  const control = buildControl(workDir);
  // an idle cluster: the collector attaches to it and follows its processes, nothing else
  const pg = await startCluster({ binDir: debianBinDir() });
  const cluster = { port: pg.port, pid: pg.pid };
  const sink = await startSink();
  const ctx = { o, bin, cluster, sink, control };
  const meta = {
    date: new Date().toISOString(), host: os.hostname(), kernel: os.release(), cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version,
    postgres: spawnSync(path.join(pg.binDir, 'postgres'), ['--version'], { encoding: 'utf8' }).stdout.trim(), options: o, arms: Object.fromEntries(o.arms.map((a) => [a, ARMS[a]])),
    workloads: Object.fromEntries(o.workloads.map((w) => [w, { unit: WORKLOADS[w].unit, args: WORKLOADS[w].args('<s>'), workers: WORKLOADS[w].workers }])),
    loadavgBefore: os.loadavg(), foreignLinksBefore: foreignLinks(null),
  };
  log(`postgres ${pg.major} pid ${pg.pid} on port ${pg.port}; ${o.rounds} rounds × ${o.arms.length} arms × ${o.workloads.length} workloads × ${o.seconds} s`);
  try {
    // unmeasured: page cache, CPU frequency, the first fork
    for (const w of o.workloads) await runLoad(bin, w, 1);
    const out = { meta, ab: await abPhase(ctx), account: null, summary: null };
    fs.mkdirSync(path.dirname(o.out), { recursive: true });
    fs.writeFileSync(o.out, JSON.stringify(out, null, 1));
    out.account = await accountPhase(ctx);
    out.summary = summarise(out.ab, out.account, o.arms);
    fs.writeFileSync(o.out, JSON.stringify(out, null, 1));
    process.stdout.write(formatSummary(out.summary, meta));
    log(`raw data: ${o.out}`);
  } finally {
    await sink.close();
    await pg.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`hooks bench failed: ${e.stack || e}\n`);
  process.exit(1);
});
