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
 * close into a reused buffer: the budget reads one of these per busy
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
  // the first of its three fields, without splitting the line (read per backend, every tick for the busy ones)
  const sp = s.indexOf(' ');
  const ns = Number(sp < 0 ? s : s.slice(0, sp));
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
  /** CPU ns of every backend the postmaster ever had: live ones plus reaped ones (an idle backend's as of its last read) */
  totalNs: number;
  /** each live backend's CPU rate (ns a second) between its last two reads; 0 for one seen for the first time or not read this time (idle) */
  rates: Map<number, number>;
}

/** an idle backend that the caller does not ask for is read again after this long */
export const IDLE_READ_MS = 1_000;
/** a running task's run time moves at scheduler ticks (up to 10 ms apart): unmoved over less than this says nothing */
const IDLE_SPAN_MS = 25;

interface Seen {
  /** run time (schedstat, to the ns), or utime+stime where the kernel has no schedstat */
  runNs: number;
  atMs: number;
  rate: number;
  /** its run time had not moved since the read before (a backend seen for the first time is not known idle) */
  idle: boolean;
}

/**
 * CPU of the backends (all children) of postmasters, read again and again —
 * for a pool of hundreds of mostly idle backends, five times a second. A
 * backend found idle (its run time had not moved) is read again after
 * IDLE_READ_MS unless `hot` asks for it (the budget's armed, waiting and
 * removing backends). A backend that starts working is seen at most
 * IDLE_READ_MS late, with its rate over its own interval; the total counts
 * its CPU then.
 *
 * A live backend counts its run time (schedstat: one read, not two), which
 * is what its utime+stime come to once it is reaped (the kernel scales them
 * to the run time). The postmaster's own stat — its reaped children's time —
 * can only move when a child leaves its list of children: it is read then,
 * and at least every IDLE_READ_MS.
 */
export class ClusterCpuReader {
  private readonly seen = new Map<number, { backends: Map<number, Seen>; reapedNs: number; reapedAtMs: number }>();

  /** The postmaster's backends now; null when it is gone. */
  read(pmPid: number, hot: (pid: number) => boolean = () => true): ClusterCpu | null {
    const atMs = Date.now();
    const was = this.seen.get(pmPid);
    const children = childPids(pmPid);
    const now = new Map<number, Seen>();
    let liveNs = 0;
    let kept = 0;
    const rates = new Map<number, number>();
    for (const pid of children) {
      const before = was?.backends.get(pid);
      let seen: Seen;
      if (before !== undefined && before.idle && atMs - before.atMs < IDLE_READ_MS && !hot(pid)) seen = before;
      else {
        const runNs = readRuntimeNs(pid) ?? readCpu(pid)?.own;
        if (runNs === undefined) continue;
        const rate = before === undefined ? 0 : Math.max(0, runNs - before.runNs) / (Math.max(1, atMs - before.atMs) / 1000);
        seen = { runNs, atMs, rate, idle: before !== undefined && runNs === before.runNs && atMs - before.atMs >= IDLE_SPAN_MS };
      }
      if (before !== undefined) kept++;
      now.set(pid, seen);
      rates.set(pid, seen === before ? 0 : seen.rate);
      liveNs += seen.runNs;
    }
    let reapedNs = was?.reapedNs ?? 0;
    let reapedAtMs = was?.reapedAtMs ?? 0;
    // read after its children: one that left since is in it. A postmaster always has children (its
    // checkpointer at least): none may mean it is gone
    if (!was || children.length === 0 || kept < was.backends.size || atMs - was.reapedAtMs >= IDLE_READ_MS) {
      const pm = readCpu(pmPid);
      if (!pm) {
        this.seen.delete(pmPid);
        return null;
      }
      reapedNs = pm.reaped;
      reapedAtMs = atMs;
    }
    this.seen.set(pmPid, { backends: now, reapedNs, reapedAtMs });
    return { totalNs: reapedNs + liveNs, rates };
  }

  /** Forgets postmasters no longer followed. */
  keep(pmPids: readonly number[]): void {
    for (const pm of this.seen.keys()) if (!pmPids.includes(pm)) this.seen.delete(pm);
  }
}
