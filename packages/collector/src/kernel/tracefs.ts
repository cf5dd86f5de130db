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

/** Null when the tracepoint's id can be read; 'missing' when it does not exist; else why it cannot be read. */
function readable(file: string): null | 'missing' | string {
  try {
    // read, not access(2): that checks the real uid, without the capabilities a dedicated user's launcher has
    fs.readFileSync(file);
    return null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    return `${file} cannot be read (${code}): run the collector as root or with CAP_DAC_READ_SEARCH`;
  }
}

/** Null when the recvfrom/sendto exit tracepoints can be attached; else why not (for the line that says the gate falls back). */
export function syscallTracepointsMissing(log: (m: string) => void): string | null {
  const dir = tracingDir();
  const file = `${dir}/${EVENT}`;
  let r = readable(file);
  if (r === 'missing' && dir === TRACEFS && fs.existsSync(TRACEFS) && !mounted(TRACEFS)) {
    const m = spawnSync('mount', ['-t', 'tracefs', 'tracefs', TRACEFS], { encoding: 'utf8' });
    if (m.status !== 0) {
      const why = m.error ? m.error.message : m.stderr.trim() || `mount exited with ${m.status}`;
      return `tracefs is not mounted at ${TRACEFS} and mounting it failed (${why}): mount it (\`mount -t tracefs tracefs ${TRACEFS}\`) and restart the collector`;
    }
    log(`mounted tracefs at ${TRACEFS}: the syscall tracepoints the gate follows sockets at are found there`);
    r = readable(file);
  }
  if (r === 'missing') return `${file} does not exist: this kernel has no syscall tracepoints (built without CONFIG_FTRACE_SYSCALLS) or no tracefs at ${dir}`;
  return r;
}
