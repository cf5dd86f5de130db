// The syscall tracepoints (syscalls:sys_exit_recvfrom…) are found by their id
// in tracefs, where libbpf reads it: /sys/kernel/debug/tracing when that
// exists, else /sys/kernel/tracing. A host without systemd (a VM's init, a
// container's /sys) may not have tracefs mounted there: the collector mounts
// it, once, rather than fall back to the hook every syscall pays for.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

const DEBUGFS_TRACING = '/sys/kernel/debug/tracing';
const TRACEFS = '/sys/kernel/tracing';
const EVENT = 'events/syscalls/sys_exit_recvfrom/id';

/** The tracefs directory libbpf reads tracepoint ids from. */
function tracingDir(): string {
  return fs.existsSync(DEBUGFS_TRACING) ? DEBUGFS_TRACING : TRACEFS;
}

function mounted(dir: string): boolean {
  return fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === dir);
}

/** Null when the recvfrom/sendto exit tracepoints can be attached; else why not (for the line that says the gate falls back). */
export function syscallTracepointsMissing(log: (m: string) => void): string | null {
  const dir = tracingDir();
  if (fs.existsSync(`${dir}/${EVENT}`)) return null;
  if (dir === TRACEFS && fs.existsSync(TRACEFS) && !mounted(TRACEFS)) {
    const r = spawnSync('mount', ['-t', 'tracefs', 'tracefs', TRACEFS], { encoding: 'utf8' });
    if (r.status !== 0) {
      const why = r.error ? r.error.message : r.stderr.trim() || `mount exited with ${r.status}`;
      return `tracefs is not mounted at ${TRACEFS} and mounting it failed (${why}): mount it (\`mount -t tracefs tracefs ${TRACEFS}\`) and restart the collector`;
    }
    log(`mounted tracefs at ${TRACEFS}: the syscall tracepoints the gate follows sockets at are found there`);
    if (fs.existsSync(`${dir}/${EVENT}`)) return null;
  }
  return `${dir}/${EVENT} does not exist: this kernel has no syscall tracepoints (built without CONFIG_FTRACE_SYSCALLS) or no tracefs at ${dir}`;
}
