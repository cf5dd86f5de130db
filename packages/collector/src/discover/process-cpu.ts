// CPU time of a postmaster's backends, from /proc: what the overhead budget
// is a share of. A backend's own utime+stime while it runs; once it exits and
// is reaped its time moves to the postmaster's cutime+cstime, so the sum of
// both grows continuously whether backends come and go or not.
import * as fs from 'node:fs';

// USER_HZ: /proc counts CPU time in clock ticks of 10 ms on Linux
const TICK_NS = 10_000_000;

/** utime+stime (fields 14–15) and cutime+cstime (16–17) of /proc/<pid>/stat, in ns; null when gone. */
function readCpu(pid: number): { own: number; reaped: number } | null {
  let s: string;
  try {
    s = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // the command name may hold spaces and parentheses: fields start after the last ')'
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { own: (Number(f[11]) + Number(f[12])) * TICK_NS, reaped: (Number(f[13]) + Number(f[14])) * TICK_NS };
}

/**
 * A live process's CPU ns to the ns (/proc/<pid>/schedstat: its run time so
 * far), where utime+stime move in 10 ms steps: a backend at 1 % of a core
 * shows 0 or 10 ms in a 200 ms tick. Falls back to `ticksNs` without it.
 */
function runtimeNs(pid: number, ticksNs: number): number {
  try {
    const ns = Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'latin1').split(' ')[0]);
    return Number.isFinite(ns) ? ns : ticksNs;
  } catch {
    return ticksNs;
  }
}

/** The pids of a process's children (/proc/<pid>/task/<pid>/children: no scan of /proc). */
export function childPids(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export interface ClusterCpu {
  /** CPU ns of every backend the postmaster ever had: live ones plus reaped ones */
  totalNs: number;
  /** each live backend's own CPU ns, to the ns (for rates over short ticks; not comparable with totalNs) */
  perBackend: Map<number, number>;
}

/** CPU of the backends (all children) of a postmaster, now. */
export function clusterCpu(pmPid: number): ClusterCpu | null {
  const pm = readCpu(pmPid);
  if (!pm) return null;
  let totalNs = pm.reaped;
  const perBackend = new Map<number, number>();
  for (const pid of childPids(pmPid)) {
    const c = readCpu(pid);
    if (!c) continue;
    perBackend.set(pid, runtimeNs(pid, c.own));
    totalNs += c.own;
  }
  return { totalNs, perBackend };
}
