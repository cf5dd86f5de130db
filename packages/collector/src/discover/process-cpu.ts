// CPU time of a postmaster's backends, from /proc: what the overhead budget
// is a share of. A backend's own utime+stime while it runs; once it exits and
// is reaped its time moves to the postmaster's cutime+cstime, so the sum of
// both grows continuously whether backends come and go or not.
import * as fs from 'node:fs';
import { OpenFiles, ProcFile } from './proc-file';

// USER_HZ: /proc counts CPU time in clock ticks of 10 ms on Linux
const TICK_NS = 10_000_000;

/** utime+stime (fields 14–15) and cutime+cstime (16–17) of a /proc/<pid>/stat, in ns; null when gone. */
function readCpu(file: ProcFile): { own: number; reaped: number } | null {
  const s = file.read();
  if (s === null) return null;
  // the command name may hold spaces and parentheses: fields start after the last ')'
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { own: (Number(f[11]) + Number(f[12])) * TICK_NS, reaped: (Number(f[13]) + Number(f[14])) * TICK_NS };
}

/**
 * A live process's run time so far to the ns (a /proc/<pid>/schedstat), where
 * utime+stime move in 10 ms steps: a backend at 1 % of a core shows 0 or
 * 10 ms in a 200 ms tick. null without it (gone, or a kernel without schedstat).
 */
function readRuntimeNs(file: ProcFile): number | null {
  const s = file.read();
  if (s === null) return null;
  // the first of its three fields, without splitting the line (read per backend, every tick for the busy ones)
  const sp = s.indexOf(' ');
  const ns = Number(sp < 0 ? s : s.slice(0, sp));
  return Number.isFinite(ns) ? ns : null;
}

function pidList(text: string | null): number[] {
  return text === null ? [] : text.trim().split(/\s+/).filter(Boolean).map(Number);
}

/** The pids of a process's children (/proc/<pid>/task/<pid>/children: no scan of /proc; any length). */
export function childPids(pid: number): number[] {
  try {
    return pidList(fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1'));
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
  schedstat: ProcFile;
  stat: ProcFile;
}

interface Postmaster {
  backends: Map<number, Seen>;
  reapedNs: number;
  reapedAtMs: number;
  stat: ProcFile;
  children: ProcFile;
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
 * and at least every IDLE_READ_MS. The files stay open between reads (up to
 * 256): close() lets them go.
 */
export class ClusterCpuReader {
  private readonly seen = new Map<number, Postmaster>();
  private readonly open = new OpenFiles(256);

  /** The postmaster's backends now; null when it is gone. */
  read(pmPid: number, hot: (pid: number) => boolean = () => true): ClusterCpu | null {
    const atMs = Date.now();
    const was = this.seen.get(pmPid);
    const pm = was ?? {
      backends: new Map<number, Seen>(),
      reapedNs: 0,
      reapedAtMs: 0,
      stat: this.file(`/proc/${pmPid}/stat`),
      children: new ProcFile(`/proc/${pmPid}/task/${pmPid}/children`, this.open, false),
    };
    const children = pidList(pm.children.read());
    const now = new Map<number, Seen>();
    let liveNs = 0;
    let kept = 0;
    const rates = new Map<number, number>();
    for (const pid of children) {
      let before = was?.backends.get(pid);
      let seen: Seen;
      if (before !== undefined && before.idle && atMs - before.atMs < IDLE_READ_MS && !hot(pid)) seen = before;
      else {
        const schedstat = before?.schedstat ?? this.file(`/proc/${pid}/schedstat`);
        const stat = before?.stat ?? this.file(`/proc/${pid}/stat`);
        let runNs = readRuntimeNs(schedstat);
        let reopened = schedstat.reopened;
        if (runNs === null) {
          runNs = readCpu(stat)?.own ?? null;
          reopened = stat.reopened;
        }
        if (runNs === null) {
          this.release(schedstat, stat);
          continue;
        }
        // another process under a pid seen before: the one seen has left (not kept: the postmaster is read)
        if (reopened) before = undefined;
        const rate = before === undefined ? 0 : Math.max(0, runNs - before.runNs) / (Math.max(1, atMs - before.atMs) / 1000);
        seen = { runNs, atMs, rate, idle: before !== undefined && runNs === before.runNs && atMs - before.atMs >= IDLE_SPAN_MS, schedstat, stat };
      }
      if (before !== undefined) kept++;
      now.set(pid, seen);
      rates.set(pid, seen === before ? 0 : seen.rate);
      liveNs += seen.runNs;
    }
    // the backends that left: their files go
    if (was) for (const [pid, s] of was.backends) if (!now.has(pid)) this.release(s.schedstat, s.stat);
    // read after its children: one that left since is in it. A postmaster always has children (its
    // checkpointer at least): none may mean it is gone
    if (!was || children.length === 0 || kept < was.backends.size || atMs - was.reapedAtMs >= IDLE_READ_MS) {
      const cpu = readCpu(pm.stat);
      if (!cpu) {
        this.forget(pmPid, { ...pm, backends: now });
        return null;
      }
      pm.reapedNs = cpu.reaped;
      pm.reapedAtMs = atMs;
    }
    pm.backends = now;
    this.seen.set(pmPid, pm);
    return { totalNs: pm.reapedNs + liveNs, rates };
  }

  /** Forgets postmasters no longer followed. */
  keep(pmPids: readonly number[]): void {
    for (const [pid, pm] of this.seen) if (!pmPids.includes(pid)) this.forget(pid, pm);
  }

  /** Closes every file kept open; the reader can read again (it opens them anew). */
  close(): void {
    for (const [pid, pm] of this.seen) this.forget(pid, pm);
  }

  private file(path: string): ProcFile {
    return new ProcFile(path, this.open, true);
  }

  private release(...files: ProcFile[]): void {
    for (const f of files) f.close();
  }

  private forget(pmPid: number, pm: Postmaster): void {
    for (const s of pm.backends.values()) this.release(s.schedstat, s.stat);
    this.release(pm.stat, pm.children);
    this.seen.delete(pmPid);
  }
}
