// CPU time of a postmaster's backends, from /proc: what the overhead budget
// is a share of. A backend's own utime+stime while it runs; once it exits and
// is reaped its time moves to the postmaster's cutime+cstime, so the sum of
// both grows continuously whether backends come and go or not.
import * as fs from 'node:fs';

// USER_HZ: /proc counts CPU time in clock ticks of 10 ms on Linux
const TICK_NS = 10_000_000;

/** one buffer for every read of a stat or schedstat line (a few hundred bytes at most) */
const buf = Buffer.allocUnsafe(4096);

/**
 * A one-line /proc file's text (stat, schedstat), or null when the process is gone. open + read +
 * close into a reused buffer: the budget reads one or two of these per
 * backend five times a second, which for a pool of hundreds of backends is
 * most of what an idle collector does.
 */
function readProcFile(file: string): string | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    return buf.toString('latin1', 0, fs.readSync(fd, buf, 0, buf.length, 0));
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

/** utime+stime (fields 14–15) and cutime+cstime (16–17) of /proc/<pid>/stat, in ns; null when gone. */
function readCpu(pid: number): { own: number; reaped: number } | null {
  const s = readProcFile(`/proc/${pid}/stat`);
  if (s === null) return null;
  // the command name may hold spaces and parentheses: fields start after the last ')'
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { own: (Number(f[11]) + Number(f[12])) * TICK_NS, reaped: (Number(f[13]) + Number(f[14])) * TICK_NS };
}

/**
 * A live process's run time so far to the ns (/proc/<pid>/schedstat), where
 * utime+stime move in 10 ms steps: a backend at 1 % of a core shows 0 or
 * 10 ms in a 200 ms tick. null without it (gone, or a kernel without schedstat).
 */
function readRuntimeNs(pid: number): number | null {
  const s = readProcFile(`/proc/${pid}/schedstat`);
  if (s === null) return null;
  const ns = Number(s.split(' ')[0]);
  return Number.isFinite(ns) ? ns : null;
}

/** The pids of a process's children (/proc/<pid>/task/<pid>/children: no scan of /proc; any length). */
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

interface Seen {
  runtimeNs: number;
  ownNs: number;
}

/**
 * CPU of the backends (all children) of postmasters, read again and again. A
 * backend whose run time has not moved since the last read (an idle one: most
 * of a large pool) is not read twice: its utime+stime cannot have moved
 * either.
 */
export class ClusterCpuReader {
  private readonly seen = new Map<number, Map<number, Seen>>();

  /** The postmaster's backends now; null when it is gone. */
  read(pmPid: number): ClusterCpu | null {
    const pm = readCpu(pmPid);
    if (!pm) {
      this.seen.delete(pmPid);
      return null;
    }
    const was = this.seen.get(pmPid);
    const now = new Map<number, Seen>();
    let totalNs = pm.reaped;
    const perBackend = new Map<number, number>();
    for (const pid of childPids(pmPid)) {
      const runtimeNs = readRuntimeNs(pid);
      const before = was?.get(pid);
      let ownNs: number;
      if (runtimeNs !== null && before !== undefined && before.runtimeNs === runtimeNs) ownNs = before.ownNs;
      else {
        const c = readCpu(pid);
        if (!c) continue;
        ownNs = c.own;
      }
      if (runtimeNs !== null) now.set(pid, { runtimeNs, ownNs });
      perBackend.set(pid, runtimeNs ?? ownNs);
      totalNs += ownNs;
    }
    this.seen.set(pmPid, now);
    return { totalNs, perBackend };
  }

  /** Forgets postmasters no longer followed. */
  keep(pmPids: readonly number[]): void {
    for (const pm of this.seen.keys()) if (!pmPids.includes(pm)) this.seen.delete(pm);
  }
}
