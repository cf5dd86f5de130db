// Paired ratios, added CPU ns per operation and per hook hit, as Markdown for
// BENCHMARKS.md.
'use strict';
const { median } = require('../overhead/report');

// CPU time of the workload's processes per op: a hook runs in the context of
// the task that hits it, so its cost is in there, and time other jobs take
// from the shared vCPUs is not
const cpuNs = (r) => (1e9 * r.cpuSeconds) / r.ops;

function summariseWorkload(rows, account, w, armOrder) {
  const base = rows.filter((r) => r.arm === 'detached');
  const arms = {};
  for (const arm of armOrder.filter((a) => rows.some((r) => r.arm === a))) {
    const rs = rows.filter((r) => r.arm === arm);
    // each run against the detached run of the same round: drift cancels
    const pairs = rs.map((r) => [r, base.find((b) => b.round === r.round)]).filter(([, a]) => a);
    const wall = pairs.map(([r, a]) => r.opsPerSec / a.opsPerSec);
    const cpu = pairs.map(([r, a]) => cpuNs(a) / cpuNs(r));
    const s = {
      pairs: pairs.length,
      opsPerSec: median(rs.map((r) => r.opsPerSec)),
      wallRatio: median(wall), wallRatioMin: Math.min(...wall), wallRatioMax: Math.max(...wall),
      cpuNsPerOp: median(rs.map(cpuNs)),
      // noise on this VM only ever adds time: each arm's best run is a second
      // estimate of the intrinsic cost, next to the paired median
      cpuNsPerOpBest: Math.min(...rs.map(cpuNs)),
      cpuRatio: median(cpu), cpuRatioMin: Math.min(...cpu), cpuRatioMax: Math.max(...cpu),
      addedCpuNsPerOp: median(pairs.map(([r, a]) => cpuNs(r) - cpuNs(a))),
      switchesPerOp: median(rs.map((r) => r.switchesPerOp)),
      syscallsPerOp: rs[0].syscallsPerOp ?? null,
      loadavg1: median(rs.map((r) => r.loadavg1)),
      hookCpuMsPerRun: rs[0].hookCpuSeconds === undefined ? null : median(rs.map((r) => 1000 * r.hookCpuSeconds)),
    };
    const acc = account?.[`${arm}/${w}`];
    // runs are host-wide: other processes' hits are in runsPerOp too
    if (acc) s.programs = Object.fromEntries(Object.entries(acc.prog).map(([n, p]) => [n, { nsPerRun: p.nsPerRun, runs: p.runs, runsPerOp: p.runs / acc.ops }]));
    arms[arm] = s;
  }
  for (const s of Object.values(arms)) s.addedCpuNsPerOpBest = s.cpuNsPerOpBest - arms.detached.cpuNsPerOpBest;
  return arms;
}

/**
 * Per arm, the cost of one hit: the getppid loop gives the cost per syscall
 * (1 sys_exit hit per op); what a pipe round trip (4 syscalls, 2 context
 * switches) costs beyond 4 of those is put on its context switches — the
 * sched_switch hook's share once there is one, cache effects of the sys_exit
 * hook before.
 */
function perHit(byWorkload) {
  const out = {};
  const sc = byWorkload.syscall;
  const pp = byWorkload.pingpong;
  if (!sc) return out;
  for (const arm of Object.keys(sc).filter((a) => a !== 'detached')) {
    const h = { perSyscall: sc[arm].addedCpuNsPerOp, perSyscallBest: sc[arm].addedCpuNsPerOpBest };
    if (pp?.[arm]) {
      const n = pp[arm].syscallsPerOp;
      const sw = pp[arm].switchesPerOp;
      Object.assign(h, {
        perRoundTrip: pp[arm].addedCpuNsPerOp,
        perRoundTripBest: pp[arm].addedCpuNsPerOpBest,
        perSwitch: (pp[arm].addedCpuNsPerOp - n * h.perSyscall) / sw,
        perSwitchBest: (pp[arm].addedCpuNsPerOpBest - n * h.perSyscallBest) / sw,
      });
    }
    const body = (w) => Object.fromEntries(Object.entries(byWorkload[w]?.[arm]?.programs ?? {}).map(([n, p]) => [n, p.nsPerRun]));
    h.programNsPerRun = { syscall: body('syscall'), pingpong: body('pingpong') };
    out[arm] = h;
  }
  return out;
}

function summarise(ab, account, armOrder) {
  // runs that saw a foreign BPF link are out (no `clean` field: older data, all in)
  const rows = ab.filter((r) => r.clean !== false);
  const byWorkload = {};
  for (const w of [...new Set(ab.map((r) => r.workload))]) byWorkload[w] = summariseWorkload(rows.filter((r) => r.workload === w), account, w, armOrder);
  return { runs: ab.length, cleanRuns: rows.length, byWorkload, perHit: perHit(byWorkload) };
}

const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '—');
const ns = (x) => f(x, Math.abs(x) < 10 ? 3 : 1);
const ratio = (x, lo, hi) => `${f(x, 3)} (${f(lo, 3)}–${f(hi, 3)})`;
const describeArm = (v) => (v === null ? 'nothing attached' : v.control ? `empty program ${v.control}` : `collector run ${v.collector.join(' ')}`.trim());

function formatSummary(summary, meta) {
  const o = meta.options;
  const lines = [
    `Run ${meta.date}: ${meta.cpus} × ${meta.cpuModel}, kernel ${meta.kernel}, ${meta.postgres}, node ${meta.node}, load average before ${meta.loadavgBefore.map((x) => x.toFixed(1)).join(' ')}`,
    `${o.seconds} s per run; ${summary.cleanRuns} of ${summary.runs} runs clean (no foreign BPF link); arms: ${Object.entries(meta.arms).map(([a, v]) => `${a} = ${describeArm(v)}`).join('; ')}`,
    '',
    '| workload | arm | clean pairs | ops/s (median) | throughput ratio (paired median, min–max) | CPU ns per op (median; best run) | ops per CPU-second ratio (paired median, min–max) | added CPU ns per op (paired median; best vs best) | BPF program ns per run × runs per op, host-wide (bpf_stats) | context switches per op | load average | hook process CPU ms per run |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [w, arms] of Object.entries(summary.byWorkload)) {
    for (const [arm, s] of Object.entries(arms)) {
      const b = arm !== 'detached';
      const progs = s.programs ? Object.entries(s.programs).map(([n, p]) => `${n} ${f(p.nsPerRun, 0)} × ${f(p.runsPerOp, 3)}`).join('; ') : '—';
      lines.push(`| ${w} | ${arm} | ${b ? s.pairs : '—'} | ${f(s.opsPerSec / 1e6, 3)} M | ${b ? ratio(s.wallRatio, s.wallRatioMin, s.wallRatioMax) : '1'} | ${ns(s.cpuNsPerOp)}; ${ns(s.cpuNsPerOpBest)} | ${b ? ratio(s.cpuRatio, s.cpuRatioMin, s.cpuRatioMax) : '1'} | ${b ? `${ns(s.addedCpuNsPerOp)}; ${ns(s.addedCpuNsPerOpBest)}` : '—'} | ${progs} | ${f(s.switchesPerOp, 3)} | ${f(s.loadavg1, 1)} | ${s.hookCpuMsPerRun == null ? '—' : f(s.hookCpuMsPerRun, 0)} |`);
    }
  }
  if (Object.keys(summary.perHit).length) lines.push('', '| arm | ns per syscall (getppid loop) | ns per pipe round trip (4 syscalls, 2 switches) | round trip beyond 4 × syscall, per switch | BPF program ns per run (getppid; pipe) |', '|---|---|---|---|---|');
  for (const [arm, h] of Object.entries(summary.perHit)) {
    const body = Object.keys(h.programNsPerRun.syscall).map((n) => `${n} ${f(h.programNsPerRun.syscall[n], 0)}; ${f(h.programNsPerRun.pingpong[n], 0)}`).join(', ');
    lines.push(`| ${arm} | ${ns(h.perSyscall)} (best ${ns(h.perSyscallBest)}) | ${ns(h.perRoundTrip)} (best ${ns(h.perRoundTripBest)}) | ${ns(h.perSwitch)} (best ${ns(h.perSwitchBest)}) | ${body || '—'} |`);
  }
  lines.push('', '```json', JSON.stringify(summary, (k, v) => (typeof v === 'number' ? Number(v.toPrecision(5)) : v), 1), '```', '');
  return `${lines.join('\n')}\n`;
}

module.exports = { summarise, formatSummary };
