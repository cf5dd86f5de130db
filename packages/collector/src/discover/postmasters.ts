// Finds running PostgreSQL clusters in /proc. A postmaster is a process
// running a postgres executable whose parent does not run the same one; its
// working directory is the data directory (the postmaster chdirs there), and
// postmaster.pid there holds the port. Everything is read through /proc/<pid>
// so clusters in containers (other mount namespaces) are found too.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { childPids } from './process-cpu';

export interface Postmaster {
  pid: number;
  /** /proc/<pid>/exe: attach here, never to a path on disk (an upgrade replaces that file). */
  exePath: string;
  /** device:inode of the running executable; clusters running the same file share probes */
  binaryId: string;
  /** what the executable was called when started (may end in " (deleted)") */
  exeName: string;
  dataDir: string;
  port: number | null;
  /** major version from PG_VERSION */
  major: number | null;
}

function readStat(pid: number): { ppid: number } | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    // comm may contain spaces and parentheses: fields start after the last ')'
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(rest[1]) };
  } catch {
    return null;
  }
}

function isPostgresExe(name: string): boolean {
  const base = path.basename(name.replace(/ \(deleted\)$/, ''));
  return base === 'postgres' || base === 'postmaster';
}

/** A process's executable; its file's identity (device:inode) only for a postgres one: the others are only told apart from it. */
function exeOf(pid: number): { name: string; id: string | null } | null {
  try {
    const name = fs.readlinkSync(`/proc/${pid}/exe`);
    if (!isPostgresExe(name)) return { name, id: null };
    const st = fs.statSync(`/proc/${pid}/exe`);
    return { name, id: `${st.dev}:${st.ino}` };
  } catch {
    return null;
  }
}

/**
 * The kernel's own threads: kthreadd (pid 2, which has no parent) and its
 * children. They run no executable, and a failed readlink costs an Error
 * with its stack: a large part of a rescan, where a host has a few kernel
 * threads per CPU. In a container's pid namespace pid 2 is an ordinary process
 * (with a parent) and nothing is passed over.
 */
export function kernelThreads(): number[] {
  if (readStat(2)?.ppid !== 0) return [];
  return [2, ...childPids(2)];
}

function readPostmasterPid(pid: number): { port: number | null } {
  try {
    const lines = fs.readFileSync(`/proc/${pid}/cwd/postmaster.pid`, 'latin1').split('\n');
    const port = Number(lines[3]);
    return { port: Number.isInteger(port) && port > 0 ? port : null };
  } catch {
    return { port: null };
  }
}

function readMajor(pid: number): number | null {
  try {
    const v = parseInt(fs.readFileSync(`/proc/${pid}/cwd/PG_VERSION`, 'latin1').trim(), 10);
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

/**
 * The postmasters running now. `known`: the ones found last time. Their
 * children are backends and auxiliary processes, forked without exec (none
 * is a postmaster): while such a postmaster still runs its binary, they are
 * passed over unread (a pool of hundreds of backends made the rescan most of
 * an idle collector's work).
 */
export function findPostmasters(known: readonly Postmaster[] = []): Postmaster[] {
  const found: Postmaster[] = [];
  let pids: number[];
  try {
    pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  } catch {
    return found;
  }
  const exes = new Map<number, ReturnType<typeof exeOf>>();
  const exe = (pid: number) => {
    if (!exes.has(pid)) exes.set(pid, exeOf(pid));
    return exes.get(pid)!;
  };
  const passed = new Set<number>(kernelThreads());
  for (const pm of known) if (exe(pm.pid)?.id === pm.binaryId) for (const c of childPids(pm.pid)) passed.add(c);
  for (const pid of pids) {
    if (passed.has(pid)) continue;
    const e = exe(pid);
    if (!e?.id) continue;
    const st = readStat(pid);
    if (!st) continue;
    const parent = exe(st.ppid);
    if (parent && parent.id === e.id) continue; // a backend or auxiliary process
    let dataDir: string;
    try {
      dataDir = fs.readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      continue;
    }
    found.push({
      pid,
      exePath: `/proc/${pid}/exe`,
      binaryId: e.id,
      exeName: e.name,
      dataDir,
      port: readPostmasterPid(pid).port,
      major: readMajor(pid),
    });
  }
  return found;
}

/** Processes whose parent is `pid` (a postmaster's backends and auxiliary processes). */
export function childrenOf(pid: number): number[] {
  let pids: number[];
  try {
    pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  } catch {
    return [];
  }
  return pids.filter((p) => readStat(p)?.ppid === pid);
}

/**
 * The database and user of a backend, from its process title
 * ("postgres: <user> <db> <host>(<port>) <state>"), when update_process_title is on.
 */
export function backendIdentity(pid: number): { user?: string; database?: string } {
  try {
    const title = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0+$/, '').replace(/\0/g, ' ');
    const m = /^postgres: (?:[^:]+: )?(\S+) (\S+) /.exec(title);
    return m ? { user: m[1], database: m[2] } : {};
  } catch {
    return {};
  }
}
