// Time the kernel spends inside each of a process's BPF programs, from the
// run_time_ns/run_cnt the kernel keeps per program while
// kernel.bpf_stats_enabled is 1 (read through /proc/<pid>/fdinfo of the
// program fds). This is the program body only; the uprobe trap around it is
// not included.
//   node bench/overhead/bpf-prog-time.js --pid <collector pid> [--seconds 20]
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');

const STATS = '/proc/sys/kernel/bpf_stats_enabled';

function snapshot(pid) {
  const progs = new Map();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    let target;
    try { target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
    if (target !== 'anon_inode:bpf-prog') continue;
    const info = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    const field = (k) => Number((new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(info) || [])[1]);
    progs.set(field('prog_id'), { runTimeNs: field('run_time_ns'), runs: field('run_cnt') });
  }
  return progs;
}

function progName(id) {
  try {
    return JSON.parse(execFileSync('bpftool', ['prog', 'show', 'id', String(id), '--json'], { encoding: 'utf8' })).name;
  } catch {
    return `prog ${id}`;
  }
}

/**
 * Per program while `fn()` runs (an async function): runs and mean ns per
 * run, and what fn resolved with. Restores the sysctl.
 */
async function measureProgTimeDuring(pid, fn) {
  const before = fs.readFileSync(STATS, 'utf8').trim();
  fs.writeFileSync(STATS, '1');
  try {
    const a = snapshot(pid);
    const result = await fn();
    const b = snapshot(pid);
    const prog = {};
    for (const [id, v] of b) {
      const runs = v.runs - (a.get(id)?.runs ?? 0);
      if (runs > 0) prog[progName(id)] = { runs, nsPerRun: (v.runTimeNs - (a.get(id)?.runTimeNs ?? 0)) / runs };
    }
    return { prog, result };
  } finally {
    fs.writeFileSync(STATS, before);
  }
}

/** Per program over `seconds`: runs and mean ns per run. */
async function measureProgTime(pid, seconds) {
  return (await measureProgTimeDuring(pid, () => new Promise((r) => setTimeout(r, seconds * 1000)))).prog;
}

module.exports = { measureProgTime, measureProgTimeDuring };

if (require.main === module) {
  const i = process.argv.indexOf('--pid');
  const j = process.argv.indexOf('--seconds');
  if (i < 0) {
    process.stderr.write('usage: node bench/overhead/bpf-prog-time.js --pid <collector pid> [--seconds 20]\n');
    process.exit(2);
  }
  measureProgTime(Number(process.argv[i + 1]), j > 0 ? Number(process.argv[j + 1]) : 20)
    .then((r) => process.stdout.write(`${JSON.stringify(r, null, 1)}\n`))
    .catch((e) => { process.stderr.write(`bpf-prog-time failed: ${e.message}\n`); process.exit(1); });
}
